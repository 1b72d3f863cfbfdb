"""consume_send_quota: the one place that counts messages against the limits."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from accounts.models import Owner
from core.errors import NotFoundError
from smtpusers.models import SmtpUsageHour, SmtpUser
from smtpusers.quota import Refusal, SendingRefused, consume_send_quota
from smtpusers.selectors import hourly_usage, usage_chart_for
from smtpusers.services import create_smtp_user, set_smtp_users_status


def at(hour, minute=0, second=0, day=23):
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def usage_rows(smtp_user):
    return {(row.hour, row.count) for row in SmtpUsageHour.objects.filter(smtp_user=smtp_user)}


def refusal_of(smtp_user, now) -> SendingRefused:
    with pytest.raises(SendingRefused) as refused:
        consume_send_quota(smtp_user.pk, now=now)
    return refused.value


def test_it_counts_a_message_in_the_total_the_hour_and_the_usage_row(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)

    consume_send_quota(smtp_user.pk, now=at(10, 15))
    consume_send_quota(smtp_user.pk, now=at(10, 40))

    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used, smtp_user.hour_started_at) == (
        2,
        2,
        at(10),
    )
    assert usage_rows(smtp_user) == {(at(10), 2)}


def test_it_refuses_over_the_hourly_limit_until_the_clock_hour_turns(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=2)
    consume_send_quota(smtp_user.pk, now=at(10, 5))
    consume_send_quota(smtp_user.pk, now=at(10, 59))

    refusal = refusal_of(smtp_user, at(10, 59, 59))
    consume_send_quota(smtp_user.pk, now=at(11, 0, 0))

    assert refusal.reason == Refusal.HOURLY_LIMIT
    assert refusal.message == (
        f"hourly limit of 2 messages reached for {smtp_user.smtp_user_name}; resets at 11:00 UTC"
    )
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used, smtp_user.hour_started_at) == (
        3,
        1,
        at(11),
    )
    assert usage_rows(smtp_user) == {(at(10), 2), (at(11), 1)}


def test_it_refuses_over_the_total_limit_and_counts_nothing(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1, hourly_limit=5)
    consume_send_quota(smtp_user.pk, now=at(10))

    refusal = refusal_of(smtp_user, at(12))

    assert refusal.reason == Refusal.TOTAL_LIMIT
    assert refusal.message == (
        f"total limit of 1 message reached for {smtp_user.smtp_user_name}; "
        "raise the limit to send more"
    )
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used, smtp_user.hour_started_at) == (
        1,
        1,
        at(10),
    )
    assert usage_rows(smtp_user) == {(at(10), 1)}


def test_it_refuses_a_disabled_user_and_an_inactive_owner(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    set_smtp_users_status(alice.owner, smtp_user_names=[smtp_user.smtp_user_name], status="Disable")
    disabled = refusal_of(smtp_user, at(10))
    set_smtp_users_status(alice.owner, smtp_user_names=[smtp_user.smtp_user_name], status="Enable")
    Owner.objects.filter(pk=alice.owner.pk).update(is_active=False)
    inactive = refusal_of(smtp_user, at(10))

    assert (disabled.reason, disabled.message) == (
        Refusal.DISABLED,
        f"SMTP user {smtp_user.smtp_user_name} is disabled",
    )
    assert inactive.reason == Refusal.OWNER_INACTIVE
    assert SmtpUser.objects.get(pk=smtp_user.pk).total_used == 0


def test_it_answers_not_found_for_an_unknown_smtp_user(db):
    with pytest.raises(NotFoundError) as missing:
        consume_send_quota(123456, now=at(10))

    assert missing.value.message == "SMTP user not found"


def test_it_keeps_the_newer_window_for_a_message_stamped_before_the_hour_turned(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    consume_send_quota(smtp_user.pk, now=at(11, 0, 1))

    consume_send_quota(smtp_user.pk, now=at(10, 59, 59))

    smtp_user.refresh_from_db()
    assert (smtp_user.hour_started_at, smtp_user.hour_used, smtp_user.total_used) == (at(11), 2, 2)


def test_it_counts_nothing_when_the_surrounding_transaction_rolls_back(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)

    with pytest.raises(RuntimeError), transaction.atomic():
        consume_send_quota(smtp_user.pk, now=at(10))
        raise RuntimeError("storing the message failed")

    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used) == (0, 0)
    assert usage_rows(smtp_user) == set()


def test_it_lists_48_hours_of_usage_with_the_quiet_hours_as_zero(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=50)
    for moment in [at(9, day=21), at(14, day=21), at(14, 30, day=21), at(9, 10)]:
        consume_send_quota(smtp_user.pk, now=moment)

    usage = hourly_usage(smtp_user, now=at(10, 30), hours=48)

    assert len(usage) == 48
    assert usage[0] == (at(11, day=21), 0)  # 9:00 on the 21st is older than 48 hours
    assert usage[-1] == (at(10), 0)
    assert [(hour, count) for hour, count in usage if count] == [
        (at(14, day=21), 2),
        (at(9), 1),
    ]


def test_it_scales_the_usage_chart_to_the_busiest_hour(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=4)
    for minute in range(3):
        consume_send_quota(smtp_user.pk, now=at(9, minute))
    consume_send_quota(smtp_user.pk, now=at(10, 1))

    chart = usage_chart_for(smtp_user, now=at(10, 30))

    drawn = [bar for bar in chart.bars if bar.count]
    assert [(bar.start, bar.count) for bar in drawn] == [(at(9), 3), (at(10), 1)]
    # Scale top 5: three messages reach 3/5 of the plot height, one 1/5.
    assert drawn[0].height == pytest.approx(3 * drawn[1].height)
    assert [mark.label for mark in chart.value_marks] == ["0", "2", "5"]
    assert chart.limit_y is not None
    assert (chart.total, chart.busiest.start) == (4, at(9))
    assert [mark.label for mark in chart.time_marks] == ["12:00", "18:00", "00:00", "06:00"] * 2
