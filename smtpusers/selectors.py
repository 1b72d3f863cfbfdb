"""Reads of SMTP users, always scoped to one owner."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDay

from accounts.models import Owner
from core.compiled import CompiledQuery
from core.crypto import decrypt
from core.tenancy import get_owned, owned_by
from smtpusers.models import SmtpUsageHour, SmtpUser
from smtpusers.quota import day_start, hour_start
from smtpusers.usage_chart import DAYS, HOURS, UsageChart, build_usage_chart
from smtpusers.validators import address_allowed, could_be_smtp_user_name

# The dashboard list's sort keys; "-key" sorts descending. The id breaks ties so that pages
# never overlap.
SMTP_USER_SORT_FIELDS = {
    "name": ("smtp_user_name",),
    "created": ("created_at", "id"),
    "total_limit": ("total_limit", "id"),
    "hourly_limit": ("hourly_limit", "id"),
}
DEFAULT_SMTP_USER_SORT = "-created"


def smtp_users_oldest_first(owner: Owner) -> QuerySet[SmtpUser]:
    """The owner's SMTP users, oldest first."""
    return owned_by(owner, SmtpUser).order_by("created_at", "id")


def smtp_users_matching(
    owner: Owner, *, search: str = "", is_enabled: bool | None = None, sort: str = ""
) -> QuerySet[SmtpUser]:
    """The owner's SMTP users whose name contains `search`, in one status, sorted by `sort`."""
    smtp_users = owned_by(owner, SmtpUser)
    if search:
        smtp_users = smtp_users.filter(smtp_user_name__icontains=search)
    if is_enabled is not None:
        smtp_users = smtp_users.filter(is_enabled=is_enabled)
    sort = sort if sort.removeprefix("-") in SMTP_USER_SORT_FIELDS else DEFAULT_SMTP_USER_SORT
    direction = "-" if sort.startswith("-") else ""
    return smtp_users.order_by(
        *(direction + field for field in SMTP_USER_SORT_FIELDS[sort.removeprefix("-")])
    )


def smtp_user_counts_for(owner: Owner) -> dict[str, int]:
    """{"enabled": n, "disabled": n, "total": n} in one aggregate query."""
    return owned_by(owner, SmtpUser).aggregate(
        enabled=Count("id", filter=Q(is_enabled=True)),
        disabled=Count("id", filter=Q(is_enabled=False)),
        total=Count("id"),
    )


def smtp_user_for(owner: Owner, smtp_user_name: str) -> SmtpUser:
    return get_owned(
        owner,
        SmtpUser,
        not_found=f"SMTP user {smtp_user_name} not found",
        smtp_user_name=smtp_user_name,
    )


# What listSmtp shows of each SMTP user.
LISTING_FIELDS = (
    "smtp_user_name",
    "password_encrypted",
    "is_enabled",
    "total_limit",
    "hourly_limit",
    "daily_limit",
    "total_used",
    "hour_used",
    "hour_started_at",
    "day_used",
    "day_started_at",
    "last_used_at",
    "last_used_ip",
    "last_refusal",
    "last_refusal_at",
    "created_at",
)


# listSmtp's query, compiled once: for a few SMTP users building it cost more than running it.
_LISTING = CompiledQuery(
    lambda owner: smtp_users_oldest_first(owner).values(*LISTING_FIELDS), owner=int
)


def smtp_user_rows_oldest_first(owner: Owner) -> Iterator[SimpleNamespace]:
    """smtp_users_oldest_first(owner) as plain rows of LISTING_FIELDS, oldest first.

    For listing thousands at once: a model instance per row would cost about as much as all
    the rest of listSmtp (bench/RESULTS.md).
    """
    for row in _LISTING(owner=owner.pk):
        yield SimpleNamespace(**row)


def smtp_user_for_login(smtp_user_name: str) -> SmtpUser | None:
    """The SMTP user logging in with this name, of whichever owner (names are unique across
    owners), with its owner; None for a name no SMTP user has or could have."""
    if not could_be_smtp_user_name(smtp_user_name):
        return None
    return SmtpUser.objects.select_related("owner").filter(smtp_user_name=smtp_user_name).first()


def login_allowed_from(smtp_user: SmtpUser, client_ip: str) -> bool:
    """Whether the SMTP user's allowed networks (none: any address) hold `client_ip`."""
    return address_allowed(smtp_user.allowed_networks, client_ip)


def smtp_password_of(smtp_user: SmtpUser) -> str:
    return decrypt(smtp_user.password_encrypted)


USAGE_CHART_HOURS = 48
USAGE_CHART_DAYS = 30


def hourly_usage(smtp_user: SmtpUser, *, now: datetime, hours: int) -> list[tuple[datetime, int]]:
    """Messages per clock hour (UTC) over the last `hours` hours, oldest first, zeros included."""
    current = hour_start(now)
    first = current - timedelta(hours=hours - 1)
    counted = dict(
        SmtpUsageHour.objects.filter(
            smtp_user=smtp_user, hour__gte=first, hour__lte=current
        ).values_list("hour", "count")
    )
    window = [first + timedelta(hours=offset) for offset in range(hours)]
    return [(hour, counted.get(hour, 0)) for hour in window]


def daily_usage(smtp_user: SmtpUser, *, now: datetime, days: int) -> list[tuple[datetime, int]]:
    """Messages per UTC day over the last `days` days, oldest first, zeros included (one
    query summing the hourly rows)."""
    today = day_start(now)
    first = today - timedelta(days=days - 1)
    counted = dict(
        SmtpUsageHour.objects.filter(
            smtp_user=smtp_user, hour__gte=first, hour__lt=today + timedelta(days=1)
        )
        .annotate(day=TruncDay("hour", tzinfo=UTC))
        .values("day")
        .annotate(total=Sum("count"))
        .values_list("day", "total")
    )
    window = [first + timedelta(days=offset) for offset in range(days)]
    return [(day, counted.get(day, 0)) for day in window]


def usage_chart_for(
    smtp_user: SmtpUser, *, now: datetime, hours: int = USAGE_CHART_HOURS
) -> UsageChart:
    """The hourly usage chart of an SMTP user already scoped to its owner (see smtp_user_for)."""
    return build_usage_chart(
        f"usage-chart-{smtp_user.smtp_user_name}",
        hourly_usage(smtp_user, now=now, hours=hours),
        limit=smtp_user.hourly_limit,
        period=HOURS,
    )


def daily_usage_chart_for(
    smtp_user: SmtpUser, *, now: datetime, days: int = USAGE_CHART_DAYS
) -> UsageChart:
    """The daily usage chart (last 30 days) of an SMTP user already scoped to its owner."""
    return build_usage_chart(
        f"daily-usage-chart-{smtp_user.smtp_user_name}",
        daily_usage(smtp_user, now=now, days=days),
        limit=smtp_user.daily_limit,
        period=DAYS,
    )
