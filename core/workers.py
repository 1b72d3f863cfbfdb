"""Durable work queues in the database, and the one loop that drains them.

Shared by the mail queue (mailqueue) and the alert deliveries (alerts). Each queue supplies
only its table and settings (a WorkQueue), the work on one claimed row, and when to give a
failed row up; claiming, recording outcomes, backoff and the worker loop live here.

A row is due when its status is the waiting status (or the claimed status whose lease lapsed)
and its `next_attempt_at` has come; a worker claims it for a lease (a crashed worker's claim
lapses and the row is due again), then records the outcome.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar, cast

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import F, Model
from django.utils import timezone

logger = logging.getLogger(__name__)

# A queue's row: any model with the fields of a work row (`WorkRow`).
RowT = TypeVar("RowT", bound=Model)


class WorkRow(Protocol):
    """The fields every queue's table has, besides its primary key."""

    status: str
    attempts: int
    next_attempt_at: datetime


def backoff(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt, capped."""
    seconds = base_seconds * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(seconds, max_seconds))


@dataclass(frozen=True)
class WorkQueue(Generic[RowT]):
    """A table of work rows (fields status, attempts, next_attempt_at) and its timings.

    The timings are the settings <settings_prefix>_LEASE_SECONDS (how long a claim holds),
    _RETRY_BASE_SECONDS and _RETRY_MAX_SECONDS (the backoff) and _POLL_SECONDS (how often an
    idle worker looks), read at each use so that a changed setting applies at once.
    """

    model: type[RowT]
    waiting_status: str
    claimed_status: str
    settings_prefix: str

    def _setting(self, name: str) -> float:
        return getattr(settings, f"{self.settings_prefix}_{name}")

    def poll_seconds(self) -> float:
        return self._setting("POLL_SECONDS")

    def claim_next(self, *, now: datetime) -> RowT | None:
        """Take the next due row, or None.

        SKIP LOCKED lets several workers claim side by side on PostgreSQL; the conditional
        UPDATE makes a claim exclusive on any database.
        """
        lease = timedelta(seconds=self._setting("LEASE_SECONDS"))
        with transaction.atomic():
            row = (
                self.model._default_manager.select_for_update(skip_locked=True)
                .filter(
                    status__in=[self.waiting_status, self.claimed_status], next_attempt_at__lte=now
                )
                .order_by("next_attempt_at", "id")
                .first()
            )
            if row is None:
                return None
            work_row = cast(WorkRow, row)
            claimed = self.model._default_manager.filter(
                pk=row.pk, status=work_row.status, attempts=work_row.attempts
            ).update(
                status=self.claimed_status, attempts=F("attempts") + 1, next_attempt_at=now + lease
            )
            if not claimed:
                return None
        work_row.status = self.claimed_status
        work_row.attempts += 1
        work_row.next_attempt_at = now + lease
        return row

    def record_success(self, row: RowT, **changes: Any) -> bool:
        """Record a finished row (`changes` name its final status), unless the claim was lost."""
        return self._finish(row, **changes)

    def record_failure(
        self,
        row: RowT,
        *,
        now: datetime,
        give_up_as: str | None = None,
        retry_no_later_than: datetime | None = None,
        **changes: Any,
    ) -> bool:
        """A failed attempt: given up with the status `give_up_as`, or else due again after
        the backoff (and no later than `retry_no_later_than`)."""
        if give_up_as is not None:
            return self._finish(row, status=give_up_as, **changes)
        retry_at = now + self.retry_delay(cast(WorkRow, row).attempts)
        if retry_no_later_than is not None:
            retry_at = min(retry_at, retry_no_later_than)
        return self._finish(row, status=self.waiting_status, next_attempt_at=retry_at, **changes)

    def retry_delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt."""
        return backoff(
            attempts,
            base_seconds=self._setting("RETRY_BASE_SECONDS"),
            max_seconds=self._setting("RETRY_MAX_SECONDS"),
        )

    def _finish(self, row: RowT, **changes: Any) -> bool:
        """Record an outcome on a claimed row, unless the claim was lost meanwhile (it lapsed
        and another worker claimed the row again)."""
        updated = self.model._default_manager.filter(
            pk=row.pk, status=self.claimed_status, attempts=cast(WorkRow, row).attempts
        ).update(**changes)
        if updated:
            for field, value in changes.items():
                setattr(row, field, value)
        return bool(updated)


def work_through(
    queue: WorkQueue[RowT],
    work_on: Callable[[RowT], object],
    *,
    stop: threading.Event | None = None,
) -> int:
    """Claim and work on due rows until none is due (or `stop` is set); how many were tried.

    `work_on` records the outcome of its row (queue.record_success / record_failure).
    """
    attempted = 0
    while stop is None or not stop.is_set():
        row = queue.claim_next(now=timezone.now())
        if row is None:
            break
        work_on(row)
        attempted += 1
    return attempted


class QueueWorker(threading.Thread, Generic[RowT]):
    """Works through `queue` whenever woken, and at least every poll interval, until stopped;
    `wake()` makes it look at once."""

    def __init__(self, queue: WorkQueue[RowT], work_on: Callable[[RowT], object], *, name: str):
        super().__init__(name=name, daemon=True)
        self.queue = queue
        self._work_on = work_on
        self._stopping = threading.Event()
        self._wakeup = threading.Event()

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self) -> None:
        """Finish the row in hand, then end."""
        self._stopping.set()
        self._wakeup.set()
        self.join()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wakeup.clear()
                close_old_connections()
                try:
                    work_through(self.queue, self._work_on, stop=self._stopping)
                except Exception:
                    # The database is away, or a bug: keep the worker alive. Nothing is lost:
                    # the queue is read again, and a row it held is due when its claim lapses.
                    logger.exception("%s: error while working through the queue", self.name)
                self._wakeup.wait(self.queue.poll_seconds())
        finally:
            connections.close_all()
