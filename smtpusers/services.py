"""Every change to SMTP users goes through these functions, whatever the caller (the usage
counters change only in smtpusers.quota)."""

from collections.abc import Iterable
from typing import cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Owner
from audit.services import record_event
from core.crypto import encrypt
from core.errors import ServiceError
from core.tenancy import CompiledGetOwned, owned_by
from smtpusers.credentials import generate_smtp_password, generate_smtp_user_name
from smtpusers.models import SmtpUser, status_name
from smtpusers.validators import (
    parse_allowed_networks,
    parse_daily_limit,
    parse_limit,
    parse_smtp_user_name,
    parse_status,
)

NAME_ATTEMPTS = 8


def _not_found(smtp_user_name: str) -> str:
    return f"SMTP user {smtp_user_name} not found"


# editSmtp's and resetSmtpPassword's read, compiled once: building it cost more than running it.
_get_owned_locked = CompiledGetOwned(
    lambda: SmtpUser.objects.select_for_update(), smtp_user_name=str
)


def _locked_smtp_user(owner: Owner, smtp_user_name: str) -> SmtpUser:
    """The owner's SMTP user, row-locked until the surrounding transaction ends."""
    return _get_owned_locked(
        owner, not_found=_not_found(smtp_user_name), smtp_user_name=smtp_user_name
    )


def _target(smtp_user_name: str) -> str:
    return f"SMTP user {smtp_user_name}"


def _readable(field: str, value: object) -> object:
    return status_name(cast(bool, value)) if field == "is_enabled" else value


def _audit_changes(
    smtp_user: SmtpUser, changed: list[str], new_values: dict[str, object]
) -> dict[str, list[object]]:
    return {
        ("status" if field == "is_enabled" else field): [
            _readable(field, getattr(smtp_user, field)),
            _readable(field, new_values[field]),
        ]
        for field in changed
    }


def create_smtp_user(
    owner: Owner, *, total_limit: object, hourly_limit: object, daily_limit: object = None
) -> tuple[SmtpUser, str]:
    """A new enabled SMTP user; returns it with its plaintext password (shown once).

    `daily_limit` None, 0 or "none": no daily limit.
    """
    total_limit = parse_limit(total_limit, field="total_limit")
    hourly_limit = parse_limit(hourly_limit, field="hourly_limit")
    daily_limit = None if daily_limit is None else parse_daily_limit(daily_limit)
    password = generate_smtp_password()
    for _ in range(NAME_ATTEMPTS):
        try:
            with transaction.atomic():
                smtp_user = SmtpUser.objects.create(
                    owner=owner,
                    smtp_user_name=generate_smtp_user_name(),
                    password_encrypted=encrypt(password),
                    total_limit=total_limit,
                    hourly_limit=hourly_limit,
                    daily_limit=daily_limit,
                )
                record_event(
                    owner,
                    action="smtp_user.create",
                    target=_target(smtp_user.smtp_user_name),
                    changes={
                        "total_limit": [None, total_limit],
                        "hourly_limit": [None, hourly_limit],
                        **({"daily_limit": [None, daily_limit]} if daily_limit else {}),
                    },
                )
            return smtp_user, password
        except IntegrityError:
            # Another SMTP user took this random name first: draw again.
            continue
    raise ServiceError("Could not allocate a unique SMTP user name; try again")


def update_smtp_user(
    owner: Owner,
    *,
    smtp_user_name: object,
    total_limit: object = None,
    hourly_limit: object = None,
    daily_limit: object = None,
    status: object = None,
    allowed_networks: object = None,
) -> SmtpUser:
    """Change the given fields; a None argument keeps the stored value.

    `daily_limit` 0 or "none" removes the daily limit; `allowed_networks` "" or [] lets any
    address log in.
    """
    smtp_user_name = parse_smtp_user_name(smtp_user_name)
    changes: dict[str, object] = {}
    if total_limit is not None:
        changes["total_limit"] = parse_limit(total_limit, field="total_limit")
    if hourly_limit is not None:
        changes["hourly_limit"] = parse_limit(hourly_limit, field="hourly_limit")
    if daily_limit is not None:
        changes["daily_limit"] = parse_daily_limit(daily_limit)
    if allowed_networks is not None:
        changes["allowed_networks"] = parse_allowed_networks(allowed_networks)
    if status is not None:
        changes["is_enabled"] = parse_status(status)
    with transaction.atomic():
        smtp_user = _locked_smtp_user(owner, smtp_user_name)
        changed = [field for field, value in changes.items() if getattr(smtp_user, field) != value]
        if changed:
            record_event(
                owner,
                action="smtp_user.update",
                target=_target(smtp_user_name),
                changes=_audit_changes(smtp_user, changed, changes),
            )
            for field in changed:
                setattr(smtp_user, field, changes[field])
            smtp_user.save(update_fields=[*changed, "updated_at"])
    return smtp_user


def set_smtp_users_status(
    owner: Owner, *, smtp_user_names: Iterable[object], status: object
) -> int:
    """Enable or disable several of the owner's SMTP users at once; returns how many matched."""
    is_enabled = parse_status(status)
    names = [parse_smtp_user_name(name) for name in smtp_user_names]
    with transaction.atomic():
        matching = owned_by(owner, SmtpUser).filter(smtp_user_name__in=names)
        to_change = list(
            matching.exclude(is_enabled=is_enabled)
            .select_for_update()
            .values_list("smtp_user_name", flat=True)
        )
        owned_by(owner, SmtpUser).filter(smtp_user_name__in=to_change).update(
            is_enabled=is_enabled, updated_at=timezone.now()
        )
        for smtp_user_name in to_change:
            record_event(
                owner,
                action="smtp_user.update",
                target=_target(smtp_user_name),
                changes={"status": [status_name(not is_enabled), status_name(is_enabled)]},
            )
        return matching.count()


def reset_smtp_password(owner: Owner, *, smtp_user_name: object) -> tuple[SmtpUser, str]:
    """A fresh password for the SMTP user; returns it in plaintext (shown once)."""
    smtp_user_name = parse_smtp_user_name(smtp_user_name)
    password = generate_smtp_password()
    with transaction.atomic():
        smtp_user = _locked_smtp_user(owner, smtp_user_name)
        smtp_user.password_encrypted = encrypt(password)
        smtp_user.save(update_fields=["password_encrypted", "updated_at"])
        record_event(owner, action="smtp_user.reset_password", target=_target(smtp_user_name))
    return smtp_user, password


def record_login_refused_for_address(smtp_user: SmtpUser, *, client_ip: str) -> None:
    """Audit an SMTP login with the right password from outside the allowed networks."""
    record_event(
        smtp_user.owner,
        action="smtp_user.auth_refused_ip",
        target=_target(smtp_user.smtp_user_name),
        changes={"client_ip": [None, client_ip]},
    )
