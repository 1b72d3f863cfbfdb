"""An SMTP user's usage of each sending window: used, limit, remaining, when it starts again.

The one place that turns the counters into what customers read (dashboard, API, admin) and
into the words of a refusal (SMTP replies, the dashboard's notices, last_refusal).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import cast

from smtpusers.models import day_start, hour_start, used_in_window

HOURLY = "hourly"
DAILY = "daily"
TOTAL = "total"
WINDOWS = (HOURLY, DAILY, TOTAL)


@dataclass(frozen=True)
class WindowUsage:
    window: str  # HOURLY, DAILY or TOTAL
    used: int
    limit: int | None  # None: no limit in this window (the daily one is optional)
    resets_at: datetime | None  # None: the total never starts again

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


def window_resets_at(window: str, now: datetime) -> datetime | None:
    current_hour, current_day = _window_starts(now)
    if window == HOURLY:
        return current_hour + timedelta(hours=1)
    if window == DAILY:
        return current_day + timedelta(days=1)
    return None


@lru_cache(maxsize=8)
def _window_starts(now: datetime) -> tuple[datetime, datetime]:
    # Cached: listing thousands of SMTP users asks for the same `now` each time.
    return hour_start(now), day_start(now)


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
            window_resets_at(HOURLY, now),
        ),
        daily=WindowUsage(
            DAILY,
            used_in_window(smtp_user.day_used, smtp_user.day_started_at, current_day),
            smtp_user.daily_limit,
            window_resets_at(DAILY, now),
        ),
        total=WindowUsage(TOTAL, smtp_user.total_used, smtp_user.total_limit, None),
    )


def _messages(count: int) -> str:
    return f"{count} message{'' if count == 1 else 's'}"


def limit_reached_text(window: WindowUsage, smtp_user_name: str) -> str:
    """What an SMTP client, the dashboard and the admin are told when `window` is exhausted."""
    # An exhausted window has a limit.
    limit = cast(int, window.limit)
    reached = f"{window.window} limit of {_messages(limit)} reached for {smtp_user_name}"
    if window.window == HOURLY:
        return f"{reached}; resets at {window.resets_at:%H:%M} UTC"
    if window.window == DAILY:
        return f"{reached}; resets at {window.resets_at:%Y-%m-%d %H:%M} UTC"
    return f"{reached}; raise the limit to send more"
