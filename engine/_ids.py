"""Time-sortable unique ids: a prefix, 48 bits of milliseconds and 80 random bits.

The 128 bits are written as 32 lower-case hex digits, big-endian, so the body sorts
like the time it was made: "after this id" is "later than this message" across
processes, and ids made in the same millisecond by one process keep increasing. (Hex,
not base32, because Python formats hex in C; ids are made on the ingest hot path.)
"""

from __future__ import annotations

import os
import re
import threading
import time

__all__ = ["id_digits", "id_floor", "new_id"]

_lock = threading.Lock()
_last = (0, 0)


def new_id(prefix: str) -> str:
    """A new id such as ``msg_0193...``; strictly increasing within this process."""
    global _last
    with _lock:
        millis = time.time_ns() // 1_000_000
        last_millis, last_random = _last
        if millis <= last_millis:
            millis = last_millis
            randomness = last_random + 1
            if randomness >= 1 << 80:  # 2**80 ids in one millisecond: move the clock on
                millis, randomness = millis + 1, int.from_bytes(os.urandom(10), "big") >> 1
        else:
            randomness = int.from_bytes(os.urandom(10), "big") >> 1
        _last = (millis, randomness)
    return f"{prefix}_{(millis << 80) | randomness:032x}"


def id_floor(prefix: str, when: float) -> str:
    """The smallest id that :func:`new_id` can make at or after ``when`` (Unix seconds).

    Ids made from then on sort after it, so it bounds "messages since ``when``" by id.
    """
    millis = max(0, int(when * 1000))
    return f"{prefix}_{millis << 80:032x}"


_ID = re.compile(r"([a-z]+)_([0-9a-f]{32})")


def id_digits(record_id: str, prefix: str) -> str | None:
    """The 32 hex digits of ``record_id`` when it is an id :func:`new_id` makes with
    ``prefix`` (``msg_0193...``), else None: the one check of an id's shape."""
    match = _ID.fullmatch(record_id)
    return match[2] if match is not None and match[1] == prefix else None
