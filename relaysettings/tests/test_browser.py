"""The Domains pages in a real Chromium: add (with an inline error first), test-send to a real
SMTP server, edit, delete. Screenshots go to test-output/email-settings/."""

import pytest
from playwright.sync_api import expect

from relaysettings import selectors
from relaysettings.models import RelaySetting
from testing.browser import chromium, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def page():
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()


def shoot(page, name: str) -> None:
    screenshot(page, "email-settings", name)


@pytest.mark.browser
def test_it_manages_a_domain_and_sends_a_test_message_in_the_browser(
    live_server, page, alice, smtp_server
):
    server = smtp_server(users={"relay-user": "relay-pass"})

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(alice.login.email)
    page.get_by_label("Password", exact=True).fill(alice.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Domains").click()
    expect(page.get_by_role("heading", name="Domains")).to_be_visible()
    expect(page.get_by_text("No domains yet.")).to_be_visible()
    shoot(page, "01-empty-list")

    page.get_by_role("link", name="Add a domain").click()
    page.get_by_label("Domain", exact=True).fill("mail.example.com")
    page.get_by_label("Description").fill("Office relay")
    page.get_by_label("From address").fill("office@example.com")
    page.get_by_label("SMTP server").fill(server.host)
    page.get_by_label("Port", exact=True).fill("0")
    page.get_by_label("Verify the server's TLS certificate").uncheck()
    page.get_by_label("User name").fill("relay-user")
    page.get_by_label("Password", exact=True).fill("relay-pass")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_text("port must be an integer from 1 to 65535")).to_be_visible()
    expect(page.get_by_label("Port", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    shoot(page, "02-inline-error")
    assert not RelaySetting.objects.exists()

    page.get_by_label("Port", exact=True).fill(str(server.port))
    page.get_by_label("Password", exact=True).fill("relay-pass")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_text("Relay settings for mail.example.com created.")).to_be_visible()
    # The domains table comes first; the domain's DNS records table below names it too.
    row = page.get_by_role("row").filter(has_text="mail.example.com").first
    expect(row).to_contain_text(f"{server.host}:{server.port}")
    expect(row).to_contain_text("relay-user")
    shoot(page, "03-list")

    row.get_by_role("link", name="Send test").click()
    page.get_by_label("Send a test message to").fill("inbox@example.net")
    page.get_by_role("button", name="Send test message").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Sent: the server accepted the test message for inbox@example.net."
    )
    shoot(page, "04-test-sent")
    [received] = server.messages
    assert (received.recipients, received.login) == (["inbox@example.net"], "relay-user")
    assert received.message["From"] == "office@example.com"

    page.get_by_role("link", name="Edit settings").click()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert "relay-pass" not in page.content()
    page.get_by_label("Description").fill("Office relay, edited")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Office relay, edited")).to_be_visible()
    assert selectors.auth_password_of(RelaySetting.objects.get()) == "relay-pass"

    page.get_by_role("link", name="Delete mail.example.com").click()
    expect(page.get_by_role("heading", name="Delete mail.example.com?")).to_be_visible()
    shoot(page, "05-confirm-delete")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Relay settings for mail.example.com deleted.")).to_be_visible()
    assert not RelaySetting.objects.exists()


@pytest.mark.browser
def test_it_shows_the_upstreams_refusal_in_the_browser(live_server, page, alice, smtp_server):
    server = smtp_server(users={"relay-user": "relay-pass"})
    RelaySetting.objects.all().delete()
    from relaysettings import services

    services.save_relay_setting(
        alice.owner,
        domain="mail.example.com",
        data={
            "provider": "smtp",
            "from": "office@example.com",
            "options": {
                "host": server.host,
                "port": server.port,
                "auth": {"user": "relay-user", "pass": "wrong"},
            },
        },
    )
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{live_server.url}/accounts/login/?next=/domains/mail.example.com/test/")
    page.get_by_label("Email").fill(alice.login.email)
    page.get_by_label("Password", exact=True).fill(alice.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Send test message").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Sending failed. 535 5.7.8 Authentication credentials invalid"
    )
    shoot(page, "06-test-failed-mobile")
    assert server.messages == []
