"""The Domains page's DNS records in a real Chromium, at laptop and phone widths: check DNS,
copy a record, see it verified. Screenshots go to test-output/domains/."""

import pytest
from playwright.sync_api import expect

from relaysettings.models import DkimKey
from testing.browser import chromium, screenshot, sign_in
from testing.email_settings import SEED_DOMAIN, create_setting

pytestmark = pytest.mark.browser

# The section of the seed domain (an id with dots, matched by attribute).
SECTION = f'[id="dns-{SEED_DOMAIN}"]'


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_it_shows_the_dns_records_and_checks_them_in_the_browser(
    live_server, alice, dns_zone, domain_verification, width, height
):
    relay_setting = create_setting(alice)
    create_setting(alice, domain="news.example.org")
    dns_zone.publish_txt("webitel.com", "v=spf1 -all")
    dns_zone.publish_txt("_dmarc.webitel.com", "v=DMARC1; p=none")

    with chromium() as browser:
        context = browser.new_context(viewport={"width": width, "height": height})
        # The clipboard API needs the permission in a headless browser.
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        sign_in(page, live_server.url, alice)
        page.goto(f"{live_server.url}/domains/")
        section = page.locator(SECTION)
        expect(section.get_by_text("Pending")).to_be_visible()
        screenshot(page, "domains", f"{width}-01-pending")

        dns_zone.publish_verification(relay_setting)
        dns_zone.publish_dkim(DkimKey.objects.get(relay_setting=relay_setting))
        section.get_by_role("button", name="Check DNS now").click()
        expect(page.get_by_text("my.webitel.com is verified")).to_be_visible()
        section = page.locator(SECTION)
        expect(section.locator(".badge.record-found")).to_have_count(3)  # ownership, DKIM, DMARC
        expect(section.get_by_text("Inherited from webitel.com")).to_be_visible()
        section.get_by_role("button", name="Copy Ownership proof value").click()
        expect(section.get_by_role("button", name="Copy Ownership proof value")).to_have_text(
            "Copied"
        )
        copied = page.evaluate("navigator.clipboard.readText()")
        screenshot(page, "domains", f"{width}-02-verified")

        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        context.close()

    assert copied == f"smtprelay-verification={relay_setting.verification_token}"
    # Nothing sticks out sideways on a phone.
    assert scroll_width <= width
