"""Relaying queued messages upstream through their domain's email settings."""

import logging
import threading

from django.conf import settings
from django.utils import timezone

from core.workers import QueueWorker, work_through
from mailqueue import services
from mailqueue.models import QueuedMessage
from relaysettings.selectors import relay_settings_with_ids, sender_domain
from relaysettings.services import DeliveryError, close_relay_connections, dkim_signed, send_through

logger = logging.getLogger(__name__)


def read_relay_settings(messages: list[QueuedMessage]) -> None:
    """Read the email settings of a claimed batch in one query instead of one per message,
    each message's from its own owner; a message whose settings were removed gets none.

    They are read as the batch starts: settings changed or removed while it is being sent
    apply from the next batch on. A batch is at most MAILQUEUE_BATCH_SIZE messages and
    normally seconds old (at worst half the lease, behind a slow upstream: a message is
    started only while half its lease remains), as if the change had come that much later.
    """
    found = relay_settings_with_ids(
        (message.owner_id, message.relay_setting_id) for message in messages
    )
    for message in messages:
        message.relay_setting = found.get((message.owner_id, message.relay_setting_id))


def deliver(message: QueuedMessage) -> None:
    """Send one claimed message, whose batch read_relay_settings read, and record the outcome."""
    relay_setting = message.relay_setting
    if relay_setting is None:
        services.record_failure(
            message,
            now=timezone.now(),
            error=f"The email settings for {sender_domain(message.mail_from)} were removed",
            permanent=True,
        )
        return
    try:
        refused = send_through(
            relay_setting,
            mail_from=message.mail_from,
            recipients=message.rcpt_to,
            message=dkim_signed(relay_setting, bytes(message.data)),
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
    return work_through(services.MAIL_QUEUE, deliver, prepare=read_relay_settings, stop=stop)


class DeliveryWorkers:
    """Several delivery workers started, woken and stopped together; `wake()` makes them look
    at the queue at once."""

    def __init__(self, count: int):
        self.workers = [
            QueueWorker(
                services.MAIL_QUEUE,
                deliver,
                prepare=read_relay_settings,
                name=f"mail-delivery-{number}",
            )
            for number in range(count)
        ]

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
        close_relay_connections()
