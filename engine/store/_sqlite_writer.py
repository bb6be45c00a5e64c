"""The one task that writes to SQLite, committing many callers' writes at once.

Callers hand a write to :meth:`BatchWriter.submit` and wait. The writer task takes the
first waiting write, gathers more until they hold ``batch_rows`` rows (a list of messages
submitted at once counts each of them) or the first has waited ``batch_ms``, commits them
all in one transaction in its worker thread, and then wakes every caller with its own
answer. One fsync then covers a whole batch, which is
how a single SQLite file takes tens of thousands of messages a second. With ``batch_ms``
0 (the default) this is group commit: what waits is committed as soon as the writer is
free, and what arrives meanwhile makes the next batch.

Once a write is queued, its caller waits for the answer even if cancelled: the write is
committed with its batch or fails with it, atomically either way, and the caller hears
which before the cancellation lands (at its next checkpoint). So a caller never loses
track of a write it made: an ingest that committed always goes on to tell watchers and
start deliveries, without a shielded cancel scope per write (which costs more than
the rest of a commit's bookkeeping). A commit is bounded (a batch, or the database's
busy timeout), so the wait is too. A caller cancelled before its write was queued
raises at once, having written nothing.

When the database itself fails (read-only, full, I/O, locked too long) every caller of
that batch gets a :class:`~engine.errors.StoreError`; the writer drops its connection,
opens a fresh one for the next batch, and so recovers as soon as writing works again.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections import deque
from collections.abc import Sequence

import outcome
import trio

from .. import _stages
from ..errors import EngineClosedError, StoreError
from ._sqlite_schema import ConnectHook, connect_writer, restart_checkpoint
from ._sqlite_writes import WriteOp, apply_batch, op_rows

__all__ = ["BatchWriter"]


class _Pending:
    __slots__ = ("op", "rows", "submitted_at", "task")

    def __init__(self, op: WriteOp, submitted_at: float, task: trio.lowlevel.Task) -> None:
        self.op = op
        self.rows = op_rows(op)
        self.submitted_at = submitted_at
        self.task: trio.lowlevel.Task | None = task
        """The caller to wake; None once woken."""


def _describe(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
    if name.startswith("SQLITE_FULL"):
        reason = "the database or its disk is full"
    elif name.startswith("SQLITE_READONLY"):
        reason = "the database is read-only"
    elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        reason = "the database stayed locked by another process"
    elif name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")):
        reason = "the disk refused a read or write"
    else:
        reason = "the database failed"
    return f"{reason} ({exc}; {name})"


class BatchWriter:
    """Owns the writer connection; :meth:`run` must run in a nursery while in use.

    The queue is a deque with parked callers rather than a memory channel: a channel
    send is a schedule point, and at tens of thousands of writes a second the extra
    task switch per write costs more than the SQL. A caller parks once; the writer
    wakes it with its answer. The queue has no bound of its own: every queued write is
    a caller suspended in :meth:`submit`, so the callers' own concurrency bounds it.
    """

    def __init__(
        self,
        path: str,
        conn: sqlite3.Connection | None,
        *,
        batch_rows: int,
        batch_ms: float,
        hook: ConnectHook | None = None,
    ) -> None:
        if batch_rows < 1 or batch_ms < 0 or math.isnan(batch_ms):
            raise ValueError("batch_rows must be at least 1 and batch_ms not negative")
        self._path = path
        self._conn = conn
        self._hook = hook
        self._batch_rows = batch_rows
        self._batch_seconds = batch_ms / 1000
        self._queue: deque[_Pending] = deque()
        self._rows = 0
        """Rows the queued writes hold."""
        self._work = trio.lowlevel.ParkingLot()
        """The writer parks here for the first write, or for a full batch."""
        self._limiter = trio.CapacityLimiter(1)
        self._closing = False
        self._running = False
        self._stopped = trio.Event()
        self.commits = 0
        """Transactions committed: fewer than the writes when batching works."""
        self._restart_wal = False

    async def submit(self, op: WriteOp) -> object:
        """Commit ``op`` with the next batch; its result once that batch committed.

        Cancellation is checked before ``op`` is queued, not after: once queued, this
        returns (or raises) the write's own answer.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closing:
            raise EngineClosedError("the store is closed")
        pending = _Pending(op, trio.current_time(), trio.lowlevel.current_task())
        if _stages.RECORDER is not None:
            _stages.RECORDER.store_submitted(op)
        self._queue.append(pending)
        self._rows += pending.rows
        if len(self._queue) == 1 or self._rows >= self._batch_rows:
            self._work.unpark_all()

        return await trio.lowlevel.wait_task_rescheduled(_answer_first)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Commit batches until :meth:`aclose`, then finish the writes already queued."""
        self._running = True
        try:
            task_status.started()
            while True:
                while not self._queue:
                    if self._closing:
                        return
                    await self._work.park()
                await self._gather()
                batch = [self._queue.popleft()]
                rows = batch[0].rows
                while self._queue and rows + self._queue[0].rows <= self._batch_rows:
                    batch.append(self._queue.popleft())
                    rows += batch[-1].rows
                self._rows -= rows
                await self._commit(batch)
                if self._restart_wal:
                    # After the batch was answered: the next one waits, not this one.
                    self._restart_wal = False
                    await trio.to_thread.run_sync(self._restart, limiter=self._limiter)
        finally:
            # Cancelled (the store's nursery is going away): whatever was not committed
            # is answered, so no caller waits forever and none is told it was stored.
            self._closing = True
            while self._queue:
                _wake(self._queue.popleft(), outcome.Error(_closed_error()))
            self._rows = 0
            self._stopped.set()

    async def _gather(self) -> None:
        # The window opens when the first write was submitted, not when the writer got
        # to it: after a slow commit the next batch goes at once with what is waiting.
        deadline = self._queue[0].submitted_at + self._batch_seconds
        while self._rows < self._batch_rows and not self._closing:
            if trio.current_time() >= deadline:
                return
            with trio.move_on_at(deadline):
                await self._work.park()
        await trio.lowlevel.checkpoint()

    async def _commit(self, batch: Sequence[_Pending]) -> None:
        ops = [pending.op for pending in batch]
        try:
            results = await trio.to_thread.run_sync(self._apply, ops, limiter=self._limiter)
        except StoreError as exc:
            # A fresh exception per caller: one instance raised in many tasks would
            # collect all their tracebacks.
            for pending in batch:
                error = StoreError(str(exc))
                error.__cause__ = exc.__cause__
                _wake(pending, outcome.Error(error))
            return
        if _stages.RECORDER is not None:
            _stages.RECORDER.store_committed(ops)
        for pending, result in zip(batch, results, strict=True):
            _wake(
                pending,
                outcome.Error(result)
                if isinstance(result, BaseException)
                else outcome.Value(result),
            )

    def _apply(self, ops: Sequence[WriteOp]) -> list[object]:
        """In the worker thread: reconnect if needed, then commit the batch."""
        try:
            if self._conn is None:
                self._conn = connect_writer(self._path, hook=self._hook)
            results = apply_batch(self._conn, ops)
        except sqlite3.Error as exc:
            self._drop_connection()
            raise StoreError(
                f"the inbox could not commit {len(ops)} write(s), none was stored: {_describe(exc)}"
            ) from exc
        except StoreError:
            self._drop_connection()
            raise
        self.commits += 1
        return results

    def restart_wal_soon(self) -> None:
        """Copy what is left of the WAL between the next two batches, so SQLite starts it
        over (see :func:`~._sqlite_schema.checkpoint`)."""
        self._restart_wal = True

    def _restart(self) -> None:
        if self._conn is not None:
            # A failure here is the database failing, which the next batch reports.
            with contextlib.suppress(sqlite3.Error):
                restart_checkpoint(self._conn)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            # A broken connection may fail to close; it is gone either way.
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    async def aclose(self) -> None:
        """Refuse new writes, let the writer commit the queued ones, close. Idempotent."""
        self._closing = True
        self._work.unpark_all()
        if self._running:
            await self._stopped.wait()
        await trio.to_thread.run_sync(self._drop_connection, limiter=self._limiter)


def _answer_first(_: object) -> trio.lowlevel.Abort:
    # A queued write is answered before its caller sees a cancellation.
    return trio.lowlevel.Abort.FAILED


def _closed_error() -> EngineClosedError:
    return EngineClosedError("the store closed before this write was committed")


def _wake(pending: _Pending, answer: outcome.Outcome[object]) -> None:
    if pending.task is not None:
        trio.lowlevel.reschedule(pending.task, answer)
        pending.task = None
