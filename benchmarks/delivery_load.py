"""Delivery latency and fan-out throughput: messages from ``ingest`` to a local webhook.

The engine (in this process, on a fresh data directory) delivers every message to one
``webhook`` destination whose receiver (``engine._bench._sink``, the one ``septet bench``
uses) runs in a process of its own on 127.0.0.1: it records when each request arrived,
verifies every signature and answers ``200`` on kept-alive connections. The
destination's ``max_concurrency`` is ``--concurrency``; its retry schedule is the
default. After a warm-up second at ``--rate`` (connections opened, caches filled; not
counted):

1. **Latency at a fixed rate**: messages are started at ``--rate`` per second for
   ``--duration`` seconds, each in its own ``ingest`` task, open loop (as in
   ``engine_load.py``). Each message's latency counts from the moment it was due: to
   the moment the sink read its webhook (ingest-to-delivered) and to the moment
   ``ingest`` returned (ingest-to-commit); the difference of the two is the delivery
   path alone (commit-to-delivered). HDR histograms, in microseconds.
2. **Fan-out throughput**: ``--producers`` tasks call ``ingest_many`` with
   ``--batch-size`` messages for ``--throughput-seconds`` seconds, as fast as they can,
   while the worker delivers; the result is delivered messages per second at the sink,
   from its first arrival to its last, and how long after the last ingest the backlog
   was drained.

After each phase the benchmark waits until the sink has every message, or until none
arrived for ``--grace`` seconds; what never arrived is lost. Requests that repeat a
``webhook-id`` are duplicates. Arrival times are the sink's ``time.perf_counter()``,
the machine-wide monotonic clock on Linux (the sink checks it), so they
compare with this process's.

Usage: ``python benchmarks/delivery_load.py [--rate N] [--duration S]
[--throughput-seconds S] [--concurrency N] [--producers N] [--batch-size N] [--grace S]
[--markdown FILE]``. ``make bench`` runs it and adds its table to ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import trio
from engine_load import make_item
from hdrh.histogram import HdrHistogram

import engine
from engine._bench._pacing import open_loop
from engine._bench._sink import SinkRecords, WebhookSink, open_webhook_sink
from engine.config import Config, DestinationConfig, StoreConfig
from engine.delivery import DestinationPolicy, RouteTable
from engine.signing import generate_secret

DESTINATION = "sink"
TARGET_RATE = 1_000.0
TARGET_P99_MS = 10.0
WARM_UP_SECONDS = 1.0
POLL_SECONDS = 0.02
"""How often the benchmark asks the sink how many messages it has, while waiting."""


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, 60_000_000, 3)  # microseconds, 1 µs to 60 s


def _record(histogram: HdrHistogram, seconds: float) -> None:
    histogram.record_value(min(60_000_000, max(1, int(seconds * 1e6))))


@dataclass
class Tally:
    """What became of one phase's messages at the sink."""

    ingested: int
    delivered: int
    lost: int
    """Ingested, never received within the grace period."""
    duplicates: int
    """Requests repeating a ``webhook-id`` the sink had already received."""
    retried: int
    """Attempts the engine counted as failed and scheduled again."""
    bad_signatures: int
    requests: int
    connections: int
    """Connections the sink accepted during the phase: new ones, not kept-alive ones."""
    sink_cpu_seconds: float

    @property
    def sink_cpu_per_request_us(self) -> float:
        return self.sink_cpu_seconds / max(1, self.requests) * 1e6


@dataclass
class Paced:
    rate: float
    achieved: float
    to_commit: HdrHistogram
    to_delivered: HdrHistogram
    commit_to_delivered: HdrHistogram
    tally: Tally


@dataclass
class FanOut:
    ingest_seconds: float
    delivered_seconds: float
    """From the sink's first arrival to its last."""
    drained_after: float
    """From the last ``ingest_many`` returning to the sink's last arrival."""
    tally: Tally

    @property
    def ingested_per_second(self) -> float:
        return self.tally.ingested / self.ingest_seconds

    @property
    def delivered_per_second(self) -> float:
        return self.tally.delivered / self.delivered_seconds if self.delivered_seconds else 0.0


def tally(
    ingested: Collection[str], records: SinkRecords, retried: int
) -> tuple[Tally, dict[str, float]]:
    """What became of the ``ingested`` message ids, and when each first arrived."""
    arrivals: dict[str, float] = {}
    webhook_ids: set[str] = set()
    duplicates = 0
    for arrived, webhook_id, message_id in zip(
        records.arrivals, records.webhook_ids, records.message_ids, strict=True
    ):
        if webhook_id in webhook_ids:
            duplicates += 1
        webhook_ids.add(webhook_id)
        if arrived < arrivals.get(message_id, math.inf):
            arrivals[message_id] = arrived
    delivered = sum(1 for message_id in ingested if message_id in arrivals)
    result = Tally(
        ingested=len(ingested),
        delivered=delivered,
        lost=len(ingested) - delivered,
        duplicates=duplicates,
        retried=retried,
        bad_signatures=records.bad_signatures,
        requests=len(records.arrivals),
        connections=records.connections,
        sink_cpu_seconds=records.cpu_seconds,
    )
    return result, arrivals


def retried_attempts(septet: engine.Septet) -> int:
    value = septet.metrics.registry.get_sample_value(
        "septet_delivery_attempts_total", {"destination": DESTINATION, "outcome": "retry"}
    )
    return int(value or 0)


async def paced(
    septet: engine.Septet,
    sink: WebhookSink,
    counter: itertools.count[int],
    rate: float,
    duration: float,
    grace: float,
) -> Paced:
    to_commit = _histogram()
    due_at: dict[str, float] = {}
    committed_at: dict[str, float] = {}
    total = int(rate * duration)
    retried = retried_attempts(septet)

    async def one(due: float, index: int) -> None:
        result = await septet.ingest(make_item(index))
        committed = time.perf_counter()
        _record(to_commit, committed - due)
        if result.outcome != "committed" or result.message is None:
            raise RuntimeError(f"message {index} was not committed: {result.outcome}")
        due_at[result.message.id] = due
        committed_at[result.message.id] = committed

    elapsed = await open_loop(
        total, 1.0 / rate, lambda nursery, due: nursery.start_soon(one, due, next(counter))
    )
    await sink.wait_for(len(due_at), grace, poll=POLL_SECONDS)
    records = await sink.flush()
    counted, arrivals = tally(due_at, records, retried_attempts(septet) - retried)
    to_delivered, commit_to_delivered = _histogram(), _histogram()
    for message_id, due in due_at.items():
        arrived = arrivals.get(message_id)
        if arrived is not None:
            _record(to_delivered, arrived - due)
            _record(commit_to_delivered, arrived - committed_at[message_id])
    return Paced(
        rate=rate,
        achieved=total / elapsed,
        to_commit=to_commit,
        to_delivered=to_delivered,
        commit_to_delivered=commit_to_delivered,
        tally=counted,
    )


async def fan_out(
    septet: engine.Septet,
    sink: WebhookSink,
    counter: itertools.count[int],
    args: argparse.Namespace,
) -> FanOut:
    ingested: list[str] = []
    retried = retried_attempts(septet)
    deadline = time.perf_counter() + args.throughput_seconds

    async def producer() -> None:
        while time.perf_counter() < deadline:
            items = [make_item(next(counter)) for _ in range(args.batch_size)]
            results = await septet.ingest_many(items)
            ingested.extend(r.message.id for r in results if r.message is not None)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(args.producers):
            nursery.start_soon(producer)
    ingest_done = time.perf_counter()
    await sink.wait_for(len(ingested), args.grace, poll=POLL_SECONDS)
    records = await sink.flush()
    counted, arrivals = tally(ingested, records, retried_attempts(septet) - retried)
    wanted = [arrivals[m] for m in ingested if m in arrivals]
    first, last = (min(wanted), max(wanted)) if wanted else (started, started)
    return FanOut(
        ingest_seconds=ingest_done - started,
        delivered_seconds=last - first,
        drained_after=max(0.0, last - ingest_done),
        tally=counted,
    )


def config(args: argparse.Namespace, data_dir: str, sink: WebhookSink, secret: str) -> Config:
    webhook = {"url": sink.url, "secrets": [secret], "allow_hosts": ["localhost"]}
    return Config(
        data_dir=data_dir,
        store=StoreConfig(
            batch_rows=args.batch_rows, batch_ms=args.batch_ms, linger_ms=args.linger_ms
        ),
        destinations=(
            DestinationConfig(
                name=DESTINATION,
                adapter="webhook",
                config=webhook,
                policy=DestinationPolicy(max_concurrency=args.concurrency),
            ),
        ),
        routes=RouteTable(default=(DESTINATION,)),
    )


async def run(args: argparse.Namespace) -> tuple[Paced, FanOut]:
    secret = generate_secret()
    with tempfile.TemporaryDirectory(prefix="septet-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        async with open_webhook_sink(secret, Path(tmp)) as sink:
            counter = itertools.count()
            async with engine.open(config(args, str(data_dir), sink, secret)) as septet:
                await paced(septet, sink, counter, args.rate, WARM_UP_SECONDS, args.grace)
                latency = await paced(septet, sink, counter, args.rate, args.duration, args.grace)
                throughput = await fan_out(septet, sink, counter, args)
    return latency, throughput


def _ms(histogram: HdrHistogram, *percentiles: float) -> str:
    values = [float(histogram.get_value_at_percentile(p)) / 1000.0 for p in percentiles]
    return " / ".join(f"{value:.2f}" for value in values) + " ms"


def _messages(t: Tally) -> str:
    return (
        f"{t.ingested:,} / {t.delivered:,} / {t.lost:,} / {t.duplicates:,} "
        f"({t.retried:,} attempts retried, {t.bad_signatures:,} bad signatures, "
        f"{t.connections:,} new connections)"
    )


def target_met(latency: Paced) -> str:
    """Whether p99 ingest-to-delivered stayed under the target at the target rate, with
    nothing lost (a lost message has no latency to count, so it cannot pass)."""
    if latency.rate < TARGET_RATE:
        return f"n/a (run at {latency.rate:,.0f} msg/s)"
    p99 = float(latency.to_delivered.get_value_at_percentile(99)) / 1000.0
    if latency.tally.lost:
        return f"no ({latency.tally.lost:,} lost)"
    return "yes" if p99 < TARGET_P99_MS else "no"


def markdown(latency: Paced, throughput: FanOut, args: argparse.Namespace) -> str:
    lt, ft = latency.tally, throughput.tally
    sink_cpu = (lt.sink_cpu_seconds + ft.sink_cpu_seconds) / max(1, lt.requests + ft.requests)
    p99 = float(latency.to_delivered.get_value_at_percentile(99)) / 1000.0
    return "\n".join(
        [
            "## delivery: ingest to a local webhook receiver",
            "",
            f"`python benchmarks/delivery_load.py --rate {args.rate:g} "
            f"--duration {args.duration:g} --throughput-seconds {args.throughput_seconds:g} "
            f"--concurrency {args.concurrency} --producers {args.producers} "
            f"--batch-size {args.batch_size} --grace {args.grace:g}`; one webhook destination "
            f"(max_concurrency {args.concurrency}, default retries) to a receiver in its own "
            "process on 127.0.0.1 (trio, every signature verified, "
            f"{sink_cpu * 1e6:.0f} µs of its CPU per request); store batches of up to "
            f"{args.batch_rows} rows"
            + (f" or {args.batch_ms:g} ms" if args.batch_ms else ", group commit")
            + ". Latencies count from the "
            "moment a message was due (open loop), to the receiver reading its webhook.",
            "",
            "| measure | result | target | met |",
            "|---|---|---|---|",
            f"| p99 ingest-to-delivered at {latency.rate:,.0f} msg/s "
            f"(achieved {latency.achieved:,.0f}) | {p99:.2f} ms "
            f"| < {TARGET_P99_MS:g} ms at {TARGET_RATE:,.0f} msg/s | {target_met(latency)} |",
            f"| ingest-to-delivered p50 / p90 / p99.9 / max "
            f"| {_ms(latency.to_delivered, 50, 90, 99.9, 100)} | | |",
            f"| ingest-to-commit p50 / p90 / p99 / p99.9 / max "
            f"| {_ms(latency.to_commit, 50, 90, 99, 99.9, 100)} | | |",
            f"| commit-to-delivered p50 / p90 / p99 / p99.9 / max "
            f"| {_ms(latency.commit_to_delivered, 50, 90, 99, 99.9, 100)} | | |",
            f"| messages at {latency.rate:,.0f} msg/s: ingested / delivered / lost / duplicates "
            f"| {_messages(lt)} | none lost | {'yes' if not lt.lost else 'no'} |",
            f"| fan-out: delivered per second at the receiver, first to last arrival "
            f"| {throughput.delivered_per_second:,.0f} msg/s ({ft.delivered:,} in "
            f"{throughput.delivered_seconds:.1f} s) | | |",
            f"| fan-out: ingested with ingest_many, batches of {args.batch_size} "
            f"({args.producers} producers, {args.throughput_seconds:g} s) "
            f"| {throughput.ingested_per_second:,.0f} msg/s | | |",
            f"| fan-out: backlog drained after the last ingest "
            f"| {throughput.drained_after:.1f} s | | |",
            f"| fan-out messages: ingested / delivered / lost / duplicates "
            f"| {_messages(ft)} | none lost | {'yes' if not ft.lost else 'no'} |",
            "",
        ]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="messages per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds at --rate")
    parser.add_argument("--throughput-seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64, help="the destination's")
    parser.add_argument("--producers", type=int, default=8, help="ingest_many tasks")
    parser.add_argument("--batch-size", type=int, default=100, help="items per ingest_many")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds without arrivals")
    parser.add_argument("--batch-rows", type=int, default=512)
    parser.add_argument("--batch-ms", type=float, default=StoreConfig().batch_ms)
    parser.add_argument("--linger-ms", type=float, default=StoreConfig().linger_ms)
    parser.add_argument("--markdown", help="write the Markdown table to this file")
    args = parser.parse_args(argv)
    latency, throughput = trio.run(run, args)
    table = markdown(latency, throughput, args)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
