"""Delivering claimed batches: each batch's email settings read at once, each message sent
through its own owner's settings."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailqueue.delivery import deliver, deliver_due_messages, read_relay_settings
from mailqueue.models import QueuedMessage
from mailqueue.services import MAIL_QUEUE
from testing.submission import make_relay_setting, queue_directly

Status = QueuedMessage.Status
PASSWORD = "relay-secret"


@pytest.fixture
def upstream_with_logins(smtp_server):
    """One upstream that knows a login per sender domain, so that what it received tells which
    settings each message was sent with."""
    domains = ["alice.example", "alice.net", "bob.example"]
    return smtp_server(users={f"relay@{domain}": PASSWORD for domain in domains})


def relay_setting(tenant, domain, upstream):
    return make_relay_setting(
        tenant.owner, domain, upstream.port, auth_user=f"relay@{domain}", auth_password=PASSWORD
    )


def settings_reads(queries) -> int:
    return sum('FROM "relaysettings_relaysetting"' in query["sql"] for query in queries)


def test_it_reads_a_batchs_settings_once_and_sends_each_message_through_its_own(
    alice, bob, upstream_with_logins, settings
):
    settings.MAILQUEUE_BATCH_SIZE = 20
    senders = [
        (alice.owner, relay_setting(alice, "alice.example", upstream_with_logins)),
        (alice.owner, relay_setting(alice, "alice.net", upstream_with_logins)),
        (bob.owner, relay_setting(bob, "bob.example", upstream_with_logins)),
    ]
    queued, queries_beside_outcomes = [], []
    for per_sender in (1, 6):
        batch = [
            message
            for owner, settings_of_domain in senders
            for message in queue_directly(owner, settings_of_domain, per_sender)
        ]
        queued += batch

        with CaptureQueriesContext(connection) as queries:
            deliver_due_messages()

        assert settings_reads(queries) == 1
        queries_beside_outcomes.append(len(queries) - len(batch))

    # Each message costs one UPDATE recording its outcome, and nothing else: a batch of 18
    # messages takes as many claim and settings queries as a batch of 3.
    assert queries_beside_outcomes[0] == queries_beside_outcomes[1]
    assert set(QueuedMessage.objects.values_list("status", flat=True)) == {Status.DELIVERED}
    received = sorted((m.login, m.mail_from) for m in upstream_with_logins.messages)
    assert received == sorted((f"relay@{m.mail_from[5:]}", m.mail_from) for m in queued)


def test_it_never_sends_a_message_with_another_owners_settings(alice, bob, upstream_with_logins):
    alices = relay_setting(alice, "alice.example", upstream_with_logins)
    (alices_message,) = queue_directly(alice.owner, alices, 1)
    # A message of bob's naming alice's settings (no accepted message can), in the same batch.
    (bobs_message,) = queue_directly(bob.owner, alices, 1)

    deliver_due_messages()

    bobs_message.refresh_from_db()
    assert (bobs_message.status, bobs_message.last_error) == (
        Status.FAILED,
        "The email settings for alice.example were removed",
    )
    assert [(m.login, m.mail_from) for m in upstream_with_logins.messages] == [
        ("relay@alice.example", "news@alice.example")
    ]
    alices_message.refresh_from_db()
    assert alices_message.status == Status.DELIVERED


def test_it_fails_a_message_whose_settings_were_removed_after_the_claim(
    alice, upstream_with_logins
):
    alices = relay_setting(alice, "alice.example", upstream_with_logins)
    queue_directly(alice.owner, alices, 2)
    batch = MAIL_QUEUE.claim_batch(now=timezone.now(), limit=20)
    alices.delete()

    read_relay_settings(batch)
    for message in batch:
        deliver(message)

    assert upstream_with_logins.messages == []
    assert (
        list(QueuedMessage.objects.values_list("status", "attempts", "last_error"))
        == [(Status.FAILED, 1, "The email settings for alice.example were removed")] * 2
    )
