"""Process-level tuning the engine applies while it is open."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_thresholds"]


@contextmanager
def gc_thresholds(thresholds: tuple[int, int, int]) -> Iterator[None]:
    """Run with the garbage collector's thresholds set to ``thresholds``; then put the
    previous ones back, unless somebody else changed them meanwhile (theirs stay)."""
    previous = gc.get_threshold()
    gc.set_threshold(*thresholds)
    try:
        yield
    finally:
        if gc.get_threshold() == thresholds:
            gc.set_threshold(*previous)
