"""Run the micro-benchmarks against the peers and write ``benchmarks/RESULTS.md``.

Usage: ``python benchmarks/run.py [pytest args...]`` (``make bench`` does this).
Every micro-benchmark runs in the same pytest-benchmark session, so the ratios compare
Septet with its peers on the same machine, in the same run; then ``engine_load.py``
measures the engine end to end (ingest to commit), ``delivery_load.py`` the delivery
to a local webhook receiver, ``http_load.py`` signed Twilio webhooks over HTTP to
their commit and ``smpp_load.py`` deliver_sm through one SMPP bind to the commit and its
deliver_sm_resp, and their tables are appended. The comparison with Jasmin and Kannel
(``make bench-peers``, ``benchmarks/peers/compare.py``) is too heavy to run here; its
last table, ``benchmarks/peers/RESULTS-peers.md``, is carried over into RESULTS.md.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
PEERS_RESULTS = HERE / "peers" / "RESULTS-peers.md"

sys.path.insert(0, str(HERE / "peers"))
from report import splice_peers_section  # noqa: E402 (found through the line above)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _fmt_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


def _row_name(bench: dict[str, object]) -> str:
    name = str(bench["name"])
    return name.removeprefix("test_").replace("_", " ")


def _per_item(bench: dict[str, Any]) -> float:
    items = int((bench.get("extra_info") or {}).get("items", 1))
    return float(bench["stats"]["median"]) / items


def _median_per_item(benches: list[dict[str, Any]], name: str) -> float | None:
    for bench in benches:
        if bench["name"] == name:
            return _per_item(bench)
    return None


def targets(benches: list[dict[str, Any]]) -> list[str]:
    """The issue's targets, checked against this run's medians."""
    rows = ["| target | measured | met |", "|---|---|---|"]

    def ratio_row(case: str, peer: str, want: float) -> None:
        ours = _median_per_item(benches, f"septet decode {case}")
        theirs = _median_per_item(benches, f"{peer} decode {case}")
        if ours and theirs:
            got = theirs / ours
            met = "yes" if got >= want else "no"
            rows.append(f"| {case}: at least {want:.0f}x faster than {peer} | {got:.0f}x | {met} |")

    def time_row(label: str, name: str, limit: float) -> None:
        got = _median_per_item(benches, name)
        if got is not None:
            met = "yes" if got < limit else "no"
            rows.append(f"| {label} under {_fmt_time(limit)} | {_fmt_time(got)} | {met} |")

    for case in ("gsm7-160", "ucs2-70"):
        ratio_row(case, "smspdudecoder", 100)
        ratio_row(case, "python_gsmmodem_new", 20)
    for case in ("gsm7-160", "ucs2-70"):
        time_row(f"batch decode {case}, per PDU,", f"septet batch of 1000 {case}", 1e-6)
    time_row("code extraction, per message,", "test_septet_extract", 3e-6)
    time_row("code extraction in a batch, per message,", "test_septet_extract_many_1000", 3e-6)
    return rows


def render(data: dict[str, object], command: str) -> str:
    benches = data["benchmarks"]
    assert isinstance(benches, list)
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for bench in benches:
        groups[str(bench.get("group") or "other")].append(bench)
    machine = data.get("machine_info", {})
    assert isinstance(machine, dict)
    lines = [
        "# Benchmark results",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"- Machine: {_cpu_model()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}",
        f"- Python: {machine.get('python_implementation', '')} {machine.get('python_version', '')}",
        f"- Command: `{command}`",
        "",
        "Times are per call (median over pytest-benchmark rounds). The last column is the row's",
        "median per item divided by Septet's fastest per-item median in the same group: how many",
        "times slower than Septet it is.",
        "Batch rows decode 1000 PDUs per call; the per-item column divides by the items per call.",
        "On a shared 2-core VM single-call medians move by up to half between runs; compare rows",
        "within one run, where every peer saw the same machine.",
        "",
        "## Targets",
        "",
        *targets(benches),
        "",
    ]
    for group in sorted(groups):
        rows = sorted(groups[group], key=_per_item)
        septet = [_per_item(b) for b in rows if "septet" in str(b["name"])]
        base = min(septet) if septet else None
        lines += [
            f"## {group}",
            "",
            "| benchmark | median | min | per item | vs septet |",
            "|---|---|---|---|---|",
        ]
        for bench in rows:
            stats = bench["stats"]
            per_item = _per_item(bench)
            ratio = f"{per_item / base:.1f}" if base else "n/a"
            lines.append(
                f"| {_row_name(bench)} | {_fmt_time(stats['median'])} | {_fmt_time(stats['min'])} "
                f"| {_fmt_time(per_item)} | {ratio} |"
            )
        lines.append("")
    return "\n".join(lines)


def machine_speed() -> float:
    """Milliseconds a fixed pure-Python loop takes now (the best of five): the same on a
    quiet machine from run to run, so a slower reading says the machine itself was slow."""
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main(argv: list[str]) -> int:
    speed_before = machine_speed()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            str(HERE),
            "--benchmark-only",
            f"--benchmark-json={out}",
            "-p",
            "no:cacheprovider",
            *argv,
        ]
        status = subprocess.call(cmd, cwd=ROOT)
        if status != 0 or not out.exists():
            print("benchmarks failed; RESULTS.md not written", file=sys.stderr)
            return status or 1
        data = json.loads(out.read_text())
        sections: list[str] = []
        for script, what in (
            ("engine_load.py", "engine"),
            ("delivery_load.py", "delivery"),
            ("http_load.py", "http"),
            ("smpp_load.py", "smpp"),
        ):
            table = Path(tmp) / f"{what}.md"
            status = subprocess.call(
                [sys.executable, str(HERE / script), f"--markdown={table}"], cwd=ROOT
            )
            if status != 0:
                print(f"{what} load benchmark failed; RESULTS.md not written", file=sys.stderr)
                return status
            sections.append(table.read_text())
    speed = (
        f"Machine speed (a fixed Python loop, lower is faster): {speed_before:.1f} ms before the"
        f" run, {machine_speed():.1f} ms after. The VM's speed changes over time by up to a half;"
        " results of runs whose loop took longer are slower across the board.\n"
    )
    document = "\n".join([render(data, "make bench"), speed, *sections])
    if PEERS_RESULTS.exists():
        document = splice_peers_section(document, PEERS_RESULTS.read_text())
    RESULTS.write_text(document)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
