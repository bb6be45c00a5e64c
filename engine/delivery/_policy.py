"""How each destination is delivered to: retry schedule, rate limit, and their settings.

Everything here is pure: the clock is passed in as ``now`` (seconds, from whichever one
clock the caller uses) and randomness is injectable, so the outbox workers decide and the
tests check the same arithmetic without sleeping.

* :class:`RetrySchedule`: how long to wait after a failed attempt, or that there is no
  next attempt (the delivery is dead-lettered as ``failed``).
* :class:`TokenBucket`: a destination's rate limit.
* :class:`DestinationPolicy`: a destination's delivery settings, as configured; it builds
  the schedule, the breaker (:class:`~engine.delivery._breaker.CircuitBreaker`) and the
  bucket for one destination.

The default schedule is the Standard Webhooks example: the first attempt goes at once,
then retries follow 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after each
failure (ten attempts over about 3.1 days), each delay varied by up to ±20 % so that
deliveries which failed together do not all come back together.
"""

from __future__ import annotations

import math
import random as _random
from collections.abc import Callable, Sequence

import msgspec

from ..errors import ConfigError, PermanentDeliveryError, RetryableDeliveryError
from ._breaker import CircuitBreaker

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "THROTTLED_MIN_DELAY",
    "DestinationPolicy",
    "RetrySchedule",
    "TokenBucket",
]

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (
    5.0,
    5 * 60.0,
    30 * 60.0,
    2 * 3600.0,
    5 * 3600.0,
    10 * 3600.0,
    14 * 3600.0,
    20 * 3600.0,
    24 * 3600.0,
)
"""Seconds to wait after each failed attempt (the first attempt is immediate)."""

THROTTLED_MIN_DELAY = 60.0
"""Seconds: the least wait after the destination asked to slow down (429, a timeout)."""

_JITTER = 0.2


class RetrySchedule:
    """When to try a delivery again after a failed attempt.

    ``delays[n - 1]`` seconds after attempt ``n`` fails, attempt ``n + 1`` goes; after
    attempt ``len(delays) + 1`` there is none. Each delay is multiplied by a factor drawn
    uniformly from ``[1 - jitter, 1 + jitter)`` using ``random`` (``random.random`` unless
    a test injects another source of floats in ``[0, 1)``).
    """

    __slots__ = ("_delays", "_jitter", "_random")

    def __init__(
        self,
        delays: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
        *,
        jitter: float = _JITTER,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if not all(math.isfinite(delay) and delay >= 0 for delay in delays):
            raise ValueError("delays must be finite and not negative")
        if not 0.0 <= jitter < 1.0:
            raise ValueError("jitter must be in [0, 1)")
        self._delays = tuple(float(delay) for delay in delays)
        self._jitter = jitter
        self._random = random

    @property
    def delays(self) -> tuple[float, ...]:
        """The scheduled delays, before jitter."""
        return self._delays

    @property
    def max_attempts(self) -> int:
        """Attempts in all: the immediate one and one per delay."""
        return len(self._delays) + 1

    def next_delay(self, attempt: int, error: BaseException | None = None) -> float | None:
        """Seconds to wait before the next attempt, after attempt number ``attempt``
        (counting from 1) failed with ``error``; None when there is to be no next attempt.

        * A :class:`PermanentDeliveryError` is never retried.
        * After the last scheduled attempt, the schedule is exhausted.
        * A :class:`RetryableDeliveryError`'s ``retry_after`` (the target's own
          ``Retry-After``) is honoured between the jittered scheduled delay and twice
          that, as Svix does. A hint outside the range is moved to its nearer end, so a
          target can neither pull a retry ahead of the schedule (``Retry-After: 0``
          must not become a tight loop) nor park a delivery far beyond it (one answer
          must not stall a delivery for days).
        * When it is ``throttled`` (a 429 or a timeout), the wait is at least
          :data:`THROTTLED_MIN_DELAY`, stretched by the same jitter factor's upper half
          so throttled deliveries are spread over ``[60 s, 72 s)`` rather than bunched.

        Any other exception (a plain :class:`~engine.errors.DeliveryError`, an adapter's
        bug) follows the schedule.
        """
        if attempt < 1:
            raise ValueError("attempts count from 1")
        if isinstance(error, PermanentDeliveryError) or attempt > len(self._delays):
            return None
        draw = self._random()
        delay = self._delays[attempt - 1] * (1.0 + self._jitter * (2.0 * draw - 1.0))
        if isinstance(error, RetryableDeliveryError):
            hint = error.retry_after
            if hint is not None and math.isfinite(hint):
                delay = min(max(hint, delay), 2.0 * delay)
            if error.throttled:
                delay = max(delay, THROTTLED_MIN_DELAY * (1.0 + self._jitter * draw))
        return delay


class TokenBucket:
    """A rate limit of ``rate`` attempts per second, with bursts of up to ``burst``.

    It starts full. :meth:`take` never blocks: it takes a token and answers 0, or takes
    nothing and answers how long until a token will be there; the caller sleeps that
    long and asks again. Several tasks sharing a bucket may each be told the same wait
    and race for the token; the losers get a fresh wait, never a spin.
    """

    __slots__ = ("_burst", "_rate", "_tokens", "_updated_at")

    # Refilling for exactly the wait it was told can leave a hair under one token in
    # float arithmetic; without this slack a caller would be told to wait ~1e-16 s.
    _SLACK = 1e-9

    def __init__(self, *, rate: float, burst: int) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError("rate must be a positive number")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._rate = rate
        self._burst = burst
        self._tokens = float(burst)
        self._updated_at: float | None = None

    @property
    def rate(self) -> float:
        """Tokens added per second."""
        return self._rate

    @property
    def burst(self) -> int:
        """The most tokens the bucket holds."""
        return self._burst

    def take(self, now: float) -> float:
        """Take a token at ``now``: 0.0 if taken, else the seconds until one is there."""
        if self._updated_at is not None and now > self._updated_at:
            self._tokens = min(
                float(self._burst), self._tokens + (now - self._updated_at) * self._rate
            )
        # A clock that stepped back adds nothing, and the bucket goes on from the newer time.
        if self._updated_at is None or now > self._updated_at:
            self._updated_at = now
        if self._tokens >= 1.0 - self._SLACK:
            self._tokens = max(self._tokens - 1.0, 0.0)
            return 0.0
        return (1.0 - self._tokens) / self._rate


class DestinationPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the outbox delivers to one destination: retries, concurrency, rate, breaker.

    Invalid settings raise :class:`ConfigError` whose ``key`` names the field
    (``schedule[2]``, ``burst``). Decoded inside a larger document, msgspec raises a
    ``ValidationError`` whose path says where the policy sits (``$.destinations[0].policy``)
    and whose ``__cause__`` is that ConfigError; the two join into the full key.
    """

    schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    """Seconds to wait after each failed attempt before the next (jittered ±20 %); the
    first attempt is immediate, so there are ``len(schedule) + 1`` attempts in all, and
    an empty schedule means a single attempt."""
    max_concurrency: int = 16
    """Attempts in flight at once to this destination (1 when ``ordered``). With a
    receiver answering in about a millisecond, 4 capped a destination near 700
    deliveries a second while carriers' messages kept arriving; 16 keeps up with the
    engine and still bounds what one receiver gets at once."""
    rate_per_second: float | None = None
    """At most this many attempts per second, on average; None for no limit."""
    burst: int = 10
    """Attempts that may go at once after a quiet spell, within ``rate_per_second``."""
    ordered: bool = False
    """Deliver in commit order: one attempt at a time, and a delivery waiting for its
    retry holds back every later one to this destination until it succeeds or fails for
    good. Consumers that need order get it at the cost of head-of-line blocking."""
    timeout_seconds: float = 15.0
    """The whole attempt's time limit (connect, send, answer); running out counts as a
    throttled failure."""
    breaker_failures: int = 5
    """The breaker opens after this many consecutive failed attempts..."""
    breaker_failure_ratio: float = 0.7
    """...or when this share of the attempts in the window failed..."""
    breaker_min_requests: int = 10
    """...once the window holds at least this many attempts."""
    breaker_window_seconds: float = 300.0
    """How far back the failure ratio looks."""
    breaker_cooldown_seconds: float = 30.0
    """How long the breaker stays open before a probe; doubled after each failed probe..."""
    breaker_max_cooldown_seconds: float = 600.0
    """...up to this."""

    def __post_init__(self) -> None:
        for index, delay in enumerate(self.schedule):
            if not (math.isfinite(delay) and delay >= 0):
                raise ConfigError(
                    "must be a number of seconds, 0 or more", key=f"schedule[{index}]"
                )
        _require(self.max_concurrency >= 1, "must be at least 1", "max_concurrency")
        if self.rate_per_second is not None:
            _require_positive_seconds(self.rate_per_second, "rate_per_second")
        _require(self.burst >= 1, "must be at least 1", "burst")
        _require_positive_seconds(self.timeout_seconds, "timeout_seconds")
        _require(self.breaker_failures >= 1, "must be at least 1", "breaker_failures")
        _require(
            0.0 < self.breaker_failure_ratio <= 1.0,
            "must be above 0 and at most 1",
            "breaker_failure_ratio",
        )
        _require(self.breaker_min_requests >= 1, "must be at least 1", "breaker_min_requests")
        _require_positive_seconds(self.breaker_window_seconds, "breaker_window_seconds")
        _require_positive_seconds(self.breaker_cooldown_seconds, "breaker_cooldown_seconds")
        _require_positive_seconds(self.breaker_max_cooldown_seconds, "breaker_max_cooldown_seconds")
        _require(
            self.breaker_max_cooldown_seconds >= self.breaker_cooldown_seconds,
            "must not be below breaker_cooldown_seconds",
            "breaker_max_cooldown_seconds",
        )

    @property
    def concurrency(self) -> int:
        """Attempts in flight at once, as the worker should run them."""
        return 1 if self.ordered else self.max_concurrency

    def retry_schedule(self, *, random: Callable[[], float] = _random.random) -> RetrySchedule:
        """This destination's retry schedule, jittered by ``random``."""
        return RetrySchedule(self.schedule, random=random)

    def circuit_breaker(self) -> CircuitBreaker:
        """A new breaker with this policy's thresholds.

        A probe whose outcome is not reported within twice the attempt timeout counts as
        lost, so a vanished probe cannot hold the breaker half-open for ever.
        """
        return CircuitBreaker(
            failure_threshold=self.breaker_failures,
            failure_ratio=self.breaker_failure_ratio,
            window_seconds=self.breaker_window_seconds,
            min_requests=self.breaker_min_requests,
            cooldown_seconds=self.breaker_cooldown_seconds,
            max_cooldown_seconds=self.breaker_max_cooldown_seconds,
            probe_timeout_seconds=2.0 * self.timeout_seconds,
        )

    def token_bucket(self) -> TokenBucket | None:
        """A new, full bucket for this policy's rate; None when the rate is unlimited."""
        if self.rate_per_second is None:
            return None
        return TokenBucket(rate=self.rate_per_second, burst=self.burst)


def _require(condition: bool, message: str, key: str) -> None:
    if not condition:
        raise ConfigError(message, key=key)


def _require_positive_seconds(value: float, key: str) -> None:
    _require(math.isfinite(value) and value > 0, "must be a positive, finite number", key)
