"""Every change to the mail queue: accepting a message, claiming it, recording the outcome."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from core.workers import backoff, claim_next, finish_claim
from mailqueue.models import QueuedMessage
from mailqueue.selectors import relay_setting_for_sender
from smtpusers.models import SmtpUser
from smtpusers.services import SendingRefused, consume_send_quota, record_send_refusal

LAST_ERROR_MAX_LENGTH = 2000
Status = QueuedMessage.Status


def accept_message(
    smtp_user: SmtpUser,
    *,
    mail_from: str,
    recipients: list[str],
    data: bytes,
    now: datetime,
    client_ip: str | None = None,
) -> QueuedMessage:
    """Queue a message the SMTP user submitted from `client_ip`, counting it against the
    user's limits.

    One transaction: the sender check, the quota (with the last use and any quota alert), the
    usage hour and the queued row all happen, or none does. A refusal for a limit or the
    status is kept on the SMTP user (last_refusal) after the rollback. Raises
    SenderNotAllowed, SendingRefused or NotFoundError.
    """
    try:
        with transaction.atomic():
            relay_setting = relay_setting_for_sender(smtp_user.owner_id, mail_from)
            message = QueuedMessage.objects.create(
                owner_id=smtp_user.owner_id,
                smtp_user=smtp_user,
                relay_setting=relay_setting,
                mail_from=mail_from,
                rcpt_to=list(recipients),
                data=data,
                size=len(data),
                next_attempt_at=now,
                created_at=now,
            )
            # Counted last: the quota UPDATE locks the SMTP user's row until the commit, so
            # the (possibly large) message is written before, not while other sessions wait.
            consume_send_quota(smtp_user.pk, now=now, client_ip=client_ip)
    except SendingRefused as refusal:
        record_send_refusal(smtp_user.pk, refusal, now=now)
        raise
    return message


def claim_next_message(*, now: datetime) -> QueuedMessage | None:
    """Take the next due message for sending, or None.

    A claim marks the message `sending` for MAILQUEUE_LEASE_SECONDS; a message whose claim
    lapsed (its worker died) is due again.
    """
    return claim_next(
        QueuedMessage,
        due_statuses=[Status.QUEUED, Status.SENDING],
        claimed_status=Status.SENDING,
        now=now,
        lease=timedelta(seconds=settings.MAILQUEUE_LEASE_SECONDS),
    )


def _finish(message: QueuedMessage, **changes: object) -> bool:
    """Record an outcome, unless the claim was lost meanwhile (lapsed and re-claimed)."""
    return finish_claim(message, Status.SENDING, **changes)


def record_delivered(message: QueuedMessage, *, now: datetime, refused: dict[str, str]) -> bool:
    """The upstream took the message (`refused`: recipients it turned down, with its reply)."""
    last_error = "; ".join(f"{rcpt}: {reply}" for rcpt, reply in refused.items())
    return _finish(
        message,
        status=Status.DELIVERED,
        delivered_at=now,
        last_error=last_error[:LAST_ERROR_MAX_LENGTH],
    )


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt, capped."""
    return backoff(
        attempts,
        base_seconds=settings.MAILQUEUE_RETRY_BASE_SECONDS,
        max_seconds=settings.MAILQUEUE_RETRY_MAX_SECONDS,
    )


def record_failure(message: QueuedMessage, *, now: datetime, error: str, permanent: bool) -> bool:
    """A failed attempt: retried later, or given up (permanent error, or past the expiry)."""
    expires_at = message.created_at + timedelta(seconds=settings.MAILQUEUE_EXPIRY_SECONDS)
    changes: dict[str, object] = {"last_error": error[:LAST_ERROR_MAX_LENGTH]}
    if permanent:
        changes["status"] = Status.FAILED
    elif now >= expires_at:
        changes["status"] = Status.EXPIRED
    else:
        changes["status"] = Status.QUEUED
        # The last try falls on the expiry time itself.
        changes["next_attempt_at"] = min(now + retry_delay(message.attempts), expires_at)
    return _finish(message, **changes)
