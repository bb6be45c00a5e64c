"""The benchmark's result: ``result.json``, ``result.md`` and ``latency.png``.

:func:`build_result` turns what the processes recorded (:class:`~._run.Collected`)
into a :class:`BenchResult`; :func:`write_outputs` writes it as JSON (msgspec), as a
Markdown table, and as a plot (matplotlib): the percentile curves of the end-to-end
latencies on a ``1/(1-p)`` axis, and each message's latency against the time it was due.
"""

from __future__ import annotations

import math
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from .. import __version__
from ._analysis import (
    INTERVALS,
    Accounting,
    Joined,
    Latency,
    Run,
    Step,
    account,
    join,
    latency,
)
from ._run import Collected
from ._scenario import Scenario

__all__ = [
    "BenchResult",
    "EngineUsage",
    "FindMaxResult",
    "build_result",
    "markdown",
    "now",
    "plot",
    "write_outputs",
]

_E2E: Final = ("due → acknowledged", "due → delivered")


class EngineUsage(msgspec.Struct, frozen=True, kw_only=True):
    """The engine process over the measured part (CPU) and its whole life (memory)."""

    cpu_user_seconds: float
    cpu_system_seconds: float
    cpu_per_message_us: float
    cpu_share: float
    """CPU seconds per second of the measured part: 1.0 is one core busy."""
    peak_rss_bytes: int


class FindMaxResult(msgspec.Struct, frozen=True, kw_only=True):
    p99_bound_ms: float
    end_to_end: str
    """Which latency the bound is about."""
    steps: list[Step]
    highest_sustained_rate: float | None
    """None when even the first step broke the bound."""
    reported_rate: float
    """The step the latencies and stages are reported for: the highest sustained one
    (or the first, if none was)."""


class BenchResult(msgspec.Struct, frozen=True, kw_only=True):
    """Everything ``septet bench`` measured, as ``result.json`` holds it."""

    scenario: Scenario
    septet_version: str
    python: str
    platform: str
    cpus: int
    started_at: datetime
    rate: float
    """Messages per second offered in the measured run (open loop)."""
    measured: int
    warm_up: int
    seconds: float
    """From the first measured message's due time to its last acknowledgement."""
    acknowledged_per_second: float
    delivered_per_second: float | None
    latency: dict[str, Latency]
    """By interval name (``due → acknowledged``...), in milliseconds."""
    accounting: Accounting
    stages_out_of_order: int
    missing_stages: dict[str, int]
    generator_errors: dict[str, int]
    engine: EngineUsage
    generator_cpu_seconds: float
    """The load generator's CPU over the measured part (embedded: part of the engine's)."""
    sink_cpu_seconds: float | None
    retried_deliveries: int | None
    find_max: FindMaxResult | None
    files: dict[str, str]
    """The files written beside ``result.json``, by what they hold."""


def _reported_runs(
    scenario: Scenario, collected: Collected
) -> tuple[list[Run], FindMaxResult | None]:
    """The runs whose messages the latencies describe: the measured run, or for
    ``--find-max`` the highest step that kept the bound (the first, if none did)."""
    measured = [run for run in collected.runs if run.measured]
    if not collected.steps:
        return measured, None
    sustained = [i for i, step in enumerate(collected.steps) if step.sustained]
    chosen = measured[sustained[-1] if sustained else 0]
    return [chosen], FindMaxResult(
        p99_bound_ms=scenario.find_max.p99_ms,
        end_to_end=_E2E[1] if scenario.fanout else "due → answer read by the sender",
        steps=list(collected.steps),
        highest_sustained_rate=collected.steps[sustained[-1]].rate if sustained else None,
        reported_rate=chosen.rate,
    )


def build_result(
    scenario: Scenario, collected: Collected, started_at: datetime, files: dict[str, str]
) -> tuple[BenchResult, Joined, dict[str, HdrHistogram]]:
    """The result, the joined stages of the reported messages and their histograms."""
    reported, find_max = _reported_runs(scenario, collected)
    joined = join(scenario.path, reported, collected.report)
    summaries: dict[str, Latency] = {}
    histograms: dict[str, HdrHistogram] = {}
    for name, start, end in INTERVALS:
        if "delivered" in (start, end) and not scenario.fanout:
            continue
        values = [
            b - a
            for a, b in zip(joined.stages[start], joined.stages[end], strict=True)
            if not (math.isnan(a) or math.isnan(b))
        ]
        summaries[name], histograms[name] = latency(values)
    measured = sum(len(run.generator.indices) for run in reported)
    dues = [d for d in joined.stages["due"] if not math.isnan(d)]
    acks = [a for a in joined.stages["acknowledged"] if not math.isnan(a)]
    delivered = [d for d in joined.stages.get("delivered", []) if not math.isnan(d)]
    first = min(dues) if dues else 0.0
    seconds = max(acks) - first if acks else 0.0
    delivered_seconds = max(delivered) - first if delivered else 0.0
    before, after = collected.before, collected.after
    user = after.user_seconds - before.user_seconds
    system = after.system_seconds - before.system_seconds
    window = max(1e-9, after.at - before.at)
    all_measured = [run for run in collected.runs if run.measured]
    errors: dict[str, int] = {}
    for run in collected.runs:
        for kind, count in run.generator.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    result = BenchResult(
        scenario=scenario,
        septet_version=__version__,
        python=sys.version.split()[0],
        platform=platform.platform(),
        cpus=os.cpu_count() or 1,
        started_at=started_at,
        rate=reported[0].rate if reported else scenario.rate,
        measured=measured,
        warm_up=sum(len(run.generator.indices) for run in collected.runs if not run.measured),
        seconds=round(seconds, 6),
        acknowledged_per_second=round(len(acks) / seconds, 1) if seconds > 0 else 0.0,
        delivered_per_second=(
            round(len(delivered) / delivered_seconds, 1) if delivered_seconds > 0 else 0.0
        )
        if scenario.fanout
        else None,
        latency=summaries,
        accounting=account(scenario.mix, collected.runs, collected.report.inbox),
        stages_out_of_order=joined.out_of_order,
        missing_stages=dict(joined.missing_stages),
        generator_errors=errors,
        engine=EngineUsage(
            cpu_user_seconds=round(user, 3),
            cpu_system_seconds=round(system, 3),
            cpu_per_message_us=round(
                (user + system) / max(1, sum(len(r.generator.indices) for r in all_measured)) * 1e6,
                1,
            ),
            cpu_share=round((user + system) / window, 3),
            peak_rss_bytes=collected.report.usage.max_rss_bytes,
        ),
        generator_cpu_seconds=round(sum(run.generator.cpu_seconds for run in all_measured), 3),
        sink_cpu_seconds=round(collected.sink_cpu_seconds, 3) if scenario.fanout else None,
        retried_deliveries=collected.report.retried_deliveries if scenario.fanout else None,
        find_max=find_max,
        files=files,
    )
    return result, joined, histograms


# --- Markdown ----------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.2f}"


def markdown(result: BenchResult) -> str:
    """``result.md``: the result as Markdown tables."""
    scenario = result.scenario
    acc = result.accounting
    lines = [
        f"# septet bench {scenario.name}",
        "",
        f"{scenario.description or scenario.path}  ",
        f"Septet {result.septet_version}, Python {result.python}, {result.cpus} CPUs "
        f"({result.platform}); {result.started_at.isoformat(timespec='seconds')}.",
        "",
        f"Open loop at **{result.rate:,.0f} msg/s**: {result.measured:,} messages measured "
        f"after {result.warm_up:,} of warm-up; latencies count from the moment each message "
        "was due, so a stall cannot hide its queue.",
        "",
        "| latency (ms) | count | p50 | p90 | p99 | p99.9 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, lat in result.latency.items():
        lines.append(
            f"| {name} | {lat.count:,} | {_ms(lat.p50_ms)} | {_ms(lat.p90_ms)} | "
            f"{_ms(lat.p99_ms)} | {_ms(lat.p999_ms)} | {_ms(lat.max_ms)} |"
        )
    engine = result.engine
    lines += [
        "",
        "| measure | value |",
        "|---|---|",
        f"| throughput, acknowledged | {result.acknowledged_per_second:,.0f} msg/s "
        f"({result.measured:,} in {result.seconds:.2f} s) |",
    ]
    if result.delivered_per_second is not None:
        lines.append(f"| throughput, delivered | {result.delivered_per_second:,.0f} msg/s |")
    lines += [
        f"| engine CPU (user + system) | {engine.cpu_user_seconds:.2f} + "
        f"{engine.cpu_system_seconds:.2f} s, {engine.cpu_per_message_us:,.0f} µs a message, "
        f"{engine.cpu_share:.0%} of a core |",
        f"| engine peak memory (RSS) | {engine.peak_rss_bytes / 2**20:,.1f} MiB |",
        f"| load generator CPU | {result.generator_cpu_seconds:.2f} s |",
    ]
    if result.sink_cpu_seconds is not None:
        lines.append(f"| webhook receiver CPU | {result.sink_cpu_seconds:.2f} s |")
    lines += [
        "",
        "| messages (warm-up included) | count |",
        "|---|---:|",
        f"| sent | {acc.sent:,} |",
        f"| acknowledged | {acc.acknowledged:,} |",
        f"| stored, text exact | {acc.stored:,} |",
        f"| lost | {acc.lost:,} |",
        f"| garbled | {acc.garbled:,} |",
        f"| duplicated | {acc.duplicated:,} |",
    ]
    if acc.delivered is not None:
        lines += [
            f"| delivered to the webhook, text exact | {acc.delivered:,} |",
            f"| stored, never delivered | {acc.lost_in_delivery:,} |",
            f"| delivered garbled | {acc.garbled_in_delivery:,} |",
            f"| repeated deliveries | {acc.duplicate_deliveries:,} "
            f"({result.retried_deliveries or 0:,} attempts retried) |",
            f"| bad signatures at the receiver | {acc.bad_signatures:,} |",
        ]
    lines.append(f"| stages out of order | {result.stages_out_of_order:,} |")
    if result.generator_errors:
        errors = ", ".join(f"{n:,} {kind}" for kind, n in sorted(result.generator_errors.items()))
        lines.append(f"| sender's errors | {errors} |")
    found = result.find_max
    if found is not None:
        highest = (
            f"{found.highest_sustained_rate:,.0f} msg/s"
            if found.highest_sustained_rate is not None
            else "none (the first step broke the bound)"
        )
        lines += [
            "",
            f"Find the maximum: p99 {found.end_to_end} within {found.p99_bound_ms:g} ms, every "
            f"message answered{' and delivered' if scenario.fanout else ''} within "
            f"{scenario.drain:g} s. **Highest rate sustained: {highest}**; the tables above "
            f"are for the step at {found.reported_rate:,.0f} msg/s.",
            "",
            "| rate (msg/s) | messages | p99 (ms) | sustained | engine CPU (s) |",
            "|---:|---:|---:|---|---:|",
        ]
        for step in found.steps:
            verdict = "yes" if step.sustained else f"no: {step.reason}"
            lines.append(
                f"| {step.rate:,.0f} | {step.messages:,} | {_ms(step.p99_ms)} | {verdict} | "
                f"{step.engine_cpu_seconds:.2f} |"
            )
    lines.append("")
    return "\n".join(lines)


# --- the plot ----------------------------------------------------------------------------


def _percentile_curve(hist: HdrHistogram) -> tuple[list[float], list[float]]:
    """Points (1/(1-p), value in ms) from p = 0 to the largest p the count resolves."""
    count = hist.get_total_count()
    if not count:
        return [], []
    top = math.log10(max(10, count))
    xs: list[float] = []
    ys: list[float] = []
    steps = 200
    for i in range(steps + 1):
        nines = top * i / steps
        p = 1 - 10**-nines
        xs.append(10**nines)
        ys.append(float(hist.get_value_at_percentile(p * 100)) / 1000.0)
    return xs, ys


def plot(
    result: BenchResult, joined: Joined, histograms: dict[str, HdrHistogram], path: Path
) -> None:
    """``latency.png``: percentile curves and latency over time."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (curves, timeline) = pyplot.subplots(1, 2, figsize=(13, 5), layout="constrained")
    figure.suptitle(
        f"septet bench {result.scenario.name}: {result.rate:,.0f} msg/s, "
        f"{result.measured:,} messages"
    )
    shown = [name for name in (*_E2E, *(n for n, _, _ in INTERVALS)) if name in histograms]
    for name in dict.fromkeys(shown):
        xs, ys = _percentile_curve(histograms[name])
        style = "-" if name in _E2E else ":"
        curves.plot(xs, ys, style, label=name, linewidth=2 if name in _E2E else 1)
    curves.set_xscale("log")
    ticks = [1, 2, 10, 100, 1000, 10_000, 100_000]
    curves.set_xticks(ticks, ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%"])
    curves.set_xlim(1, max(10.0, float(result.measured)))
    curves.set_xlabel("percentile")
    curves.set_ylabel("latency (ms)")
    curves.set_title("latency by percentile")
    curves.grid(True, which="both", alpha=0.3)
    curves.legend(fontsize="small")
    due = joined.stages["due"]
    start = min((d for d in due if not math.isnan(d)), default=0.0)
    for name, end in (("due → acknowledged", "acknowledged"), ("due → delivered", "delivered")):
        if name not in histograms:
            continue
        points = [
            (d - start, (e - d) * 1000)
            for d, e in zip(due, joined.stages[end], strict=True)
            if not (math.isnan(d) or math.isnan(e))
        ]
        if points:
            timeline.scatter(
                [x for x, _ in points], [y for _, y in points], s=3, alpha=0.5, label=name
            )
    timeline.set_xlabel("seconds since the first measured message was due")
    timeline.set_ylabel("latency (ms)")
    timeline.set_title("latency over time")
    timeline.grid(True, alpha=0.3)
    timeline.legend(fontsize="small", markerscale=4)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def write_outputs(
    result: BenchResult, joined: Joined, histograms: dict[str, HdrHistogram], out: Path
) -> None:
    """``result.json``, ``result.md`` and ``latency.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_bytes(msgspec.json.format(msgspec.json.encode(result)) + b"\n")
    (out / "result.md").write_text(markdown(result), encoding="utf-8")
    plot(result, joined, histograms, out / "latency.png")


def now() -> datetime:
    return datetime.now(UTC)
