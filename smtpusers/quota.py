"""The quota rule: how many messages an SMTP user may send now, and counting one.

Read top to bottom:

1. Windows: an SMTP user has three limits. Hourly counts the clock hour (UTC), daily the UTC
   calendar day (the daily limit is optional), total never starts again.
2. Usage: what an SMTP user's counters mean at a moment (`usage_summary`, `WindowUsage`),
   read from its own row without a query; the dashboard, the API and the admin show it.
3. Refusals: why an SMTP user may not send now (`sending_refusal` returns a `SendingRefused`
   naming a `Refusal`), in words the SMTP client, the dashboard and the admin all share.
4. Hooks: other apps act on each counted message inside the counting transaction, and may
   add a value to the counting UPDATE's RETURNING (`register_quota_hook`; quota alerting does).
5. Counting: `consume_send_quota`, one conditional UPDATE that counts a message in every
   window at once, or refuses it; the only code that changes the usage counters.

Other apps use this module (or smtpusers.services and smtpusers.selectors) for anything
about limits and usage; smtpusers.models holds only the tables.
"""

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol, cast

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import NotFoundError, ServiceError
from smtpusers.models import SmtpUser

# --- 1. Windows ------------------------------------------------------------------------------

HOURLY = "hourly"
DAILY = "daily"
TOTAL = "total"
WINDOWS = (HOURLY, DAILY, TOTAL)
_WINDOW_LENGTHS = {HOURLY: timedelta(hours=1), DAILY: timedelta(days=1)}


def hour_start(moment: datetime) -> datetime:
    """The start of the clock hour holding `moment`: the hourly limit's window."""
    return moment.replace(minute=0, second=0, microsecond=0)


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of the calendar day holding `moment` (UTC): the daily limit's window."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def used_in_window(used: int, counted_from: datetime | None, window_start: datetime) -> int:
    """A window counter's value in the window starting at `window_start`: it counts only if it
    was started for that window (the next message in a new window starts it over)."""
    return used if counted_from == window_start else 0


@lru_cache(maxsize=8)
def _window_starts(now: datetime) -> tuple[datetime, datetime]:
    # Cached: listing thousands of SMTP users asks for the same `now` each time.
    return hour_start(now), day_start(now)


# --- 2. Usage --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowUsage:
    window: str  # HOURLY, DAILY or TOTAL
    used: int
    limit: int | None  # None: no limit in this window (the daily one is optional)
    started_at: datetime | None  # the start of the window counted; None: the total has none

    @property
    def resets_at(self) -> datetime | None:
        """When the window starts again; None: the total never does."""
        return None if self.started_at is None else self.started_at + _WINDOW_LENGTHS[self.window]

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    @property
    def percent(self) -> int | None:
        """Share of the limit used, 0-100 (for meters)."""
        return None if self.limit is None else min(100, self.used * 100 // self.limit)


@dataclass(frozen=True)
class UsageSummary:
    smtp_user_name: str
    hourly: WindowUsage
    daily: WindowUsage
    total: WindowUsage

    @property
    def windows(self) -> tuple[WindowUsage, WindowUsage, WindowUsage]:
        return (self.hourly, self.daily, self.total)

    @property
    def blocking(self) -> WindowUsage | None:
        """The exhausted window that keeps the user from sending longest, if any."""
        for window in (self.total, self.daily, self.hourly):
            if window.exhausted:
                return window
        return None

    @property
    def refusal_text(self) -> str | None:
        """What a message sent now would be refused with for a limit, if anything."""
        blocking = self.blocking
        return None if blocking is None else limit_reached_text(blocking, self.smtp_user_name)


def usage_summary(smtp_user, *, now: datetime) -> UsageSummary:
    """The SMTP user's usage at `now`, from its own counters (no query).

    `smtp_user` is an SmtpUser, or any object with its counter attributes (a listing row).
    """
    current_hour, current_day = _window_starts(now)
    return UsageSummary(
        smtp_user_name=smtp_user.smtp_user_name,
        hourly=WindowUsage(
            HOURLY,
            used_in_window(smtp_user.hour_used, smtp_user.hour_started_at, current_hour),
            smtp_user.hourly_limit,
            current_hour,
        ),
        daily=WindowUsage(
            DAILY,
            used_in_window(smtp_user.day_used, smtp_user.day_started_at, current_day),
            smtp_user.daily_limit,
            current_day,
        ),
        total=WindowUsage(TOTAL, smtp_user.total_used, smtp_user.total_limit, None),
    )


def _as_datetime(value) -> datetime | None:
    """A datetime column read by raw SQL (SQLite answers text) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


# --- 3. Refusals -----------------------------------------------------------------------------


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


def _messages(count: int) -> str:
    return f"{count} message{'' if count == 1 else 's'}"


def limit_reached_text(window: WindowUsage, smtp_user_name: str) -> str:
    """What an SMTP client, the dashboard and the admin are told when `window` is exhausted."""
    limit = cast(int, window.limit)  # an exhausted window has a limit
    reached = f"{window.window} limit of {_messages(limit)} reached for {smtp_user_name}"
    if window.window == HOURLY:
        return f"{reached}; resets at {window.resets_at:%H:%M} UTC"
    if window.window == DAILY:
        return f"{reached}; resets at {window.resets_at:%Y-%m-%d %H:%M} UTC"
    return f"{reached}; raise the limit to send more"


@dataclass(frozen=True)
class SendingState:
    """What deciding whether an SMTP user may send reads of it: its row and its owner's status.

    The SMTP server reads it for every message (`sending_state`): one raw query, no model
    instances, at a fraction of the ORM's cost (bench/RESULTS.md, "Accept path").
    """

    smtp_user_name: str
    is_enabled: bool
    owner_is_active: bool
    password_encrypted: str
    total_used: int
    total_limit: int
    hour_started_at: datetime | None
    hour_used: int
    hourly_limit: int
    day_started_at: datetime | None
    day_used: int
    daily_limit: int | None


# The SendingState read, in parts that a caller may join more tables to (the SMTP server's MAIL
# check joins the sender domain's settings): `u` is the SMTP user, `o` its owner.
SENDING_STATE_COLUMNS = (
    "u.smtp_user_name, u.is_enabled, o.is_active, u.password_encrypted, u.total_used, "
    "u.total_limit, u.hour_started_at, u.hour_used, u.hourly_limit, u.day_started_at, "
    "u.day_used, u.daily_limit"
)
SENDING_STATE_TABLES = "smtpusers_smtpuser u JOIN accounts_owner o ON o.id = u.owner_id"


def sending_state_from_row(row: tuple) -> SendingState:
    """The SendingState of a row that starts with SENDING_STATE_COLUMNS (extra columns after)."""
    name, is_enabled, owner_is_active, password, total_used, total_limit, *rest = row
    hour_started_at, hour_used, hourly_limit, day_started_at, day_used, daily_limit = rest[:6]
    return SendingState(
        smtp_user_name=name,
        is_enabled=bool(is_enabled),  # SQLite answers 0 or 1
        owner_is_active=bool(owner_is_active),
        password_encrypted=password,
        total_used=total_used,
        total_limit=total_limit,
        hour_started_at=_as_datetime(hour_started_at),
        hour_used=hour_used,
        hourly_limit=hourly_limit,
        day_started_at=_as_datetime(day_started_at),
        day_used=day_used,
        daily_limit=daily_limit,
    )


def sending_state(smtp_user_id: int) -> SendingState | None:
    """The SMTP user's SendingState now, or None when it no longer exists."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {SENDING_STATE_COLUMNS} FROM {SENDING_STATE_TABLES} WHERE u.id = %s",  # noqa: S608
            [smtp_user_id],
        )
        row = cursor.fetchone()
    return None if row is None else sending_state_from_row(row)


def sending_refusal(smtp_user: SmtpUser | SendingState, *, now: datetime) -> SendingRefused | None:
    """Why `smtp_user` (an SmtpUser loaded with its owner, or its SendingState) may not send a
    message at `now`, if it may not.

    Of several exhausted windows, the one that lasts longest is named (total, daily, hourly).
    """
    name = smtp_user.smtp_user_name
    owner_is_active = (
        smtp_user.owner_is_active
        if isinstance(smtp_user, SendingState)
        else smtp_user.owner.is_active
    )
    if not owner_is_active:
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


# --- 4. Hooks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountedMessage:
    """An SMTP user's usage right after a message was counted, as the UPDATE returned it."""

    smtp_user_id: int
    owner_id: int
    # Every window's count, limit and start including this message (a window's start may be
    # later than the message's own hour or day: see the UPDATE below).
    usage: UsageSummary
    # Each hook's value from the UPDATE's RETURNING, by hook name (hooks without one: absent).
    returned: dict[str, object]
    # The stored password (ciphertext) under the UPDATE's row lock: a session that logged in
    # before a reset sees it changed, without reading the row again.
    password_encrypted: str


class OnCounted(Protocol):
    """A hook's action on a counted message (QuotaHook.on_counted)."""

    def __call__(self, counted: CountedMessage, /, *, now: datetime) -> object: ...


@dataclass(frozen=True)
class QuotaHook:
    """Another app's part in counting a message, registered from its AppConfig.ready().

    `on_counted(counted, now=now)` runs for every counted message, inside the transaction of
    the counting UPDATE and under its row lock, so it sees each count exactly once, even with
    concurrent senders, and an exception in it undoes the count. `returning`, when given,
    takes the SQL column holding the counted SMTP user's owner id and gives a scalar SQL
    expression; the UPDATE returns its value in counted.returned[name], in the same round trip.
    """

    name: str
    on_counted: OnCounted
    returning: Callable[[str], str] | None = None


_hooks: dict[str, QuotaHook] = {}


def register_quota_hook(hook: QuotaHook) -> None:
    """Add `hook` to every count from now on; registering a name again replaces its hook."""
    _hooks[hook.name] = hook


# --- 5. Counting -----------------------------------------------------------------------------

# The one statement that counts a message, for every window at once. Conditions only on this
# table's own columns (and a subquery for the owner): a join would let PostgreSQL re-check a
# concurrently updated row against stale values under READ COMMITTED. ">=": a message stamped
# just before the hour (day) turned, counted after one stamped just after, joins the newer
# window instead of resetting it. RETURNING hands back the new counts (and the hooks' values)
# in the same round trip; it runs on PostgreSQL and on SQLite (3.35+).
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
    hourly_limit, day_started_at, day_used, daily_limit, password_encrypted{hook_columns}
"""

# One row per SMTP user and clock hour, incremented in place. Django's bulk_create cannot
# increment on conflict; this statement runs unchanged on PostgreSQL and SQLite.
_COUNT_USAGE_HOUR_SQL = (
    'INSERT INTO smtpusers_smtpusagehour (smtp_user_id, "hour", "count") {rows} '
    'ON CONFLICT (smtp_user_id, "hour") '
    'DO UPDATE SET "count" = smtpusers_smtpusagehour."count" + 1'
)
# PostgreSQL runs both in one statement (a data-modifying WITH): a round trip less per message,
# which on the SMTP server costs more CPU than the statement itself.
_COUNT_MESSAGE_AND_HOUR_SQL = (
    "WITH counted AS ({count_message}), hour_counted AS ("  # noqa: S608  (fixed text only)
    + _COUNT_USAGE_HOUR_SQL.format(rows="SELECT %(smtp_user_id)s, %(hour)s, 1 FROM counted")
    + ") SELECT * FROM counted"
)

# Counting attempts: a refused update is re-tried only when, read back, no limit is reached
# (a limit was raised, or the user re-enabled, between the update and the read).
_QUOTA_ATTEMPTS = 3


@lru_cache(maxsize=4)
def _count_message_sql(
    hooks: tuple[QuotaHook, ...], vendor: str
) -> tuple[str, tuple[str, ...], bool]:
    """The counting UPDATE with the hooks' RETURNING values, the names they belong to, and
    whether it counts the usage hour too."""
    returning = [(hook.name, hook.returning) for hook in hooks if hook.returning is not None]
    hook_columns = "".join(f", {column('smtpusers_smtpuser.owner_id')}" for _, column in returning)
    sql = _COUNT_MESSAGE_SQL.format(hook_columns=hook_columns)
    counts_hour = vendor == "postgresql"
    if counts_hour:
        sql = _COUNT_MESSAGE_AND_HOUR_SQL.format(count_message=sql.strip())
    return sql, tuple(name for name, _ in returning), counts_hour


def _count_usage_hour(smtp_user_id: int, *, now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _COUNT_USAGE_HOUR_SQL.format(rows="VALUES (%s, %s, 1)"),
            [smtp_user_id, connection.ops.adapt_datetimefield_value(hour_start(now))],
        )


def _count_message(
    smtp_user_id: int, *, now: datetime, client_ip: str | None, hooks: tuple[QuotaHook, ...]
) -> CountedMessage | None:
    """Count one message in every window and its usage hour, or None when a limit or the
    status forbids it."""
    sql, returned_names, counts_hour = _count_message_sql(hooks, connection.vendor)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
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
    if not counts_hour:
        _count_usage_hour(smtp_user_id, now=now)
    (owner_id, name, total_used, total_limit, hour_started_at, hour_used, hourly_limit,
     day_started_at, day_used, daily_limit, password_encrypted, *returned) = row  # fmt: skip
    return CountedMessage(
        smtp_user_id=smtp_user_id,
        owner_id=owner_id,
        usage=UsageSummary(
            smtp_user_name=name,
            hourly=WindowUsage(HOURLY, hour_used, hourly_limit, _as_datetime(hour_started_at)),
            daily=WindowUsage(DAILY, day_used, daily_limit, _as_datetime(day_started_at)),
            total=WindowUsage(TOTAL, total_used, total_limit, None),
        ),
        returned=dict(zip(returned_names, returned, strict=True)),
        password_encrypted=password_encrypted,
    )


def consume_send_quota(
    smtp_user_id: int, *, now: datetime, client_ip: str | None = None
) -> CountedMessage:
    """Count one message against the SMTP user's hourly, daily and total limits, or refuse it.

    The one place that changes the usage counters. One conditional UPDATE decides every
    window, so concurrent senders can never exceed a limit; the hourly window is the clock
    hour (UTC) holding `now`, the daily one the UTC calendar day. The same UPDATE records the
    last use (`now`, `client_ip`). Every registered hook then sees the counted message in the
    same transaction (quota alerting raises each threshold alert it crosses). Raises
    SendingRefused (or NotFoundError). Run it inside the transaction that stores the message,
    so that a refused or failed message consumes nothing.
    """
    hooks = tuple(_hooks.values())
    for _ in range(_QUOTA_ATTEMPTS):
        # No savepoint: nothing in this block raises on purpose, and within the caller's
        # transaction a savepoint would cost two more round trips per message.
        with transaction.atomic(savepoint=False):
            counted = _count_message(smtp_user_id, now=now, client_ip=client_ip, hooks=hooks)
            if counted is not None:
                for hook in hooks:
                    hook.on_counted(counted, now=now)
                return counted
        state = sending_state(smtp_user_id)
        if state is None:
            raise NotFoundError("SMTP user not found")
        refusal = sending_refusal(state, now=now)
        if refusal is not None:
            raise refusal
    raise ServiceError("The SMTP user changed while counting; try again")
