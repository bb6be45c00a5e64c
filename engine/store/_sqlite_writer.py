"""The one thread that writes to SQLite, committing many callers' writes at once.

Callers hand a write to :meth:`BatchWriter.submit` and wait. The writer thread takes the
first waiting write, gathers more until they hold ``batch_rows`` rows (a list of messages
submitted at once counts each of them) or the first has waited ``batch_ms``, commits them
all in one transaction, and hands the answers back to the trio thread, which wakes every
caller with its own. One fsync then covers a whole batch, which is how a single SQLite
file takes tens of thousands of messages a second. With ``batch_ms`` 0 (the default)
this is group commit: what waits is committed as soon as the writer is free, and what
arrives meanwhile makes the next batch.

Group commit alone does nothing for a steady trickle: at a thousand messages a second
each one came alone, and the writer paid a commit's fixed cost (the fsync, the WAL
frames of every index touched, the GIL turns, the wakeups) per message. So a small
batch (fewer than :data:`LINGER_ROWS` rows, one write that is not lazy) whose write came
within two ``linger_ms`` of the one before it waits up to ``linger_ms`` for a second,
and commits the moment one comes. Lingering has to pay: each one that brings no
company spends a credit that the others earn, and with none left the writer stops
lingering for a while. A producer that waits for each answer before sending again (an
SMPP window of one) never brings company, so its writes stop waiting after the first;
a lone write (nothing came just before it) and a burst (its batches are large) never
wait.

The writer thread lives as long as the writer: :meth:`BatchWriter.run` starts it with
``trio.to_thread.run_sync`` (under the writer's own ``CapacityLimiter`` of one) and it
loops there, taking batches from the queue the callers fill. It does not go back to trio
between batches. A thread per batch did, and every batch then waited twice for the writer
task's turn among the tasks the trio thread had to run (to start the thread and to hear
its answer), while the disk and the second core sat idle: with producers busy preparing
their next messages those turns took milliseconds. Now the next batch starts the moment
the last one committed, and the trio thread only queues writes and wakes their callers
(:meth:`trio.lowlevel.TrioToken.run_sync_soon`).

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
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import cast

import outcome
import trio

from .. import _stages
from ..errors import EngineClosedError, StoreError
from ._sqlite_schema import ConnectHook, connect_writer, restart_checkpoint
from ._sqlite_writes import Each, WriteOp, apply_batch, op_rows

__all__ = ["BatchWriter"]


LAZY_SECONDS = 0.02
"""How long a lazy write (see :meth:`BatchWriter.submit`) may wait for company."""


LINGER_ROWS = 8
"""A batch this small may linger (see ``linger_ms``); a larger one commits at once."""
_LINGER_CREDIT = 8
"""Lingers that paid off (a second write came) earn credit up to this much..."""
_LINGER_PAUSE = 64
"""...and once it is spent, this many batches go without lingering before it tries
again: a producer that waits for each answer before it sends again (an SMPP window of
one) never brings company, and its lingers stop at once."""


class _Pending:
    __slots__ = ("gap", "lazy", "op", "rows", "submitted_at", "task")

    def __init__(
        self, op: WriteOp | Each, submitted_at: float, task: trio.lowlevel.Task, lazy: bool
    ) -> None:
        self.op = op
        self.rows = op_rows(op)
        self.lazy = lazy
        self.submitted_at = submitted_at
        """``time.monotonic()`` when queued: the writer thread keeps the batch window."""
        self.gap = math.inf
        """Seconds since the write that is not lazy queued before this one."""
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

    The queue is a deque shared with the writer thread, guarded by one lock: a caller
    appends its write and parks once; the thread takes batches from the front and the
    trio thread wakes each caller with its answer. The queue has no bound of its own:
    every queued write is a caller suspended in :meth:`submit`, so the callers' own
    concurrency bounds it.
    """

    def __init__(
        self,
        path: str,
        conn: sqlite3.Connection | None,
        *,
        batch_rows: int,
        batch_ms: float,
        linger_ms: float = 0.0,
        hook: ConnectHook | None = None,
    ) -> None:
        if batch_rows < 1 or batch_ms < 0 or math.isnan(batch_ms):
            raise ValueError("batch_rows must be at least 1 and batch_ms not negative")
        if linger_ms < 0 or math.isnan(linger_ms):
            raise ValueError("linger_ms must not be negative")
        self._path = path
        self._conn = conn
        self._hook = hook
        self._batch_rows = batch_rows
        self._batch_seconds = batch_ms / 1000
        self._linger_seconds = linger_ms / 1000
        self._last_eager = -math.inf
        """When the last write that is not lazy was queued."""
        self._credit = 1
        """How many lingers in a row may come to nothing before lingering pauses."""
        self._paused = 0
        """Batches left to go without lingering."""
        self._lingering = False
        """The batch being gathered waits for a second write (see ``linger_ms``)."""
        self.lingers = 0
        """Batches that waited for company, and..."""
        self.joined = 0
        """...those that got it."""
        self._queue: deque[_Pending] = deque()
        self._rows = 0
        """Rows the queued writes hold."""
        self._eager = 0
        """Queued writes that are not lazy."""
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        """The writer thread waits here for the first write, or for a full batch."""
        self._waiting = False
        """The writer thread is waiting on :attr:`_work` (so a new write notifies it)."""
        self._limiter = trio.CapacityLimiter(1)
        self._closing = False
        """No new writes; the thread commits what is queued, then stops."""
        self._abandoning = False
        """Stop after the batch in hand; what is still queued is answered as not stored."""
        self._running = False
        self._stopped = trio.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self.commits = 0
        """Transactions committed: fewer than the writes when batching works."""
        self._restart_wal = False

    async def submit(self, op: WriteOp | Each, *, lazy: bool = False) -> object:
        """Commit ``op`` with the next batch; its result once that batch committed.

        A ``lazy`` write is one nobody waits on but its caller (a delivery's outcome):
        it does not start a batch of its own before :data:`LAZY_SECONDS`, but goes with
        the next write that does (or a full batch), so that under a steady trickle of
        messages the outcomes share their commits instead of doubling them.

        Cancellation is checked before ``op`` is queued, not after: once queued, this
        returns (or raises) the write's own answer.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closing:
            raise EngineClosedError("the store is closed")
        pending = _Pending(op, time.monotonic(), trio.lowlevel.current_task(), lazy)
        if _stages.RECORDER is not None:
            _stages.RECORDER.store_submitted(op)
        with self._lock:
            self._queue.append(pending)
            self._rows += pending.rows
            if not lazy:
                pending.gap = pending.submitted_at - self._last_eager
                self._last_eager = pending.submitted_at
                self._eager += 1
            if self._waiting and (
                len(self._queue) == 1
                or (not lazy and self._eager <= 2)  # the first, or a lingering one's company
                or self._rows >= self._batch_rows
            ):
                self._work.notify()
        return await trio.lowlevel.wait_task_rescheduled(_answer_first)

    async def submit_each(self, ops: Sequence[WriteOp]) -> list[object]:
        """Commit ``ops`` together, in the next batch (never split between two); each
        one's answer, in order: its result, or the error that refused it alone (as a
        value, not raised). Raises, like :meth:`submit`, when the batch fails whole.

        One caller, one wake-up for several writes that need not wait for each other
        (the single-part messages and the whole sets of one batch of items)."""
        if not ops:
            await trio.lowlevel.checkpoint()
            return []
        return cast(list[object], await self.submit(Each(list(ops))))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Commit batches until :meth:`aclose`, then finish the writes already queued.

        Cancelled, the thread finishes the batch in hand; what is still queued is
        answered with :class:`~engine.errors.EngineClosedError`, nothing of it stored.
        """
        self._running = True
        self._token = trio.lowlevel.current_trio_token()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._abandon_when_cancelled)
                task_status.started()
                await trio.to_thread.run_sync(
                    self._loop, limiter=self._limiter, thread_name="septet store writer"
                )
                nursery.cancel_scope.cancel()
        finally:
            # Whatever was not committed is answered, so no caller waits forever and
            # none is told it was stored.
            with self._lock:
                self._closing = True
                left = list(self._queue)
                self._queue.clear()
                self._rows = self._eager = 0
            for pending in left:
                _wake(pending, outcome.Error(_closed_error()))
            self._stopped.set()

    async def _abandon_when_cancelled(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            with self._lock:
                self._closing = self._abandoning = True
                self._work.notify()

    def _loop(self) -> None:
        """The writer thread: commit batches until closed."""
        while True:
            batch = self._take()
            if batch is None:
                return
            answer = self._commit(batch)
            assert self._token is not None
            self._token.run_sync_soon(self._answer, batch, answer)
            if self._restart_wal:
                # After the batch was answered: the next one waits, not this one.
                self._restart_wal = False
                self._restart()

    def _take(self) -> list[_Pending] | None:
        """The next batch, once its window closed; None when the writer should stop."""
        with self._lock:
            while True:
                if self._abandoning or (self._closing and not self._queue):
                    return None
                if not self._queue:
                    self._wait(None)
                    continue
                # The window opens when the first write was submitted, not when the
                # writer got to it: after a slow commit the next batch goes at once.
                # Lazy writes alone wait longer, for a write to go with.
                window = self._batch_seconds if self._eager else LAZY_SECONDS
                start = self._queue[0].submitted_at
                if self._eager == 1 and self._may_linger():
                    eager = next(p for p in self._queue if not p.lazy)
                    if eager.gap < 2 * self._linger_seconds:  # a trickle: wait for company
                        self._lingering = True
                        window = max(window, self._linger_seconds)
                        start = max(start, eager.submitted_at)
                left = start + window - time.monotonic()
                if self._rows < self._batch_rows and not self._closing and left > 0:
                    self._wait(left)
                    continue
                batch = [self._queue.popleft()]
                rows = batch[0].rows
                while self._queue and rows + self._queue[0].rows <= self._batch_rows:
                    batch.append(self._queue.popleft())
                    rows += batch[-1].rows
                self._rows -= rows
                eager_taken = sum(not pending.lazy for pending in batch)
                self._eager -= eager_taken
                if self._lingering:
                    self._lingered(joined=eager_taken > 1)
                elif self._paused and rows < LINGER_ROWS:
                    self._paused -= 1
                    if not self._paused:
                        self._credit = 1  # try again
                return batch

    def _may_linger(self) -> bool:
        """In the writer thread: whether a small batch may wait for company now."""
        return bool(
            self._linger_seconds
            and not self._paused
            and self._rows < LINGER_ROWS
            and not self._closing
        )

    def _lingered(self, *, joined: bool) -> None:
        """A batch that waited for company was taken; ``joined``: a second write came."""
        self._lingering = False
        self.lingers += 1
        if joined:
            self.joined += 1
            self._credit = min(self._credit + 1, _LINGER_CREDIT)
            return
        self._credit -= 1
        if self._credit <= 0:
            self._paused = _LINGER_PAUSE

    def _wait(self, timeout: float | None) -> None:
        self._waiting = True
        try:
            self._work.wait(timeout)
        finally:
            self._waiting = False

    def _commit(self, batch: Sequence[_Pending]) -> list[object] | StoreError:
        """In the writer thread: reconnect if needed, then commit the batch; its
        answers, or the error that failed it whole."""
        ops: list[WriteOp] = []
        spans: list[int] = []
        """Per write: -1, or how many ops of ``ops`` its :class:`Each` holds."""
        for pending in batch:
            op = pending.op
            if isinstance(op, Each):
                spans.append(len(op.ops))
                ops += op.ops
            else:
                spans.append(-1)
                ops.append(op)
        try:
            if self._conn is None:
                self._conn = connect_writer(self._path, hook=self._hook)
            results = apply_batch(self._conn, ops)
        except sqlite3.Error as exc:
            self._drop_connection()
            error = StoreError(
                f"the inbox could not commit {len(ops)} write(s), none was stored: {_describe(exc)}"
            )
            error.__cause__ = exc
            return error
        except StoreError as exc:
            self._drop_connection()
            return exc
        except Exception as exc:  # a bug, not the database: its callers hear of it all the same
            self._drop_connection()
            error = StoreError(f"the inbox could not commit {len(ops)} write(s): {exc!r}")
            error.__cause__ = exc
            return error
        self.commits += 1
        if max(spans) < 0:
            return results  # no Each among them
        answers: list[object] = []
        start = 0
        for span in spans:
            if span < 0:
                answers.append(results[start])
                start += 1
            else:
                answers.append(results[start : start + span])  # errors in it are values
                start += span
        return answers

    def _answer(self, batch: Sequence[_Pending], answer: list[object] | StoreError) -> None:
        """In the trio thread: wake the batch's callers with their answers."""
        if isinstance(answer, StoreError):
            for pending in batch:
                # A fresh exception per caller: one instance raised in many tasks would
                # collect all their tracebacks.
                error = StoreError(str(answer))
                error.__cause__ = answer.__cause__
                _wake(pending, outcome.Error(error))
            return
        if _stages.RECORDER is not None:
            _stages.RECORDER.store_committed([pending.op for pending in batch])
        for pending, result in zip(batch, answer, strict=True):
            _wake(
                pending,
                outcome.Error(result)
                if isinstance(result, BaseException)
                else outcome.Value(result),
            )

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
        with self._lock:
            self._closing = True
            self._work.notify()
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
