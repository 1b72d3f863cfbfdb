"""Real-browser tests: Playwright driving Debian's Chromium (never a browser it downloads)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TEST_OUTPUT = Path(__file__).resolve().parents[1] / "test-output"

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make
# there are safe. (portal/tests/test_production.py keeps this out of its deploy check.)
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed on the way out."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            # Queries made while Playwright runs use a connection of their own (its greenlet
            # has its own context): close it, or the test database cannot be dropped.
            connections.close_all()
            browser.close()


def sign_in(page: Page, base_url: str, tenant) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(tenant.login.email)
    page.get_by_label("Password").fill(tenant.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


def screenshot(page: Page, topic: str, name: str) -> Path:
    """A full-page PNG in test-output/<topic>/<name>.png."""
    path = TEST_OUTPUT / topic / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


AXE_SCRIPT = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
# What a page may not have: axe-core's two worst impact levels.
BLOCKING_IMPACTS = {"serious", "critical"}


def axe_violations(page: Page) -> list[dict]:
    """axe-core's WCAG 2.x A/AA violations on the page as it is now (axe.min.js from npm,
    package.json; the page's context needs bypass_csp=True for the injected script)."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate(
        """() => axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                            "best-practice"]},
            resultTypes: ["violations"],
        })"""
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
    ]


def scroll_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")
