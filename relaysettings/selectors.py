"""Reads of domain email settings, always scoped to one owner."""

from django.db.models import QuerySet

from accounts.models import Owner
from core.crypto import decrypt
from core.tenancy import get_owned, owned_by
from relaysettings.models import RelaySetting
from relaysettings.validators import parse_domain


def relay_settings_for(owner: Owner) -> QuerySet[RelaySetting]:
    """The owner's settings, by domain."""
    return owned_by(owner, RelaySetting).order_by("domain", "id")


def relay_setting_for(owner: Owner, domain: object) -> RelaySetting:
    """The owner's settings for `domain` (any case, Unicode or IDNA), or NotFoundError.

    A malformed domain raises the validation error (a ServiceError) instead.
    """
    domain = parse_domain(domain)
    return get_owned(
        owner, RelaySetting, not_found=f"No email settings for {domain}", domain=domain
    )


def auth_password_of(relay_setting: RelaySetting) -> str | None:
    if not relay_setting.auth_password_encrypted:
        return None
    return decrypt(relay_setting.auth_password_encrypted)
