"""Accepting, claiming and recording the delivery of queued messages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from mailqueue.models import QueuedMessage
from mailqueue.services import MAIL_QUEUE, accept_message, record_delivered, record_failure
from relaysettings.selectors import SenderNotAllowed, sender_domain, settings_for_sender
from smtpusers.models import SmtpUser
from smtpusers.quota import SendingRefused
from smtpusers.services import create_smtp_user
from testing.submission import make_relay_setting, queue_directly

Status = QueuedMessage.Status
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def smtp_user(alice):
    make_relay_setting(alice.owner, "alice.example", 2525)
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1, hourly_limit=5)
    return smtp_user


def accept(smtp_user, *, mail_from="news@alice.example", now=NOON):
    return accept_message(
        smtp_user,
        mail_from=mail_from,
        recipients=["a@destination.test", "b@destination.test"],
        data=b"Subject: hi\r\n\r\nhello\r\n",
        now=now,
    )


def test_it_queues_an_accepted_message_with_its_settings_and_counts_it(alice, smtp_user):
    message = accept(smtp_user)

    message.refresh_from_db()
    assert (message.owner_id, message.smtp_user_id, message.relay_setting.domain) == (
        alice.owner.pk,
        smtp_user.pk,
        "alice.example",
    )
    assert (message.status, message.attempts, message.next_attempt_at, message.size) == (
        Status.QUEUED,
        0,
        NOON,
        len(b"Subject: hi\r\n\r\nhello\r\n"),
    )
    assert bytes(message.data) == b"Subject: hi\r\n\r\nhello\r\n"
    assert message.rcpt_to == ["a@destination.test", "b@destination.test"]
    assert SmtpUser.objects.get(pk=smtp_user.pk).total_used == 1


def test_it_queues_and_counts_nothing_for_a_foreign_sender_domain(bob, smtp_user):
    make_relay_setting(bob.owner, "bob.example", 2525)

    with pytest.raises(SenderNotAllowed) as refused:
        accept(smtp_user, mail_from="news@bob.example")

    assert refused.value.message == (
        "Sender domain bob.example is not one of your domains with email settings"
    )
    assert (SmtpUser.objects.get(pk=smtp_user.pk).total_used, QueuedMessage.objects.count()) == (
        0,
        0,
    )


def test_it_queues_nothing_over_the_limit(smtp_user):
    accept(smtp_user)

    with pytest.raises(SendingRefused):
        accept(smtp_user)

    assert QueuedMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("mail_from", "domain"),
    [
        ("News@Alice.EXAMPLE", "alice.example"),
        ("news@alice.example.", "alice.example"),
        ("info@Bücher.Example", "xn--bcher-kva.example"),
        # IDNA 2008, as the email settings store it (IDNA 2003 would map ß to ss).
        ("info@straße.example", "xn--strae-oqa.example"),
        ('"odd@local"@alice.example', "alice.example"),
    ],
)
def test_it_normalises_the_sender_domain_like_the_email_settings(mail_from, domain):
    assert sender_domain(mail_from) == domain


@pytest.mark.parametrize("mail_from", ["", "no-at-sign", "@alice.example", "news@"])
def test_it_refuses_a_sender_without_a_domain(alice, mail_from):
    with pytest.raises(SenderNotAllowed) as refused:
        settings_for_sender(alice.owner.id, mail_from)

    assert refused.value.message == f"Sender address <{mail_from}> has no domain"


def test_it_claims_only_due_messages_and_marks_them_sending(smtp_user, settings):
    settings.MAILQUEUE_LEASE_SECONDS = 600
    message = accept(smtp_user)

    assert MAIL_QUEUE.claim_next(now=NOON - timedelta(seconds=1)) is None
    claimed = MAIL_QUEUE.claim_next(now=NOON)

    assert claimed.pk == message.pk
    message.refresh_from_db()
    assert (message.status, message.attempts, message.next_attempt_at) == (
        Status.SENDING,
        1,
        NOON + timedelta(seconds=600),
    )
    # Claimed: no other worker gets it until the lease lapses.
    assert MAIL_QUEUE.claim_next(now=NOON + timedelta(seconds=599)) is None
    assert MAIL_QUEUE.claim_next(now=NOON + timedelta(seconds=600)).attempts == 2


def test_it_ignores_the_outcome_of_a_worker_whose_claim_lapsed(smtp_user, settings):
    settings.MAILQUEUE_LEASE_SECONDS = 60
    accept(smtp_user)
    slow_worker_claim = MAIL_QUEUE.claim_next(now=NOON)
    second_claim = MAIL_QUEUE.claim_next(now=NOON + timedelta(seconds=60))

    assert record_delivered(slow_worker_claim, now=NOON, refused={}) is False
    assert record_failure(second_claim, now=NOON, error="451 busy", permanent=False) is True
    message = QueuedMessage.objects.get()
    assert (message.status, message.attempts, message.last_error) == (
        Status.QUEUED,
        2,
        "451 busy",
    )


def test_it_backs_off_exponentially_up_to_the_maximum(settings):
    settings.MAILQUEUE_RETRY_BASE_SECONDS = 60
    settings.MAILQUEUE_RETRY_MAX_SECONDS = 3600

    delays = [MAIL_QUEUE.retry_delay(attempts).total_seconds() for attempts in range(1, 9)]

    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_it_schedules_a_retry_no_later_than_the_expiry_then_expires(smtp_user, settings):
    settings.MAILQUEUE_RETRY_BASE_SECONDS = 600
    settings.MAILQUEUE_EXPIRY_SECONDS = 900
    accept(smtp_user)
    first = MAIL_QUEUE.claim_next(now=NOON)
    record_failure(first, now=NOON, error="Cannot connect", permanent=False)
    retry_at = QueuedMessage.objects.get().next_attempt_at
    second = MAIL_QUEUE.claim_next(now=retry_at)
    record_failure(second, now=retry_at, error="Cannot connect", permanent=False)
    last_try_at = QueuedMessage.objects.get().next_attempt_at
    third = MAIL_QUEUE.claim_next(now=last_try_at)
    record_failure(third, now=last_try_at, error="Cannot connect again", permanent=False)

    assert retry_at == NOON + timedelta(seconds=600)
    assert last_try_at == NOON + timedelta(seconds=900)  # not 600 + 1200: the expiry comes first
    message = QueuedMessage.objects.get()
    assert (message.status, message.attempts, message.last_error) == (
        Status.EXPIRED,
        3,
        "Cannot connect again",
    )


def test_it_records_a_delivery_with_the_recipients_the_upstream_refused(smtp_user):
    accept(smtp_user)
    claimed = MAIL_QUEUE.claim_next(now=NOON)

    record_delivered(claimed, now=NOON, refused={"b@destination.test": "550 5.1.1 No such user"})

    message = QueuedMessage.objects.get()
    assert (message.status, message.delivered_at, message.last_error) == (
        Status.DELIVERED,
        NOON,
        "b@destination.test: 550 5.1.1 No such user",
    )


# PostgreSQL walks the owners by a recursive query; other databases (SQLite, for bin/run) by
# a correlated subquery: both must claim the same way.
@pytest.mark.parametrize("vendor", ["postgresql", "other"])
def test_it_claims_another_owners_message_in_the_first_batch_behind_a_big_backlog(
    alice, bob, vendor, monkeypatch
):
    monkeypatch.setattr(connection, "vendor", vendor)
    backlog = queue_directly(
        alice.owner, make_relay_setting(alice.owner, "alice.example", 2525), 2000, now=NOON
    )
    (bobs,) = queue_directly(
        bob.owner, make_relay_setting(bob.owner, "bob.example", 2525), 1, now=NOON
    )

    first_batch = MAIL_QUEUE.claim_batch(now=NOON + timedelta(seconds=1), limit=20)

    assert bobs.pk in [message.pk for message in first_batch]
    assert len(first_batch) == 20
    # The rest of the batch is alice's oldest, in order.
    assert [m.pk for m in first_batch if m.owner_id == alice.owner.pk] == [
        m.pk for m in backlog[:19]
    ]


def test_it_claims_a_batch_once_and_gives_back_what_it_did_not_work_on(alice, settings):
    settings.MAILQUEUE_LEASE_SECONDS = 600
    queued = queue_directly(
        alice.owner, make_relay_setting(alice.owner, "alice.example", 2525), 5, now=NOON
    )

    first = MAIL_QUEUE.claim_batch(now=NOON, limit=3)
    second = MAIL_QUEUE.claim_batch(now=NOON, limit=3)
    MAIL_QUEUE.release(first[1:], now=NOON)
    third = MAIL_QUEUE.claim_batch(now=NOON, limit=3)

    assert [m.pk for m in first] == [m.pk for m in queued[:3]]
    assert [m.pk for m in second] == [m.pk for m in queued[3:]]
    assert sorted(m.pk for m in third) == [m.pk for m in queued[1:3]]
    # A released message's attempt is not counted: it was never tried.
    assert [m.attempts for m in third] == [1, 1]
