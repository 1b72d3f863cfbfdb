"""Reads of the mail queue, scoped to an owner, and the SMTP server's check at MAIL."""

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from accounts.models import Owner
from core.tenancy import owned_by
from mailqueue.models import QueuedMessage
from relaysettings.selectors import SenderSettings
from smtpusers.models import SmtpUser
from smtpusers.quota import (
    SENDING_STATE_COLUMNS,
    SENDING_STATE_TABLES,
    SendingState,
    sending_state_from_row,
)


def queued_messages_for(owner: Owner) -> QuerySet[QueuedMessage]:
    """The owner's messages, newest first, without their content (for lists)."""
    return (
        owned_by(owner, QueuedMessage)
        .select_related("smtp_user")
        .only(
            "mail_from",
            "rcpt_to",
            "size",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "delivered_at",
            "smtp_user__smtp_user_name",
        )
        .order_by("-created_at", "-id")
    )


def recent_refusals_for(owner: Owner, *, since: datetime) -> QuerySet[SmtpUser]:
    """The owner's SMTP users whose latest refused message (a limit or the status; the message
    itself is not kept) came after `since`, most recent first."""
    return (
        owned_by(owner, SmtpUser)
        .filter(last_refusal_at__gte=since)
        .only("smtp_user_name", "last_refusal", "last_refusal_at")
        .order_by("-last_refusal_at", "-id")
    )


# One round trip for each MAIL command: on this machine a statement's round trip costs more
# CPU (both ends) than any query's work (bench/RESULTS.md, "Accept path").
_SENDING_CHECK_SQL = f"""
SELECT {SENDING_STATE_COLUMNS}, u.owner_id, r.id, r.verification_status
FROM {SENDING_STATE_TABLES}
LEFT JOIN relaysettings_relaysetting r ON r.owner_id = u.owner_id AND r.domain = %s
WHERE u.id = %s
"""  # noqa: S608  (only the fixed parts of another module)


def sending_check(
    smtp_user_id: int, domain: str | None
) -> tuple[SendingState, SenderSettings | None] | None:
    """The SMTP user's SendingState with its owner's settings for the sender `domain` (None:
    no such settings, or no valid domain), in one query; None when the user no longer exists."""
    with connection.cursor() as cursor:
        cursor.execute(_SENDING_CHECK_SQL, [domain, smtp_user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    *state_columns, owner_id, relay_setting_id, verification_status = row
    sender_settings = (
        None
        if relay_setting_id is None or domain is None
        else SenderSettings(relay_setting_id, owner_id, domain, verification_status)
    )
    return sending_state_from_row(tuple(state_columns)), sender_settings
