"""Real SMTP sessions (smtplib) against the submission server, relaying to a local upstream."""

import re
import smtplib
import time

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Owner
from mailqueue.models import QueuedMessage
from smtpserver.server import RECENTLY_USED_SECONDS
from smtpusers.models import SmtpUsageHour, SmtpUser
from smtpusers.quota import hour_start
from smtpusers.services import create_smtp_user, set_smtp_users_status
from testing.submission import (
    HOST,
    connect,
    make_relay_setting,
    message_bytes,
    send,
    send_count,
    wait_until,
)


def test_it_relays_a_message_to_the_domains_upstream_and_counts_it(
    alice, upstream, start_server, client_tls
):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    server = start_server()

    refused = send(
        server,
        client_tls,
        login=smtp_user.smtp_user_name,
        password=password,
        mail_from="news@alice.example",
        to=["reader@destination.test"],
        subject="Done when",
    )

    assert refused == {}
    received = wait_until(lambda: upstream.messages, message="the upstream to receive it")
    assert len(received) == 1
    assert received[0].mail_from == "news@alice.example"
    assert received[0].rcpt_tos == ["reader@destination.test"]
    assert b"Subject: Done when" in received[0].data
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used) == (1, 1)
    assert smtp_user.hour_started_at == hour_start(smtp_user.hour_started_at)
    usage = SmtpUsageHour.objects.get(smtp_user=smtp_user)
    assert (usage.hour, usage.count) == (smtp_user.hour_started_at, 1)
    queued = wait_until(
        lambda: QueuedMessage.objects.filter(status="delivered").first(),
        message="the queue row to be marked delivered",
    )
    assert (queued.attempts, queued.smtp_user_id, queued.rcpt_to) == (
        1,
        smtp_user.pk,
        ["reader@destination.test"],
    )
    assert SmtpUser.objects.get(pk=smtp_user.pk).total_used == 1


@pytest.fixture
def sender(alice, upstream):
    """Alice's SMTP user (limits 100/10) and email settings for alice.example."""
    smtp_user, password = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    return smtp_user, password


def login_refusal(server, client_tls, login, password) -> tuple[int, str]:
    """The reply to a login that must fail."""
    with (
        connect(server, client_tls) as client,
        pytest.raises(smtplib.SMTPAuthenticationError) as refused,
    ):
        client.login(login, password)
    return refused.value.smtp_code, refused.value.smtp_error.decode()


def test_it_accepts_auth_plain_and_auth_login(sender, start_server, client_tls):
    smtp_user, password = sender
    server = start_server()
    with connect(server, client_tls) as client:
        assert "PLAIN" in client.esmtp_features["auth"].split()
        assert "LOGIN" in client.esmtp_features["auth"].split()
        client.user, client.password = smtp_user.smtp_user_name, password
        code, reply = client.auth("PLAIN", client.auth_plain)
        assert (code, reply) == (235, b"2.7.0 Authentication successful")
    with connect(server, client_tls) as client:
        client.user, client.password = smtp_user.smtp_user_name, password
        code, reply = client.auth("LOGIN", client.auth_login, initial_response_ok=False)
        assert (code, reply) == (235, b"2.7.0 Authentication successful")


@pytest.mark.parametrize(
    "login", ["right-user-wrong-password", "unknown-user", "nul-in-name", "not-a-name"]
)
def test_it_refuses_wrong_credentials_with_535(login, sender, start_server, client_tls):
    smtp_user, password = sender
    name = {
        "right-user-wrong-password": smtp_user.smtp_user_name,
        "unknown-user": "smtp00000000",
        "nul-in-name": smtp_user.smtp_user_name + "\x00",
        "not-a-name": "x" * 300,
    }[login]
    server = start_server()
    assert login_refusal(server, client_tls, name, password + "x") == (
        535,
        "5.7.8 Authentication credentials invalid",
    )


def test_it_throttles_auth_after_too_many_failures_from_one_address(
    sender, start_server, client_tls, settings
):
    settings.SMTP_AUTH_FAILURE_LIMIT = 3
    smtp_user, password = sender
    server = start_server()

    def auth_plain(client, password):
        # One attempt each (smtplib's login() would try PLAIN and then LOGIN).
        client.user, client.password = smtp_user.smtp_user_name, password
        try:
            return client.auth("PLAIN", client.auth_plain)
        except smtplib.SMTPAuthenticationError as error:
            return error.smtp_code, error.smtp_error

    with connect(server, client_tls) as client:
        failures = [auth_plain(client, "wrong-password") for _ in range(3)]
        # Now even the right password is turned away until the window has passed.
        throttled = auth_plain(client, password)
    assert failures == [(535, b"5.7.8 Authentication credentials invalid")] * 3
    assert throttled == (454, b"4.7.0 Too many failed logins from your address; try again later")


def test_it_refuses_the_login_of_a_disabled_smtp_user(alice, sender, start_server, client_tls):
    smtp_user, password = sender
    set_smtp_users_status(alice.owner, smtp_user_names=[smtp_user.smtp_user_name], status="Disable")
    server = start_server()
    assert login_refusal(server, client_tls, smtp_user.smtp_user_name, password) == (
        535,
        f"5.7.8 SMTP user {smtp_user.smtp_user_name} is disabled",
    )


def test_it_refuses_the_login_when_the_owner_is_inactive(alice, sender, start_server, client_tls):
    smtp_user, password = sender
    Owner.objects.filter(pk=alice.owner.pk).update(is_active=False)
    server = start_server()
    assert login_refusal(server, client_tls, smtp_user.smtp_user_name, password) == (
        535,
        f"5.7.8 The account of SMTP user {smtp_user.smtp_user_name} is inactive",
    )


def test_it_refuses_mail_when_the_user_is_disabled_mid_session(
    alice, sender, start_server, client_tls
):
    smtp_user, password = sender
    server = start_server()
    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, password)
        set_smtp_users_status(
            alice.owner, smtp_user_names=[smtp_user.smtp_user_name], status="Disable"
        )
        code, reply = client.mail("news@alice.example")
    assert (code, reply.decode()) == (
        550,
        f"5.7.1 SMTP user {smtp_user.smtp_user_name} is disabled",
    )


def test_it_refuses_data_when_the_user_is_disabled_after_mail(
    alice, sender, start_server, client_tls
):
    smtp_user, password = sender
    server = start_server()
    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, password)
        assert client.mail("news@alice.example")[0] == 250
        assert client.rcpt("reader@destination.test")[0] == 250
        set_smtp_users_status(
            alice.owner, smtp_user_names=[smtp_user.smtp_user_name], status="Disable"
        )
        code, reply = client.data(message_bytes("news@alice.example", ["reader@destination.test"]))
    assert (code, reply.decode()) == (
        550,
        f"5.7.1 SMTP user {smtp_user.smtp_user_name} is disabled",
    )
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, QueuedMessage.objects.count()) == (0, 0)


def test_it_offers_auth_only_after_starttls(sender, start_server, client_tls):
    smtp_user, password = sender
    server = start_server(allow_plaintext_auth=False)
    with connect(server, client_tls, starttls=False) as client:
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        assert client.docmd("AUTH", "PLAIN AGFiYwBkZWY=") == (
            530,
            b"Must issue a STARTTLS command first",
        )
        assert client.mail("news@alice.example")[0] == 530
        client.starttls(context=client_tls)
        client.ehlo("client.test")
        assert client.sock.version() in {"TLSv1.2", "TLSv1.3"}
        assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        assert not client.has_extn("starttls")
        assert client.login(smtp_user.smtp_user_name, password)[0] == 235


def test_it_offers_auth_without_tls_when_plaintext_auth_is_allowed(
    sender, start_server, client_tls
):
    smtp_user, password = sender
    server = start_server(allow_plaintext_auth=True)
    with connect(server, client_tls, starttls=False) as client:
        assert client.has_extn("auth")
        assert client.login(smtp_user.smtp_user_name, password)[0] == 235
        assert (
            client.sendmail("a@alice.example", ["b@destination.test"], b"Subject: x\r\n\r\nx") == {}
        )


def test_it_requires_auth_before_mail(sender, start_server, client_tls):
    server = start_server()
    with connect(server, client_tls) as client:
        assert client.mail("news@alice.example") == (530, b"5.7.0 Authentication required")


def test_it_accepts_mail_on_the_implicit_tls_port(sender, upstream, start_server, client_tls):
    smtp_user, password = sender
    server = start_server()
    with smtplib.SMTP_SSL(HOST, server.tls_port, context=client_tls, timeout=30) as client:
        client.ehlo("client.test")
        assert not client.has_extn("starttls")
        client.login(smtp_user.smtp_user_name, password)
        refused = client.sendmail(
            "news@alice.example",
            ["reader@destination.test"],
            message_bytes("news@alice.example", ["reader@destination.test"], "Implicit"),
        )
    assert refused == {}
    received = wait_until(lambda: upstream.messages, message="the upstream to receive it")
    assert b"Subject: Implicit" in received[0].data


def test_it_refuses_a_sender_domain_without_email_settings_of_the_owner(
    bob, sender, start_server, client_tls
):
    smtp_user, password = sender
    make_relay_setting(bob.owner, "bob.example", 25)
    server = start_server()
    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, password)
        for address, domain in [
            ("someone@bob.example", "bob.example"),
            ("someone@sub.alice.example", "sub.alice.example"),
        ]:
            code, reply = client.mail(address)
            assert (code, reply.decode()) == (
                550,
                f"5.7.1 Sender domain {domain} is not one of your domains with email settings",
            )
        # The domain matches whatever its letter case.
        assert client.mail("News@ALICE.Example") == (250, b"2.1.0 Sender OK")
    assert QueuedMessage.objects.count() == 0


def test_it_counts_one_unit_per_message_whatever_the_recipients(
    sender, upstream, start_server, client_tls
):
    smtp_user, password = sender
    server = start_server()
    recipients = ["one@destination.test", "two@destination.test", "three@destination.test"]
    send(
        server,
        client_tls,
        login=smtp_user.smtp_user_name,
        password=password,
        mail_from="news@alice.example",
        to=recipients,
    )
    received = wait_until(lambda: upstream.messages, message="the upstream to receive it")
    assert received[0].rcpt_tos == recipients
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used) == (1, 1)
    assert SmtpUsageHour.objects.get(smtp_user=smtp_user).count == 1


def test_it_refuses_more_recipients_than_allowed(sender, start_server, client_tls, settings):
    settings.SMTP_MAX_RECIPIENTS = 2
    smtp_user, password = sender
    server = start_server()
    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, password)
        client.mail("news@alice.example")
        assert client.rcpt("one@destination.test")[0] == 250
        assert client.rcpt("two@destination.test")[0] == 250
        assert client.rcpt("three@destination.test") == (
            452,
            b"4.5.3 Too many recipients: at most 2 per message",
        )





def test_it_accepts_exactly_the_hourly_limit(alice, upstream, start_server, client_tls):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=100, hourly_limit=3)
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    server = start_server(deliver=False)

    replies = send_count(server, client_tls, smtp_user, password, 4)

    assert replies[:3] == [(250, "accepted")] * 3
    code, text = replies[3]
    assert code == 451
    assert re.fullmatch(
        rf"4\.7\.1 hourly limit of 3 messages reached for {smtp_user.smtp_user_name}; "
        r"resets at \d\d:00 UTC",
        text,
    )
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used) == (3, 3)
    assert QueuedMessage.objects.count() == 3
    assert SmtpUsageHour.objects.get(smtp_user=smtp_user).count == 3


def test_it_accepts_exactly_the_total_limit(alice, upstream, start_server, client_tls):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=2, hourly_limit=10)
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    server = start_server(deliver=False)

    replies = send_count(server, client_tls, smtp_user, password, 3)

    assert replies == [
        (250, "accepted"),
        (250, "accepted"),
        (
            554,
            f"5.7.1 total limit of 2 messages reached for {smtp_user.smtp_user_name}; "
            "raise the limit to send more",
        ),
    ]
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used) == (2, 2)
    assert QueuedMessage.objects.count() == 2


def test_it_shows_the_usage_in_list_smtp(alice, sender, upstream, start_server, client_tls):
    smtp_user, password = sender
    server = start_server(deliver=False)
    send_count(server, client_tls, smtp_user, password, 2)

    response = Client().post(
        "/v1.0/settings/listSmtp", alice.credentials, content_type="application/json"
    )

    item = response.json()["smtp_list"][0]
    assert (item["smtp_user_name"], item["total_used"], item["hourly_used"]) == (
        smtp_user.smtp_user_name,
        2,
        2,
    )


def _drop_other_database_connections() -> None:
    """What a PostgreSQL restart does to the server's connections (this test's own stays)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_it_accepts_mail_again_after_the_database_dropped_its_connections(
    alice, upstream, start_server, client_tls
):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=100, hourly_limit=100)
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    server = start_server(deliver=False)
    mail_from, to = "news@alice.example", ["reader@destination.test"]

    def reply_to_one_message(client) -> int:
        try:
            client.sendmail(mail_from, to, message_bytes(mail_from, to))
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            return error.smtp_code
        return 250

    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, password)
        before = reply_to_one_message(client)
        # Dropped while idle: the health check before the next use replaces them.
        _drop_other_database_connections()
        time.sleep(RECENTLY_USED_SECONDS + 0.2)
        after_idle = reply_to_one_message(client)
        # Dropped between two messages: the next one may get a temporary failure (no health
        # check for a connection used a moment ago), the one after is accepted.
        _drop_other_database_connections()
        at_once = [reply_to_one_message(client) for _ in range(2)]

    assert (before, after_idle) == (250, 250)
    assert at_once in ([250, 250], [451, 250])
    accepted = 2 + at_once.count(250)
    assert QueuedMessage.objects.count() == accepted
    smtp_user.refresh_from_db()
    assert smtp_user.total_used == accepted
