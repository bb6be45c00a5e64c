"""Engine throughput and latency: messages through ``ingest`` to a durable SQLite commit.

Three phases on a fresh data directory:

1. **Throughput**: ``--concurrency`` tasks ingest as fast as they can for ``--duration``
   seconds, one ``ingest`` call per message; the result is committed messages per second.
2. **Batched throughput**: ``--batch-producers`` tasks call ``ingest_many`` with
   ``--batch-size`` messages at a time for ``--duration`` seconds, as carriers receiving
   bursts do; the result is committed messages per second.
3. **Latency at a fixed rate**: messages are started at ``--rate`` per second for
   ``--duration`` seconds, each in its own task; the latency of each, from the moment it
   was due to the moment ``ingest`` returned (so a stalled scheduler counts against us),
   goes into an HDR histogram.

Usage: ``python benchmarks/engine_load.py [--duration S] [--rate N] [--concurrency N]
[--batch-size N] [--batch-producers N] [--markdown FILE]``. ``make bench`` runs it and
adds its table to ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio
from hdrh.histogram import HdrHistogram

import engine
from engine._bench._pacing import open_loop
from engine.config import Config, StoreConfig
from engine.model import InboundText

NUMBERS = [f"+1555000{n:04d}" for n in range(50)]
TEXTS = [
    "Your verification code is {code}. It expires in 10 minutes.",
    "G-{code} is your Google verification code.",
    "Ваш код подтверждения: {code}. Никому не сообщайте этот код.",
    "Meeting moved to 3pm, see you there",
]


def make_item(index: int) -> InboundText:
    return InboundText(
        carrier="bench",
        number=NUMBERS[index % len(NUMBERS)],
        sender="+15559990000" if index % 3 else "Acme",
        text=TEXTS[index % len(TEXTS)].format(code=f"{index % 1_000_000:06d}"),
        carrier_message_id=f"b{index}",
    )


@dataclass
class Throughput:
    messages: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


@dataclass
class Latency:
    rate: float
    achieved: float
    histogram: HdrHistogram

    def percentile_ms(self, p: float) -> float:
        return float(self.histogram.get_value_at_percentile(p)) / 1000.0


async def _drive(producers: int, duration: float, step: Callable[[], Awaitable[int]]) -> Throughput:
    """Run ``producers`` tasks calling ``step`` (which says how many it committed) until
    ``duration`` is over."""
    done = 0
    deadline = trio.current_time() + duration

    async def producer() -> None:
        nonlocal done
        while trio.current_time() < deadline:
            committed = await step()  # awaited first: `done += await ...` loses updates
            done += committed

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(producers):
            nursery.start_soon(producer)
    return Throughput(done, time.perf_counter() - started)


async def throughput(
    septet: engine.Septet, counter: itertools.count[int], args: argparse.Namespace
) -> Throughput:
    async def one() -> int:
        await septet.ingest(make_item(next(counter)))
        return 1

    return await _drive(args.concurrency, args.duration, one)


async def batched_throughput(
    septet: engine.Septet, counter: itertools.count[int], args: argparse.Namespace
) -> Throughput:
    async def batch() -> int:
        items = [make_item(next(counter)) for _ in range(args.batch_size)]
        await septet.ingest_many(items)
        return len(items)

    return await _drive(args.batch_producers, args.duration, batch)


async def latency(
    septet: engine.Septet, counter: itertools.count[int], args: argparse.Namespace
) -> Latency:
    histogram = HdrHistogram(1, 60_000_000, 3)  # microseconds, 1 µs to 60 s
    total = int(args.rate * args.duration)
    interval = 1.0 / args.rate

    async def one(due: float, index: int) -> None:
        await septet.ingest(make_item(index))
        histogram.record_value(max(1, int((time.perf_counter() - due) * 1e6)))

    elapsed = await open_loop(
        total, interval, lambda nursery, due: nursery.start_soon(one, due, next(counter))
    )
    return Latency(args.rate, total / elapsed, histogram)


async def run(args: argparse.Namespace) -> tuple[Throughput, Throughput, Latency]:
    with tempfile.TemporaryDirectory(prefix="septet-bench-") as data_dir:
        config = Config(
            data_dir=data_dir,
            store=StoreConfig(
                batch_rows=args.batch_rows, batch_ms=args.batch_ms, linger_ms=args.linger_ms
            ),
        )
        counter = itertools.count()
        async with engine.open(config) as septet:
            for _ in range(2000):  # warm up connections, caches and the allocator
                await septet.ingest(make_item(next(counter)))
            result = await throughput(septet, counter, args)
            batched = await batched_throughput(septet, counter, args)
            paced = await latency(septet, counter, args)
        return result, batched, paced


def _met(per_second: float) -> str:
    return "yes" if per_second >= 50_000 else "no"


def markdown(
    result: Throughput, batched: Throughput, paced: Latency, args: argparse.Namespace
) -> str:
    p = paced.percentile_ms
    return "\n".join(
        [
            "## engine: ingest to durable commit (SQLite)",
            "",
            f"`python benchmarks/engine_load.py --duration {args.duration} --rate {args.rate:g} "
            f"--concurrency {args.concurrency} --batch-size {args.batch_size} "
            f"--batch-producers {args.batch_producers} --batch-rows {args.batch_rows} "
            f"--batch-ms {args.batch_ms:g} --linger-ms {args.linger_ms:g}`; "
            f"store batches of up to {args.batch_rows} rows, "
            + (
                f"or {args.batch_ms:g} ms."
                if args.batch_ms
                else "committed as soon as the writer is free (group commit)."
            ),
            "",
            "| measure | result | target | met |",
            "|---|---|---|---|",
            f"| throughput with single ingest calls, {args.concurrency} concurrent producers | "
            f"{result.per_second:,.0f} msg/s ({result.messages:,} in {result.seconds:.1f} s) "
            "| (the target is for batching) | |",
            f"| throughput with ingest_many, batches of {args.batch_size} "
            f"({args.batch_producers} concurrent producers) | "
            f"{batched.per_second:,.0f} msg/s ({batched.messages:,} in {batched.seconds:.1f} s) "
            f"| ≥ 50,000 msg/s | {_met(batched.per_second)} |",
            f"| p99 ingest-to-commit at {paced.rate:,.0f} msg/s (achieved {paced.achieved:,.0f}) "
            f"| {p(99):.2f} ms | < 10 ms | {'yes' if p(99) < 10 else 'no'} |",
            f"| p50 / p90 / p99.9 / max | {p(50):.2f} / {p(90):.2f} / {p(99.9):.2f} / "
            f"{p(100):.2f} ms | | |",
            "",
        ]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=100, help="items per ingest_many")
    parser.add_argument("--batch-producers", type=int, default=8)
    parser.add_argument("--batch-rows", type=int, default=512)
    parser.add_argument("--batch-ms", type=float, default=StoreConfig().batch_ms)
    parser.add_argument("--linger-ms", type=float, default=StoreConfig().linger_ms)
    parser.add_argument("--markdown", help="write the Markdown table to this file")
    args = parser.parse_args(argv)
    result, batched, paced = trio.run(run, args)
    table = markdown(result, batched, paced, args)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
