"""The dashboard in a real browser: Playwright driving Debian's Chromium against live_server.

Screenshots of every step land in test-output/dashboard/.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken
from accounts.services import authenticate_api_token
from core.crypto import decrypt
from smtpusers import services
from smtpusers.models import SmtpUser
from testing.browser import TEST_OUTPUT, chromium

pytestmark = pytest.mark.browser

SCREENSHOTS = TEST_OUTPUT / "dashboard"


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def open_page(browser, live_server, **context_options):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, **context_options
    )
    context.set_default_timeout(15_000)
    return context, context.new_page()


def snap(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, tenant) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(tenant.login.email)
    page.get_by_label("Password").fill(tenant.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=tenant.owner.name)).to_be_visible()


def accept_next_dialog(page, expected_question: str) -> None:
    def accept(dialog):
        assert expected_question in dialog.message
        dialog.accept()

    page.once("dialog", accept)


def test_it_walks_through_the_dashboard(browser, live_server, alice):
    context, page = open_page(browser, live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    snap(page, "01-sign-in")
    sign_in(page, alice)
    expect(page.get_by_text("Signed in.")).to_be_visible()
    expect(page.locator("#owner-id")).to_have_text(alice.owner_id)
    expect(page.locator("#snippet-curl")).to_contain_text(f"X-Key: {alice.owner_id}")
    snap(page, "02-home")

    # Create, with a validation error first.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SMTP users").click()
    page.get_by_role("link", name="New SMTP user").click()
    page.get_by_label("Total limit").fill("0")
    page.get_by_label("Hourly limit").fill("100")
    page.get_by_role("button", name="Create SMTP user").click()
    expect(page.locator("#id_total_limit_error")).to_contain_text("Enter a whole number")
    snap(page, "03-create-validation-error")
    assert SmtpUser.objects.count() == 0
    page.get_by_label("Total limit").fill("1000")
    page.get_by_role("button", name="Create SMTP user").click()
    expect(page.get_by_role("heading", name="SMTP user created")).to_be_visible()
    snap(page, "04-created-password-shown-once")

    smtp_user_name = page.locator("#smtp-user-name").inner_text().strip()
    password = page.locator("#smtp-password").inner_text().strip()
    smtp_user = SmtpUser.objects.get(owner=alice.owner, smtp_user_name=smtp_user_name)
    assert decrypt(smtp_user.password_encrypted) == password
    page.get_by_role("button", name="Copy password").click()
    assert page.evaluate("navigator.clipboard.readText()") == password

    # Edit the limits.
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name=f"SMTP user {smtp_user_name}")).to_be_visible()
    page.get_by_label("Total limit").fill("5000")
    page.get_by_label("Hourly limit").fill("250")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(f"SMTP user {smtp_user_name} saved.")).to_be_visible()
    snap(page, "05-limits-edited")
    smtp_user.refresh_from_db()
    assert (smtp_user.total_limit, smtp_user.hourly_limit) == (5000, 250)

    # Disable (with the JavaScript confirmation), then enable.
    accept_next_dialog(page, f"Disable {smtp_user_name}?")
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text(f"SMTP user {smtp_user_name} disabled.")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("Disabled")
    snap(page, "06-disabled")
    smtp_user.refresh_from_db()
    assert not smtp_user.is_enabled
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_text(f"SMTP user {smtp_user_name} enabled.")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("Enabled")
    snap(page, "07-enabled")
    smtp_user.refresh_from_db()
    assert smtp_user.is_enabled

    # Reset the password through its confirmation page.
    page.get_by_role("link", name="Reset password").click()
    expect(page.get_by_role("heading", name="Reset the password")).to_be_visible()
    snap(page, "08-reset-password-confirm")
    page.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("heading", name="New SMTP password")).to_be_visible()
    snap(page, "09-new-password-shown-once")
    new_password = page.locator("#smtp-password").inner_text().strip()
    smtp_user.refresh_from_db()
    assert decrypt(smtp_user.password_encrypted) == new_password != password

    # Create an API token, then revoke it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    page.get_by_label("Token name").fill("deploy script")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="API token “deploy script” created")).to_be_visible()
    snap(page, "10-token-created")
    token = page.locator("#api-token").inner_text().strip()
    api_token = ApiToken.objects.get(owner=alice.owner, name="deploy script")
    assert authenticate_api_token(alice.owner_id, token) == api_token
    page.get_by_role("link", name="Done").click()
    accept_next_dialog(page, "Revoke the token “deploy script”?")
    page.get_by_role("button", name="Revoke deploy script").click()
    expect(page.get_by_text("API token “deploy script” revoked.")).to_be_visible()
    snap(page, "11-token-revoked")
    assert authenticate_api_token(alice.owner_id, token) is None

    # Sign out.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Signed out.")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    snap(page, "12-signed-out")
    page.goto("/smtp-users/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


def _smtp_users_for_the_list(tenant):
    smtp_users = [
        services.create_smtp_user(tenant.owner, total_limit=1000 * (i + 1), hourly_limit=50)[0]
        for i in range(6)
    ]
    services.set_smtp_users_status(
        tenant.owner, smtp_user_names=[smtp_users[1].smtp_user_name], status="Disable"
    )
    SmtpUser.objects.filter(pk=smtp_users[0].pk).update(total_used=321)
    return smtp_users


def test_it_disables_several_smtp_users_from_the_list(browser, live_server, alice):
    first, second, third, *_ = _smtp_users_for_the_list(alice)
    context, page = open_page(browser, live_server)
    sign_in(page, alice)
    page.goto("/smtp-users/?sort=created")
    snap(page, "13-list")

    page.get_by_label(f"Select {first.smtp_user_name}").check()
    page.get_by_label(f"Select {third.smtp_user_name}").check()
    accept_next_dialog(page, "Disable the selected SMTP users?")
    page.get_by_role("group", name="Selected SMTP users").get_by_role(
        "button", name="Disable"
    ).click()

    expect(page.get_by_text("2 SMTP users disabled.")).to_be_visible()
    assert page.url.endswith("/smtp-users/?sort=created")
    snap(page, "14-list-after-bulk-disable")
    assert list(
        SmtpUser.objects.filter(owner=alice.owner, is_enabled=False)
        .order_by("created_at")
        .values_list("smtp_user_name", flat=True)
    ) == [first.smtp_user_name, second.smtp_user_name, third.smtp_user_name]
    context.close()


def test_it_lays_the_list_out_for_a_phone(browser, live_server, alice):
    smtp_users = _smtp_users_for_the_list(alice)
    context, page = open_page(browser, live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, alice)

    page.goto("/smtp-users/?sort=created")

    row = page.locator("tbody tr").first
    expect(row).to_contain_text(smtp_users[0].smtp_user_name)
    # Stacked: each cell says which column it is, and nothing scrolls sideways.
    expect(row.locator('td[data-label="Sent / total limit"]')).to_contain_text("321 / 1000")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    snap(page, "15-list-mobile")
    context.close()


def test_it_works_without_javascript(browser, live_server, alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    context, page = open_page(browser, live_server, java_script_enabled=False)
    sign_in(page, alice)
    page.goto("/smtp-users/")

    # No JavaScript: no confirm(), no copy buttons; the row's button still posts.
    expect(page.get_by_role("button", name=re.compile("^Copy"))).to_have_count(0)
    page.get_by_role("button", name=f"Disable {smtp_user.smtp_user_name}").click()

    expect(page.get_by_text(f"SMTP user {smtp_user.smtp_user_name} disabled.")).to_be_visible()
    smtp_user.refresh_from_db()
    assert not smtp_user.is_enabled
    context.close()


def test_it_explains_a_sign_in_lockout(browser, live_server, alice, settings):
    context, page = open_page(browser, live_server)
    page.goto("/accounts/login/")

    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Email").fill(alice.login.email)
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()
    expect(page.get_by_role("link", name="Reset it by email")).to_be_visible()
    snap(page, "16-sign-in-locked-out")
    context.close()
