"""Relaying queued mail upstream: retries, restarts, permanent failures, several workers."""

import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from mailqueue.delivery import DeliveryWorkers, deliver_due_messages
from mailqueue.models import QueuedMessage
from mailqueue.services import MAIL_QUEUE, accept_message
from smtpusers.services import create_smtp_user
from testing.rebinding import PUBLIC_ADDRESS
from testing.submission import (
    Upstream,
    free_port,
    make_relay_setting,
    message_bytes,
    send,
    wait_until,
)

Status = QueuedMessage.Status


@pytest.fixture
def smtp_user(alice):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=1000)
    smtp_user.password = password
    return smtp_user


def queue(smtp_user, count=1) -> list[QueuedMessage]:
    """Messages accepted as the SMTP server would (quota, usage and queue row)."""
    return [
        accept_message(
            smtp_user,
            mail_from="news@alice.example",
            recipients=["reader@destination.test"],
            data=message_bytes("news@alice.example", ["reader@destination.test"], f"No. {n}"),
            now=timezone.now(),
        )
        for n in range(count)
    ]


def message_status(message) -> tuple:
    message.refresh_from_db()
    return message.status, message.attempts


def test_it_keeps_mail_while_the_upstream_is_down_and_delivers_it_when_back(
    alice, smtp_user, start_server, client_tls
):
    port = free_port()
    make_relay_setting(alice.owner, "alice.example", port)
    server = start_server()
    send(
        server,
        client_tls,
        login=smtp_user.smtp_user_name,
        password=smtp_user.password,
        mail_from="news@alice.example",
        to=["reader@destination.test"],
        subject="Patience",
    )
    message = QueuedMessage.objects.get()
    wait_until(lambda: message_status(message)[1] >= 2, message="two failed attempts")
    assert message.status in {Status.QUEUED, Status.SENDING}
    assert message.last_error.startswith(f"Cannot connect to 127.0.0.1:{port}")

    upstream = Upstream(port).start()
    try:
        wait_until(lambda: message_status(message)[0] == Status.DELIVERED, message="delivery")
        assert [m.rcpt_tos for m in upstream.messages] == [["reader@destination.test"]]
        assert b"Subject: Patience" in upstream.messages[0].data
    finally:
        upstream.stop()
    assert message.delivered_at is not None


def test_it_delivers_queued_mail_after_a_restart(alice, smtp_user, start_server, client_tls):
    port = free_port()
    make_relay_setting(alice.owner, "alice.example", port)
    first = start_server()
    send(
        first,
        client_tls,
        login=smtp_user.smtp_user_name,
        password=smtp_user.password,
        mail_from="news@alice.example",
        to=["reader@destination.test"],
    )
    message = QueuedMessage.objects.get()
    wait_until(lambda: message_status(message)[1] >= 1, message="a failed attempt")
    first.stop()
    upstream = Upstream(port).start()
    try:
        assert message_status(message)[0] == Status.QUEUED
        assert upstream.messages == []

        start_server()

        wait_until(lambda: message_status(message)[0] == Status.DELIVERED, message="delivery")
        assert len(upstream.messages) == 1
    finally:
        upstream.stop()


def test_it_retries_a_message_whose_worker_died_while_sending(
    alice, smtp_user, upstream, start_server, settings
):
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    (message,) = queue(smtp_user)
    settings.MAILQUEUE_LEASE_SECONDS = 0.3
    # A worker claims the message, then dies before sending it.
    assert MAIL_QUEUE.claim_next(now=timezone.now()).pk == message.pk
    assert message_status(message) == (Status.SENDING, 1)

    start_server()

    wait_until(lambda: message_status(message)[0] == Status.DELIVERED, message="delivery")
    assert message.attempts == 2
    assert len(upstream.messages) == 1


def test_it_records_a_permanent_upstream_failure(alice, smtp_user, upstream, start_server):
    upstream.handler.refuse_with = "550 5.7.1 Relaying denied by upstream"
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    (message,) = queue(smtp_user)

    start_server()

    wait_until(lambda: message_status(message)[0] == Status.FAILED, message="the failure")
    assert message.attempts == 1
    assert message.last_error == "550 5.7.1 Relaying denied by upstream"
    assert message.delivered_at is None


def test_it_expires_a_message_the_upstream_never_takes(alice, smtp_user, start_server, settings):
    settings.MAILQUEUE_EXPIRY_SECONDS = 0.5
    port = free_port()
    make_relay_setting(alice.owner, "alice.example", port)
    (message,) = queue(smtp_user)

    start_server()

    wait_until(lambda: message_status(message)[0] == Status.EXPIRED, message="the expiry")
    assert message.attempts >= 2
    assert message.last_error.startswith(f"Cannot connect to 127.0.0.1:{port}")


def test_it_fails_a_message_whose_email_settings_were_removed(alice, smtp_user, start_server):
    relay_setting = make_relay_setting(alice.owner, "alice.example", free_port())
    (message,) = queue(smtp_user)
    relay_setting.delete()

    start_server()

    wait_until(lambda: message_status(message)[0] == Status.FAILED, message="the failure")
    assert message.last_error == "The email settings for alice.example were removed"


def test_two_workers_never_send_a_message_twice(alice, smtp_user, upstream, transactional_db):
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    messages = queue(smtp_user, 40)
    workers = DeliveryWorkers(2).start()
    try:
        wait_until(
            lambda: QueuedMessage.objects.filter(status=Status.DELIVERED).count() == 40,
            message="all deliveries",
        )
    finally:
        workers.stop()

    subjects = sorted(m.data.split(b"Subject: ")[1].split(b"\n")[0] for m in upstream.messages)
    assert subjects == sorted(f"No. {n}".encode() for n in range(40))
    assert set(QueuedMessage.objects.values_list("attempts", flat=True)) == {1}
    assert {m.pk for m in messages} == set(QueuedMessage.objects.values_list("pk", flat=True))


def test_it_delivers_due_mail_with_the_deliver_command(alice, smtp_user, upstream, capsys):
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    (message,) = queue(smtp_user)

    call_command("deliver", "--once")

    assert capsys.readouterr().out == "Attempted 1 message(s).\n"
    assert message_status(message) == (Status.DELIVERED, 1)
    assert len(upstream.messages) == 1


def test_it_relays_to_the_address_it_checked_when_the_dns_answer_changes(
    alice, smtp_user, upstream, fake_dns, settings, capsys
):
    settings.RELAY_ALLOW_PRIVATE_NETWORKS = False
    fake_dns.connects.clear()  # the upstream's own start-up probe
    # Public when checked, this machine ever after: a rebinding attack on the upstream's name.
    fake_dns.answers["mail.rebinding.example"] = [PUBLIC_ADDRESS, "127.0.0.1"]
    make_relay_setting(alice.owner, "alice.example", upstream.port, host="mail.rebinding.example")
    (message,) = queue(smtp_user)

    call_command("deliver", "--once")

    assert message_status(message) == (Status.QUEUED, 1)
    assert message.last_error == (
        f"Cannot connect to mail.rebinding.example:{upstream.port}: Connection refused"
    )
    assert fake_dns.connects_to_port(upstream.port) == [(PUBLIC_ADDRESS, upstream.port)]
    assert upstream.messages == []


def test_it_sends_many_messages_over_one_upstream_connection(alice, smtp_user, upstream):
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    queue(smtp_user, 5)

    deliver_due_messages()

    assert len(upstream.messages) == 5
    assert len({message.peer for message in upstream.messages}) == 1


def test_it_opens_no_more_upstream_connections_than_the_cap(
    alice, smtp_user, upstream, transactional_db, settings
):
    settings.RELAY_MAX_CONNECTIONS_PER_UPSTREAM = 1
    settings.MAILQUEUE_BATCH_SIZE = 2
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    queue(smtp_user, 12)
    workers = DeliveryWorkers(3).start()
    try:
        wait_until(
            lambda: QueuedMessage.objects.filter(status=Status.DELIVERED).count() == 12,
            message="all deliveries",
        )
    finally:
        workers.stop()

    assert len(upstream.messages) == 12
    assert len({message.peer for message in upstream.messages}) == 1


def test_it_reconnects_when_the_upstream_closed_an_open_connection(alice, smtp_user):
    first = Upstream().start()
    make_relay_setting(alice.owner, "alice.example", first.port)
    queue(smtp_user)
    deliver_due_messages()
    first.stop()  # drops the connection the relay kept open
    second = Upstream(first.port).start()
    try:
        (message,) = queue(smtp_user)

        deliver_due_messages()

        assert message_status(message) == (Status.DELIVERED, 1)
        assert len(second.messages) == 1
    finally:
        second.stop()


def test_it_closes_an_upstream_connection_left_idle(alice, smtp_user, upstream, settings):
    settings.RELAY_IDLE_CONNECTION_SECONDS = 0.2
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    queue(smtp_user)
    deliver_due_messages()
    queue(smtp_user)
    time.sleep(2.5)  # the reaper looks every second

    deliver_due_messages()

    assert len(upstream.messages) == 2
    # A new connection for the second message: the first one was closed as idle.
    assert len({message.peer for message in upstream.messages}) == 2
