"""HTTP ingest: signed Twilio webhooks over loopback, each answered after its durable commit.

The engine runs in this process on a fresh data directory, with one ``twilio`` carrier
(signatures verified) and its HTTP server on 127.0.0.1 (an ephemeral port).
``twilio_load_generator.py`` runs in a process of its own: it builds and signs every
request before any timed phase (each a POST of Twilio's inbound-SMS form, with its own
``MessageSid``), then drives ``--connections`` kept-alive HTTP/1.1 connections over
raw sockets. The server answers empty TwiML only once the message is committed, so
each latency is request to durable commit and acknowledgement. After a warm-up
(``--warm-up`` seconds, closed loop; not reported):

1. **Throughput**: closed loop for ``--duration`` seconds: each connection sends its
   next request as soon as it has the answer to the last. The result is requests per
   second answered ``200`` with TwiML; anything else counts as an error.
2. **Latency at a fixed rate**: open loop at ``--rate`` requests per second for
   ``--paced-duration`` seconds; each request's latency counts from the moment it was
   due, so a server that falls behind cannot hide its queue (coordinated omission).
   HDR histograms, recorded in the generator and sent back with its results.

Then the inbox is read back: it must hold exactly the ``MessageSid`` of every request
answered ``200`` (nothing lost, nothing stored twice, nothing stored that was refused).
The CPU time of both processes is reported per request: on a 2-core machine the
generator shares the CPU with the engine, and its share shows it was not the bottleneck.

Usage: ``python benchmarks/http_load.py [--connections N] [--duration S] [--rate N]
[--paced-duration S] [--warm-up S] [--markdown FILE]``. ``make bench`` runs it and adds
its table to ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import trio
from hdrh.histogram import HdrHistogram
from twilio_load_generator import LoadPlan, PhaseResult, message_sid, open_load_generator

import engine
from engine.config import ApiConfig, CarrierConfig, Config, StoreConfig

CARRIER = "tw"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
TARGET_PER_SECOND = 5_000.0
TARGET_RATE = 2_000.0
TARGET_P99_MS = 20.0
SIGNING_SECONDS = 300.0
"""The longest the generator may take to sign its requests before the first phase."""
PAGE = 1000


@dataclass
class Phase:
    result: PhaseResult
    engine_cpu_seconds: float
    """This process's CPU time (every thread: the server, the pipeline, SQLite) over it."""

    @property
    def answered_ok(self) -> int:
        return len(self.result.ok)

    @property
    def per_second(self) -> float:
        return self.answered_ok / self.result.seconds if self.result.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.result.errors.values())

    def latency_ms(self, percentile: float) -> float:
        histogram = HdrHistogram.decode(self.result.latency)
        return float(histogram.get_value_at_percentile(percentile)) / 1000.0

    def send_lag_ms(self, percentile: float) -> float:
        histogram = HdrHistogram.decode(self.result.send_lag)
        return float(histogram.get_value_at_percentile(percentile)) / 1000.0

    def cpu_per_request_us(self, cpu_seconds: float) -> float:
        return cpu_seconds / max(1, self.result.sent) * 1e6


@dataclass
class InboxCheck:
    answered_ok: int
    """Distinct ``MessageSid`` answered ``200``, every phase and the warm-up included."""
    stored: int
    """Messages in the inbox."""
    missing: int
    """Answered ``200``, not in the inbox: lost."""
    unexpected: int
    """In the inbox, never answered ``200`` (refused, or answered after the timeout)."""
    duplicates: int
    """Inbox rows repeating a ``MessageSid``."""

    @property
    def exact(self) -> bool:
        return self.answered_ok == self.stored and not (
            self.missing or self.unexpected or self.duplicates
        )


@dataclass
class Report:
    throughput: Phase
    paced: Phase
    check: InboxCheck
    signed: str
    """The generator's ``signed`` line: requests signed and seconds it took."""


def config(args: argparse.Namespace, data_dir: str) -> Config:
    return Config(
        data_dir=data_dir,
        store=StoreConfig(
            batch_rows=args.batch_rows, batch_ms=args.batch_ms, linger_ms=args.linger_ms
        ),
        api=ApiConfig(host="127.0.0.1", port=0),
        carriers=(
            CarrierConfig(name=CARRIER, adapter="twilio", config={"auth_token": AUTH_TOKEN}),
        ),
    )


async def stored_message_sids(septet: engine.Septet) -> list[str]:
    """Every stored message's ``carrier_message_id``, oldest first."""
    sids: list[str] = []
    after: str | None = None
    while page := await septet.messages(limit=PAGE, oldest_first=True, after=after):
        sids.extend(message.carrier_message_id or "" for message in page)
        after = page[-1].id
    return sids


async def check_inbox(septet: engine.Septet, results: list[PhaseResult]) -> InboxCheck:
    answered = {message_sid(index) for result in results for index in result.ok}
    stored = await stored_message_sids(septet)
    counts = collections.Counter(stored)
    return InboxCheck(
        answered_ok=len(answered),
        stored=len(stored),
        missing=len(answered - counts.keys()),
        unexpected=len(counts.keys() - answered),
        duplicates=sum(n - 1 for n in counts.values()),
    )


async def run(args: argparse.Namespace) -> Report:
    cpu_at: dict[tuple[str, str], float] = {}
    signed: list[str] = []

    def on_event(event: str, phase: str) -> None:
        if event == "signed":
            signed.append(phase)
        else:
            cpu_at[event, phase] = time.process_time()

    with tempfile.TemporaryDirectory(prefix="septet-bench-") as tmp:
        async with engine.open(config(args, str(Path(tmp) / "data"))) as septet:
            assert septet.api_url is not None
            plan = LoadPlan(
                url=f"{septet.api_url}/carriers/{CARRIER}",
                auth_token=AUTH_TOKEN,
                connections=args.connections,
                warm_up_seconds=args.warm_up,
                throughput_seconds=args.duration,
                max_rate=args.max_rate,
                rate=args.rate,
                paced_seconds=args.paced_duration,
                drain_seconds=args.drain,
            )
            timeout = (
                SIGNING_SECONDS
                + args.warm_up
                + args.duration
                + args.paced_duration
                + 3 * args.drain
                + 30.0
            )
            async with open_load_generator(plan, Path(tmp)) as generator:
                results = await generator.run(on_event, timeout)
            check = await check_inbox(septet, results)

    def phase(name: str) -> Phase:
        [result] = [r for r in results if r.name == name]
        return Phase(result, cpu_at["end", name] - cpu_at["begin", name])

    return Report(phase("throughput"), phase("paced"), check, signed[0] if signed else "?")


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def throughput_met(report: Report) -> str:
    phase = report.throughput
    if phase.error_count:
        return f"no ({phase.error_count:,} errors)"
    if not report.check.exact:
        return "no (the inbox does not match)"
    return _met(phase.per_second >= TARGET_PER_SECOND)


def latency_met(report: Report) -> str:
    """p99 under the target at the target rate, with every request answered ``200`` (an
    error has no latency to count, so it cannot pass)."""
    phase = report.paced
    rate = phase.result.rate or 0.0
    if rate < TARGET_RATE:
        return f"n/a (run at {rate:,.0f} requests/s)"
    if phase.error_count:
        return f"no ({phase.error_count:,} errors)"
    return _met(phase.latency_ms(99) < TARGET_P99_MS)


def _errors(phase: Phase) -> str:
    errors = phase.result.errors
    if not errors:
        return "none"
    return ", ".join(f"{count:,} {kind}" for kind, count in sorted(errors.items()))


def _percentiles(values: list[float]) -> str:
    return " / ".join(f"{value:.2f}" for value in values) + " ms"


def _cpu(phase: Phase) -> str:
    return (
        f"engine {phase.cpu_per_request_us(phase.engine_cpu_seconds):.0f} µs, "
        f"generator {phase.cpu_per_request_us(phase.result.cpu_seconds):.0f} µs "
        f"({phase.result.cpu_seconds / max(phase.result.seconds, 1e-9):.0%} of a core)"
    )


def command(args: argparse.Namespace) -> str:
    return (
        f"python benchmarks/http_load.py --connections {args.connections} "
        f"--duration {args.duration:g} --rate {args.rate:g} "
        f"--paced-duration {args.paced_duration:g} --warm-up {args.warm_up:g} "
        f"--max-rate {args.max_rate:g} --drain {args.drain:g} "
        f"--batch-rows {args.batch_rows} --batch-ms {args.batch_ms:g}"
        f" --linger-ms {args.linger_ms:g}"
    )


def markdown(report: Report, args: argparse.Namespace) -> str:
    closed, paced, check = report.throughput, report.paced, report.check
    rate = paced.result.rate or 0.0
    served = paced.per_second
    signed_out = (
        " (ran out of signed requests: raise --max-rate)" if closed.result.signed_out else ""
    )
    return "\n".join(
        [
            "## HTTP ingest: signed Twilio webhooks to durable commit",
            "",
            f"`{command(args)}`; {os.cpu_count()} cores, shared by the engine and the load "
            "generator (and by anything else running on the machine, so numbers are "
            "indicative). The engine serves with its own HTTP/1.1 server (httptools) in this "
            "process, carriers' webhooks on its direct path; the generator "
            f"runs in its own, over {args.connections} kept-alive HTTP/1.1 connections on "
            "127.0.0.1, every request pre-signed (Twilio's SDK) with its own MessageSid. "
            "Each answer (empty TwiML) comes after the message's durable commit. "
            f"Store batches of up to {args.batch_rows} rows"
            + (f" or {args.batch_ms:g} ms." if args.batch_ms else ", group commit."),
            "",
            "| measure | result | target | met |",
            "|---|---|---|---|",
            f"| throughput, closed loop, {args.connections} connections "
            f"| {closed.per_second:,.0f} requests/s ({closed.answered_ok:,} answered 200 in "
            f"{closed.result.seconds:.1f} s){signed_out} "
            f"| ≥ {TARGET_PER_SECOND:,.0f} requests/s | {throughput_met(report)} |",
            f"| throughput: latency p50 / p90 / p99 / max "
            f"| {_percentiles([closed.latency_ms(p) for p in (50, 90, 99, 100)])} | | |",
            f"| p99 at {rate:,.0f} requests/s, open loop (served {served:,.0f}/s) "
            f"| {paced.latency_ms(99):.2f} ms "
            f"| < {TARGET_P99_MS:g} ms at {TARGET_RATE:,.0f} requests/s | {latency_met(report)} |",
            f"| at {rate:,.0f} requests/s: p50 / p90 / p99 / p99.9 / max "
            f"| {_percentiles([paced.latency_ms(p) for p in (50, 90, 99, 99.9, 100)])} | | |",
            f"| at {rate:,.0f} requests/s: generator's send lag (due to sent) p50 / p99 / max "
            f"| {_percentiles([paced.send_lag_ms(p) for p in (50, 99, 100)])} | | |",
            f"| errors (not 200 with TwiML): throughput / paced "
            f"| {_errors(closed)} / {_errors(paced)} | none | "
            f"{_met(not closed.error_count and not paced.error_count)} |",
            f"| inbox: answered 200 / stored / missing / unexpected / duplicates "
            f"| {check.answered_ok:,} / {check.stored:,} / {check.missing:,} / "
            f"{check.unexpected:,} / {check.duplicates:,} | exact | {_met(check.exact)} |",
            f"| CPU per request, throughput | {_cpu(closed)} | | |",
            f"| CPU per request, at {rate:,.0f} requests/s | {_cpu(paced)} | | |",
            f"| connections reopened: throughput / paced "
            f"| {closed.result.connections_opened:,} / "
            f"{paced.result.connections_opened:,} | | |",
            "",
        ]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0, help="closed-loop seconds")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="requests per second")
    parser.add_argument("--paced-duration", type=float, default=10.0, help="seconds at --rate")
    parser.add_argument("--warm-up", type=float, default=1.0, help="closed-loop seconds")
    parser.add_argument(
        "--max-rate",
        type=float,
        default=12_000,
        help="requests per second the closed loop is pre-signed for",
    )
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to await answers")
    parser.add_argument("--batch-rows", type=int, default=512)
    parser.add_argument("--batch-ms", type=float, default=StoreConfig().batch_ms)
    parser.add_argument("--linger-ms", type=float, default=StoreConfig().linger_ms)
    parser.add_argument("--markdown", help="write the Markdown table to this file")
    args = parser.parse_args(argv)
    try:
        report = trio.run(run, args)
    except KeyboardInterrupt:
        return 130
    table = markdown(report, args)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
