"""Sending quota alerts: email to the owner's logins, and a signed POST to its webhook."""

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC
from typing import TypedDict, cast
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from accounts.models import User
from alerts import services
from alerts.models import AlertDelivery, QuotaAlert
from alerts.selectors import alert_settings_for
from alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from alerts.validators import internal_targets_allowed
from core.crypto import decrypt
from core.network import InternalAddressError, IPAddress, checked_addresses, http_session
from core.workers import QueueWorker, work_through
from smtpusers.quota import TOTAL

logger = logging.getLogger(__name__)

EVENT_THRESHOLD = "quota.threshold_reached"
EVENT_TEST = "quota.test"
USER_AGENT = "smtp-relay-portal-alerts/1"


class PermanentFailure(Exception):
    """Retrying cannot help (no recipients, no webhook URL, an internal target)."""


def _utc_text(moment) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def alert_payload(alert: QuotaAlert) -> dict:
    """The webhook's JSON body (the same for every attempt of one alert)."""
    return {
        "event": EVENT_TEST if alert.is_test else EVENT_THRESHOLD,
        "alert_id": alert.pk,
        "test": alert.is_test,
        "smtp_user_name": alert.smtp_user_name,
        "window": alert.window,
        "threshold": alert.threshold,
        "used": alert.used,
        "limit": alert.quota_limit,
        "resets_at": _utc_text(alert.resets_at),
        "occurred_at": _utc_text(alert.occurred_at),
    }


def alert_email(alert: QuotaAlert) -> tuple[str, str]:
    """(subject, body) of the alert email."""
    test = "[Test] " if alert.is_test else ""
    subject = (
        f"{test}SMTP user {alert.smtp_user_name} reached {alert.threshold}% "
        f"of its {alert.window} limit"
    )
    if alert.window == TOTAL:
        when = "The total limit never resets: raise it to send more once it is reached."
    else:
        when = f"The {alert.window} window resets at {alert.resets_at:%Y-%m-%d %H:%M} UTC."
    lines = [
        f"SMTP user {alert.smtp_user_name} has sent {alert.used} of its {alert.window} limit of "
        f"{alert.quota_limit} messages ({alert.threshold}%).",
        when,
        "",
        "You receive this because quota alerts are on for your account; change the thresholds "
        "or turn email alerts off on the Alerts page of the portal.",
    ]
    if alert.is_test:
        lines.insert(0, "This is a test alert with sample numbers.\n")
    return subject, "\n".join(lines)


def _send_email(delivery: AlertDelivery, alert: QuotaAlert) -> None:
    recipients = sorted(
        User.objects.filter(owner_id=delivery.owner_id, is_active=True).values_list(
            "email", flat=True
        )
    )
    if not recipients:
        raise PermanentFailure("The account has no active login to email")
    delivery.target = ", ".join(recipients)
    subject, body = alert_email(alert)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    return None


def _checked_addresses(url: str) -> list[IPAddress]:
    """The webhook host's addresses, resolved once; an internal one is refused (unless allowed
    by the settings)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        # parse_webhook_url keeps only URLs that name a host.
        host = cast(str, parts.hostname)
        return checked_addresses(host, port, allow_internal=internal_targets_allowed())
    except InternalAddressError:
        raise PermanentFailure(f"{parts.hostname} resolves to an internal address") from None
    except OSError as error:
        raise OSError(f"Cannot resolve {parts.hostname}: {error}") from None


class WebhookRefused(Exception):
    def __init__(self, status_code: int, text: str):
        super().__init__(f"HTTP {status_code}: {text}" if text else f"HTTP {status_code}")
        self.status_code = status_code


def _post_webhook(delivery: AlertDelivery, alert: QuotaAlert) -> int:
    alert_settings = alert_settings_for(delivery.owner_id)
    url = alert_settings.webhook_url
    if not url or not alert_settings.webhook_secret_encrypted:
        raise PermanentFailure("No webhook URL is configured any more")
    delivery.target = url
    addresses = _checked_addresses(url)
    payload = alert_payload(alert)
    body = json.dumps(payload, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    secret = decrypt(alert_settings.webhook_secret_encrypted)
    # The connection goes to the addresses just checked, not to a second DNS answer.
    with http_session(addresses) as session:
        response = session.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Portal-Event": payload["event"],
                "X-Portal-Delivery": str(delivery.pk),
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(secret, timestamp, body),
            },
            timeout=settings.ALERTS_WEBHOOK_TIMEOUT_SECONDS,
            # A redirect could lead anywhere, the portal's own network included.
            allow_redirects=False,
        )
    with response:
        if not 200 <= response.status_code < 300:
            raise WebhookRefused(response.status_code, response.text[:200].strip())
    return response.status_code


# Keyed by the channel's value: a delivery read from the database holds a plain string.
_SENDERS: dict[str, Callable[[AlertDelivery, QuotaAlert], int | None]] = {
    AlertDelivery.Channel.EMAIL: _send_email,
    AlertDelivery.Channel.WEBHOOK: _post_webhook,
}


class _Failure(TypedDict, total=False):
    """How an attempt failed: record_failed_attempt's arguments."""

    error: str
    response_code: int
    permanent: bool


def deliver(delivery: AlertDelivery) -> None:
    """Send one claimed delivery and record the outcome (and where it went, in `target`)."""
    alert = QuotaAlert.objects.get(pk=delivery.alert_id)
    failure: _Failure = {}
    try:
        response_code = _SENDERS[delivery.channel](delivery, alert)
    except PermanentFailure as error:
        failure = {"error": str(error), "permanent": True}
    except WebhookRefused as error:
        failure = {"error": str(error), "response_code": error.status_code}
    except (OSError, requests.RequestException) as error:
        # Connection trouble, timeouts, a mail server that is away: retried.
        failure = {"error": str(error) or type(error).__name__}
    if failure:
        logger.info(
            "Alert delivery %s attempt %s failed: %s",
            delivery.pk,
            delivery.attempts,
            failure["error"],
        )
        services.record_failed_attempt(
            delivery, now=timezone.now(), target=delivery.target, **failure
        )
    else:
        services.record_delivered(
            delivery, now=timezone.now(), target=delivery.target, response_code=response_code
        )


def deliver_due_alerts(*, stop: threading.Event | None = None) -> int:
    """Deliver alerts until none is due (or `stop` is set); returns how many were tried."""
    return work_through(services.ALERT_QUEUE, deliver, stop=stop)


class AlertWorker(QueueWorker[AlertDelivery]):
    """Delivers due alerts until stopped (run by runsmtp, or by manage.py deliveralerts)."""

    def __init__(self, *, name: str = "alert-delivery"):
        super().__init__(services.ALERT_QUEUE, deliver, name=name)
