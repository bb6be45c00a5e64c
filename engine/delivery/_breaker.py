"""A circuit breaker per destination: stop sending to a target that keeps failing.

The breaker is a pure state machine. Its caller passes the clock in (``now``, seconds,
from one clock: ``trio.current_time()`` or ``time.time()``) and reports each delivery's
outcome; it does no I/O and never sleeps. A worker asks :meth:`CircuitBreaker.allow`
before each attempt and, when refused, waits until :attr:`CircuitBreaker.retry_at`::

    closed ──(failure_threshold consecutive failures, or failure_ratio of the
              attempts in the window once there are min_requests of them)──> open
    open ──(cooldown elapsed: the next allow() lets one probe through)──> half_open
    half_open ──(success)──> closed        half_open ──(failure)──> open, longer cooldown

The cooldown starts at ``cooldown_seconds`` and doubles each time a probe fails, up to
``max_cooldown_seconds``; a successful probe resets it. The defaults follow Convoy's
breaker (70 % failures over a 5-minute window with at least 10 attempts, 30 s before the
first probe), plus a consecutive-failure trip so a quiet destination that fails every
attempt is caught before it sees ten.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

__all__ = ["BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]
"""``closed``: deliveries flow. ``open``: none until the cooldown ends. ``half_open``: one
probe is in flight and its outcome decides."""

_BUCKETS = 10
"""The failure window is kept as this many counters, so memory stays constant."""


class CircuitBreaker:
    """Closed, open or half-open, from the outcomes reported to it.

    Outcomes reported while open come from deliveries that started before it opened;
    they are ignored, so they neither close it early nor lengthen its cooldown. While
    half-open, any reported outcome decides, since a target answering at all is what
    the probe tests. If the probe's outcome is never reported (its task was lost), a new
    probe is let through ``probe_timeout_seconds`` after it.
    """

    __slots__ = (
        "_bucket_seconds",
        "_buckets",
        "_consecutive_failures",
        "_cooldown_seconds",
        "_failure_ratio",
        "_failure_threshold",
        "_max_cooldown_seconds",
        "_min_requests",
        "_opens",
        "_probe_timeout_seconds",
        "_retry_at",
        "_state",
        "_window_attempts",
        "_window_failures",
    )

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        failure_ratio: float = 0.7,
        window_seconds: float = 300.0,
        min_requests: int = 10,
        cooldown_seconds: float = 30.0,
        max_cooldown_seconds: float = 600.0,
        probe_timeout_seconds: float = 60.0,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if not 0.0 < failure_ratio <= 1.0:
            raise ValueError("failure_ratio must be in (0, 1]")
        if min_requests < 1:
            raise ValueError("min_requests must be at least 1")
        for name, seconds in (
            ("window_seconds", window_seconds),
            ("cooldown_seconds", cooldown_seconds),
            ("max_cooldown_seconds", max_cooldown_seconds),
            ("probe_timeout_seconds", probe_timeout_seconds),
        ):
            if not (math.isfinite(seconds) and seconds > 0):
                raise ValueError(f"{name} must be a positive number of seconds")
        if max_cooldown_seconds < cooldown_seconds:
            raise ValueError("max_cooldown_seconds must not be below cooldown_seconds")
        self._failure_threshold = failure_threshold
        self._failure_ratio = failure_ratio
        self._min_requests = min_requests
        self._bucket_seconds = window_seconds / _BUCKETS
        self._cooldown_seconds = cooldown_seconds
        self._max_cooldown_seconds = max_cooldown_seconds
        self._probe_timeout_seconds = probe_timeout_seconds
        self._state: BreakerState = "closed"
        self._retry_at: float | None = None
        self._opens = 0
        self._consecutive_failures = 0
        # [bucket number, attempts, failures], oldest first; bucket number = now // width.
        self._buckets: deque[list[int]] = deque()
        self._window_attempts = 0
        self._window_failures = 0

    @property
    def state(self) -> BreakerState:
        """The state as of the last call; an ``open`` breaker whose cooldown has passed
        turns ``half_open`` at the next :meth:`allow`."""
        return self._state

    @property
    def retry_at(self) -> float | None:
        """When :meth:`allow` may next say yes, on the caller's clock; None when closed.

        Open: the end of the cooldown. Half-open: when the probe counts as lost; its
        outcome, if reported sooner, decides sooner (wake waiters then too).
        """
        return self._retry_at

    @property
    def consecutive_opens(self) -> int:
        """How many times it opened without a successful probe in between (0 when closed);
        a caller can disable a destination that keeps failing its probes."""
        return self._opens

    def allow(self, now: float) -> bool:
        """Whether an attempt may go now; letting the half-open probe through claims it."""
        if self._state == "closed":
            return True
        assert self._retry_at is not None  # set whenever the breaker is not closed
        if now < self._retry_at:
            return False
        self._state = "half_open"
        self._retry_at = now + self._probe_timeout_seconds
        return True

    def record_success(self, now: float) -> None:
        """Report that an attempt succeeded."""
        if self._state == "closed":
            self._consecutive_failures = 0
            self._count(now, failed=False)
        elif self._state == "half_open":
            self._close()

    def record_failure(self, now: float) -> None:
        """Report that an attempt failed (a retryable error, a timeout)."""
        if self._state == "closed":
            self._consecutive_failures += 1
            self._count(now, failed=True)
            if self._consecutive_failures >= self._failure_threshold or (
                self._window_attempts >= self._min_requests
                and self._window_failures >= self._failure_ratio * self._window_attempts
            ):
                self._open(now)
        elif self._state == "half_open":
            self._open(now)

    def _open(self, now: float) -> None:
        # Cap the exponent as well as the result, so a long outage cannot overflow.
        doubling = 2.0 ** min(self._opens, 62)
        self._retry_at = now + min(self._cooldown_seconds * doubling, self._max_cooldown_seconds)
        self._state = "open"
        self._opens += 1
        self._reset_counts()

    def _close(self) -> None:
        self._state = "closed"
        self._retry_at = None
        self._opens = 0
        self._reset_counts()

    def _reset_counts(self) -> None:
        self._consecutive_failures = 0
        self._buckets.clear()
        self._window_attempts = 0
        self._window_failures = 0

    def _count(self, now: float, *, failed: bool) -> None:
        number = math.floor(now / self._bucket_seconds)
        buckets = self._buckets
        # A clock that stepped back counts into the newest bucket rather than reordering.
        if buckets and number <= buckets[-1][0]:
            bucket = buckets[-1]
        else:
            bucket = [number, 0, 0]
            buckets.append(bucket)
            while buckets[0][0] <= number - _BUCKETS:
                _, attempts, failures = buckets.popleft()
                self._window_attempts -= attempts
                self._window_failures -= failures
        bucket[1] += 1
        self._window_attempts += 1
        if failed:
            bucket[2] += 1
            self._window_failures += 1
