"""Time-sortable unique ids: a prefix, 48 bits of milliseconds and 80 random bits.

The 26-character Crockford base32 body (as in ULID) sorts like the time it was made, so
"after this id" is "later than this message" across processes, and ids made in the same
millisecond by one process keep increasing.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last = (0, 0)


def new_id(prefix: str) -> str:
    """A new id such as ``msg_01JD4Z...``; strictly increasing within this process."""
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
    value = (millis << 80) | randomness
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 0x1F])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"
