"""Reads of domain email settings, always scoped to one owner."""

from django.db.models import QuerySet

from accounts.models import Owner
from core.crypto import decrypt
from core.tenancy import get_owned, owned_by
from relaysettings.models import DkimKey, RelaySetting
from relaysettings.validators import parse_domain


def relay_settings_for(owner: Owner) -> QuerySet[RelaySetting]:
    """The owner's settings, by domain, with their DKIM keys (oldest first)."""
    return owned_by(owner, RelaySetting).prefetch_related("dkim_keys").order_by("domain", "id")


def relay_setting_for(owner: Owner, domain) -> RelaySetting:
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


def dkim_keys_of(relay_setting: RelaySetting) -> list[DkimKey]:
    """The domain's published keys (active, next, retiring), oldest first."""
    return list(relay_setting.dkim_keys.all())


def relay_setting_and_keys(owner: Owner, domain) -> tuple[RelaySetting, list[DkimKey]]:
    """relay_setting_for and dkim_keys_of in one query (the API's GET): the keys joined with
    their settings; a second query only for settings without keys."""
    domain = parse_domain(domain)
    keys = list(
        DkimKey.objects.select_related("relay_setting")
        .filter(relay_setting__in=owned_by(owner, RelaySetting).filter(domain=domain))
        .order_by("created_at", "id")
    )
    if not keys:
        return relay_setting_for(owner, domain), []
    return keys[0].relay_setting, keys
