"""Prometheus metrics of one engine, in a registry of its own.

Each :class:`EngineMetrics` owns a ``CollectorRegistry`` rather than using the global
one, so several engines (tests, embedding applications) can run in one process.

The ingest and delivery counters and their latency histograms are counted on the hot
path, thousands of times a second, so they are plain numbers kept by the engine's trio
thread and turned into metric families only when scraped (:class:`_IngestCollector`,
:class:`_DeliveryCollector`): ``prometheus_client``'s own counters and histograms take a
lock per increment and look their labels up on every call, and a batch of messages
committed together is counted in one call. The rare metrics (errors, the gauges) use
``prometheus_client`` directly.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["EngineMetrics"]

# Ingest-to-commit latency: fine-grained below 10 ms, where the target sits.
_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
    5.0,
)

# One attempt: a loopback webhook answers in a millisecond, a slow one times out (15 s).
_ATTEMPT_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    15.0,
    30.0,
)
# Receipt to delivery: milliseconds when all is well, hours when a destination was down.
_DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0, 300.0, 3600.0, 86400.0)


class _Buckets:
    """One histogram's counts (the last bucket is +Inf) and sum, as plain numbers."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float, count: int = 1) -> None:
        """Count ``count`` observations of ``value``."""
        # bisect_left: a value equal to a bound belongs to that bound's bucket (le).
        self.counts[bisect_left(self.bounds, value)] += count
        self.total += value * count

    def cumulative(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


class _IngestCollector(Collector):
    """Ingest counts, duplicates and commit latency, kept as plain numbers."""

    def __init__(self) -> None:
        self.ingested: dict[tuple[str, str], int] = {}
        self.duplicates: dict[str, int] = {}
        self.latency = _Buckets(_LATENCY_BUCKETS)

    def collect(self) -> Iterator[Metric]:
        ingested = CounterMetricFamily(
            "septet_ingested",
            "Items ingested, by carrier and outcome (committed, buffered, duplicate, status).",
            labels=["carrier", "outcome"],
        )
        for (carrier, outcome), value in sorted(self.ingested.items()):
            ingested.add_metric([carrier, outcome], value)
        yield ingested
        duplicates = CounterMetricFamily(
            "septet_duplicates",
            "Carrier retries and repeated parts absorbed, by carrier.",
            labels=["carrier"],
        )
        for carrier, value in sorted(self.duplicates.items()):
            duplicates.add_metric([carrier], value)
        yield duplicates
        yield HistogramMetricFamily(
            "septet_ingest_commit_seconds",
            "Time from ingest to durable commit.",
            buckets=self.latency.cumulative(),
            sum_value=self.latency.total,
        )


class _DeliveryCollector(Collector):
    """Delivery attempts by outcome, their durations and receipt-to-delivery times, kept
    as plain numbers."""

    def __init__(self) -> None:
        self.attempts: dict[tuple[str, str], int] = {}
        self.durations: dict[str, _Buckets] = {}
        self.delivered_after: dict[str, _Buckets] = {}

    def collect(self) -> Iterator[Metric]:
        attempts = CounterMetricFamily(
            "septet_delivery_attempts",
            "Delivery attempts by destination and outcome (delivered, retry, failed, held).",
            labels=["destination", "outcome"],
        )
        for (destination, outcome), value in sorted(self.attempts.items()):
            attempts.add_metric([destination, outcome], value)
        yield attempts
        for name, documentation, histograms in (
            (
                "septet_delivery_attempt_seconds",
                "How long one delivery attempt took (connect, send, answer), by destination.",
                self.durations,
            ),
            (
                "septet_delivered_seconds",
                "Time from a message's receipt to its delivery, by destination.",
                self.delivered_after,
            ),
        ):
            family = HistogramMetricFamily(name, documentation, labels=["destination"])
            for destination, buckets in sorted(histograms.items()):
                family.add_metric([destination], buckets.cumulative(), buckets.total)
            yield family


class EngineMetrics:
    """The engine's counters, gauge and histogram; :meth:`render` is the exposition text."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._ingest = _IngestCollector()
        self.registry.register(self._ingest)
        self.parts_buffered = Gauge(
            "septet_parts_buffered",
            "Parts of concatenated messages stored while their set is incomplete.",
            registry=self.registry,
        )
        self.errors = Counter(
            "septet_errors",
            "Errors by kind (pdu, store, reassembly, internal).",
            ["kind"],
            registry=self.registry,
        )
        self._deliveries = _DeliveryCollector()
        self.registry.register(self._deliveries)
        self.outbox_depth = Gauge(
            "septet_outbox_depth",
            "Deliveries not yet delivered or failed (pending or under way), by destination.",
            ["destination"],
            registry=self.registry,
        )
        self.outbox_oldest = Gauge(
            "septet_outbox_oldest_seconds",
            "Age of the oldest delivery not yet delivered or failed, by destination.",
            ["destination"],
            registry=self.registry,
        )

    def count_ingested(self, carrier: str, outcome: str, seconds: float, count: int = 1) -> None:
        """Count ``count`` ingests that reached the store together, ``seconds`` after they
        started, and record their latency."""
        ingest = self._ingest
        key = (carrier, outcome)
        ingest.ingested[key] = ingest.ingested.get(key, 0) + count
        ingest.latency.observe(seconds, count)
        if outcome == "duplicate":
            self.count_duplicate(carrier, count)

    def count_duplicate(self, carrier: str, count: int = 1) -> None:
        duplicates = self._ingest.duplicates
        duplicates[carrier] = duplicates.get(carrier, 0) + count

    def count_error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def count_delivery(
        self,
        destination: str,
        outcome: str,
        received_at: datetime | None,
        attempt_seconds: float,
    ) -> None:
        """Count one delivery attempt and its duration; for a delivered one, how long
        after the message's receipt it arrived."""
        collector = self._deliveries
        key = (destination, outcome)
        collector.attempts[key] = collector.attempts.get(key, 0) + 1
        durations = collector.durations.get(destination)
        if durations is None:
            durations = collector.durations[destination] = _Buckets(_ATTEMPT_BUCKETS)
        durations.observe(attempt_seconds)
        if received_at is not None:
            seconds = (datetime.now(UTC) - received_at).total_seconds()
            after = collector.delivered_after.get(destination)
            if after is None:
                after = collector.delivered_after[destination] = _Buckets(_DELIVERY_BUCKETS)
            after.observe(max(0.0, seconds))

    def render(self) -> bytes:
        """The Prometheus text exposition of this engine's metrics."""
        return generate_latest(self.registry)
