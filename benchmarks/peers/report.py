"""The comparison's results: their shape, the Markdown table, and where it is written.

:func:`render` turns a :class:`RunResult` into the Markdown section that
``benchmarks/peers/RESULTS-peers.md`` holds; :func:`write_results` writes that file and
puts the section into ``benchmarks/RESULTS.md`` between the peers markers
(``benchmarks/run.py`` keeps it there when ``make bench`` rewrites the rest).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import msgspec
from score import PhaseScore

__all__ = [
    "BEGIN_MARKER",
    "END_MARKER",
    "PhaseResult",
    "RunResult",
    "SystemResult",
    "machine",
    "render",
    "splice_peers_section",
    "write_results",
]

RESULTS_MD: Final = Path(__file__).resolve().parents[1] / "RESULTS.md"
BEGIN_MARKER: Final = "<!-- peers comparison: begin (benchmarks/peers/compare.py) -->"
END_MARKER: Final = "<!-- peers comparison: end -->"
_P99_TARGET_MS: Final = 10.0
_RATIO_TARGET: Final = 10.0


class PhaseResult(msgspec.Struct, frozen=True, kw_only=True):
    score: PhaseScore
    send_lag_p99_ms: float | None = None
    """Fixed-rate phases: how late the simulator's writes were at the 99th percentile."""


class SystemResult(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    phases: dict[str, PhaseResult]
    smpp_not_ok: dict[int, int]
    """deliver_sm answers other than ``ESME_ROK`` by status (-1: never answered)."""
    log_tails: dict[str, str] = msgspec.field(default_factory=dict)


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    machine: dict[str, str]
    command: str
    args: dict[str, Any]
    systems: list[SystemResult]


def machine() -> dict[str, str]:
    """CPU model, cores, kernel and Python of this machine."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    }


def _latency(phase: PhaseResult | None) -> str:
    if phase is None or phase.score.latency_ms is None:
        return "n/a"
    ms = phase.score.latency_ms
    return f"{_ms(ms['50'])} / {_ms(ms['99'])} / {_ms(ms['max'])}"


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _sustained(system: SystemResult) -> list[PhaseResult]:
    """The runs of the sustained phase (``sustained``, ``sustained-2``, ...), as run."""
    return [
        phase
        for name, phase in system.phases.items()
        if name == "sustained" or name.startswith("sustained-")
    ]


def _measured(system: SystemResult) -> list[PhaseResult]:
    """Every phase but the warm-up: what lost, garbled and duplicates add up."""
    return [phase for name, phase in system.phases.items() if name != "warm-up"]


def _rate(system: SystemResult) -> float | None:
    """The median of the sustained runs' rates: one run is at the mercy of whatever else
    the machine did meanwhile (runs of the same build minutes apart differed by up to a
    quarter)."""
    rates = [phase.score.rate for phase in _sustained(system) if phase.score.rate is not None]
    return statistics.median(rates) if rates else None


def render(result: RunResult) -> str:
    """The Markdown section of one comparison run."""
    args = result.args
    rate, low = f"{args['rate']:g}", f"{args['low_rate']:g}"
    lines = [
        "## Septet beside Jasmin and Kannel (SMPP in, HTTP out)",
        "",
        f"Run on {result.machine['date']}: {result.machine['cpu']}, {result.machine['cores']}"
        f" cores, {result.machine['kernel']}, {result.machine['python']}. Command:"
        f" `{result.command}`.",
        "",
        "One SMSC simulator (`engine.testing`) sends each system the same deliver_sm stream"
        " (GSM 7-bit with accents and extension characters, UCS-2 with emoji, multipart"
        " with a UDH, one cut inside a surrogate pair); each system forwards every message"
        " to the same HTTP sink in its documented way, and the sink decodes it as that"
        " system's documentation tells a consumer to. Sustained: as fast as the SMPP window"
        f" (`--window {args['window']}`) lets it, measured at the sink; the median of"
        f" {args.get('sustained_runs', 1)} run(s) of it (each run's rate is in the notes)."
        " Fixed rates: open loop, latency from each message's due time to its arrival at the"
        " sink, in ms. Lost, garbled and duplicates add up every phase but the warm-up.",
        "",
        f"| system | sustained msg/s | p50 / p99 / max at {rate}/s | p50 / p99 / max at"
        f" {low}/s | lost | garbled | duplicates |",
        "|---|---|---|---|---|---|---|",
    ]
    for system in result.systems:
        phases = _measured(system)
        sent = sum(p.score.sent for p in phases)
        sustained = _rate(system)
        lines.append(
            f"| {system.name} | {'n/a' if sustained is None else f'{sustained:,.0f}'}"
            f" | {_latency(system.phases.get('rate'))} | {_latency(system.phases.get('low-rate'))}"
            f" | {sum(p.score.lost for p in phases):,} of {sent:,}"
            f" | {sum(p.score.garbled for p in phases):,}"
            f" | {sum(p.score.duplicates for p in phases):,} |"
        )
    lines += ["", *_targets(result), "", *_notes(result), "", *_SETUP, ""]
    return "\n".join(lines)


_SETUP: Final = (
    "How each system is set up and read (`benchmarks/peers/systems.py`, `jasmin_peer.py`,"
    " `sink.py`):",
    "",
    "- **Septet**: `septet serve` with the `smpp` carrier (one `bind_receiver`, window 64) and a"
    " `webhook` destination with the default delivery policy (16 deliveries in flight, unless"
    " `--septet-concurrency` says otherwise); every"
    " message is committed to SQLite before its deliver_sm_resp. The sink verifies the"
    " Standard Webhooks signature and reads `data.senderId` and `data.content`.",
    "- **Kannel** (Debian's 1.4.5): `bearerbox` with one SMPP smsc in transceiver mode,"
    " `sms-combine-concatenated-mo = true` (its default), no message store (its default: a"
    " deliver_sm is answered before anything is on disk); `smsbox` with one `sms-service`"
    " whose `get-url` passes `%p %c %C %u %b` and `max-messages = 0` (no reply SMS). The"
    " sink decodes `%b` in the charset `%C` names (UTF-8 for 7-bit, UTF-16BE for UCS-2);"
    " `%a` would fold the text's white space.",
    "- **Jasmin** (0.11.1 from PyPI, RabbitMQ and Redis from Debian): `jasmind` with its"
    " deliver_sm thrower in process, logs at WARNING, an SMPP client connector"
    " (transceiver), an HTTP client connector (POST) and a default MO route, set up through"
    " jCli. Jasmin hands the receiver the raw octets (`content`, `binary` in hex) and the"
    " data_coding octet (`coding`); the sink decodes them by that coding (GSM 03.38 for 0,"
    " UTF-16BE for 8), which Jasmin leaves to its receiver. Jasmin reassembles multipart"
    " messages in Redis under (connector, reference, destination) and only when the last"
    " part comes: parts processed out of order lose the message, and two senders' sets"
    " with the same 8-bit reference to one number within 300 s collide.",
    "- The same SMPP window (the simulator's, 64) for all; each system runs alone on the"
    " machine while it is measured; Lost means nothing arrived within the grace period after"
    " the phase (`--grace`). The simulator and the sink do not pause for Python's garbage"
    " collector while a phase runs (they collect between phases): a paused instrument would"
    " record late what the system delivered on time.",
)


def _targets(result: RunResult) -> list[str]:
    by_name = {system.name: system for system in result.systems}
    septet, jasmin = by_name.get("septet"), by_name.get("jasmin")
    if septet is None:
        return []
    rate = result.args["rate"]
    lines = ["| target | measured | met |", "|---|---|---|"]
    phase = septet.phases.get("rate")
    if phase is not None and phase.score.latency_ms is not None:
        p99 = phase.score.latency_ms["99"]
        met = "yes" if p99 < _P99_TARGET_MS else "no"
        lines.append(
            f"| Septet end-to-end p99 under {_P99_TARGET_MS:g} ms at {rate:g}/s"
            f" | {_ms(p99)} ms | {met} |"
        )
    faults = sum(p.score.lost + p.score.garbled for p in _measured(septet))
    lines.append(
        f"| Septet: no message lost or garbled | {faults} | {'yes' if not faults else 'no'} |"
    )
    ours, theirs = _rate(septet), None if jasmin is None else _rate(jasmin)
    if ours and theirs:
        ratio = ours / theirs
        met = "yes" if ratio >= _RATIO_TARGET else "no"
        lines.append(
            f"| Septet's sustained rate at least {_RATIO_TARGET:g}x Jasmin's"
            f" | {ratio:,.1f}x ({ours:,.0f} / {theirs:,.0f} msg/s) | {met} |"
        )
    return lines


def _notes(result: RunResult) -> list[str]:
    lines = []
    for system in result.systems:
        details = []
        runs = [phase.score.rate for phase in _sustained(system)]
        if len(runs) > 1:
            shown = " / ".join("n/a" if rate is None else f"{rate:,.0f}" for rate in runs)
            details.append(f"sustained runs: {shown} msg/s (the table shows their median)")
        for name, phase in system.phases.items():
            score = phase.score
            if score.garbled_kinds:
                kinds = ", ".join(f"{k} {v}" for k, v in sorted(score.garbled_kinds.items()))
                details.append(f"{name}: garbled by kind: {kinds}")
            if score.lost_kinds:
                kinds = ", ".join(f"{k} {v}" for k, v in sorted(score.lost_kinds.items()))
                details.append(f"{name}: lost by kind: {kinds}")
            if score.strays:
                details.append(f"{name}: {score.strays} requests matched no message sent")
            if phase.send_lag_p99_ms is not None and phase.send_lag_p99_ms > 1:
                details.append(
                    f"{name}: the simulator wrote late by up to {phase.send_lag_p99_ms:.1f} ms"
                    " (p99); latency counts from the due time all the same"
                )
            details.extend(
                f"{name}: e.g. `{example.kind}` #{example.index}: expected"
                f" {_clip(example.expected)!r}, got"
                f" {[None if t is None else _clip(t) for t in example.received]!r}"
                f" {'; '.join(example.problems)}"
                for example in score.examples[:1]
            )
        if system.smpp_not_ok:
            details.append(f"deliver_sm answers other than ESME_ROK: {system.smpp_not_ok}")
        lines += [f"- **{system.name}**: " + ("; ".join(details) or "nothing to note.")]
    return lines


def _clip(text: str, keep: int = 40) -> str:
    """The start and end of a long text (where a wrong join shows)."""
    return text if len(text) <= 2 * keep + 5 else f"{text[:keep]} ... {text[-keep:]}"


def splice_peers_section(document: str, section: str) -> str:
    """``document`` with the block between the peers markers replaced by ``section``
    (appended, markers and all, when it has none)."""
    block = f"{BEGIN_MARKER}\n{section.rstrip()}\n{END_MARKER}\n"
    begin, end = document.find(BEGIN_MARKER), document.find(END_MARKER)
    if begin != -1 and end > begin:
        return document[:begin] + block + document[end + len(END_MARKER) :].lstrip("\n")
    return document.rstrip("\n") + "\n\n" + block


def write_results(section: str, markdown: Path, *, update_results_md: bool) -> None:
    """Write ``section`` to ``markdown`` and, unless told not to, into ``RESULTS.md``."""
    markdown.write_text(section)
    print(f"wrote {markdown}", file=sys.stderr)
    if update_results_md:
        current = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
        RESULTS_MD.write_text(splice_peers_section(current, section))
        print(f"updated {RESULTS_MD}", file=sys.stderr)
