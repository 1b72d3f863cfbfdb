"""Reads of SMTP users, always scoped to one owner."""

from datetime import datetime, timedelta

from django.db.models import QuerySet

from accounts.models import Owner
from accounts.tenancy import get_owned, owned_by
from portal.crypto import decrypt
from smtpusers.models import SmtpUsageHour, SmtpUser, hour_start
from smtpusers.usage_chart import UsageChart, build_usage_chart


def smtp_users_for(owner: Owner) -> QuerySet[SmtpUser]:
    """The owner's SMTP users, oldest first."""
    return owned_by(owner, SmtpUser).order_by("created_at", "id")


def smtp_user_for(owner: Owner, smtp_user_name: str) -> SmtpUser:
    return get_owned(
        owner,
        SmtpUser,
        not_found=f"SMTP user {smtp_user_name} not found",
        smtp_user_name=smtp_user_name,
    )


def smtp_password_of(smtp_user: SmtpUser) -> str:
    return decrypt(smtp_user.password_encrypted)


USAGE_CHART_HOURS = 48


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


def usage_chart_for(
    smtp_user: SmtpUser, *, now: datetime, hours: int = USAGE_CHART_HOURS
) -> UsageChart:
    """The usage chart of an SMTP user already scoped to its owner (see smtp_user_for)."""
    return build_usage_chart(
        f"usage-chart-{smtp_user.smtp_user_name}",
        hourly_usage(smtp_user, now=now, hours=hours),
        hourly_limit=smtp_user.hourly_limit,
    )
