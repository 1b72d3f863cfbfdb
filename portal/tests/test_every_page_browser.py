"""Every dashboard page (and the customised admin pages) in a real Chromium, at 1280 and
390 px: screenshots in test-output/pages/<width>/, no sideways scrolling on a phone, and no
serious or critical axe-core violation (report in test-output/pages/axe.json)."""

import json
import re

import pytest
from django.utils import timezone

from mailqueue.services import accept_message
from smtpusers import services
from testing.browser import (
    AXE_SCRIPT,
    BLOCKING_IMPACTS,
    TEST_OUTPUT,
    axe_violations,
    chromium,
    screenshot,
    scroll_width,
    sign_in,
)
from testing.email_settings import create_setting

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def customer_pages(alice) -> dict[str, str]:
    """Name -> path of every page a customer sees, with data on them."""
    busy, _ = services.create_smtp_user(alice.owner, total_limit=1000, hourly_limit=100)
    idle, _ = services.create_smtp_user(alice.owner, total_limit=50, hourly_limit=5)
    services.update_smtp_user(alice.owner, smtp_user_name=idle.smtp_user_name, status="Disable")
    domain = create_setting(alice).domain
    for _ in range(3):
        accept_message(
            busy,
            mail_from=f"news@{domain}",
            recipients=["reader@example.net"],
            data=b"Subject: hello\r\n\r\nhi\r\n",
            now=timezone.now(),
        )
    busy_page = f"/smtp-users/{busy.smtp_user_name}/"
    return {
        "home": "/",
        "smtp-users": "/smtp-users/",
        "smtp-user-new": "/smtp-users/new/",
        "smtp-user": busy_page,
        "smtp-user-unused": f"/smtp-users/{idle.smtp_user_name}/",
        "smtp-user-disable": f"{busy_page}disable/",
        "smtp-user-reset-password": f"{busy_page}reset-password/",
        "domains": "/domains/",
        "domain-new": "/domains/new/",
        "domain-edit": f"/domains/{domain}/edit/",
        "domain-test": f"/domains/{domain}/test/",
        "domain-delete": f"/domains/{domain}/delete/",
        "messages": "/messages/",
        "api-tokens": "/tokens/",
        "api-token-new": "/tokens/new/",
        "alerts": "/alerts/",
        "activity": "/activity/",
        "password-change": "/accounts/password/",
        "not-found": "/no-such-page/",
    }


def visit_every_page(browser, live_server, tenant, pages, *, viewport, act):
    """Open each page signed in, then the pages a signed-out visitor sees; `act(page, name)`."""
    context = browser.new_context(base_url=live_server.url, viewport=viewport, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    for name, path in {
        "sign-in": "/accounts/login/",
        "password-reset": "/accounts/password/reset/",
    }.items():
        page.goto(path)
        act(page, name)
    sign_in(page, live_server.url, tenant)
    for name, path in pages.items():
        page.goto(path)
        act(page, name)
    # The once-shown pages, reached as a customer reaches them.
    page.goto("/smtp-users/new/")
    page.get_by_role("button", name="Create SMTP user").click()
    act(page, "smtp-user-new-errors")
    page.get_by_label("Total limit").fill("100")
    page.get_by_label("Hourly limit").fill("10")
    page.get_by_role("button", name="Create SMTP user").click()
    act(page, "smtp-user-created")
    page.reload()
    act(page, "smtp-user-created-reloaded")
    page.goto("/tokens/new/")
    page.get_by_label("Token name").fill("screenshots")
    page.get_by_role("button", name="Create token").click()
    act(page, "api-token-created")
    context.close()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1280", "390"])
def test_it_fits_every_page_without_sideways_scrolling(browser, live_server, alice, viewport):
    pages = customer_pages(alice)
    too_wide = {}

    def check(page, name):
        screenshot(page, f"pages/{viewport['width']}", name)
        if scroll_width(page) > viewport["width"]:
            too_wide[name] = scroll_width(page)

    visit_every_page(browser, live_server, alice, pages, viewport=viewport, act=check)

    assert too_wide == {}


def test_it_opens_the_phone_menu_without_javascript(browser, live_server, alice):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, java_script_enabled=False
    )
    page = context.new_page()
    sign_in(page, live_server.url, alice)
    header_height = page.locator("header").bounding_box()["height"]
    domains = page.get_by_role("navigation", name="Main").get_by_role("link", name="Domains")
    hidden_before = not domains.is_visible()

    page.get_by_text("Menu").click()
    screenshot(page, "pages/390", "menu-open")
    domains.click()

    assert header_height < 70 and hidden_before
    assert page.url.endswith("/domains/")
    context.close()


@pytest.mark.skipif(not AXE_SCRIPT.exists(), reason="axe-core not installed: npm ci")
def test_it_has_no_serious_accessibility_violations_on_any_page(browser, live_server, alice):
    pages = customer_pages(alice)
    report = {}

    def check(page, name):
        report[name] = axe_violations(page)

    visit_every_page(browser, live_server, alice, pages, viewport=LAPTOP, act=check)

    (TEST_OUTPUT / "pages").mkdir(parents=True, exist_ok=True)
    (TEST_OUTPUT / "pages" / "axe.json").write_text(json.dumps(report, indent=2))
    blocking = {
        name: [f"{v['id']} ({v['impact']}): {v['targets']}" for v in violations]
        for name, violations in report.items()
        if any(v["impact"] in BLOCKING_IMPACTS for v in violations)
    }
    assert blocking == {}


def test_it_fits_the_customised_admin_pages_in_1280_px_without_violations(
    browser, live_server, alice, superuser
):
    for _ in range(3):
        services.create_smtp_user(alice.owner, total_limit=1000, hourly_limit=100)
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/admin/login/")
    page.get_by_label("Email").fill(superuser.user.email)
    page.get_by_label("Password").fill(superuser.password)
    page.get_by_role("button", name="Log in").click()
    too_wide, report = {}, {}

    def check(name):
        screenshot(page, "pages/admin", name)
        # The page, and the admin's own scrolling box around the SMTP users list.
        results_overflow = name == "smtp-users" and page.evaluate(
            "[...document.querySelectorAll('.results')]"
            ".some(box => box.scrollWidth > box.clientWidth)"
        )
        if scroll_width(page) > LAPTOP["width"] or results_overflow:
            too_wide[name] = scroll_width(page)
        if AXE_SCRIPT.exists():
            report[name] = axe_violations(page)

    page.goto("/admin/smtpusers/smtpuser/")
    check("smtp-users")
    page.get_by_role("link", name=re.compile(r"^smtp\d+$")).first.click()
    check("smtp-user")
    page.goto("/admin/smtpusers/smtpuser/")
    page.locator("input[name=_selected_action]").first.check()
    page.locator("select[name=action]").select_option("reset_smtp_passwords")
    page.click("button[name=index]")
    check("new-passwords")
    password = page.locator(".shown-once code").first
    assert float(password.evaluate("code => getComputedStyle(code).fontSize")[:-2]) >= 20
    page.reload()
    check("new-passwords-reloaded")
    page.goto("/admin/accounts/apitoken/")
    check("api-tokens")
    context.close()

    (TEST_OUTPUT / "pages").mkdir(parents=True, exist_ok=True)
    (TEST_OUTPUT / "pages" / "axe-admin.json").write_text(json.dumps(report, indent=2))
    assert too_wide == {}
    assert {
        name: [v["id"] for v in violations if v["impact"] in BLOCKING_IMPACTS]
        for name, violations in report.items()
    } == {name: [] for name in report}


FOCUSED = """() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    return {
        tag: element.tagName,
        text: (element.innerText || element.value || element.getAttribute('aria-label') || '')
            .trim().split('\\n')[0],
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
        shadow: style.boxShadow !== 'none',
    };
}"""


def tab_through(page, presses: int = 60) -> list[dict]:
    """Press Tab `presses` times; what each press focused, and whether it shows it."""
    focused = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused.append(page.evaluate(FOCUSED))
    return focused


def test_it_reaches_every_action_by_keyboard_with_a_visible_focus(browser, live_server, alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP)
    page = context.new_page()
    sign_in(page, live_server.url, alice)
    reached, unmarked = {}, {}
    for name, path in {
        "smtp-users": "/smtp-users/",
        "smtp-user": f"/smtp-users/{smtp_user.smtp_user_name}/",
        "api-tokens": "/tokens/",
        "domains": "/domains/",
    }.items():
        page.goto(path)
        focused = [stop for stop in tab_through(page) if stop["tag"] != "BODY"]
        reached[name] = {stop["text"] for stop in focused}
        unmarked[name] = [stop for stop in focused if not (stop["outline"] or stop["shadow"])]
    context.close()

    assert {"Skip to content", "New SMTP user", "Apply", "Disable"} <= reached["smtp-users"]
    assert {"Save changes", "Disable", "Reset password…"} <= reached["smtp-user"]
    assert {"Create token", "Revoke"} <= reached["api-tokens"]
    assert "Add a domain" in reached["domains"]
    assert unmarked == {name: [] for name in unmarked}
