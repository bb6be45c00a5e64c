"""Open-loop pacing: each message is due at its time, whatever happened before.

A closed-loop generator (send, wait for the answer, send the next) slows down with the
system it measures, so the queue a stall builds never shows in its numbers
("coordinated omission"). Here message ``n`` of a run is due ``n / rate`` seconds after
the first, its latency counts from that moment, and a late send counts against the
system, not for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import trio

__all__ = ["TICK", "open_loop"]

TICK: Final = 0.0005
"""Seconds: how often the generator starts the messages that fell due."""


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
