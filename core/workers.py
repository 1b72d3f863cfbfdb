"""Durable work queues in the database, and the threads that drain them.

Shared by the mail queue (mailqueue) and the alert deliveries (alerts): a row is due when its
status is one of the due statuses and its `next_attempt_at` has come; a worker claims it for
a lease (a crashed worker's claim lapses and the row is due again), then records the outcome.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import close_old_connections, connections, transaction
from django.db.models import F, Model

logger = logging.getLogger(__name__)

QueueRow = TypeVar("QueueRow", bound=Model)


def claim_next(
    model: type[QueueRow],
    *,
    due_statuses: list[str],
    claimed_status: str,
    now: datetime,
    lease: timedelta,
) -> QueueRow | None:
    """Take the next due row of `model` (fields status, attempts, next_attempt_at), or None.

    SKIP LOCKED lets several workers claim side by side on PostgreSQL; the conditional UPDATE
    makes a claim exclusive on any database.
    """
    with transaction.atomic():
        # Any: the queue fields (status, attempts, next_attempt_at) are not Model's.
        row: Any = (
            model._default_manager.select_for_update(skip_locked=True)
            .filter(status__in=due_statuses, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .first()
        )
        if row is None:
            return None
        claimed = model._default_manager.filter(
            pk=row.pk, status=row.status, attempts=row.attempts
        ).update(status=claimed_status, attempts=F("attempts") + 1, next_attempt_at=now + lease)
        if not claimed:
            return None
    row.status = claimed_status
    row.attempts += 1
    row.next_attempt_at = now + lease
    return row


def finish_claim(row: Any, claimed_status: str, **changes: object) -> bool:
    """Record an outcome on a claimed row, unless the claim was lost meanwhile (it lapsed and
    another worker claimed the row again)."""
    updated = (
        type(row)
        .objects.filter(pk=row.pk, status=claimed_status, attempts=row.attempts)
        .update(**changes)
    )
    if updated:
        for field, value in changes.items():
            setattr(row, field, value)
    return bool(updated)


def backoff(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt, capped."""
    seconds = base_seconds * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(seconds, max_seconds))


class QueueWorker(threading.Thread):
    """Runs `drain(stop)` (work until nothing is due) whenever woken, and at least every
    `poll_seconds()`, until stopped; `wake()` makes it look at once."""

    def __init__(
        self,
        *,
        name: str,
        drain: Callable[[threading.Event], object],
        poll_seconds: Callable[[], float],
    ):
        super().__init__(name=name, daemon=True)
        self._drain = drain
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._wakeup = threading.Event()

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self) -> None:
        """Finish the item in hand, then end."""
        self._stopping.set()
        self._wakeup.set()
        self.join()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wakeup.clear()
                close_old_connections()
                try:
                    self._drain(self._stopping)
                except Exception:
                    # The database is away, or a bug: keep the worker alive. Nothing is lost:
                    # the queue is read again, and a row it held is due when its claim lapses.
                    logger.exception("%s: error while working through the queue", self.name)
                self._wakeup.wait(self._poll_seconds())
        finally:
            connections.close_all()
