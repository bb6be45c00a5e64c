"""Open-loop pacing: each message is due at its time, whatever happened before.

A closed-loop generator (send, wait for the answer, send the next) slows down with the
system it measures, so the queue a stall builds never shows in its numbers
("coordinated omission"). Here message ``n`` of a run is due ``n / rate`` seconds after
the first, its latency counts from that moment, and a late send counts against the
system, not for it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final

import trio

__all__ = ["PROGRESS_SECONDS", "TICK", "open_loop", "run_paced"]

TICK: Final = 0.0005
"""Seconds: how often the generator starts the messages that fell due."""
PROGRESS_SECONDS: Final = 0.25
"""Seconds between two progress reports of a paced run."""


async def open_loop(
    total: int, interval: float, start: Callable[[trio.Nursery, float], object]
) -> float:
    """Call ``start(nursery, due)`` for ``total`` messages, message n due ``n * interval``
    seconds after the first (``due`` is its ``time.perf_counter()``); the seconds from
    the first start until every task ``start`` began in the nursery finished.

    The generator wakes at most every :data:`TICK` and starts every message due by then:
    one timer per message would cost the process more than the messages do.
    """
    started = time.perf_counter()
    sent = 0
    async with trio.open_nursery() as nursery:
        while sent < total:
            now = time.perf_counter()
            due_count = min(total, int((now - started) / interval) + 1)
            while sent < due_count:
                start(nursery, started + sent * interval)
                sent += 1
            await trio.sleep(max(TICK, started + sent * interval - time.perf_counter()))
    return time.perf_counter() - started


async def run_paced(
    count: int,
    rate: float,
    one: Callable[[int, float], Awaitable[object]],
    progress: Callable[[], object],
) -> None:
    """Run ``one(slot, due)`` for slots ``0`` to ``count - 1`` open loop at ``rate`` a
    second (see :func:`open_loop`), calling ``progress()`` every
    :data:`PROGRESS_SECONDS` until every one of them finished."""
    slots = iter(range(count))

    async def report() -> None:
        while True:
            await trio.sleep(PROGRESS_SECONDS)
            progress()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(report)
        await open_loop(
            count, 1.0 / rate, lambda tasks, when: tasks.start_soon(one, next(slots), when)
        )
        nursery.cancel_scope.cancel()
