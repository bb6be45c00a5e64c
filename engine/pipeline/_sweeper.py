"""The reassembly sweeper: sets left by a crash at startup, expired sets on a timer."""

from __future__ import annotations

from datetime import UTC, datetime

import trio

from .._logging import get_logger
from .._metrics import EngineMetrics
from ..errors import StoreError
from ._pipeline import Pipeline

__all__ = ["run_sweeper"]

_log = get_logger("septet.reassembly")


async def run_sweeper(
    pipeline: Pipeline,
    metrics: EngineMetrics,
    interval: float,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Recover, report started, then flush expired sets every ``interval`` seconds.

    Recovery commits every stored set that is already complete (its last part was
    stored, then the process stopped before the set was) and every expired one, as a
    message flagged ``incomplete`` with what arrived; nothing buffered is dropped.
    """
    recovered = await pipeline.flush_sets(now=datetime.now(UTC), expired_only=False)
    if recovered:
        _log.info("recovered part sets", sets=recovered)
    task_status.started()
    while True:
        await trio.sleep(interval)
        try:
            flushed = await pipeline.flush_sets(now=datetime.now(UTC), expired_only=True)
        except StoreError as error:
            metrics.count_error("store")
            _log.warning("sweep failed; retrying next round", error=str(error))
            continue
        if flushed:
            _log.info("flushed expired part sets", sets=flushed)
