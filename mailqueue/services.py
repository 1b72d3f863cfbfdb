"""Every change to the mail queue: checking a sender, accepting a message, recording the
outcome of its delivery.

The SMTP server talks to this module only: the refusals it maps to replies (SenderNotAllowed,
SendingRefused with its Refusal, CredentialsChanged, and core's NotFoundError) are all raised
from here.
"""

from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import transaction

from core.errors import NotFoundError, ServiceError
from core.rows import insert_row
from core.workers import WorkQueue
from mailqueue.models import QueuedMessage
from mailqueue.selectors import sending_check
from relaysettings.selectors import (
    SENDER_SETTINGS_UNCHANGED_SQL,
    SenderNotAllowed,
    SenderSettings,
    sender_domain,
    settings_for_sender,
)
from relaysettings.services import SenderDomainRefused, check_header_from, check_sender_domain
from smtpusers.models import SmtpUser
from smtpusers.quota import (
    Refusal,
    SendingRefused,
    consume_send_quota,
    record_send_refusal,
    sending_refusal,
)

__all__ = [
    "MAIL_QUEUE",
    "CredentialsChanged",
    "Refusal",
    "SenderDomainRefused",
    "SenderNotAllowed",
    "SendingRefused",
    "accept_message",
    "check_sender",
    "record_delivered",
    "record_failure",
]

LAST_ERROR_MAX_LENGTH = 2000
Status = QueuedMessage.Status

# A claim marks a message `sending` for MAILQUEUE_LEASE_SECONDS; a message whose claim lapsed
# (its worker died) is due again. A worker claims MAILQUEUE_BATCH_SIZE messages at once, each
# owner's oldest first.
MAIL_QUEUE = WorkQueue(
    QueuedMessage,
    waiting_status=Status.QUEUED,
    claimed_status=Status.SENDING,
    settings_prefix="MAILQUEUE",
    fair_by="owner",
)


class CredentialsChanged(ServiceError):
    """The SMTP user's password was reset after this session logged in with the old one."""

    def __init__(self, smtp_user: SmtpUser):
        super().__init__(
            f"The credentials of SMTP user {smtp_user.smtp_user_name} changed since this "
            "session logged in; log in again"
        )


def check_sender(smtp_user: SmtpUser, mail_from: str, *, now: datetime) -> SenderSettings:
    """At MAIL: `smtp_user` (as its session logged in) may still send now, from a domain with
    the owner's email settings; returns those settings, as checked, for accept_message.

    An early answer in one read; accept_message decides again, atomically. Raises
    CredentialsChanged, SendingRefused (kept on the SMTP user), SenderNotAllowed,
    SenderDomainRefused or NotFoundError.
    """
    try:
        domain, bad_sender = sender_domain(mail_from), None
    except SenderNotAllowed as error:
        domain, bad_sender = None, error
    found = sending_check(smtp_user.pk, domain)
    if found is None:
        raise NotFoundError("SMTP user not found")
    state, sender_settings = found
    if state.password_encrypted != smtp_user.password_encrypted:
        raise CredentialsChanged(smtp_user)
    refusal = sending_refusal(state, now=now)
    if refusal is not None:
        record_send_refusal(smtp_user.pk, refusal, now=now)
        raise refusal
    if bad_sender is not None:
        raise bad_sender
    if sender_settings is None:
        raise SenderNotAllowed.not_yours(cast(str, domain))
    check_sender_domain(sender_settings)
    return sender_settings


def accept_message(
    smtp_user: SmtpUser,
    *,
    mail_from: str,
    recipients: list[str],
    data: bytes,
    now: datetime,
    client_ip: str | None = None,
    checked_sender: SenderSettings | None = None,
) -> QueuedMessage:
    """Queue a message the SMTP user submitted from `client_ip`, counting it against the
    user's limits. `checked_sender`: what check_sender returned at MAIL, if it was called.

    One transaction: the sender check, the quota (with the last use and any quota alert), the
    usage hour and the queued row all happen, or none does. A refusal for a limit or the
    status is kept on the SMTP user (last_refusal) after the rollback. A password reset since
    `smtp_user` was loaded (its session logged in) refuses the message too. Raises
    SenderNotAllowed, SenderDomainRefused, SendingRefused, CredentialsChanged or NotFoundError.
    """
    # Written without the ORM's compiler, which cost more CPU than the rest of accepting a
    # message (bench/RESULTS.md, "Accept path").
    message = QueuedMessage(
        owner_id=smtp_user.owner_id,
        smtp_user_id=smtp_user.pk,
        mail_from=mail_from,
        rcpt_to=list(recipients),
        data=data,
        size=len(data),
        next_attempt_at=now,
        created_at=now,
    )
    try:
        with transaction.atomic():
            queued = checked_sender is not None and _queue_under(
                message, checked_sender, data, only_if_unchanged=True
            )
            if not queued:
                sender_settings = settings_for_sender(smtp_user.owner_id, mail_from)
                check_sender_domain(sender_settings)
                _queue_under(message, sender_settings, data, only_if_unchanged=False)
            # Counted last: the quota UPDATE locks the SMTP user's row until the commit, so
            # the (possibly large) message is written before, not while other sessions wait.
            counted = consume_send_quota(smtp_user.pk, now=now, client_ip=client_ip)
            # The UPDATE read the password under its row lock: a reset either committed before
            # (and is seen here) or waits for this message, so the old password never sends
            # after the reset.
            if counted.password_encrypted != smtp_user.password_encrypted:
                raise CredentialsChanged(smtp_user)
    except SendingRefused as refusal:
        record_send_refusal(smtp_user.pk, refusal, now=now)
        raise
    return message


def _queue_under(
    message: QueuedMessage, sender: SenderSettings, data: bytes, *, only_if_unchanged: bool
) -> bool:
    """Queue `message` under the sender domain's settings once its header From passes them;
    whether it was queued. `only_if_unchanged`: only if the settings are still there,
    unchanged in what was checked (settings checked at MAIL), decided by the INSERT itself."""
    check_header_from(sender, data)
    message.relay_setting_id = sender.id
    unchanged = (
        SENDER_SETTINGS_UNCHANGED_SQL,
        [sender.id, sender.owner_id, sender.verification_status],
    )
    return insert_row(message, only_if=unchanged if only_if_unchanged else None)


def record_delivered(message: QueuedMessage, *, now: datetime, refused: dict[str, str]) -> bool:
    """The upstream took the message (`refused`: recipients it turned down, with its reply)."""
    last_error = "; ".join(f"{rcpt}: {reply}" for rcpt, reply in refused.items())
    return MAIL_QUEUE.record_success(
        message,
        status=Status.DELIVERED,
        delivered_at=now,
        last_error=last_error[:LAST_ERROR_MAX_LENGTH],
    )


def record_failure(message: QueuedMessage, *, now: datetime, error: str, permanent: bool) -> bool:
    """A failed attempt: retried later, or given up (permanent error, or past the expiry)."""
    expires_at = message.created_at + timedelta(seconds=settings.MAILQUEUE_EXPIRY_SECONDS)
    if permanent:
        give_up_as = Status.FAILED
    elif now >= expires_at:
        give_up_as = Status.EXPIRED
    else:
        give_up_as = None
    return MAIL_QUEUE.record_failure(
        message,
        now=now,
        give_up_as=give_up_as,
        # The last try falls on the expiry time itself.
        retry_no_later_than=expires_at,
        last_error=error[:LAST_ERROR_MAX_LENGTH],
    )
