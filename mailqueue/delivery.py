"""Relaying queued messages upstream through their domain's email settings."""

import logging
import threading

from django.conf import settings
from django.utils import timezone

from core.tenancy import owned_by
from core.workers import QueueWorker
from mailqueue import services
from mailqueue.models import QueuedMessage
from mailqueue.selectors import sender_domain
from relaysettings.dkim import signed
from relaysettings.models import RelaySetting
from relaysettings.transport import DeliveryError, send_message, target_for

logger = logging.getLogger(__name__)


def deliver(message: QueuedMessage) -> None:
    """Send one claimed message and record the outcome."""
    relay_setting = (
        owned_by(message.owner_id, RelaySetting).filter(pk=message.relay_setting_id).first()
        if message.relay_setting_id
        else None
    )
    if relay_setting is None:
        services.record_failure(
            message,
            now=timezone.now(),
            error=f"The email settings for {sender_domain(message.mail_from)} were removed",
            permanent=True,
        )
        return
    try:
        refused = send_message(
            target_for(relay_setting),
            mail_from=message.mail_from,
            recipients=message.rcpt_to,
            message=signed(relay_setting, bytes(message.data)),
            timeout=settings.MAILQUEUE_RELAY_TIMEOUT_SECONDS,
        )
    except DeliveryError as error:
        logger.info(
            "Message %s attempt %s failed (%s): %s",
            message.pk,
            message.attempts,
            "permanent" if error.permanent else "will retry",
            error.message,
        )
        services.record_failure(
            message, now=timezone.now(), error=error.message, permanent=error.permanent
        )
        return
    services.record_delivered(message, now=timezone.now(), refused=refused)
    logger.info("Message %s delivered via %s", message.pk, relay_setting.host)


def deliver_due_messages(*, stop: threading.Event | None = None) -> int:
    """Deliver messages until none is due (or `stop` is set); returns how many were tried."""
    attempted = 0
    while stop is None or not stop.is_set():
        message = services.claim_next_message(now=timezone.now())
        if message is None:
            break
        deliver(message)
        attempted += 1
    return attempted


class DeliveryWorker(QueueWorker):
    """Delivers due messages until stopped; `wake()` makes it look at the queue at once."""

    def __init__(self, *, name: str = "mail-delivery"):
        super().__init__(
            name=name,
            drain=lambda stop: deliver_due_messages(stop=stop),
            poll_seconds=lambda: settings.MAILQUEUE_POLL_SECONDS,
        )


class DeliveryWorkers:
    """Several delivery workers started, woken and stopped together."""

    def __init__(self, count: int):
        self.workers = [DeliveryWorker(name=f"mail-delivery-{number}") for number in range(count)]

    def start(self) -> "DeliveryWorkers":
        for worker in self.workers:
            worker.start()
        return self

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
