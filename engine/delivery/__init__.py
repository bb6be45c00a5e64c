"""Delivery: routes, the outbox workers, the retry policy, and the HTTP client that
destination adapters share (targets checked against SSRF)."""

from ._breaker import BreakerState, CircuitBreaker
from ._outbox import DEPTH_SECONDS, POLL_SECONDS, DestinationWorker, report_outbox_depth
from ._policy import DEFAULT_RETRY_SCHEDULE, DestinationPolicy, RetrySchedule, TokenBucket
from ._routes import Router, RouteRule, RouteTable, check_route_destinations

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "DEFAULT_RETRY_SCHEDULE",
    "DEPTH_SECONDS",
    "DestinationPolicy",
    "DestinationWorker",
    "POLL_SECONDS",
    "RetrySchedule",
    "RouteRule",
    "RouteTable",
    "Router",
    "TokenBucket",
    "check_route_destinations",
    "report_outbox_depth",
]
