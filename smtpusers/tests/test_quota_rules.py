"""Quota hooks: another app acts on each counted message inside the counting transaction."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from smtpusers import quota
from smtpusers.models import SmtpUsageHour, SmtpUser
from smtpusers.quota import QuotaHook, consume_send_quota, register_quota_hook
from smtpusers.services import create_smtp_user


def at(hour, minute=0):
    return datetime(2026, 11, 23, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def test_hooks_only_for_the_test(monkeypatch):
    # The registered hooks (alerts' among them) stay; the ones a test adds go with it.
    monkeypatch.setattr(quota, "_hooks", dict(quota._hooks))


def owner_id_sql(owner_id_column: str) -> str:
    return owner_id_column


@pytest.mark.django_db(transaction=True)
def test_it_hands_a_hook_each_counted_message_and_its_value_inside_the_transaction(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=5, daily_limit=8)
    seen = []

    def on_counted(counted, *, now):
        stored = SmtpUser.objects.get(pk=counted.smtp_user_id)
        usage = counted.usage
        seen.append(
            (connection.in_atomic_block, stored.total_used, counted.returned["owner"], now),
        )
        seen.append((usage.hourly.used, usage.hourly.resets_at, usage.daily.used))

    register_quota_hook(QuotaHook(name="owner", on_counted=on_counted, returning=owner_id_sql))
    consume_send_quota(smtp_user.pk, now=at(10, 15))
    consume_send_quota(smtp_user.pk, now=at(10, 40))

    owner_id = alice.owner.pk
    assert seen == [
        (True, 1, owner_id, at(10, 15)),
        (1, at(11), 1),
        (True, 2, owner_id, at(10, 40)),
        (2, at(11), 2),
    ]


@pytest.mark.django_db(transaction=True)
def test_it_undoes_the_count_when_a_hook_fails(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)

    def on_counted(counted, *, now):
        raise RuntimeError("hook failed")

    register_quota_hook(QuotaHook(name="failing", on_counted=on_counted))
    with pytest.raises(RuntimeError):
        consume_send_quota(smtp_user.pk, now=at(10))

    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.hour_used, smtp_user.last_used_at) == (0, 0, None)
    assert not SmtpUsageHour.objects.filter(smtp_user=smtp_user).exists()


def test_it_replaces_a_hook_registered_again_under_its_name(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    calls = []
    register_quota_hook(QuotaHook(name="twice", on_counted=lambda c, now: calls.append("first")))
    register_quota_hook(QuotaHook(name="twice", on_counted=lambda c, now: calls.append("again")))

    consume_send_quota(smtp_user.pk, now=at(10))

    assert calls == ["again"]
