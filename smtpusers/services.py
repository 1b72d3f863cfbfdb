"""Every change to SMTP users goes through these functions, whatever the caller."""

import enum
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts.models import Owner
from accounts.tenancy import get_owned, owned_by
from audit.services import record_event
from portal.crypto import encrypt
from portal.errors import NotFoundError, ServiceError
from smtpusers.credentials import generate_smtp_password, generate_smtp_user_name
from smtpusers.models import SmtpUser, hour_start, status_name
from smtpusers.validators import (
    parse_limit,
    parse_smtp_user_name,
    parse_status,
)

NAME_ATTEMPTS = 8


def _not_found(smtp_user_name: str) -> str:
    return f"SMTP user {smtp_user_name} not found"


def _locked_smtp_user(owner: Owner, smtp_user_name: str) -> SmtpUser:
    """The owner's SMTP user, row-locked until the surrounding transaction ends."""
    return get_owned(
        owner,
        SmtpUser.objects.select_for_update(),
        not_found=_not_found(smtp_user_name),
        smtp_user_name=smtp_user_name,
    )


def _target(smtp_user_name: str) -> str:
    return f"SMTP user {smtp_user_name}"


def _readable(field: str, value):
    return status_name(value) if field == "is_enabled" else value


def _audit_changes(smtp_user: SmtpUser, changed: list[str], new_values: dict) -> dict:
    return {
        ("status" if field == "is_enabled" else field): [
            _readable(field, getattr(smtp_user, field)),
            _readable(field, new_values[field]),
        ]
        for field in changed
    }


def create_smtp_user(owner: Owner, *, total_limit, hourly_limit) -> tuple[SmtpUser, str]:
    """A new enabled SMTP user; returns it with its plaintext password (shown once)."""
    total_limit = parse_limit(total_limit, field="total_limit")
    hourly_limit = parse_limit(hourly_limit, field="hourly_limit")
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
                )
                record_event(
                    owner,
                    action="smtp_user.create",
                    target=_target(smtp_user.smtp_user_name),
                    changes={
                        "total_limit": [None, total_limit],
                        "hourly_limit": [None, hourly_limit],
                    },
                )
            return smtp_user, password
        except IntegrityError:
            # Another SMTP user took this random name first: draw again.
            continue
    raise ServiceError("Could not allocate a unique SMTP user name; try again")


def update_smtp_user(
    owner: Owner, *, smtp_user_name, total_limit=None, hourly_limit=None, status=None
) -> SmtpUser:
    """Change the given fields; a None argument keeps the stored value."""
    smtp_user_name = parse_smtp_user_name(smtp_user_name)
    changes = {}
    if total_limit is not None:
        changes["total_limit"] = parse_limit(total_limit, field="total_limit")
    if hourly_limit is not None:
        changes["hourly_limit"] = parse_limit(hourly_limit, field="hourly_limit")
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


def set_smtp_users_status(owner: Owner, *, smtp_user_names, status) -> int:
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


def reset_smtp_password(owner: Owner, *, smtp_user_name) -> tuple[SmtpUser, str]:
    """A fresh password for the SMTP user; returns it in plaintext (shown once)."""
    smtp_user_name = parse_smtp_user_name(smtp_user_name)
    password = generate_smtp_password()
    with transaction.atomic():
        smtp_user = _locked_smtp_user(owner, smtp_user_name)
        smtp_user.password_encrypted = encrypt(password)
        smtp_user.save(update_fields=["password_encrypted", "updated_at"])
        record_event(owner, action="smtp_user.reset_password", target=_target(smtp_user_name))
    return smtp_user, password


class Refusal(enum.Enum):
    """Why an SMTP user may not send now; each surface maps it to its own reply."""

    DISABLED = "disabled"
    OWNER_INACTIVE = "owner_inactive"
    HOURLY_LIMIT = "hourly_limit"
    TOTAL_LIMIT = "total_limit"


class SendingRefused(ServiceError):
    def __init__(self, message: str, *, reason: Refusal):
        super().__init__(message)
        self.reason = reason


def sending_refusal(smtp_user: SmtpUser, *, now: datetime) -> SendingRefused | None:
    """Why `smtp_user` (loaded with its owner) may not send a message at `now`, if it may not."""
    name = smtp_user.smtp_user_name
    if not smtp_user.owner.is_active:
        return SendingRefused(
            f"The account of SMTP user {name} is inactive", reason=Refusal.OWNER_INACTIVE
        )
    if not smtp_user.is_enabled:
        return SendingRefused(f"SMTP user {name} is disabled", reason=Refusal.DISABLED)
    if smtp_user.total_used >= smtp_user.total_limit:
        return SendingRefused(
            f"Total sending limit of {smtp_user.total_limit} messages reached for {name}",
            reason=Refusal.TOTAL_LIMIT,
        )
    if smtp_user.used_in_hour_of(now) >= smtp_user.hourly_limit:
        next_hour = hour_start(now) + timedelta(hours=1)
        return SendingRefused(
            f"Hourly sending limit of {smtp_user.hourly_limit} messages reached for {name}; "
            f"try again after {next_hour:%H:%M} UTC",
            reason=Refusal.HOURLY_LIMIT,
        )
    return None


# One row per SMTP user and clock hour, incremented in place. Django's bulk_create cannot
# increment on conflict; this statement runs unchanged on PostgreSQL and SQLite.
_COUNT_USAGE_HOUR_SQL = (
    'INSERT INTO smtpusers_smtpusagehour (smtp_user_id, "hour", "count") VALUES (%s, %s, 1) '
    'ON CONFLICT (smtp_user_id, "hour") '
    'DO UPDATE SET "count" = smtpusers_smtpusagehour."count" + 1'
)

# Counting attempts: a refused update is re-tried only when, read back, no limit is reached
# (a limit was raised, or the user re-enabled, between the update and the read).
_QUOTA_ATTEMPTS = 3


def consume_send_quota(smtp_user_id: int, *, now: datetime) -> None:
    """Count one message against the SMTP user's hourly and total limits, or refuse it.

    The one place that changes the usage counters. One conditional UPDATE decides, so
    concurrent senders can never exceed a limit; the hourly window is the clock hour (UTC)
    holding `now`. Raises SendingRefused (or NotFoundError). Run it inside the transaction
    that stores the message, so that a refused or failed message consumes nothing.
    """
    hour = hour_start(now)
    # ">=": a message stamped just before the hour turned, counted after one stamped just
    # after, joins the newer window instead of resetting it.
    in_current_window = Q(hour_started_at__gte=hour)
    for _ in range(_QUOTA_ATTEMPTS):
        # No savepoint: nothing in this block raises on purpose, and within the caller's
        # transaction a savepoint would cost two more round trips per message.
        with transaction.atomic(savepoint=False):
            # Only conditions on this table's own columns (and a subquery for the owner): a
            # join would let PostgreSQL re-check a concurrently updated row against stale
            # values under READ COMMITTED.
            counted = SmtpUser.objects.filter(
                ~in_current_window | Q(hour_used__lt=F("hourly_limit")),
                pk=smtp_user_id,
                is_enabled=True,
                owner__in=Owner.objects.filter(is_active=True).values("pk"),
                total_used__lt=F("total_limit"),
            ).update(
                total_used=F("total_used") + 1,
                hour_used=Case(When(in_current_window, then=F("hour_used") + 1), default=Value(1)),
                hour_started_at=Case(
                    When(in_current_window, then=F("hour_started_at")), default=Value(hour)
                ),
            )
            if counted:
                with connection.cursor() as cursor:
                    cursor.execute(
                        _COUNT_USAGE_HOUR_SQL,
                        [smtp_user_id, connection.ops.adapt_datetimefield_value(hour)],
                    )
        if counted:
            return
        smtp_user = SmtpUser.objects.select_related("owner").filter(pk=smtp_user_id).first()
        if smtp_user is None:
            raise NotFoundError("SMTP user not found")
        refusal = sending_refusal(smtp_user, now=now)
        if refusal is not None:
            raise refusal
    raise ServiceError("The SMTP user changed while counting; try again")
