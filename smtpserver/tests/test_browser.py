"""The usage and messages pages in a real browser (Chromium through Playwright)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from smtpusers.quota import consume_send_quota
from smtpusers.services import create_smtp_user
from testing.browser import chromium, screenshot, sign_in
from testing.submission import queue_messages


@pytest.fixture
def page(live_server, alice):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        sign_in(page, live_server.url, alice)
        yield page


@pytest.mark.browser
def test_it_draws_the_usage_chart_in_a_browser(alice, page, live_server):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=500, hourly_limit=8)
    now = timezone.now()
    for hours_ago, count in [(30, 2), (12, 6), (3, 4), (0, 5)]:
        for _ in range(count):
            consume_send_quota(smtp_user.pk, now=now - timedelta(hours=hours_ago))

    page.goto(f"{live_server.url}/usage/{smtp_user.smtp_user_name}/")

    chart = page.get_by_role("img", name="Messages per hour, last 48 hours (UTC)")
    assert chart.is_visible()
    # /usage/ now leads to the SMTP user's page; its first chart is the 48-hour one.
    bars = page.locator("figure").first.locator("rect.bar")
    assert bars.count() == 4
    heights = [bars.nth(index).bounding_box()["height"] for index in range(4)]
    assert heights[1] > heights[3] > heights[2] > heights[0] > 0
    assert page.get_by_test_id("hour-usage").inner_text() == "5 of 8"
    assert page.get_by_test_id("total-usage").inner_text() == "17 of 500"
    screenshot(page, "smtp-server", "usage")


@pytest.mark.browser
def test_it_shows_the_messages_page_in_a_browser(alice, page, live_server):
    queue_messages(alice, "alice.example", 3)

    page.goto(f"{live_server.url}/messages/")

    assert page.get_by_role("row").count() == 4
    assert page.get_by_role("cell", name="news@alice.example").count() == 3
    screenshot(page, "smtp-server", "messages")
