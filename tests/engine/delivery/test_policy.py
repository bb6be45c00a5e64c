"""Retry schedule, circuit breaker, token bucket and the destination policy that builds them."""

from __future__ import annotations

import math
import random
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.delivery._breaker import CircuitBreaker
from engine.delivery._policy import (
    DEFAULT_RETRY_SCHEDULE,
    THROTTLED_MIN_DELAY,
    DestinationPolicy,
    RetrySchedule,
    TokenBucket,
)
from engine.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
)

MINUTE = 60.0
HOUR = 3600.0
draws = st.floats(0.0, 1.0, exclude_max=True)
attempts = st.integers(1, len(DEFAULT_RETRY_SCHEDULE))


def retryable(*, retry_after: float | None = None, throttled: bool = False) -> Exception:
    return RetryableDeliveryError("503", retry_after=retry_after, throttled=throttled)


def exact() -> RetrySchedule:
    return RetrySchedule(jitter=0.0)


# --- retry schedule -----------------------------------------------------------------------


def test_the_default_schedule_is_standard_webhooks() -> None:
    schedule = exact()
    expected = [5, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR]
    expected.append(24 * HOUR)
    assert [schedule.next_delay(n, retryable()) for n in range(1, 10)] == expected
    assert schedule.max_attempts == 10
    assert schedule.next_delay(10, retryable()) is None
    assert schedule.next_delay(11) is None
    assert 3.1 * 24 * HOUR < sum(expected) < 3.2 * 24 * HOUR


def test_a_middle_draw_gives_the_scheduled_delay() -> None:
    schedule = RetrySchedule(random=lambda: 0.5)
    assert schedule.next_delay(3) == 30 * MINUTE


def test_a_custom_schedule() -> None:
    schedule = RetrySchedule([1, 2.5], jitter=0.0)
    assert schedule.delays == (1.0, 2.5)
    assert schedule.max_attempts == 3
    assert [schedule.next_delay(n) for n in (1, 2, 3)] == [1.0, 2.5, None]


def test_an_empty_schedule_means_one_attempt() -> None:
    schedule = RetrySchedule([])
    assert schedule.max_attempts == 1
    assert schedule.next_delay(1, retryable()) is None


@pytest.mark.parametrize("attempt", [1, 5, 9, 10])
def test_permanent_errors_are_not_retried(attempt: int) -> None:
    error = PermanentDeliveryError("404", status_code=404)
    assert exact().next_delay(attempt, error) is None


def test_other_errors_follow_the_schedule() -> None:
    assert exact().next_delay(2, DeliveryError("odd")) == 5 * MINUTE
    assert exact().next_delay(2, RuntimeError("adapter bug")) == 5 * MINUTE


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        exact().next_delay(0)


@pytest.mark.parametrize(
    ("delays", "jitter"), [([5, -1], 0.2), ([math.inf], 0.2), ([5], 1.0), ([5], -0.1)]
)
def test_bad_schedules_are_refused(delays: list[float], jitter: float) -> None:
    with pytest.raises(ValueError, match=r"delays|jitter"):
        RetrySchedule(delays, jitter=jitter)


@given(attempts, st.integers(0, 2**32))
def test_jitter_stays_within_a_fifth(attempt: int, seed: int) -> None:
    schedule = RetrySchedule(random=random.Random(seed).random)
    scheduled = DEFAULT_RETRY_SCHEDULE[attempt - 1]
    delay = schedule.next_delay(attempt, retryable())
    assert delay is not None
    assert 0.8 * scheduled <= delay < 1.2 * scheduled


def test_jitter_spreads_delays() -> None:
    schedule = RetrySchedule(random=random.Random(7).random)
    delays = {schedule.next_delay(2) for _ in range(50)}
    assert len(delays) == 50


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, 300.0),
        (0.0, 300.0),  # below the schedule: the schedule
        (100.0, 300.0),
        (300.0, 300.0),
        (450.0, 450.0),  # within: the hint
        (600.0, 600.0),
        (1000.0, 600.0),  # above: twice the schedule
        (86400.0 * 30, 600.0),
        (-5.0, 300.0),  # nonsense hints do not count
        (math.nan, 300.0),
        (math.inf, 300.0),
    ],
)
def test_retry_after_is_clamped_to_the_schedule_and_twice_it(
    retry_after: float | None, expected: float
) -> None:
    assert exact().next_delay(2, retryable(retry_after=retry_after)) == expected


@given(attempts, draws, st.floats(0.0, 1e7))
def test_retry_after_is_clamped_around_the_jittered_delay(
    attempt: int, draw: float, retry_after: float
) -> None:
    jittered = RetrySchedule(random=lambda: draw).next_delay(attempt)
    assert jittered is not None
    delay = RetrySchedule(random=lambda: draw).next_delay(
        attempt, retryable(retry_after=retry_after)
    )
    assert delay == min(max(retry_after, jittered), 2 * jittered)


def test_throttled_failures_wait_at_least_a_minute() -> None:
    schedule = exact()
    assert THROTTLED_MIN_DELAY == 60.0
    assert schedule.next_delay(1, retryable(throttled=True)) == 60.0
    # Retry-After is clamped to [5, 10] first; the minute floor still holds.
    assert schedule.next_delay(1, retryable(throttled=True, retry_after=120.0)) == 60.0
    # A scheduled delay already past a minute is kept.
    assert schedule.next_delay(3, retryable(throttled=True)) == 30 * MINUTE
    assert schedule.next_delay(2, retryable(throttled=True, retry_after=500.0)) == 500.0


@given(attempts, draws, st.one_of(st.none(), st.floats(0.0, 1e6)))
def test_throttled_waits_are_at_least_a_minute_and_spread(
    attempt: int, draw: float, retry_after: float | None
) -> None:
    schedule = RetrySchedule(random=lambda: draw)
    delay = schedule.next_delay(attempt, retryable(throttled=True, retry_after=retry_after))
    assert delay is not None
    assert delay >= THROTTLED_MIN_DELAY
    if attempt == 1:  # 5 s scheduled: the floor decides, spread over [60, 72)
        assert delay == pytest.approx(60.0 * (1 + 0.2 * draw))
        assert delay <= 72.0  # [60, 72) in reals; a draw a hair below 1 rounds to 72.0


# --- circuit breaker ----------------------------------------------------------------------


def fail(breaker: CircuitBreaker, times: int, now: float = 0.0) -> None:
    for _ in range(times):
        breaker.record_failure(now)


def test_a_new_breaker_is_closed() -> None:
    breaker = CircuitBreaker()
    assert breaker.state == "closed"
    assert breaker.retry_at is None
    assert breaker.allow(0.0)
    assert breaker.consecutive_opens == 0


def test_consecutive_failures_open_it() -> None:
    breaker = CircuitBreaker(failure_threshold=5)
    fail(breaker, 4, now=100.0)
    assert breaker.state == "closed"
    breaker.record_failure(100.0)
    assert breaker.state == "open"
    assert breaker.retry_at == 130.0
    assert not breaker.allow(100.0)
    assert not breaker.allow(129.9)


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker(failure_threshold=5, min_requests=100)
    fail(breaker, 4)
    breaker.record_success(0.0)
    fail(breaker, 4)
    assert breaker.state == "closed"


def test_half_open_lets_exactly_one_probe_through_and_success_closes() -> None:
    breaker = CircuitBreaker(failure_threshold=1, probe_timeout_seconds=45.0)
    breaker.record_failure(0.0)
    assert breaker.allow(30.0)  # the probe
    assert breaker.state == "half_open"
    assert breaker.retry_at == 75.0
    assert not breaker.allow(30.0)
    assert not breaker.allow(74.0)
    breaker.record_success(40.0)
    assert breaker.state == "closed"
    assert breaker.retry_at is None
    assert breaker.allow(40.0)
    assert breaker.allow(40.0)


def test_a_lost_probe_is_replaced_after_the_probe_timeout() -> None:
    breaker = CircuitBreaker(failure_threshold=1, probe_timeout_seconds=45.0)
    breaker.record_failure(0.0)
    assert breaker.allow(30.0)
    assert breaker.allow(75.0)  # the first probe never reported
    assert not breaker.allow(76.0)


def test_failed_probes_double_the_cooldown_up_to_the_cap() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=30.0, max_cooldown_seconds=600.0)
    now = 0.0
    breaker.record_failure(now)
    cooldowns = []
    for _ in range(7):
        assert breaker.retry_at is not None
        cooldowns.append(breaker.retry_at - now)
        now = breaker.retry_at
        assert breaker.allow(now)
        breaker.record_failure(now)
        assert breaker.state == "open"
    assert cooldowns == [30.0, 60.0, 120.0, 240.0, 480.0, 600.0, 600.0]
    assert breaker.consecutive_opens == 8


def test_a_successful_probe_resets_the_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    breaker.record_failure(0.0)
    assert breaker.allow(30.0)
    breaker.record_failure(30.0)  # re-opened for 60 s
    assert breaker.allow(90.0)
    breaker.record_success(90.0)
    assert breaker.consecutive_opens == 0
    breaker.record_failure(100.0)
    assert breaker.retry_at == 130.0


def test_outcomes_reported_while_open_are_ignored() -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    breaker.record_failure(0.0)
    breaker.record_failure(10.0)
    breaker.record_success(20.0)
    assert breaker.state == "open"
    assert breaker.retry_at == 30.0
    assert breaker.consecutive_opens == 1


def test_a_failure_ratio_over_the_window_opens_it() -> None:
    breaker = CircuitBreaker(failure_threshold=100, failure_ratio=0.5, min_requests=10)
    for _ in range(5):
        breaker.record_success(0.0)
    fail(breaker, 4)
    assert breaker.state == "closed"  # 4 of 9: too few attempts and below the ratio
    breaker.record_failure(0.0)
    assert breaker.state == "open"  # 5 of 10


def test_the_ratio_needs_enough_attempts() -> None:
    breaker = CircuitBreaker(failure_threshold=100, failure_ratio=0.5, min_requests=10)
    fail(breaker, 9)
    assert breaker.state == "closed"
    breaker.record_failure(0.0)
    assert breaker.state == "open"


def test_old_attempts_leave_the_window() -> None:
    breaker = CircuitBreaker(
        failure_threshold=100, failure_ratio=0.5, min_requests=10, window_seconds=100.0
    )
    fail(breaker, 9, now=0.0)
    breaker.record_success(50.0)
    # 200 s later the early attempts are out of the window: only these 9 count, 1 failed.
    for _ in range(8):
        breaker.record_success(200.0)
    breaker.record_failure(200.0)
    assert breaker.state == "closed"
    # Yet failures inside the window still count.
    fail(breaker, 9, now=205.0)
    assert breaker.state == "open"


def test_a_clock_that_steps_back_is_tolerated() -> None:
    breaker = CircuitBreaker(failure_threshold=100, failure_ratio=0.5, min_requests=3)
    breaker.record_success(100.0)
    breaker.record_failure(50.0)
    breaker.record_failure(50.0)
    assert breaker.state == "open"


@pytest.mark.parametrize(
    "settings",
    [
        {"failure_threshold": 0},
        {"failure_ratio": 0.0},
        {"failure_ratio": 1.5},
        {"min_requests": 0},
        {"window_seconds": 0.0},
        {"cooldown_seconds": math.nan},
        {"probe_timeout_seconds": -1.0},
        {"cooldown_seconds": 60.0, "max_cooldown_seconds": 30.0},
    ],
)
def test_bad_breaker_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        CircuitBreaker(**settings)


operations = st.lists(
    st.tuples(st.sampled_from(["allow", "success", "failure"]), st.floats(0.0, 120.0)),
    max_size=60,
)


@given(operations)
def test_breaker_invariants(steps: list[tuple[str, float]]) -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_seconds=10.0, max_cooldown_seconds=80.0)
    now = 0.0
    for operation, elapsed in steps:
        now += elapsed
        before, retry_at = breaker.state, breaker.retry_at
        if operation == "allow":
            allowed = breaker.allow(now)
            # Closed always allows; otherwise only once the time it named has come.
            assert allowed == (before == "closed" or (retry_at is not None and now >= retry_at))
            if allowed and before != "closed":
                assert breaker.state == "half_open"
                assert not breaker.allow(now)  # one probe at a time
        elif operation == "success":
            breaker.record_success(now)
            assert breaker.state == ("open" if before == "open" else "closed")
        else:
            breaker.record_failure(now)
            if before == "half_open":
                assert breaker.state == "open"
        assert (breaker.retry_at is None) == (breaker.state == "closed")
        if breaker.state == "open":
            assert breaker.retry_at is not None
            # retry_at is now + cooldown, so the difference may round past 80 by an ulp.
            assert breaker.retry_at - now <= 80.0 + 1e-9


# --- token bucket -------------------------------------------------------------------------


def test_a_new_bucket_allows_a_burst_then_waits() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(10.0) == 0.5
    assert bucket.take(10.25) == 0.25  # refilled half a token; asking took nothing
    assert bucket.take(10.5) == 0.0
    assert bucket.take(10.5) == 0.5


def test_the_bucket_refills_up_to_its_burst() -> None:
    bucket = TokenBucket(rate=1.0, burst=2)
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == 0.0
    # An hour idle fills it to two tokens, not 3600.
    assert [bucket.take(3600.0) for _ in range(3)] == [0.0, 0.0, 1.0]


def test_a_clock_that_steps_back_adds_nothing() -> None:
    bucket = TokenBucket(rate=1.0, burst=1)
    assert bucket.take(100.0) == 0.0
    assert bucket.take(50.0) == 1.0
    assert bucket.take(100.5) == pytest.approx(0.5)
    assert bucket.take(101.0) == 0.0


@given(st.floats(0.01, 1000.0), st.integers(1, 20), st.integers(1, 50))
def test_sleeping_the_wait_it_names_always_gets_a_token(
    rate: float, burst: int, takes: int
) -> None:
    bucket = TokenBucket(rate=rate, burst=burst)
    now = 1000.0
    for _ in range(burst):
        assert bucket.take(now) == 0.0
    for _ in range(takes):
        wait = bucket.take(now)
        assert wait > 0.0
        now += wait
        assert bucket.take(now) == 0.0
    # Over the whole run the rate held: `takes` tokens beyond the burst took takes/rate.
    assert now - 1000.0 == pytest.approx(takes / rate)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (math.inf, 1), (1.0, 0)])
def test_bad_buckets_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must"):
        TokenBucket(rate=rate, burst=burst)


def test_bucket_settings_are_readable() -> None:
    bucket = TokenBucket(rate=2.5, burst=4)
    assert (bucket.rate, bucket.burst) == (2.5, 4)


# --- destination policy -------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = DestinationPolicy()
    assert policy.schedule == DEFAULT_RETRY_SCHEDULE
    assert (policy.max_concurrency, policy.concurrency, policy.ordered) == (16, 16, False)
    assert policy.rate_per_second is None
    assert policy.token_bucket() is None
    assert policy.timeout_seconds == 15.0


def test_ordered_delivery_runs_one_at_a_time() -> None:
    assert DestinationPolicy(ordered=True, max_concurrency=8).concurrency == 1


def test_policy_decodes_from_configuration() -> None:
    document = {"schedule": [1, 10, 100], "rate_per_second": 5, "burst": 2, "ordered": True}
    policy = msgspec.convert(document, DestinationPolicy)
    assert policy.schedule == (1.0, 10.0, 100.0)
    assert policy.retry_schedule(random=lambda: 0.5).next_delay(3) == 100.0
    bucket = policy.token_bucket()
    assert bucket is not None
    assert (bucket.rate, bucket.burst) == (5.0, 2)


def test_unknown_policy_fields_are_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field `retries`"):
        msgspec.convert({"retries": 3}, DestinationPolicy)


def test_a_bad_decoded_policy_keeps_the_path_and_the_field() -> None:
    class Destination(msgspec.Struct, frozen=True, kw_only=True):
        policy: DestinationPolicy

    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.policy`") as caught:
        msgspec.convert({"policy": {"burst": 0}}, Destination)
    cause = caught.value.__cause__
    assert isinstance(cause, ConfigError)
    assert cause.key == "burst"


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"schedule": (5.0, -1.0)}, "schedule[1]"),
        ({"schedule": (math.nan,)}, "schedule[0]"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"rate_per_second": 0.0}, "rate_per_second"),
        ({"rate_per_second": math.inf}, "rate_per_second"),
        ({"burst": 0}, "burst"),
        ({"timeout_seconds": 0.0}, "timeout_seconds"),
        ({"breaker_failures": 0}, "breaker_failures"),
        ({"breaker_failure_ratio": 0.0}, "breaker_failure_ratio"),
        ({"breaker_failure_ratio": 1.01}, "breaker_failure_ratio"),
        ({"breaker_min_requests": 0}, "breaker_min_requests"),
        ({"breaker_window_seconds": -1.0}, "breaker_window_seconds"),
        ({"breaker_cooldown_seconds": 0.0}, "breaker_cooldown_seconds"),
        ({"breaker_max_cooldown_seconds": math.inf}, "breaker_max_cooldown_seconds"),
        ({"breaker_max_cooldown_seconds": 10.0}, "breaker_max_cooldown_seconds"),
    ],
)
def test_bad_policies_name_the_field(fields: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DestinationPolicy(**fields)
    assert caught.value.key == key


def test_an_empty_schedule_is_a_single_attempt() -> None:
    assert DestinationPolicy(schedule=()).retry_schedule().max_attempts == 1


def test_the_policy_builds_its_breaker() -> None:
    policy = DestinationPolicy(
        breaker_failures=2, breaker_cooldown_seconds=5.0, breaker_max_cooldown_seconds=7.0
    )
    breaker = policy.circuit_breaker()
    fail(breaker, 2, now=0.0)
    assert breaker.retry_at == 5.0
    assert breaker.allow(5.0)
    # The probe counts as lost after twice the attempt timeout.
    assert not breaker.allow(34.9)
    assert breaker.allow(35.0)
    breaker.record_failure(35.0)
    assert breaker.retry_at == 42.0  # 10 s, capped at 7


def test_each_builder_call_gives_fresh_state() -> None:
    policy = DestinationPolicy(rate_per_second=1.0, burst=1)
    first, second = policy.token_bucket(), policy.token_bucket()
    assert first is not None
    assert second is not None
    assert first.take(0.0) == 0.0
    assert second.take(0.0) == 0.0
    assert policy.circuit_breaker() is not policy.circuit_breaker()
