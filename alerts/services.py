"""Every change to quota alerts: settings, raising alerts, and recording their deliveries."""

import json
import secrets
from datetime import datetime
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
from core.workers import WorkQueue
from smtpusers.models import SmtpUser
from smtpusers.quota import HOURLY, CountedMessage, WindowUsage, hour_start

Channel = AlertDelivery.Channel
Status = AlertDelivery.Status
SETTINGS_TARGET = "Quota alerts"
WEBHOOK_SECRET_PREFIX = "whsec_"
LAST_ERROR_MAX_LENGTH = 500
SAMPLE_SMTP_USER_NAME = "smtp00000000"
# The name of alerts' hook in smtpusers.quota (registered in alerts.apps), and of the value
# the counting UPDATE returns for it: the owner's thresholds.
QUOTA_HOOK_NAME = "alerts"

# A delivery is claimed for ALERTS_LEASE_SECONDS by the alert worker (alerts.delivery).
ALERT_QUEUE = WorkQueue(
    AlertDelivery,
    waiting_status=Status.PENDING,
    claimed_status=Status.SENDING,
    settings_prefix="ALERTS",
)


def threshold_count(limit: int, threshold: int) -> int:
    """The message count at which `threshold` percent of `limit` is reached (at least 1)."""
    return max(1, -(-limit * threshold // 100))


def _stored_thresholds(raw: object) -> dict[str, list[int]]:
    """The thresholds as the quota UPDATE returned them: JSON text, a dict, or None."""
    if raw is None:
        return default_quota_thresholds()
    thresholds = json.loads(raw) if isinstance(raw, str | bytes) else raw
    return cast(dict[str, list[int]], thresholds)


# --- Raising alerts (inside the transaction that counts a message) --------------------------

_INSERT_ALERTS_SQL = (
    'INSERT INTO alerts_quotaalert ("owner_id", "smtp_user_id", "smtp_user_name", "window", '
    '"window_start", "quota_limit", "threshold", "used", "resets_at", "is_test", "occurred_at") '
    "VALUES {rows} "
    'ON CONFLICT ("smtp_user_id", "window", "window_start", "quota_limit", "threshold") '
    'DO NOTHING RETURNING "id"'
)


def _alert(
    owner_id: int,
    smtp_user_id: int | None,
    smtp_user_name: str,
    window: WindowUsage,
    threshold: int,
    **extra: Any,
) -> QuotaAlert:
    return QuotaAlert(
        owner_id=owner_id,
        smtp_user_id=smtp_user_id,
        smtp_user_name=smtp_user_name,
        window=window.window,
        window_start=window.started_at or TOTAL_WINDOW_START,
        # Alerts are raised only in windows with a limit.
        quota_limit=cast(int, window.limit),
        threshold=threshold,
        used=window.used,
        resets_at=window.resets_at,
        **extra,
    )


def _crossings(counted: CountedMessage, *, now: datetime) -> list[QuotaAlert]:
    """The alerts that this counted message crosses.

    Counts rise by exactly one per message, under the row lock of the counting UPDATE, so
    exactly one message reaches each threshold count in a window.
    """
    thresholds = _stored_thresholds(counted.returned.get(QUOTA_HOOK_NAME))
    usage = counted.usage
    return [
        _alert(
            counted.owner_id,
            counted.smtp_user_id,
            usage.smtp_user_name,
            window,
            threshold,
            occurred_at=now,
        )
        for window in usage.windows
        if window.limit is not None
        for threshold in thresholds.get(window.window, [])
        if window.used == threshold_count(window.limit, threshold)
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


def raise_quota_alerts(counted: CountedMessage, *, now: datetime) -> list[int]:
    """Raise the alerts a counted message crosses, once each; returns the new alerts' ids.

    Alerts' quota hook (alerts.apps): smtpusers.quota.consume_send_quota calls it in its
    transaction. A message that crosses no threshold (nearly all) costs no query here.
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
    owner: Owner,
    *,
    quota_thresholds: dict[str, Any],
    email_enabled: bool,
    webhook_url: str | None,
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
    sample = WindowUsage(HOURLY, used=80, limit=100, started_at=hour_start(now))
    with transaction.atomic():
        alert = _alert(
            owner.pk,
            None,
            first_smtp_user.smtp_user_name if first_smtp_user else SAMPLE_SMTP_USER_NAME,
            sample,
            80,
            is_test=True,
            occurred_at=now,
        )
        alert.save()
        _queue_deliveries(owner.pk, [alert.pk], channels, now=now)
        record_event(
            owner,
            action="alerts.send_test",
            target=SETTINGS_TARGET,
            changes={"channels": [None, ", ".join(channels)]},
        )
    return alert


# --- Deliveries (the alert worker) -----------------------------------------------------------


def record_delivered(
    delivery: AlertDelivery, *, now: datetime, target: str, response_code: int | None
) -> bool:
    return ALERT_QUEUE.record_success(
        delivery,
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
    give_up = permanent or delivery.attempts >= settings.ALERTS_MAX_ATTEMPTS
    return ALERT_QUEUE.record_failure(
        delivery,
        now=now,
        give_up_as=Status.FAILED if give_up else None,
        target=target[:1000],
        response_code=response_code,
        last_error=error[:LAST_ERROR_MAX_LENGTH],
    )
