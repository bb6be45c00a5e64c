"""Batching for the native core: items waiting together go into one call.

Callers hand a job to :meth:`BatchWorker.submit` and sleep; the worker task wakes on
the next scheduler pass, takes *everything* queued by then and runs one batch call.
It never waits for more work: under light traffic a batch is one job and costs one
task switch; under load, every caller that queued in the meantime shares the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import outcome
import trio

from ..errors import EngineClosedError, SeptetError

__all__ = ["BatchWorker"]

_Job = TypeVar("_Job")
_Result = TypeVar("_Result")


def _keep_waiting(_: object) -> trio.lowlevel.Abort:
    # A submitted job always gets its answer (the worker fails the queue on exit), so a
    # cancelled caller waits for it: its batch is already being worked on.
    return trio.lowlevel.Abort.FAILED


class BatchWorker(Generic[_Job, _Result]):
    """Runs ``process`` on the jobs queued together; ``process`` returns one result per job."""

    def __init__(self, process: Callable[[list[_Job]], list[_Result]]) -> None:
        self._process = process
        self._queue: list[tuple[_Job, trio.lowlevel.Task]] = []
        self._lot = trio.lowlevel.ParkingLot()
        self._running = False
        self.batches = 0
        self.jobs = 0

    async def submit(self, job: _Job) -> _Result:
        """The result of ``job``, computed in the next batch."""
        if not self._running:
            raise EngineClosedError("the engine is not running")
        self._queue.append((job, trio.lowlevel.current_task()))
        if self._lot:
            self._lot.unpark()
        result: _Result = await trio.lowlevel.wait_task_rescheduled(_keep_waiting)
        return result

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Work batches until cancelled; then fail whatever is still queued."""
        self._running = True
        task_status.started()
        try:
            while True:
                while not self._queue:
                    await self._lot.park()
                batch, self._queue = self._queue, []
                self._run_batch(batch)
        finally:
            self._running = False
            leftover, self._queue = self._queue, []
            for _, task in leftover:
                trio.lowlevel.reschedule(
                    task, outcome.Error(EngineClosedError("the engine stopped"))
                )

    def _run_batch(self, batch: list[tuple[_Job, trio.lowlevel.Task]]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        try:
            results = self._process([job for job, _ in batch])
        except Exception as error:  # a bug, not bad input: every caller hears of it
            for _, task in batch:
                failure = SeptetError(f"batch processing failed: {error!r}")
                failure.__cause__ = error
                trio.lowlevel.reschedule(task, outcome.Error(failure))
            return
        for (_, task), result in zip(batch, results, strict=True):
            trio.lowlevel.reschedule(task, outcome.Value(result))
