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
