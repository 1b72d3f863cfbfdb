"""Quota alerts: raised once per threshold crossing, delivered by email and signed webhook."""

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import connection, connections

from accounts.models import User
from alerts import services
from alerts.delivery import deliver_due_alerts
from alerts.models import TOTAL_WINDOW_START, AlertDelivery, AlertSettings, QuotaAlert
from alerts.signing import verify
from audit.models import AuditEvent
from core.crypto import decrypt
from core.errors import ServiceError
from smtpusers.quota import consume_send_quota
from smtpusers.services import create_smtp_user, update_smtp_user
from testing.rebinding import PUBLIC_ADDRESS
from testing.webhooks import WebhookReceiver


def at(hour, minute=0, day=23):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def send(smtp_user, count, *, now):
    for _ in range(count):
        consume_send_quota(smtp_user.pk, now=now, client_ip="192.0.2.7")


def alerts_of(smtp_user):
    return sorted(
        (alert.window, alert.threshold, alert.used, alert.quota_limit)
        for alert in QuotaAlert.objects.filter(smtp_user=smtp_user)
    )


def set_webhook(owner, url, **thresholds):
    quota_thresholds = {"hourly": "80, 100", "daily": "80, 100", "total": "80, 100", **thresholds}
    return services.update_alert_settings(
        owner, quota_thresholds=quota_thresholds, email_enabled=True, webhook_url=url
    )


def test_it_computes_the_count_that_reaches_a_threshold():
    assert services.threshold_count(10, 80) == 8
    assert services.threshold_count(200, 80) == 160
    assert services.threshold_count(3, 80) == 3  # 2.4 rounds up: 2 messages are not yet 80%
    assert services.threshold_count(1, 50) == 1
    assert services.threshold_count(7, 100) == 7


def test_it_raises_each_default_alert_once_when_its_threshold_is_crossed(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=10)

    send(smtp_user, 7, now=at(10, 5))
    assert alerts_of(smtp_user) == []
    send(smtp_user, 1, now=at(10, 6))
    assert alerts_of(smtp_user) == [("hourly", 80, 8, 10)]
    send(smtp_user, 2, now=at(10, 7))

    assert alerts_of(smtp_user) == [("hourly", 80, 8, 10), ("hourly", 100, 10, 10)]
    hundred = QuotaAlert.objects.get(smtp_user=smtp_user, threshold=100)
    assert (hundred.window_start, hundred.resets_at, hundred.occurred_at) == (
        at(10),
        at(11),
        at(10, 7),
    )
    # By default an alert is emailed (no webhook is configured).
    assert sorted(AlertDelivery.objects.values_list("channel", "status")) == [
        ("email", "pending"),
        ("email", "pending"),
    ]


def test_it_raises_the_alerts_again_in_the_next_window_but_never_twice_in_one(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=5)
    send(smtp_user, 5, now=at(10, 5))
    send(smtp_user, 5, now=at(11, 5))

    starts = sorted(
        QuotaAlert.objects.filter(threshold=80).values_list("window_start", flat=True)
    )
    assert starts == [at(10), at(11)]
    assert QuotaAlert.objects.count() == 4


def test_it_alerts_on_the_daily_and_total_windows_with_their_own_thresholds(alice):
    smtp_user, _ = create_smtp_user(
        alice.owner, total_limit=20, hourly_limit=100, daily_limit=10
    )
    services.update_alert_settings(
        alice.owner,
        quota_thresholds={"hourly": "", "daily": "50", "total": "25, 100"},
        email_enabled=True,
        webhook_url="",
    )

    send(smtp_user, 6, now=at(10))
    send(smtp_user, 10, now=at(10, day=24))
    send(smtp_user, 4, now=at(10, day=25))

    # Day one and day two cross 50% of the daily limit; day three stays under it.
    assert alerts_of(smtp_user) == [
        ("daily", 50, 5, 10),
        ("daily", 50, 5, 10),
        ("total", 25, 5, 20),
        ("total", 100, 20, 20),
    ]
    total = QuotaAlert.objects.get(window="total", threshold=100)
    assert (total.window_start, total.resets_at) == (TOTAL_WINDOW_START, None)


def test_it_raises_no_daily_alert_without_a_daily_limit(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=1000)
    send(smtp_user, 10, now=at(10))
    assert alerts_of(smtp_user) == []


def test_it_arms_the_total_alerts_again_when_the_total_limit_is_raised(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=5, hourly_limit=100)
    send(smtp_user, 5, now=at(10))
    update_smtp_user(alice.owner, smtp_user_name=smtp_user.smtp_user_name, total_limit=10)
    send(smtp_user, 5, now=at(12))

    assert [a for a in alerts_of(smtp_user) if a[0] == "total"] == [
        ("total", 80, 4, 5),
        ("total", 80, 8, 10),
        ("total", 100, 5, 5),
        ("total", 100, 10, 10),
    ]


def test_it_inserts_a_crossing_once_even_when_raised_twice(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    counted = None
    for _ in range(8):
        counted = consume_send_quota(smtp_user.pk, now=at(10))

    # The same crossing raised again (as a racing process would): the unique row decides.
    again = services.raise_quota_alerts(counted, now=at(10, 1))

    assert again == []
    assert QuotaAlert.objects.filter(threshold=80).count() == 1
    assert AlertDelivery.objects.count() == 1


def test_it_costs_no_extra_query_for_a_message_that_crosses_nothing(alice):
    from django.test.utils import CaptureQueriesContext

    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    with CaptureQueriesContext(connection) as plain:
        consume_send_quota(smtp_user.pk, now=at(10))
    send(smtp_user, 6, now=at(10))
    with CaptureQueriesContext(connection) as crossing:
        consume_send_quota(smtp_user.pk, now=at(10))  # the 8th: 80%

    # One statement: the counting UPDATE (returning the counts and thresholds) with the
    # usage-hour upsert.
    (counting,) = [query["sql"] for query in plain.captured_queries]
    assert counting.startswith("WITH counted AS (UPDATE smtpusers_smtpuser")
    assert "INSERT INTO smtpusers_smtpusagehour" in counting
    # A crossing adds the alert insert, the settings read and the deliveries insert.
    assert len(crossing.captured_queries) == 4


@pytest.mark.django_db(transaction=True)
def test_it_raises_one_alert_when_many_threads_cross_the_threshold_at_once(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=20)
    send(smtp_user, 14, now=at(10))  # 80% of 20 is 16: the next two messages cross it
    start = threading.Barrier(6)
    errors = []

    def sender():
        try:
            start.wait()
            consume_send_quota(smtp_user.pk, now=at(10, 30), client_ip="192.0.2.9")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert alerts_of(smtp_user) == [("hourly", 80, 16, 20), ("hourly", 100, 20, 20)]
    assert AlertDelivery.objects.count() == 2


# --- Settings ------------------------------------------------------------------------------


def test_it_saves_thresholds_and_generates_a_webhook_secret_once(alice):
    _, secret = set_webhook(alice.owner, "https://hooks.example.com/portal", hourly=" 90,50 ,90")
    thresholds = AlertSettings.objects.get(owner=alice.owner).quota_thresholds
    _, second = set_webhook(alice.owner, "https://hooks.example.com/other")

    stored = AlertSettings.objects.get(owner=alice.owner)
    assert thresholds == {"hourly": [50, 90], "daily": [80, 100], "total": [80, 100]}
    assert secret.startswith("whsec_") and len(secret) > 40
    assert second is None
    assert decrypt(stored.webhook_secret_encrypted) == secret
    assert secret not in stored.webhook_secret_encrypted
    events = list(AuditEvent.objects.filter(action="alerts.update").order_by("id"))
    assert [event.changes.get("webhook_url") for event in events] == [
        ["", "https://hooks.example.com/portal"],
        ["https://hooks.example.com/portal", "https://hooks.example.com/other"],
    ]
    assert all(secret not in json.dumps(event.changes) for event in AuditEvent.objects.all())


def test_it_regenerates_the_secret(alice):
    _, first = set_webhook(alice.owner, "https://hooks.example.com/portal")
    _, second = services.regenerate_webhook_secret(alice.owner)

    stored = AlertSettings.objects.get(owner=alice.owner)
    assert second != first and decrypt(stored.webhook_secret_encrypted) == second
    event = AuditEvent.objects.get(action="alerts.regenerate_secret")
    assert second not in json.dumps(event.changes) and first not in json.dumps(event.changes)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/x", "must be an http:// or https:// URL"),
        ("https://", "must be an http:// or https:// URL"),
        ("hooks.example.com/x", "must be an http:// or https:// URL"),
        ("https://user:pw@hooks.example.com/x", "Leave credentials out"),
        ("http://localhost:8000/x", "must point to a public host, not localhost"),
        ("http://127.0.0.1/x", "must point to a public host, not 127.0.0.1"),
        ("http://10.1.2.3/x", "must point to a public host"),
        ("http://169.254.169.254/latest", "must point to a public host"),
        ("http://[::1]:9000/x", "must point to a public host"),
        ("https://metrics.internal/x", "must point to a public host"),
    ],
)
def test_it_refuses_bad_or_internal_webhook_urls(alice, url, message):
    with pytest.raises(ServiceError) as refused:
        set_webhook(alice.owner, url)

    assert message in refused.value.message and refused.value.field == "webhook_url"
    assert not AlertSettings.objects.exists()


@pytest.mark.parametrize(
    ("value", "window"), [("0", "hourly"), ("101", "daily"), ("80, lots", "total")]
)
def test_it_refuses_bad_thresholds(alice, value, window):
    with pytest.raises(ServiceError) as refused:
        set_webhook(alice.owner, "", **{window: value})

    assert refused.value.field == f"{window}_thresholds"
    assert "whole percentages from 1 to 100" in refused.value.message


def test_it_refuses_a_test_alert_without_any_channel(alice):
    services.update_alert_settings(
        alice.owner, quota_thresholds={}, email_enabled=False, webhook_url=""
    )
    with pytest.raises(ServiceError) as refused:
        services.send_test_alert(alice.owner, now=at(10))
    assert refused.value.message == "Turn on email alerts or set a webhook URL first"
    assert not QuotaAlert.objects.exists()


# --- Delivery ------------------------------------------------------------------------------


def test_it_emails_the_owners_logins(alice, bob):
    User.objects.create_user(email="ops@alice.example", password="x", owner=alice.owner)
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=10)
    send(smtp_user, 8, now=at(10))

    assert deliver_due_alerts() == 1

    (email,) = mail.outbox
    assert email.to == ["alice@example.com", "ops@alice.example"]
    assert email.subject == f"SMTP user {smtp_user.smtp_user_name} reached 80% of its hourly limit"
    assert "has sent 8 of its hourly limit of 10 messages (80%)" in email.body
    assert "The hourly window resets at 2026-11-23 11:00 UTC." in email.body
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.target) == (
        "delivered",
        1,
        "alice@example.com, ops@alice.example",
    )


def test_it_posts_a_signed_webhook_at_80_percent(alice, webhook_receiver):
    _, secret = set_webhook(alice.owner, webhook_receiver.url)
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=10)
    send(smtp_user, 8, now=at(10, 20))

    assert deliver_due_alerts() == 2  # email and webhook

    (post,) = webhook_receiver.posts
    payload = json.loads(post.body)
    assert payload == {
        "event": "quota.threshold_reached",
        "alert_id": QuotaAlert.objects.get().pk,
        "test": False,
        "smtp_user_name": smtp_user.smtp_user_name,
        "window": "hourly",
        "threshold": 80,
        "used": 8,
        "limit": 10,
        "resets_at": "2026-11-23T11:00:00Z",
        "occurred_at": "2026-11-23T10:20:00Z",
    }
    timestamp = post.headers["X-Portal-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + post.body, hashlib.sha256)
    assert post.headers["X-Portal-Signature"] == "sha256=" + expected.hexdigest()
    assert verify(
        secret, timestamp=timestamp, body=post.body, given=post.headers["X-Portal-Signature"],
        now=time.time(),
    )
    assert not verify(
        secret, timestamp=timestamp, body=post.body + b" ",
        given=post.headers["X-Portal-Signature"], now=time.time(),
    )  # fmt: skip
    assert not verify(
        secret, timestamp=timestamp, body=post.body, given=post.headers["X-Portal-Signature"],
        now=int(timestamp) + 301,
    )  # fmt: skip
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["X-Portal-Event"] == "quota.threshold_reached"
    webhook = AlertDelivery.objects.get(channel="webhook")
    assert post.headers["X-Portal-Delivery"] == str(webhook.pk)
    assert (webhook.status, webhook.response_code, webhook.target) == (
        "delivered",
        200,
        webhook_receiver.url,
    )


def test_it_retries_a_webhook_after_a_500_and_then_delivers(
    alice, webhook_receiver, fast_alerts
):
    webhook_receiver.statuses = [500, 200]
    # Longer than a busy machine takes between the failure and the next claim, so the first
    # call stops after one attempt.
    fast_alerts.ALERTS_RETRY_BASE_SECONDS = fast_alerts.ALERTS_RETRY_MAX_SECONDS = 0.5
    set_webhook(alice.owner, webhook_receiver.url)
    services.update_alert_settings(
        alice.owner,
        quota_thresholds={"hourly": "80"},
        email_enabled=False,
        webhook_url=webhook_receiver.url,
    )
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=10)
    send(smtp_user, 8, now=at(10))

    deliver_due_alerts()
    delivery = AlertDelivery.objects.get()
    after_failure = (
        delivery.status, delivery.attempts, delivery.response_code, delivery.last_error
    )  # fmt: skip
    time.sleep(0.5)  # the backoff passes
    deliver_due_alerts()

    assert after_failure == ("pending", 1, 500, "HTTP 500: receiver trouble")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.last_error) == (
        "delivered",
        2,
        200,
        "",
    )
    first, second = webhook_receiver.posts
    assert first.body == second.body
    assert first.headers["X-Portal-Delivery"] == second.headers["X-Portal-Delivery"]


def test_it_gives_up_after_the_last_attempt(alice, webhook_receiver, fast_alerts):
    fast_alerts.ALERTS_MAX_ATTEMPTS = 2
    webhook_receiver.statuses = [503]
    services.update_alert_settings(
        alice.owner,
        quota_thresholds={"hourly": "100"},
        email_enabled=False,
        webhook_url=webhook_receiver.url,
    )
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=2)
    send(smtp_user, 2, now=at(10))

    deliver_due_alerts()
    time.sleep(0.05)
    deliver_due_alerts()
    time.sleep(0.1)
    deliver_due_alerts()

    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 2, 503)
    assert len(webhook_receiver.posts) == 2


def test_it_refuses_at_delivery_a_webhook_host_that_resolves_internally(alice, settings):
    services.update_alert_settings(
        alice.owner,
        quota_thresholds={"hourly": "100"},
        email_enabled=False,
        webhook_url="https://hooks.example.com/x",
    )
    # Changed behind the validation's back (as a DNS record pointing inside would be).
    AlertSettings.objects.filter(owner=alice.owner).update(webhook_url="http://localhost:9/x")
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=1)
    send(smtp_user, 1, now=at(10))

    deliver_due_alerts()

    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "failed",
        1,
        "localhost resolves to an internal address",
    )


def test_it_sends_a_test_alert_by_email_and_webhook(alice, webhook_receiver):
    set_webhook(alice.owner, webhook_receiver.url)
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=10)

    services.send_test_alert(alice.owner, now=at(10, 30))
    deliver_due_alerts()

    payload = json.loads(webhook_receiver.posts[0].body)
    assert (payload["event"], payload["test"], payload["smtp_user_name"]) == (
        "quota.test",
        True,
        smtp_user.smtp_user_name,
    )
    assert (payload["threshold"], payload["used"], payload["limit"]) == (80, 80, 100)
    assert mail.outbox[0].subject.startswith("[Test] SMTP user")
    assert sorted(AlertDelivery.objects.values_list("channel", "status")) == [
        ("email", "delivered"),
        ("webhook", "delivered"),
    ]
    assert AuditEvent.objects.filter(action="alerts.send_test").count() == 1


def rebinding_webhook_url(receiver, host) -> str:
    return receiver.url.replace("127.0.0.1", host)


def test_it_posts_the_webhook_to_the_address_it_checked_when_the_dns_answer_changes(
    alice, webhook_receiver, fake_dns, settings
):
    settings.ALERTS_WEBHOOK_ALLOW_INTERNAL_TARGETS = False
    port = webhook_receiver.server.server_address[1]
    # Public when checked, this machine ever after: a rebinding attack on the webhook's name.
    fake_dns.answers["hooks.rebinding.example"] = [PUBLIC_ADDRESS, "127.0.0.1"]
    set_webhook(
        alice.owner,
        rebinding_webhook_url(webhook_receiver, "hooks.rebinding.example"),
        hourly="100",
    )
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=1)
    send(smtp_user, 1, now=at(10))

    deliver_due_alerts()

    webhook = AlertDelivery.objects.get(channel="webhook")
    assert (webhook.status, webhook.attempts) == ("pending", 1)
    assert "Connection refused" in webhook.last_error
    assert fake_dns.lookups == ["hooks.rebinding.example"]
    assert fake_dns.connects_to_port(port) == [(PUBLIC_ADDRESS, port)]
    assert webhook_receiver.posts == []


def test_it_names_the_webhook_host_in_the_request_while_connecting_to_its_checked_address(
    alice, webhook_receiver, fake_dns
):
    port = webhook_receiver.server.server_address[1]
    fake_dns.answers["hooks.example"] = ["127.0.0.1"]
    set_webhook(alice.owner, rebinding_webhook_url(webhook_receiver, "hooks.example"), hourly="100")
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=1)
    send(smtp_user, 1, now=at(10))

    deliver_due_alerts()

    (post,) = webhook_receiver.posts
    assert post.headers["Host"] == f"hooks.example:{port}"
    assert fake_dns.lookups == ["hooks.example"]
    assert fake_dns.connects_to_port(port) == [("127.0.0.1", port)]


def test_it_follows_no_redirect_from_a_webhook(alice, webhook_receiver):
    elsewhere = WebhookReceiver().start()
    webhook_receiver.statuses = [307]
    webhook_receiver.location = elsewhere.url
    set_webhook(alice.owner, webhook_receiver.url, hourly="100")
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=1)
    send(smtp_user, 1, now=at(10))

    try:
        deliver_due_alerts()
    finally:
        elsewhere.stop()

    webhook = AlertDelivery.objects.get(channel="webhook")
    assert (webhook.status, webhook.attempts, webhook.response_code) == ("pending", 1, 307)
    assert len(webhook_receiver.posts) == 1
    assert elsewhere.posts == []
