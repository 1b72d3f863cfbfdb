"""Reads of the mail queue, scoped to an owner."""

from datetime import datetime

from django.db.models import QuerySet

from accounts.models import Owner
from core.tenancy import owned_by
from mailqueue.models import QueuedMessage
from smtpusers.models import SmtpUser


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
