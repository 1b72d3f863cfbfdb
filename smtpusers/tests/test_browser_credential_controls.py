"""The SMTP user's page (usage, remaining, resets, allowlist) and the Alerts page in a real
browser (Chromium through Playwright); screenshots in test-output/credential-controls/."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.delivery import deliver_due_alerts
from smtpusers.quota import consume_send_quota, day_start, hour_start
from smtpusers.services import create_smtp_user
from testing.browser import chromium, screenshot, sign_in


@pytest.fixture
def page(live_server, alice):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        sign_in(page, live_server.url, alice)
        yield page


@pytest.mark.browser
def test_it_shows_usage_remaining_and_resets_on_the_smtp_users_page(alice, page, live_server):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=500, hourly_limit=10, daily_limit=100)
    paused, _ = create_smtp_user(alice.owner, total_limit=50, hourly_limit=3)
    now = timezone.now()
    # Earlier days, oldest first, at most 9 messages in any clock hour, each day's within its
    # own UTC day whatever the time of the run (hours 1 to 8 of that day).
    earlier = sorted(
        day_start(now) - timedelta(days=days_ago) + timedelta(hours=1 + index // 9)
        for days_ago, count in [(20, 30), (9, 55), (2, 70), (1, 40)]
        for index in range(count)
    )
    for moment in earlier:
        consume_send_quota(smtp_user.pk, now=moment, client_ip="198.51.100.4")
    for _ in range(8):
        consume_send_quota(smtp_user.pk, now=now, client_ip="198.51.100.4")
    for _ in range(3):
        consume_send_quota(paused.pk, now=now, client_ip="203.0.113.9")
    next_hour = f"{hour_start(now) + timedelta(hours=1):%H:%M}"

    page.goto(f"{live_server.url}/smtp-users/")
    screenshot(page, "credential-controls", "smtp-users-list")
    row = page.get_by_role("row").filter(has_text=smtp_user.smtp_user_name)
    assert f"8 / 10 2 left, resets {next_hour}" in " ".join(row.inner_text().split())

    page.goto(f"{live_server.url}/smtp-users/{smtp_user.smtp_user_name}/")
    assert page.get_by_test_id("hour-usage").inner_text() == "8 of 10"
    assert page.get_by_test_id("hourly-remaining").inner_text() == (
        f"2 left · resets at {next_hour} UTC"
    )
    assert page.get_by_test_id("day-usage").inner_text() == "8 of 100"
    assert page.get_by_test_id("total-usage").inner_text() == "203 of 500"
    assert "from 198.51.100.4" in page.get_by_test_id("last-used").inner_text()
    assert page.get_by_role("img", name="Messages per day, last 30 days (UTC)").is_visible()
    assert page.locator("figure").nth(1).locator("rect.bar").count() == 5
    page.get_by_role("textbox", name="Allowed networks").fill("192.0.2.0/24\n2001:db8::/48")
    page.get_by_role("button", name="Save changes").click()
    assert page.get_by_text("saved.").is_visible()
    screenshot(page, "credential-controls", "smtp-user-usage")

    page.goto(f"{live_server.url}/smtp-users/{paused.smtp_user_name}/")
    notice = page.get_by_test_id("limit-notice").inner_text()
    assert notice == (
        f"Sending paused: hourly limit of 3 messages reached for {paused.smtp_user_name}; "
        f"resets at {next_hour} UTC."
    )
    screenshot(page, "credential-controls", "smtp-user-limit-reached")


@pytest.mark.browser
def test_it_configures_a_webhook_and_logs_a_test_alert(alice, page, live_server, webhook_receiver):
    create_smtp_user(alice.owner, total_limit=500, hourly_limit=10)

    page.goto(f"{live_server.url}/smtp-users/")
    page.get_by_role("link", name="Alerts").click()
    page.get_by_label("Hourly limit thresholds (%)").fill("75, 90, 100")
    page.get_by_label("Webhook URL (optional)").fill(webhook_receiver.url)
    page.get_by_role("button", name="Save alert settings").click()
    secret = page.locator("#webhook-secret").inner_text()
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", secret)
    screenshot(page, "credential-controls", "alerts-secret-shown-once")

    page.get_by_role("button", name="Send test alert").click()
    assert page.get_by_text("Test alert queued").is_visible()
    deliver_due_alerts()
    page.reload()

    log = page.get_by_role("table")
    assert log.get_by_text("Delivered").count() == 2
    assert log.get_by_text(webhook_receiver.url).is_visible()
    assert json.loads(webhook_receiver.posts[0].body)["event"] == "quota.test"
    assert page.locator("#webhook-secret").count() == 0
    screenshot(page, "credential-controls", "alerts")
