"""Every change to quota alerts: settings, raising alerts, and recording their deliveries."""

import json
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction

from accounts.models import Owner
from alerts.models import (
    TOTAL_WINDOW_START,
    AlertDelivery,
    AlertSettings,
    QuotaAlert,
    default_quota_thresholds,
)
from alerts.selectors import alert_settings_for
from alerts.validators import parse_quota_thresholds, parse_webhook_url
from audit.services import record_event
from core.crypto import encrypt
from core.errors import ServiceError
from core.tenancy import owned_by
from core.workers import backoff, claim_next, finish_claim
from smtpusers.models import SmtpUser
from smtpusers.usage import DAILY, HOURLY, TOTAL

Channel = AlertDelivery.Channel
Status = AlertDelivery.Status
SETTINGS_TARGET = "Quota alerts"
WEBHOOK_SECRET_PREFIX = "whsec_"
LAST_ERROR_MAX_LENGTH = 500
SAMPLE_SMTP_USER_NAME = "smtp00000000"


def threshold_count(limit: int, threshold: int) -> int:
    """The message count at which `threshold` percent of `limit` is reached (at least 1)."""
    return max(1, -(-limit * threshold // 100))


def _stored_thresholds(raw: object) -> dict[str, list[int]]:
    """The thresholds as the quota UPDATE returned them: JSON text, a dict, or None."""
    if raw is None:
        return default_quota_thresholds()
    return cast(dict[str, list[int]], json.loads(raw) if isinstance(raw, str | bytes) else raw)


# --- Raising alerts (inside the transaction that counts a message) --------------------------

_INSERT_ALERTS_SQL = (
    'INSERT INTO alerts_quotaalert ("owner_id", "smtp_user_id", "smtp_user_name", "window", '
    '"window_start", "quota_limit", "threshold", "used", "resets_at", "is_test", "occurred_at") '
    "VALUES {rows} "
    'ON CONFLICT ("smtp_user_id", "window", "window_start", "quota_limit", "threshold") '
    'DO NOTHING RETURNING "id"'
)


def _crossings(counted: Any, *, now: datetime) -> list[QuotaAlert]:
    """The alerts that this counted message (smtpusers.services.CountedMessage) crosses.

    Counts rise by exactly one per message, under the row lock of the counting UPDATE, so
    exactly one message reaches each threshold count in a window.
    """
    thresholds = _stored_thresholds(counted.alert_thresholds)
    windows = [
        (HOURLY, counted.hour_used, counted.hourly_limit, counted.hour_started_at,
         counted.hour_started_at + timedelta(hours=1)),
        (DAILY, counted.day_used, counted.daily_limit, counted.day_started_at,
         counted.day_started_at + timedelta(days=1)),
        (TOTAL, counted.total_used, counted.total_limit, TOTAL_WINDOW_START, None),
    ]  # fmt: skip
    return [
        QuotaAlert(
            owner_id=counted.owner_id,
            smtp_user_id=counted.smtp_user_id,
            smtp_user_name=counted.smtp_user_name,
            window=window,
            window_start=window_start,
            quota_limit=limit,
            threshold=threshold,
            used=used,
            resets_at=resets_at,
            occurred_at=now,
        )
        for window, used, limit, window_start, resets_at in windows
        if limit is not None
        for threshold in thresholds.get(window, [])
        if used == threshold_count(limit, threshold)
    ]


def _insert_new_alerts(alerts: list[QuotaAlert]) -> list[int]:
    """Insert the alerts no earlier message raised; the ids of those inserted."""
    adapt = connection.ops.adapt_datetimefield_value
    rows, params = [], []
    for alert in alerts:
        rows.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
        params += [
            alert.owner_id,
            alert.smtp_user_id,
            alert.smtp_user_name,
            alert.window,
            adapt(alert.window_start),
            alert.quota_limit,
            alert.threshold,
            alert.used,
            adapt(alert.resets_at),
            False,
            adapt(alert.occurred_at),
        ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ALERTS_SQL.format(rows=", ".join(rows)), params)
        return [row[0] for row in cursor.fetchall()]


def _channels_of(alert_settings: AlertSettings) -> list[str]:
    channels: list[str] = [Channel.EMAIL] if alert_settings.email_enabled else []
    if alert_settings.webhook_url:
        channels.append(Channel.WEBHOOK)
    return channels


def _queue_deliveries(
    owner_id: int, alert_ids: list[int], channels: list[str], *, now: datetime
) -> None:
    AlertDelivery.objects.bulk_create(
        AlertDelivery(
            owner_id=owner_id,
            alert_id=alert_id,
            channel=channel,
            next_attempt_at=now,
            created_at=now,
        )
        for alert_id in alert_ids
        for channel in channels
    )


def raise_quota_alerts(counted: Any, *, now: datetime) -> list[int]:
    """Raise the alerts a counted message crosses, once each; returns the new alerts' ids.

    Called by smtpusers.services.consume_send_quota in its transaction. A message that
    crosses no threshold (nearly all) costs no query here.
    """
    crossings = _crossings(counted, now=now)
    if not crossings:
        return []
    alert_ids = _insert_new_alerts(crossings)
    if alert_ids:
        channels = _channels_of(alert_settings_for(counted.owner_id))
        _queue_deliveries(counted.owner_id, alert_ids, channels, now=now)
    return alert_ids


# --- Settings --------------------------------------------------------------------------------


def _new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def _locked_settings(owner: Owner) -> AlertSettings:
    AlertSettings.objects.get_or_create(owner=owner)
    return owned_by(owner, AlertSettings.objects.select_for_update()).get()


def update_alert_settings(
    owner: Owner, *, quota_thresholds: dict[str, object], email_enabled: bool, webhook_url: object
) -> tuple[AlertSettings, str | None]:
    """Save the owner's thresholds ({window: "80, 100"}), email switch and webhook URL.

    Returns the settings and, when a webhook URL is set for the first time, its new signing
    secret in plaintext (shown once); otherwise None.
    """
    new_values = {
        "quota_thresholds": parse_quota_thresholds(quota_thresholds),
        "email_enabled": bool(email_enabled),
        "webhook_url": parse_webhook_url(webhook_url),
    }
    new_secret = None
    with transaction.atomic():
        alert_settings = _locked_settings(owner)
        changes = {
            field: [getattr(alert_settings, field), value]
            for field, value in new_values.items()
            if getattr(alert_settings, field) != value
        }
        for field, value in new_values.items():
            setattr(alert_settings, field, value)
        if alert_settings.webhook_url and not alert_settings.webhook_secret_encrypted:
            new_secret = _new_webhook_secret()
            alert_settings.webhook_secret_encrypted = encrypt(new_secret)
            changes["webhook_secret"] = ["(none)", "(generated)"]
        if changes:
            alert_settings.save()
            record_event(owner, action="alerts.update", target=SETTINGS_TARGET, changes=changes)
    return alert_settings, new_secret


def regenerate_webhook_secret(owner: Owner) -> tuple[AlertSettings, str]:
    """A new signing secret for the owner's webhook; returned in plaintext once. The old one
    stops signing at once."""
    secret = _new_webhook_secret()
    with transaction.atomic():
        alert_settings = _locked_settings(owner)
        alert_settings.webhook_secret_encrypted = encrypt(secret)
        alert_settings.save(update_fields=["webhook_secret_encrypted", "updated_at"])
        record_event(
            owner,
            action="alerts.regenerate_secret",
            target=SETTINGS_TARGET,
            changes={"webhook_secret": ["(hidden)", "(regenerated)"]},
        )
    return alert_settings, secret


def send_test_alert(owner: Owner, *, now: datetime) -> QuotaAlert:
    """Queue a sample alert (80% of an hourly limit of 100) on every configured channel."""
    channels = _channels_of(alert_settings_for(owner))
    if not channels:
        raise ServiceError("Turn on email alerts or set a webhook URL first")
    first_smtp_user = owned_by(owner, SmtpUser).order_by("created_at", "id").first()
    hour = now.replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        alert = QuotaAlert.objects.create(
            owner=owner,
            smtp_user_name=first_smtp_user.smtp_user_name
            if first_smtp_user
            else SAMPLE_SMTP_USER_NAME,
            window=HOURLY,
            window_start=hour,
            quota_limit=100,
            threshold=80,
            used=80,
            resets_at=hour + timedelta(hours=1),
            is_test=True,
            occurred_at=now,
        )
        _queue_deliveries(owner.pk, [alert.pk], channels, now=now)
        record_event(
            owner,
            action="alerts.send_test",
            target=SETTINGS_TARGET,
            changes={"channels": [None, ", ".join(channels)]},
        )
    return alert


# --- Deliveries (the alert worker) -----------------------------------------------------------


def claim_next_delivery(*, now: datetime) -> AlertDelivery | None:
    """Take the next due delivery, or None (claimed for ALERTS_LEASE_SECONDS)."""
    return claim_next(
        AlertDelivery,
        due_statuses=[Status.PENDING, Status.SENDING],
        claimed_status=Status.SENDING,
        now=now,
        lease=timedelta(seconds=settings.ALERTS_LEASE_SECONDS),
    )


def record_delivered(
    delivery: AlertDelivery, *, now: datetime, target: str, response_code: int | None
) -> bool:
    return finish_claim(
        delivery,
        Status.SENDING,
        status=Status.DELIVERED,
        delivered_at=now,
        target=target[:1000],
        response_code=response_code,
        last_error="",
    )


def record_failed_attempt(
    delivery: AlertDelivery,
    *,
    now: datetime,
    target: str,
    error: str,
    response_code: int | None = None,
    permanent: bool = False,
) -> bool:
    """A failed attempt: retried with backoff, or given up (permanent, or the last attempt)."""
    changes: dict[str, object] = {
        "target": target[:1000],
        "response_code": response_code,
        "last_error": error[:LAST_ERROR_MAX_LENGTH],
    }
    if permanent or delivery.attempts >= settings.ALERTS_MAX_ATTEMPTS:
        changes["status"] = Status.FAILED
    else:
        changes["status"] = Status.PENDING
        changes["next_attempt_at"] = now + backoff(
            delivery.attempts,
            base_seconds=settings.ALERTS_RETRY_BASE_SECONDS,
            max_seconds=settings.ALERTS_RETRY_MAX_SECONDS,
        )
    return finish_claim(delivery, Status.SENDING, **changes)
