"""Reads of the mail queue and of the settings a sender may relay through, scoped to an owner."""

from datetime import datetime

from django.db.models import QuerySet

from accounts.models import Owner
from core.errors import ServiceError
from core.tenancy import owned_by
from mailqueue.models import QueuedMessage
from relaysettings.models import RelaySetting
from relaysettings.validators import parse_domain
from smtpusers.models import SmtpUser


class SenderNotAllowed(ServiceError):
    """The envelope sender's domain has no email settings of this owner."""


def sender_domain(mail_from: str) -> str:
    """The domain of an envelope sender, normalised by the same rule as the email settings'
    domains (lowercase, IDNA 2008), so that the two always match."""
    local_part, at, domain = mail_from.rpartition("@")
    if not at or not local_part or not domain.strip():
        raise SenderNotAllowed(f"Sender address <{mail_from}> has no domain")
    try:
        return parse_domain(domain)
    except ServiceError:
        raise SenderNotAllowed(f"Sender domain {domain} is not a valid domain name") from None


def relay_setting_for_sender(owner: Owner | int, mail_from: str) -> RelaySetting:
    """The owner's email settings for the domain of `mail_from`, or SenderNotAllowed."""
    domain = sender_domain(mail_from)
    relay_setting = owned_by(owner, RelaySetting).filter(domain=domain).first()
    if relay_setting is None:
        raise SenderNotAllowed(
            f"Sender domain {domain} is not one of your domains with email settings"
        )
    return relay_setting


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
