"""The outbox in SQLite: delivery rows, claims, the attempt log, replay.

Deliveries are inserted with their message (see :mod:`._sqlite_writes`); everything else
here is a write op the batching writer runs (each op's :meth:`run` in the writer thread,
inside the batch's transaction) or a query a reader runs. Times are integer microseconds
since the epoch, UTC; delivery ids are kept as 16 bytes like message ids.

A claim marks deliveries ``delivering`` and moves their ``due_at`` to the end of a lease:
if the worker never reports (the process died), the delivery is due again once the lease
ends. The SQLite store serves one process, so at start it also hands back, at once,
every claim the previous run left (:class:`RecoverClaims`).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from .._crypto import BodyCipher
from ..model import DeliveryAttempt, DeliveryRecord, DeliveryStatus
from ._protocol import ClaimedDelivery
from ._sqlite_incoming import attempt_params
from ._sqlite_rows import (
    delivery_id_of,
    delivery_key,
    message_id_of,
    message_key,
    micros,
    open_message,
)

__all__ = [
    "ClaimDeliveries",
    "FinishAttempt",
    "OutboxOp",
    "RecoverClaims",
    "ReplayDeliveries",
    "SetDestinationDisabled",
    "delivery_attempts",
    "delivery_row",
    "distinct_deliveries",
    "disabled_destinations",
    "finish_attempts",
    "from_micros",
    "list_deliveries",
    "next_due",
    "outbox_depth",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPEN = "('pending', 'delivering')"


def from_micros(value: int) -> datetime:
    """The UTC datetime of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=value)


class ClaimDeliveries(msgspec.Struct, frozen=True):
    """Claim up to ``limit`` due deliveries of ``destination``, the most overdue first:
    those of ``tenant`` (a worker's claim), or with ``tenant`` None of every tenant.

    ``ordered``: only the destination's oldest open delivery may go, and only when it is
    due, so one failing delivery holds back the ones behind it.
    """

    destination: str
    now: int
    lease_until: int
    limit: int
    ordered: bool = False
    cipher: BodyCipher | None = None
    """Opens sealed message bodies (encryption at rest)."""
    tenant: str | None = None

    def run(self, conn: sqlite3.Connection) -> list[ClaimedDelivery]:
        scope, args = _destination_scope(self.destination, self.tenant, "d.")
        if self.ordered:
            rows = conn.execute(
                "SELECT d.id, m.body, d.attempts, d.retry_step, d.created_at, d.due_at, m.id"
                " FROM deliveries AS d JOIN messages AS m ON m.id = d.message_id"
                f" WHERE {scope} AND d.status IN {_OPEN}"
                " ORDER BY d.created_at, d.id LIMIT 1",
                args,
            ).fetchall()
            rows = [row for row in rows if row[5] <= self.now]
        else:
            rows = conn.execute(
                "SELECT d.id, m.body, d.attempts, d.retry_step, d.created_at, d.due_at, m.id"
                " FROM deliveries AS d JOIN messages AS m ON m.id = d.message_id"
                f" WHERE {scope} AND d.status IN {_OPEN} AND d.due_at <= ?"
                " ORDER BY d.due_at, d.id LIMIT ?",
                (*args, self.now, self.limit),
            ).fetchall()
        if not rows:
            return []
        # One statement for them all: each statement is a turn for the GIL.
        conn.execute(
            "UPDATE deliveries SET status = 'delivering', due_at = ?, updated_at = ?"
            f" WHERE id IN ({','.join('?' * len(rows))})",
            (self.lease_until, self.now, *(row[0] for row in rows)),
        )
        return [
            ClaimedDelivery(
                id=delivery_id_of(key),
                message=open_message(body, message, self.cipher),
                attempt=attempts + 1,
                retry_step=retry_step,
                created_at=from_micros(created_at),
            )
            for key, body, attempts, retry_step, created_at, _, message in rows
        ]


class FinishAttempt(msgspec.Struct, frozen=True, kw_only=True):
    """Log one attempt and move its delivery on: delivered, due again at ``due_at``
    (``pending``, one more ``retry_step`` used unless ``held``), or ``failed``."""

    attempt: DeliveryAttempt
    status: DeliveryStatus
    due_at: int | None = None
    retry_step: int | None = None
    params: tuple[object, ...] | None = None
    """Its row for the one-statement commit (:func:`~._sqlite_incoming.attempt_params`),
    made by whoever submits it."""

    def run(self, conn: sqlite3.Connection) -> None:
        finish_attempts(conn, [self])

    def prepared(self) -> FinishAttempt:
        """This attempt with its :attr:`params`."""
        return msgspec.structs.replace(self, params=attempt_params(*self.rows()))

    def rows(self) -> tuple[tuple[object, ...], tuple[object, ...]]:
        """The attempt's row and its delivery's new state (see :func:`finish_attempts`)."""
        attempt = self.attempt
        key = delivery_key(attempt.delivery_id)
        started = micros(attempt.started_at)
        logged = (
            key,
            attempt.attempt,
            started,
            attempt.duration_ms,
            attempt.outcome,
            attempt.status_code,
            attempt.error,
            attempt.response,
        )
        now = started + int(attempt.duration_ms * 1000)
        moved = (
            key,
            self.status,
            attempt.attempt,
            self.retry_step,
            self.due_at,
            now,
            attempt.error,
        )
        return logged, moved


_FINISH_STEP = 8
"""Attempts per statement are rounded up to a multiple of this (padded with rows that
write nothing), so a handful of statement texts serve every batch size; a lone attempt,
the common case at a low rate, has a statement of its own, unpadded."""
_FINISH_MOST = 256
"""At most this many attempts per statement (8 parameters each, well within SQLite's
limit on parameters)."""


@functools.cache
def _finish_sql(count: int) -> tuple[str, str]:
    logged = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * count)
    moved = ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * count)
    return (
        "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms,"
        " outcome, status_code, error, response)"
        f" SELECT * FROM (VALUES {logged}) WHERE column1 IS NOT NULL ON CONFLICT DO NOTHING",
        "UPDATE deliveries SET status = v.column2, attempts = max(deliveries.attempts,"
        " v.column3), retry_step = coalesce(v.column4, deliveries.retry_step),"
        " due_at = coalesce(v.column5, deliveries.due_at), updated_at = v.column6,"
        f" last_error = v.column7 FROM (VALUES {moved}) AS v WHERE deliveries.id = v.column1",
    )


def finish_attempts(conn: sqlite3.Connection, finished: Sequence[FinishAttempt]) -> None:
    """Log the attempts and move their deliveries on, two statements for up to
    :data:`_FINISH_MOST` of them (each statement step hands the GIL back and waits to
    retake it, behind the trio thread, so the fewer the better). The deliveries must
    be distinct: with two attempts at one delivery, which one's state wins would be
    arbitrary (:func:`distinct_deliveries` says)."""
    for start in range(0, len(finished), _FINISH_MOST):
        some = finished[start : start + _FINISH_MOST]
        slots = 1 if len(some) == 1 else -(-len(some) // _FINISH_STEP) * _FINISH_STEP
        logged: list[object] = []
        moved: list[object] = []
        for one in some:
            attempt_row, delivery_row = one.rows()
            logged += attempt_row
            moved += delivery_row
        padding = slots - len(some)
        logged += (None,) * (8 * padding)
        moved += (None,) * (7 * padding)
        insert, update = _finish_sql(slots)
        conn.execute(insert, logged)
        conn.execute(update, moved)


def distinct_deliveries(finished: Sequence[FinishAttempt]) -> bool:
    """Whether ``finished`` are attempts at as many different deliveries."""
    return len({one.attempt.delivery_id for one in finished}) == len(finished)


class ReplayDeliveries(msgspec.Struct, frozen=True, kw_only=True):
    """Make failed deliveries (one, or a destination's, optionally created within
    ``[since, until)``) pending and due at ``now``, with a fresh retry schedule.

    A delivery id replays that delivery whatever its state, unless it is under way.
    """

    tenant: str
    now: int
    delivery_id: str | None = None
    destination: str | None = None
    since: int | None = None
    until: int | None = None

    def run(self, conn: sqlite3.Connection) -> int:
        where = ["tenant = ?"]
        args: list[object] = [self.tenant]
        if self.delivery_id is not None:
            where += ["id = ?", "status != 'delivering'"]
            args.append(delivery_key(self.delivery_id))
        else:
            where.append("status = 'failed'")
        for clause, value in (
            ("destination = ?", self.destination),
            ("created_at >= ?", self.since),
            ("created_at < ?", self.until),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        cursor = conn.execute(
            "UPDATE deliveries SET status = 'pending', due_at = ?, retry_step = 0,"
            f" updated_at = ? WHERE {' AND '.join(where)}",
            [self.now, self.now, *args],
        )
        return cursor.rowcount


class RecoverClaims(msgspec.Struct, frozen=True):
    """Hand back every claim a previous run left (due at ``now``); answers how many."""

    now: int

    def run(self, conn: sqlite3.Connection) -> int:
        cursor = conn.execute(
            "UPDATE deliveries SET status = 'pending', due_at = ?, updated_at = ?"
            " WHERE status = 'delivering'",
            (self.now, self.now),
        )
        return cursor.rowcount


class SetDestinationDisabled(msgspec.Struct, frozen=True):
    """Disable ``name`` of ``tenant`` (with a reason) or, with ``reason`` None, enable
    it again; when enabled, its held deliveries are due at ``now``.

    ``tenant`` None is the receiving tenant's destination, kept under the empty tenant
    (see migration 0008); its held deliveries are found by name alone, as before
    destinations were per tenant."""

    name: str
    reason: str | None
    now: int
    tenant: str | None = None

    def run(self, conn: sqlite3.Connection) -> None:
        key = _disabled_key(self.tenant)
        if self.reason is None:
            conn.execute(
                "DELETE FROM disabled_destinations WHERE tenant = ? AND name = ?",
                (key, self.name),
            )
            scope, args = _destination_scope(self.name, self.tenant)
            conn.execute(
                f"UPDATE deliveries SET due_at = ? WHERE {scope}"
                " AND status = 'pending' AND due_at > ?",
                (self.now, *args, self.now),
            )
        else:
            conn.execute(
                "INSERT INTO disabled_destinations (tenant, name, disabled_at, reason)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (tenant, name) DO UPDATE SET"
                " disabled_at = excluded.disabled_at, reason = excluded.reason",
                (key, self.name, self.now, self.reason),
            )


OutboxOp = (
    ClaimDeliveries | FinishAttempt | ReplayDeliveries | RecoverClaims | SetDestinationDisabled
)


# Reads ------------------------------------------------------------------------------


def list_deliveries(
    conn: sqlite3.Connection,
    tenant: str,
    *,
    message_id: str | None,
    destination: str | None,
    status: DeliveryStatus | None,
    after: str | None,
    limit: int,
    delivery_id: str | None = None,
) -> list[DeliveryRecord]:
    """Deliveries of ``tenant``, oldest first, after the delivery id ``after``."""
    where = ["tenant = ?"]
    args: list[object] = [tenant]
    for clause, value in (
        ("id = ?", None if delivery_id is None else delivery_key(delivery_id)),
        ("message_id = ?", None if message_id is None else message_key(message_id)),
        ("destination = ?", destination),
        ("status = ?", status),
        ("id > ?", None if after is None else delivery_key(after)),
    ):
        if value is not None:
            where.append(clause)
            args.append(value)
    rows = conn.execute(
        "SELECT id, message_id, destination, status, attempts, due_at, created_at,"
        f" updated_at, last_error FROM deliveries WHERE {' AND '.join(where)}"
        " ORDER BY id LIMIT ?",
        [*args, max(0, limit)],
    )
    return [
        DeliveryRecord(
            id=delivery_id_of(key),
            tenant=tenant,
            message_id=message_id_of(message),
            destination=name,
            status=state,
            attempts=attempts,
            next_attempt_at=from_micros(due) if state in ("pending", "delivering") else None,
            created_at=from_micros(created),
            updated_at=from_micros(updated),
            last_error=error,
        )
        for key, message, name, state, attempts, due, created, updated, error in rows
    ]


def delivery_attempts(
    conn: sqlite3.Connection, tenant: str, delivery_id: str
) -> list[DeliveryAttempt]:
    """The attempts of a delivery of ``tenant``, in order."""
    rows = conn.execute(
        "SELECT a.attempt, a.started_at, a.duration_ms, a.outcome, a.status_code, a.error,"
        " a.response FROM delivery_attempts AS a JOIN deliveries AS d ON d.id = a.delivery_id"
        " WHERE a.delivery_id = ? AND d.tenant = ? ORDER BY a.attempt",
        (delivery_key(delivery_id), tenant),
    )
    return [
        DeliveryAttempt(
            delivery_id=delivery_id,
            attempt=attempt,
            started_at=from_micros(started),
            duration_ms=duration,
            outcome=outcome,
            status_code=code,
            error=error,
            response=response,
        )
        for attempt, started, duration, outcome, code, error, response in rows
    ]


def next_due(conn: sqlite3.Connection, destination: str, tenant: str | None = None) -> int | None:
    """When the destination's next open delivery (of ``tenant``, or with None of any
    tenant) falls due (microseconds), if any."""
    scope, args = _destination_scope(destination, tenant)
    row = conn.execute(
        f"SELECT min(due_at) FROM deliveries WHERE {scope} AND status IN {_OPEN}", args
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def outbox_depth(conn: sqlite3.Connection, tenant: str | None = None) -> dict[str, tuple[int, int]]:
    """Destination -> (open deliveries, when the oldest was created, in microseconds):
    those of ``tenant``, or with None of every tenant."""
    where = f"status IN {_OPEN}"
    args: tuple[str, ...] = ()
    if tenant is not None:
        where, args = f"tenant = ? AND {where}", (tenant,)
    rows = conn.execute(
        "SELECT destination, count(*), min(created_at) FROM deliveries"
        f" WHERE {where} GROUP BY destination",
        args,
    )
    return {name: (count, oldest) for name, count, oldest in rows}


def disabled_destinations(conn: sqlite3.Connection, tenant: str | None = None) -> dict[str, str]:
    """Disabled destination of ``tenant`` (None: the receiving tenant's) -> why."""
    return dict(
        conn.execute(
            "SELECT name, reason FROM disabled_destinations WHERE tenant = ?",
            (_disabled_key(tenant),),
        )
    )


def _destination_scope(
    destination: str, tenant: str | None, prefix: str = ""
) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause naming a destination's deliveries: of ``tenant``, or of every
    tenant for None (the claim indexes lead with the destination, then the tenant)."""
    if tenant is None:
        return f"{prefix}destination = ?", (destination,)
    return f"{prefix}destination = ? AND {prefix}tenant = ?", (destination, tenant)


def _disabled_key(tenant: str | None) -> str:
    """The tenant a disabled destination is kept under: the receiving tenant's under
    the empty tenant (no tenant id is empty)."""
    return "" if tenant is None else tenant


def delivery_row(
    delivery_id: str,
    message_key_: bytes,
    tenant: str,
    destination: str,
    status: DeliveryStatus,
    due_at: int,
    created_at: int,
    now: int,
) -> tuple[object, ...]:
    """A ``deliveries`` row of a new message (columns as :mod:`._sqlite_writes` inserts)."""
    return (
        delivery_key(delivery_id),
        message_key_,
        tenant,
        destination,
        status,
        due_at,
        created_at,
        now,
    )
