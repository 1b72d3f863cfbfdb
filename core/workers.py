"""Durable work queues in the database, and the one loop that drains them.

Shared by the mail queue (mailqueue) and the alert deliveries (alerts). Each queue supplies
only its table and settings (a WorkQueue), the work on one claimed row (and, optionally, what
to read once for a claimed batch), and when to give a failed row up; claiming, recording
outcomes, backoff and the worker loop live here.

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
from django.db import close_old_connections, connection, connections, transaction
from django.db.models import F, Field, Model, OuterRef, Subquery
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
    _RETRY_BASE_SECONDS and _RETRY_MAX_SECONDS (the backoff), _POLL_SECONDS (how often an
    idle worker looks) and, optionally, _BATCH_SIZE (rows claimed at once), read at each use so
    that a changed setting applies at once. `fair_by` names the field (an owner) whose values
    take turns when rows are claimed.
    """

    model: type[RowT]
    waiting_status: str
    claimed_status: str
    settings_prefix: str
    fair_by: str | None = None

    def _setting(self, name: str) -> float:
        return getattr(settings, f"{self.settings_prefix}_{name}")

    def lease(self) -> timedelta:
        return timedelta(seconds=self._setting("LEASE_SECONDS"))

    def poll_seconds(self) -> float:
        return self._setting("POLL_SECONDS")

    def batch_size(self) -> int:
        """How many rows a worker claims at once (<settings_prefix>_BATCH_SIZE, default 1)."""
        return int(getattr(settings, f"{self.settings_prefix}_BATCH_SIZE", 1))

    def claim_next(self, *, now: datetime) -> RowT | None:
        """Take the next due row, or None."""
        rows = self.claim_batch(now=now, limit=1)
        return rows[0] if rows else None

    def claim_batch(self, *, now: datetime, limit: int) -> list[RowT]:
        """Take up to `limit` due rows, oldest due first, in one transaction.

        With `fair_by` (a field, the owner), each owner's oldest due row comes first, so that
        one owner's backlog does not hold back another owner's rows; the rest of the batch is
        filled oldest first (PostgreSQL: the heads are found by a recursive query). SKIP LOCKED
        lets several workers claim side by side on
        PostgreSQL; the conditional UPDATE makes a claim exclusive.
        """
        lease = self.lease()
        due = self.model._default_manager.filter(
            status__in=[self.waiting_status, self.claimed_status], next_attempt_at__lte=now
        )
        with transaction.atomic():
            rows: list[RowT] = []
            if self.fair_by and limit > 1:
                rows = list(
                    due.select_for_update(skip_locked=True)
                    .filter(pk__in=self._owner_heads(now=now, limit=limit))
                    .order_by("next_attempt_at", "id")
                )
            if len(rows) < limit:
                rows += (
                    due.select_for_update(skip_locked=True)
                    .exclude(pk__in=[row.pk for row in rows])
                    .order_by("next_attempt_at", "id")[: limit - len(rows)]
                )
            if not rows:
                return []
            claimed = due.filter(pk__in=[row.pk for row in rows]).update(
                status=self.claimed_status, attempts=F("attempts") + 1, next_attempt_at=now + lease
            )
            if claimed != len(rows):
                # Another worker changed one of them meanwhile (only where rows are not
                # locked): claim nothing rather than something twice.
                transaction.set_rollback(True)
                return []
        for work_row in cast(list[WorkRow], rows):
            work_row.status = self.claimed_status
            work_row.attempts += 1
            work_row.next_attempt_at = now + lease
        return rows

    def _owner_heads(self, *, now: datetime, limit: int) -> list[int]:
        """The ids of the oldest due row of each `fair_by` value (up to `limit`, oldest first).

        The values are walked through the index (a loose index scan: one probe per value with
        waiting rows), not by sorting every due row: a backlog of 100,000 rows of one owner
        costs no more than one row. Needs an index on (fair_by, next_attempt_at, id) over the
        waiting and claimed rows. Other databases (SQLite for local development) take each
        value's head by a correlated subquery instead.
        """
        if connection.vendor != "postgresql":
            return self._owner_heads_portably(now=now, limit=limit)
        table = connection.ops.quote_name(self.model._meta.db_table)
        # Called only with `fair_by` set, which names a concrete field (the owner's foreign key,
        # not a reverse relation): it has a column.
        fair_field = cast(Field, self.model._meta.get_field(cast(str, self.fair_by)))
        column = connection.ops.quote_name(cast(str, fair_field.column))
        statuses = [self.waiting_status, self.claimed_status]
        sql = f"""
            WITH RECURSIVE owners(value) AS (
                (SELECT {column} FROM {table} WHERE status IN (%s, %s) ORDER BY {column} LIMIT 1)
                UNION ALL
                SELECT (
                    SELECT {column} FROM {table}
                    WHERE status IN (%s, %s) AND {column} > owners.value
                    ORDER BY {column} LIMIT 1
                )
                FROM owners WHERE owners.value IS NOT NULL
            )
            SELECT head.id FROM owners CROSS JOIN LATERAL (
                SELECT id, next_attempt_at FROM {table}
                WHERE status IN (%s, %s) AND {column} = owners.value AND next_attempt_at <= %s
                -- The owner first, though fixed here: the order of the index to read it by.
                ORDER BY {column}, next_attempt_at, id LIMIT 1
            ) AS head
            ORDER BY head.next_attempt_at, head.id
            LIMIT %s
        """  # noqa: S608 - table and column names come from the model, values are parameters
        with connection.cursor() as cursor:
            cursor.execute(sql, [*statuses, *statuses, *statuses, now, limit])
            return [row[0] for row in cursor.fetchall()]

    def _owner_heads_portably(self, *, now: datetime, limit: int) -> list[int]:
        fair_by = cast(str, self.fair_by)
        due = self.model._default_manager.filter(
            status__in=[self.waiting_status, self.claimed_status], next_attempt_at__lte=now
        )
        head = due.filter(**{fair_by: OuterRef(fair_by)}).order_by("next_attempt_at", "id")
        return list(
            due.filter(pk=Subquery(head.values("pk")[:1]))
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )

    def release(self, rows: list[RowT], *, now: datetime) -> None:
        """Give claimed rows that were not worked on back, due at once, their attempt undone."""
        for row in rows:
            self.model._default_manager.filter(
                pk=row.pk, status=self.claimed_status, attempts=cast(WorkRow, row).attempts
            ).update(
                status=self.waiting_status,
                attempts=F("attempts") - 1,
                next_attempt_at=now,
            )

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
    prepare: Callable[[list[RowT]], object] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Claim and work on due rows, a batch at a time, until none is due (or `stop` is set);
    how many were tried.

    `work_on` records the outcome of its row (queue.record_success / record_failure). A row is
    started only while at least half its lease remains, so that no other worker can claim it
    while it is being worked on; the rest of a batch goes back to the queue. `prepare`, if
    given, gets each claimed batch before its first row is worked on: to read what the rows
    need once per batch rather than once per row.
    """
    attempted = 0
    while stop is None or not stop.is_set():
        rows = queue.claim_batch(now=timezone.now(), limit=queue.batch_size())
        if not rows:
            break
        if prepare is not None:
            prepare(rows)
        half_lease = queue.lease() / 2
        for position, row in enumerate(rows):
            if (stop is not None and stop.is_set()) or (
                cast(WorkRow, row).next_attempt_at - timezone.now() < half_lease
            ):
                queue.release(rows[position:], now=timezone.now())
                return attempted
            work_on(row)
            attempted += 1
    return attempted


class QueueWorker(threading.Thread, Generic[RowT]):
    """Works through `queue` whenever woken, and at least every poll interval, until stopped;
    `wake()` makes it look at once."""

    def __init__(
        self,
        queue: WorkQueue[RowT],
        work_on: Callable[[RowT], object],
        *,
        name: str,
        prepare: Callable[[list[RowT]], object] | None = None,
    ):
        super().__init__(name=name, daemon=True)
        self.queue = queue
        self._work_on = work_on
        self._prepare = prepare
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
                    work_through(
                        self.queue, self._work_on, prepare=self._prepare, stop=self._stopping
                    )
                except Exception:
                    # The database is away, or a bug: keep the worker alive. Nothing is lost:
                    # the queue is read again, and a row it held is due when its claim lapses.
                    logger.exception("%s: error while working through the queue", self.name)
                self._wakeup.wait(self.queue.poll_seconds())
        finally:
            connections.close_all()
