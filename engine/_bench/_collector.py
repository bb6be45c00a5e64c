"""The garbage collector of a harness process, kept from pausing it while it measures.

A load generator or a receiver is an instrument: if it stops, what it measures looks
slow. Python's collector stops a process for as long as a full collection takes, which
grows with the heap: a receiver that keeps every request of a phase in memory paused
for 20 to 60 ms once its heap held some ten thousand requests, and every message in
flight meanwhile was recorded that much later. So the harness processes collect between
phases, not during them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "collect_now"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside the block (collected before and after), unless it
    was off already."""
    if not gc.isenabled():
        yield
        return
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def collect_now() -> None:
    """Collect what the process let pile up (between phases, when nothing is measured)."""
    gc.collect()
