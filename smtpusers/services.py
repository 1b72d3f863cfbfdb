"""Every change to SMTP users goes through these functions, whatever the caller."""

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Owner
from alerts.selectors import owner_thresholds_sql
from alerts.services import raise_quota_alerts
from audit.services import record_event
from core.crypto import encrypt
from core.errors import NotFoundError, ServiceError
from core.tenancy import get_owned, owned_by
from smtpusers.credentials import generate_smtp_password, generate_smtp_user_name
from smtpusers.models import SmtpUser, day_start, hour_start, status_name
from smtpusers.usage import DAILY, HOURLY, TOTAL, limit_reached_text, usage_summary
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


def _readable(field: str, value: Any) -> object:
    return status_name(value) if field == "is_enabled" else value


def _audit_changes(
    smtp_user: SmtpUser, changed: list[str], new_values: dict[str, object]
) -> dict[str, object]:
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


class Refusal(enum.Enum):
    """Why an SMTP user may not send now; each surface maps it to its own reply."""

    DISABLED = "disabled"
    OWNER_INACTIVE = "owner_inactive"
    HOURLY_LIMIT = "hourly_limit"
    DAILY_LIMIT = "daily_limit"
    TOTAL_LIMIT = "total_limit"


_LIMIT_REFUSALS = {
    HOURLY: Refusal.HOURLY_LIMIT,
    DAILY: Refusal.DAILY_LIMIT,
    TOTAL: Refusal.TOTAL_LIMIT,
}


class SendingRefused(ServiceError):
    def __init__(self, message: str, *, reason: Refusal):
        super().__init__(message)
        self.reason = reason


def sending_refusal(smtp_user: SmtpUser, *, now: datetime) -> SendingRefused | None:
    """Why `smtp_user` (loaded with its owner) may not send a message at `now`, if it may not.

    Of several exhausted windows, the one that lasts longest is named (total, daily, hourly).
    """
    name = smtp_user.smtp_user_name
    if not smtp_user.owner.is_active:
        return SendingRefused(
            f"The account of SMTP user {name} is inactive", reason=Refusal.OWNER_INACTIVE
        )
    if not smtp_user.is_enabled:
        return SendingRefused(f"SMTP user {name} is disabled", reason=Refusal.DISABLED)
    blocking = usage_summary(smtp_user, now=now).blocking
    if blocking is not None:
        return SendingRefused(
            limit_reached_text(blocking, name), reason=_LIMIT_REFUSALS[blocking.window]
        )
    return None


# How often the same refusal is written again to the SMTP user's row: a client retrying in a
# loop must not turn every refused attempt into a write of the (hot) counter row.
REFUSAL_REWRITE_INTERVAL = timedelta(minutes=1)


def record_send_refusal(smtp_user_id: int, refusal: SendingRefused, *, now: datetime) -> None:
    """Keep the latest refusal, in the words the client was given, on the SMTP user."""
    SmtpUser.objects.filter(pk=smtp_user_id).exclude(
        last_refusal=refusal.message, last_refusal_at__gt=now - REFUSAL_REWRITE_INTERVAL
    ).update(last_refusal=refusal.message[:300], last_refusal_at=now)


@dataclass(frozen=True)
class CountedMessage:
    """An SMTP user's counters right after a message was counted, as the UPDATE returned them."""

    smtp_user_id: int
    owner_id: int
    smtp_user_name: str
    total_used: int
    total_limit: int
    hour_started_at: datetime
    hour_used: int
    hourly_limit: int
    day_started_at: datetime
    day_used: int
    daily_limit: int | None
    # The owner's alert thresholds (alerts.models.AlertSettings.quota_thresholds, raw), or None.
    alert_thresholds: object


# The one statement that counts a message, for every window at once. Conditions only on this
# table's own columns (and a subquery for the owner): a join would let PostgreSQL re-check a
# concurrently updated row against stale values under READ COMMITTED. ">=": a message stamped
# just before the hour (day) turned, counted after one stamped just after, joins the newer
# window instead of resetting it. RETURNING hands back the new counts (and the owner's alert
# thresholds) in the same round trip; it runs on PostgreSQL and on SQLite (3.35+).
_COUNT_MESSAGE_SQL = """
UPDATE smtpusers_smtpuser SET
    total_used = total_used + 1,
    hour_used = CASE WHEN hour_started_at >= %(hour)s THEN hour_used + 1 ELSE 1 END,
    hour_started_at = CASE WHEN hour_started_at >= %(hour)s THEN hour_started_at ELSE %(hour)s END,
    day_used = CASE WHEN day_started_at >= %(day)s THEN day_used + 1 ELSE 1 END,
    day_started_at = CASE WHEN day_started_at >= %(day)s THEN day_started_at ELSE %(day)s END,
    last_used_at = %(now)s,
    last_used_ip = %(client_ip)s
WHERE id = %(smtp_user_id)s
    AND is_enabled
    AND owner_id IN (SELECT id FROM accounts_owner WHERE is_active)
    AND total_used < total_limit
    AND (hour_started_at IS NULL OR hour_started_at < %(hour)s OR hour_used < hourly_limit)
    AND (daily_limit IS NULL OR day_started_at IS NULL OR day_started_at < %(day)s
         OR day_used < daily_limit)
RETURNING owner_id, smtp_user_name, total_used, total_limit, hour_started_at, hour_used,
    hourly_limit, day_started_at, day_used, daily_limit, {thresholds}
""".format(thresholds=owner_thresholds_sql("smtpusers_smtpuser.owner_id"))  # noqa: S608

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


def _as_datetime(value: datetime | str) -> datetime:
    """A datetime column read by raw SQL (SQLite answers text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = cast(datetime, parse_datetime(value))
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _count_message(
    smtp_user_id: int, *, now: datetime, client_ip: str | None
) -> "CountedMessage | None":
    """Count one message in every window, or None when a limit or the status forbids it."""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _COUNT_MESSAGE_SQL,
            {
                "smtp_user_id": smtp_user_id,
                "hour": adapt(hour_start(now)),
                "day": adapt(day_start(now)),
                "now": adapt(now),
                "client_ip": connection.ops.adapt_ipaddressfield_value(client_ip),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    (owner_id, name, total_used, total_limit, hour_started_at, hour_used, hourly_limit,
     day_started_at, day_used, daily_limit, thresholds) = row  # fmt: skip
    return CountedMessage(
        smtp_user_id=smtp_user_id,
        owner_id=owner_id,
        smtp_user_name=name,
        total_used=total_used,
        total_limit=total_limit,
        hour_started_at=_as_datetime(hour_started_at),
        hour_used=hour_used,
        hourly_limit=hourly_limit,
        day_started_at=_as_datetime(day_started_at),
        day_used=day_used,
        daily_limit=daily_limit,
        alert_thresholds=thresholds,
    )


def consume_send_quota(
    smtp_user_id: int, *, now: datetime, client_ip: str | None = None
) -> CountedMessage:
    """Count one message against the SMTP user's hourly, daily and total limits, or refuse it.

    The one place that changes the usage counters. One conditional UPDATE decides every
    window, so concurrent senders can never exceed a limit; the hourly window is the clock
    hour (UTC) holding `now`, the daily one the UTC calendar day. The same UPDATE records the
    last use (`now`, `client_ip`). A message that crosses an alert threshold raises its alert
    (alerts.services.raise_quota_alerts) in the same transaction. Raises SendingRefused (or
    NotFoundError). Run it inside the transaction that stores the message, so that a refused
    or failed message consumes nothing.
    """
    for _ in range(_QUOTA_ATTEMPTS):
        # No savepoint: nothing in this block raises on purpose, and within the caller's
        # transaction a savepoint would cost two more round trips per message.
        with transaction.atomic(savepoint=False):
            counted = _count_message(smtp_user_id, now=now, client_ip=client_ip)
            if counted is not None:
                with connection.cursor() as cursor:
                    cursor.execute(
                        _COUNT_USAGE_HOUR_SQL,
                        [smtp_user_id, connection.ops.adapt_datetimefield_value(hour_start(now))],
                    )
                raise_quota_alerts(counted, now=now)
                return counted
        smtp_user = SmtpUser.objects.select_related("owner").filter(pk=smtp_user_id).first()
        if smtp_user is None:
            raise NotFoundError("SMTP user not found")
        refusal = sending_refusal(smtp_user, now=now)
        if refusal is not None:
            raise refusal
    raise ServiceError("The SMTP user changed while counting; try again")
