"""Credential controls through real SMTP sessions: usage of every window, limit replies,
allowed networks at AUTH, and a signed webhook at 80%."""

import json
import re
import smtplib
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts import services as alert_services
from alerts.delivery import AlertWorker
from alerts.signing import verify
from audit.models import AuditEvent
from smtpusers.models import SmtpUser
from smtpusers.quota import day_start
from smtpusers.services import create_smtp_user, update_smtp_user
from testing.submission import connect, make_relay_setting, message_bytes, send_count, wait_until


@pytest.fixture
def relay(alice, upstream):
    return make_relay_setting(alice.owner, "alice.example", upstream.port)


def test_it_counts_every_window_and_the_last_use_exactly(alice, relay, start_server, client_tls):
    smtp_user, password = create_smtp_user(
        alice.owner, total_limit=100, hourly_limit=50, daily_limit=40
    )
    server = start_server(deliver=False)
    before = timezone.now()

    replies = send_count(server, client_tls, smtp_user, password, 5)

    assert replies == [(250, "accepted")] * 5
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used, smtp_user.day_used) == (5, 5, 5)
    assert smtp_user.day_started_at == day_start(timezone.now())
    assert smtp_user.last_used_ip == "127.0.0.1"
    assert before <= smtp_user.last_used_at <= timezone.now()
    item = (
        Client()
        .post("/v1.0/settings/listSmtp", alice.credentials, content_type="application/json")
        .json()["smtp_list"][0]
    )
    assert {key: item[key] for key in item if "used" in key or "remaining" in key} == {
        "total_used": 5,
        "total_remaining": 95,
        "hourly_used": 5,
        "hourly_remaining": 45,
        "daily_used": 5,
        "daily_remaining": 35,
        "last_used_at": item["last_used_at"],
        "last_used_ip": "127.0.0.1",
    }
    assert item["last_used_at"] == smtp_user.last_used_at.isoformat().replace("+00:00", "Z")


def test_it_names_the_daily_limit_and_its_reset_in_the_reply_the_dashboard_and_the_log(
    alice, relay, start_server, client_tls
):
    smtp_user, password = create_smtp_user(
        alice.owner, total_limit=100, hourly_limit=10, daily_limit=2
    )
    server = start_server(deliver=False)

    replies = send_count(server, client_tls, smtp_user, password, 3)

    tomorrow = day_start(timezone.now()) + timedelta(days=1)
    words = (
        f"daily limit of 2 messages reached for {smtp_user.smtp_user_name}; "
        f"resets at {tomorrow:%Y-%m-%d} 00:00 UTC"
    )
    assert replies == [(250, "accepted"), (250, "accepted"), (451, f"4.7.1 {words}")]
    smtp_user.refresh_from_db()
    assert smtp_user.last_refusal == words
    assert (smtp_user.total_used, smtp_user.day_used) == (2, 2)
    client = Client()
    client.force_login(alice.login)
    page = client.get(f"/smtp-users/{smtp_user.smtp_user_name}/").content.decode()
    notice = re.search(r'data-testid="limit-notice">(.*?)</p>', page, re.S).group(1)
    assert words in notice
    assert words in re.search(r'data-testid="last-refusal">(.*?)</dd>', page, re.S).group(1)
    messages_page = client.get("/messages/").content.decode()
    assert words in messages_page


def test_it_refuses_at_mail_with_the_same_words_once_the_hourly_limit_is_reached(
    alice, relay, start_server, client_tls
):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=100, hourly_limit=1)
    server = start_server(deliver=False)
    send_count(server, client_tls, smtp_user, password, 1)

    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, password)
        code, reply = client.mail("news@alice.example")

    assert code == 451
    assert re.fullmatch(
        rf"4\.7\.1 hourly limit of 1 message reached for {smtp_user.smtp_user_name}; "
        r"resets at \d\d:00 UTC",
        reply.decode(),
    )
    assert SmtpUser.objects.get(pk=smtp_user.pk).last_refusal == reply.decode()[6:]


def test_it_refuses_auth_from_outside_the_allowed_networks_and_audits_it(
    alice, relay, start_server, client_tls
):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    update_smtp_user(
        alice.owner,
        smtp_user_name=smtp_user.smtp_user_name,
        allowed_networks="192.0.2.0/24\n2001:db8::/32",
    )
    server = start_server(deliver=False)

    with connect(server, client_tls) as client:
        # One AUTH PLAIN (smtplib's login() would try LOGIN too: two attempts, two entries).
        client.user, client.password = smtp_user.smtp_user_name, password
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth("PLAIN", client.auth_plain)

    assert (refused.value.smtp_code, refused.value.smtp_error.decode()) == (
        535,
        f"5.7.8 SMTP user {smtp_user.smtp_user_name} may not log in from 127.0.0.1",
    )
    event = AuditEvent.objects.get(action="smtp_user.auth_refused_ip")
    assert (event.owner_id, event.target, event.actor, event.source_ip, event.changes) == (
        alice.owner.pk,
        f"SMTP user {smtp_user.smtp_user_name}",
        "smtp 127.0.0.1",
        "127.0.0.1",
        {"client_ip": [None, "127.0.0.1"]},
    )
    assert password not in json.dumps(event.changes)
    assert SmtpUser.objects.get(pk=smtp_user.pk).total_used == 0


@pytest.mark.parametrize("allowed", ["127.0.0.0/8", "127.0.0.1", "192.0.2.0/24, 127.0.0.1/32"])
def test_it_lets_an_allowed_address_log_in_and_send(
    alice, relay, start_server, client_tls, allowed
):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    update_smtp_user(alice.owner, smtp_user_name=smtp_user.smtp_user_name, allowed_networks=allowed)
    server = start_server(deliver=False)

    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, password)
        refused = client.sendmail(
            "news@alice.example", ["r@destination.test"], message_bytes("news@alice.example", [])
        )

    assert refused == {}
    assert SmtpUser.objects.get(pk=smtp_user.pk).total_used == 1
    assert not AuditEvent.objects.filter(action="smtp_user.auth_refused_ip").exists()


def test_it_refuses_an_ipv4_client_when_only_ipv6_networks_are_allowed(
    alice, relay, start_server, client_tls
):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    update_smtp_user(
        alice.owner, smtp_user_name=smtp_user.smtp_user_name, allowed_networks=["::1/128"]
    )
    server = start_server(deliver=False)

    with pytest.raises(smtplib.SMTPAuthenticationError), connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, password)


def test_it_posts_a_signed_webhook_when_smtp_sending_reaches_80_percent(
    alice, relay, start_server, client_tls, webhook_receiver, fast_alerts
):
    _, secret = alert_services.update_alert_settings(
        alice.owner,
        quota_thresholds={"hourly": "80, 100", "daily": "80, 100", "total": "80, 100"},
        email_enabled=False,
        webhook_url=webhook_receiver.url,
    )
    smtp_user, password = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=5)
    server = start_server(deliver=False)
    worker = AlertWorker()
    worker.start()
    try:
        send_count(server, client_tls, smtp_user, password, 4)
        wait_until(lambda: webhook_receiver.posts, message="the webhook POST")
    finally:
        worker.stop()

    (post,) = webhook_receiver.posts
    assert verify(
        secret,
        timestamp=post.headers["X-Portal-Timestamp"],
        body=post.body,
        given=post.headers["X-Portal-Signature"],
        now=time.time(),
    )
    payload = json.loads(post.body)
    assert (payload["smtp_user_name"], payload["window"], payload["threshold"]) == (
        smtp_user.smtp_user_name,
        "hourly",
        80,
    )
    assert (payload["used"], payload["limit"]) == (4, 5)
