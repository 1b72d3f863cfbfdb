"""Reads of domain email settings, always scoped to one owner."""

from django.db.models import QuerySet

from accounts.models import Owner
from core.crypto import decrypt
from core.errors import ServiceError
from core.tenancy import get_owned, owned_by
from relaysettings.models import RelaySetting
from relaysettings.validators import parse_domain


def relay_settings_for(owner: Owner) -> QuerySet[RelaySetting]:
    """The owner's settings, by domain."""
    return owned_by(owner, RelaySetting).order_by("domain", "id")


def relay_setting_for(owner: Owner, domain) -> RelaySetting:
    """The owner's settings for `domain` (any case, Unicode or IDNA), or NotFoundError.

    A malformed domain raises the validation error (a ServiceError) instead.
    """
    domain = parse_domain(domain)
    return get_owned(
        owner, RelaySetting, not_found=f"No email settings for {domain}", domain=domain
    )


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


def relay_setting_with_id(owner: Owner | int, relay_setting_id: int | None) -> RelaySetting | None:
    """The owner's email settings with this id, or None (removed since, or never set)."""
    if relay_setting_id is None:
        return None
    return owned_by(owner, RelaySetting).filter(pk=relay_setting_id).first()


def auth_password_of(relay_setting: RelaySetting) -> str | None:
    if not relay_setting.auth_password_encrypted:
        return None
    return decrypt(relay_setting.auth_password_encrypted)
