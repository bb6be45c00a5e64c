"""Prometheus metrics of one engine, in a registry of its own.

Each :class:`EngineMetrics` owns a ``CollectorRegistry`` rather than using the global
one, so several engines (tests, embedding applications) can run in one process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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


class EngineMetrics:
    """The engine's counters, gauge and histogram; :meth:`render` is the exposition text."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.ingested = Counter(
            "septet_ingested",
            "Items ingested, by carrier and outcome (committed, buffered, duplicate, status).",
            ["carrier", "outcome"],
            registry=self.registry,
        )
        self.commit_latency = Histogram(
            "septet_ingest_commit_seconds",
            "Time from ingest to durable commit.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.parts_buffered = Gauge(
            "septet_parts_buffered",
            "Parts of concatenated messages stored while their set is incomplete.",
            registry=self.registry,
        )
        self.duplicates = Counter(
            "septet_duplicates",
            "Carrier retries and repeated parts absorbed, by carrier.",
            ["carrier"],
            registry=self.registry,
        )
        self.errors = Counter(
            "septet_errors",
            "Errors by kind (pdu, store, reassembly, internal).",
            ["kind"],
            registry=self.registry,
        )
        # Label lookups cost more than the increments: keep the children.
        self._ingested: dict[tuple[str, str], Counter] = {}
        self._duplicates: dict[str, Counter] = {}

    def count_ingested(self, carrier: str, outcome: str, seconds: float) -> None:
        """Count one ingest that reached the store and record its latency."""
        child = self._ingested.get((carrier, outcome))
        if child is None:
            child = self._ingested[(carrier, outcome)] = self.ingested.labels(carrier, outcome)
        child.inc()
        self.commit_latency.observe(seconds)
        if outcome == "duplicate":
            self.count_duplicate(carrier)

    def count_duplicate(self, carrier: str) -> None:
        child = self._duplicates.get(carrier)
        if child is None:
            child = self._duplicates[carrier] = self.duplicates.labels(carrier)
        child.inc()

    def count_error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of this engine's metrics."""
        return generate_latest(self.registry)
