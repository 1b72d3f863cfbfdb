"""Reads of domain email settings, always scoped to one owner."""

import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from typing import Any

from django.db.models import QuerySet

from accounts.models import Owner
from core.compiled import CompiledQuery
from core.crypto import decrypt
from core.errors import ServiceError
from core.tenancy import get_owned, owned_by
from relaysettings import dkim, verification
from relaysettings.models import DkimKey, RelaySetting
from relaysettings.validators import parse_domain


def relay_settings_for(owner: Owner) -> QuerySet[RelaySetting]:
    """The owner's settings, by domain, with their DKIM keys (oldest first)."""
    return owned_by(owner, RelaySetting).prefetch_related("dkim_keys").order_by("domain", "id")


def relay_setting_for(owner: Owner, domain: object) -> RelaySetting:
    """The owner's settings for `domain` (any case, Unicode or IDNA), or NotFoundError.

    A malformed domain raises the validation error (a ServiceError) instead.
    """
    domain = parse_domain(domain)
    return get_owned(
        owner, RelaySetting, not_found=f"No email settings for {domain}", domain=domain
    )


class SenderNotAllowed(ServiceError):
    """The envelope sender's domain has no email settings of this owner."""

    @classmethod
    def not_yours(cls, domain: str) -> "SenderNotAllowed":
        return cls(f"Sender domain {domain} is not one of your domains with email settings")


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


@dataclass(frozen=True)
class SenderSettings:
    """What the SMTP server checks of a sender domain's settings for every message: two
    columns, not a whole row and a model instance (several times the CPU; bench/RESULTS.md,
    "Accept path")."""

    id: int
    owner_id: int
    domain: str
    verification_status: str


# Compiled once: the SMTP server reads it at DATA whenever the settings MAIL checked changed.
_SENDER_SETTINGS = CompiledQuery(
    lambda owner, domain: (
        owned_by(owner, RelaySetting).filter(domain=domain).values("id", "verification_status")
    ),
    owner=int,
    domain=str,
)
# The same settings as a condition: they still exist, unchanged in what was checked.
SENDER_SETTINGS_UNCHANGED_SQL = (
    "SELECT 1 FROM relaysettings_relaysetting "
    "WHERE id = %s AND owner_id = %s AND verification_status = %s"
)


def settings_for_sender(owner_id: int, mail_from: str) -> SenderSettings:
    """The owner's email settings for the domain of `mail_from`, or SenderNotAllowed."""
    domain = sender_domain(mail_from)
    found = _SENDER_SETTINGS(owner=owner_id, domain=domain)
    if not found:
        raise SenderNotAllowed.not_yours(domain)
    (row,) = found
    return SenderSettings(row["id"], owner_id, domain, row["verification_status"])


def relay_settings_with_ids(
    wanted: Iterable[tuple[int, int | None]],
) -> dict[tuple[int, int | None], RelaySetting]:
    """Several owners' email settings in one query, by (owner id, settings id): each owner's
    own only, so a pair whose settings were removed (or never set, or are another owner's) is
    missing."""
    ids_by_owner: dict[int, set[int]] = defaultdict(set)
    for owner_id, relay_setting_id in wanted:
        if relay_setting_id is not None:
            ids_by_owner[owner_id].add(relay_setting_id)
    if not ids_by_owner:
        return {}
    # One query: the owners' scoped querysets OR-ed together.
    found = reduce(
        operator.or_,
        (
            owned_by(owner_id, RelaySetting).filter(pk__in=ids)
            for owner_id, ids in ids_by_owner.items()
        ),
    )
    return {(relay_setting.owner_id, relay_setting.pk): relay_setting for relay_setting in found}


def auth_password_of(relay_setting: RelaySetting) -> str | None:
    if not relay_setting.auth_password_encrypted:
        return None
    return decrypt(relay_setting.auth_password_encrypted)


def dkim_keys_of(relay_setting: RelaySetting) -> list[DkimKey]:
    """The domain's published keys (active, next, retiring), oldest first."""
    return list(relay_setting.dkim_keys.all())


# The API's GET: compiled once, since building this QuerySet cost more than running it.
_KEYS_WITH_SETTINGS = CompiledQuery(
    lambda owner, domain: (
        owned_by(owner, DkimKey.objects.select_related("relay_setting"), via="relay_setting")
        .filter(relay_setting__domain=domain)
        .order_by("created_at", "id")
    ),
    owner=int,
    domain=str,
)


def relay_setting_and_keys(owner: Owner, domain: object) -> tuple[RelaySetting, list[DkimKey]]:
    """relay_setting_for and dkim_keys_of in one query (the API's GET): the keys joined with
    their settings; a second query only for settings without keys."""
    domain = parse_domain(domain)
    keys = _KEYS_WITH_SETTINGS(owner=owner.pk, domain=domain)
    if not keys:
        return relay_setting_for(owner, domain), []
    return keys[0].relay_setting, keys


FINDING_LABELS = {
    verification.FOUND: "Found",
    verification.MISSING: "Missing",
    verification.WRONG: "Wrong value",
    verification.UNCHECKED: "Look-up failed",
}


@dataclass(frozen=True)
class DnsRecord:
    """One row of a domain's DNS table on the Domains page."""

    key: str  # names the row in element ids: ownership, dkim-<selector>, spf, dmarc
    purpose: str
    name: str  # fully qualified
    host: str  # relative to the zone, as DNS hosts ask for it
    value: str
    status: str  # a verification finding, or "" (not checked yet)
    detail: str
    required: bool

    @property
    def status_label(self) -> str:
        return FINDING_LABELS.get(self.status, "Not checked yet")


def dns_records_of(relay_setting: RelaySetting) -> list[DnsRecord]:
    """The records the domain should have, each with what the last check found."""
    domain, zone = relay_setting.domain, relay_setting.dns_zone
    findings = relay_setting.dns_findings or {}

    def row(
        key: str,
        purpose: str,
        name: str,
        value: str,
        finding: dict[str, Any] | None,
        *,
        required: bool = True,
    ) -> DnsRecord:
        finding = finding or {}
        return DnsRecord(
            key=key,
            purpose=purpose,
            name=name,
            host=verification.relative_name(name, zone),
            value=finding.get("suggested") or value,
            status=finding.get("status", ""),
            detail=finding.get("detail", ""),
            required=required,
        )

    rows = [
        row(
            "ownership",
            "Ownership proof",
            verification.ownership_name(domain),
            verification.ownership_value(relay_setting),
            findings.get("ownership"),
        )
    ]
    key_purposes: dict[str, str] = {
        DkimKey.State.ACTIVE: "DKIM signing key",
        DkimKey.State.NEXT: "DKIM new key (publish it: signing switches once it is seen)",
        DkimKey.State.RETIRING: "DKIM old key (keep until {:%Y-%m-%d}, then remove)",
    }
    for key in dkim_keys_of(relay_setting):
        purpose = key_purposes[key.state].format(key.retire_at)
        rows.append(
            row(
                f"dkim-{key.selector}",
                purpose,
                dkim.record_name(key, domain),
                dkim.record_value(key),
                findings.get("dkim", {}).get(key.selector),
            )
        )
    rows.append(
        row(
            "spf",
            "SPF (advice)",
            domain,
            verification.suggested_spf(None, relay_setting.host),
            findings.get("spf"),
            required=False,
        )
    )
    rows.append(
        row(
            "dmarc",
            "DMARC (advice)",
            f"_dmarc.{domain}",
            verification.SUGGESTED_DMARC,
            findings.get("dmarc"),
            required=False,
        )
    )
    return rows
