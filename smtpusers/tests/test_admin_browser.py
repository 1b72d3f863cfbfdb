"""The support story in a real browser: the admin's own pages, forms and action menu."""

import re
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.services import create_staff_member
from smtpusers.services import create_smtp_user
from testing.browser import chromium

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "admin"
STAFF_EMAIL = "helper@support.example"
STAFF_PASSWORD = "Support-Correct-Horse-9"

pytestmark = pytest.mark.browser


@pytest.fixture
def page():
    with chromium() as browser:
        yield browser.new_page()


def run_action(page, label: str) -> None:
    page.locator("#result_list tbody input.action-select").check()
    page.select_option("select[name=action]", label=label)
    page.click("button[name=index]")


def test_it_lets_support_disable_and_reset_in_the_browser_and_the_api_shows_it(
    live_server, page, alice, bob
):
    create_staff_member(email=STAFF_EMAIL, password=STAFF_PASSWORD)
    smtp_user, old_password = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=100)
    create_smtp_user(bob.owner, total_limit=1000, hourly_limit=100)

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", STAFF_EMAIL)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    page.locator("#smtpusers-smtpuser").get_by_role("link", name="SMTP users").click()
    page.fill("#searchbar", alice.login.email)
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(smtp_user.smtp_user_name)

    run_action(page, "Disable selected SMTP users")
    expect(page.locator(".messagelist")).to_have_text("Disabled 1 SMTP user(s).")
    expect(rows.locator("td.field-status")).to_have_text("Disabled")

    run_action(page, "Reset passwords of selected SMTP users (shown once)")
    expect(page.locator("h1")).to_have_text("New SMTP passwords")
    message = page.locator(".shown-once li").inner_text()
    page.screenshot(path=SCREENSHOTS / "new-password-shown-once.png", full_page=True)
    new_password = re.match(
        rf"New password for {smtp_user.smtp_user_name} \(owner Alice\): (\w+)", message
    )[1]
    assert new_password == page.locator(".shown-once li code").inner_text()
    assert new_password != old_password

    page.get_by_role("link", name="Back to SMTP users").click()
    expect(page.locator("#result_list")).to_be_visible()
    assert new_password not in page.content()
    page.screenshot(path=SCREENSHOTS / "smtp-users-list.png", full_page=True)

    [item] = Client().post("/v1.0/settings/listSmtp", alice.credentials).json()["smtp_list"]
    assert (item["status"], item["smtp_password"]) == ("Disable", new_password)
