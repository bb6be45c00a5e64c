"""``septet bench``: the command line of the benchmark harness."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["add_bench_command", "run_bench"]

_NEEDED = {"hdrh": "hdrhistogram", "rich": "rich", "matplotlib": "matplotlib"}


def _missing(profile: bool) -> list[str]:
    missing = [dist for module, dist in _NEEDED.items() if importlib.util.find_spec(module) is None]
    if profile:
        from ._run import py_spy_command

        try:
            py_spy_command()
        except RuntimeError:
            missing.append("py-spy")
    return missing


class _ProgressBar:
    """The run's progress on standard error (rich): sent, answered and delivered."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: list[TaskID] = []

    def phase(self, label: str, total: int) -> None:
        for task in self._tasks:
            self._progress.update(task, visible=False)
        self._tasks = [
            self._progress.add_task(f"{label}: {what}", total=total)
            for what in ("sent", "answered", "delivered")
        ]

    def progress(self, sent: int, answered: int, delivered: int | None) -> None:
        counts = (sent, answered, delivered)
        for task, count in zip(self._tasks, counts, strict=True):
            if count is None:
                self._progress.update(task, visible=False)
            else:
                self._progress.update(task, completed=count)

    def note(self, text: str) -> None:
        self._progress.console.print(text)


class _Silent:
    def phase(self, label: str, total: int) -> None:
        pass

    def progress(self, sent: int, answered: int, delivered: int | None) -> None:
        pass

    def note(self, text: str) -> None:
        pass


def run_bench(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``septet bench`` with parsed ``args``; the exit status."""
    missing = _missing(args.profile)
    if missing:
        err.write(f"septet: bench needs {', '.join(missing)}: pip install 'septet[bench]'\n")
        return 2
    import trio

    from ..errors import ConfigError
    from ._child import BenchProcessError
    from ._report import build_result, now, write_outputs
    from ._run import collect, default_out
    from ._scenario import load_scenario, override

    try:
        scenario = override(
            load_scenario(args.scenario),
            rate=args.rate,
            count=args.count,
            duration=args.duration,
            warm_up=args.warm_up,
        )
    except ConfigError as error:
        err.write(f"septet: config error: {error}\n")
        return 2
    target = Path(args.out) if args.out else default_out(scenario)
    started = now()
    try:
        options = {"find_max": args.find_max, "profile": args.profile}
        if args.quiet:
            collected = trio.run(partial(collect, scenario, target, _Silent(), **options))
        else:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=Console(file=err)) as bar:
                reporter = _ProgressBar(bar)
                collected = trio.run(partial(collect, scenario, target, reporter, **options))
    except BenchProcessError as error:
        err.write(f"septet: bench failed: {error} (logs in {target / 'logs'})\n")
        return 1
    except KeyboardInterrupt:
        err.write("septet: bench interrupted\n")
        return 130
    files = {
        "result": "result.json",
        "table": "result.md",
        "plot": "latency.png",
        "logs": "logs/",
    }
    if collected.flame_graph is not None:
        files["flame graph"] = collected.flame_graph.name
    result, joined, histograms = build_result(scenario, collected, started, files)
    write_outputs(result, joined, histograms, target)
    out.write((target / "result.md").read_text(encoding="utf-8"))
    out.write(f"\nseptet: results in {target}\n")
    return 0


def add_bench_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench`` to the command line."""
    bench = commands.add_parser(
        "bench",
        help="measure ingest latency and throughput under a steady load",
        description="Run a benchmark scenario: the engine, the load generator and (for a "
        "fan-out) a webhook receiver, each in a process of its own on 127.0.0.1; an open-loop "
        "load at a fixed rate (latencies count from when each message was due); stage "
        "timestamps, HDR histograms, throughput, the engine's CPU and peak memory. Writes "
        "result.json, result.md and latency.png. SCENARIO is a built-in name (embed, "
        "embed-fanout, http, http-fanout, smpp, smpp-fanout) or a TOML scenario file.",
    )
    bench.add_argument("scenario", metavar="SCENARIO", help="a built-in name or a TOML file")
    bench.add_argument("--rate", type=float, help="messages per second (open loop)")
    bench.add_argument(
        "--find-max",
        action="store_true",
        help="raise the rate step by step until p99 or the backlog breaks the bound",
    )
    bench.add_argument("--count", type=int, help="at most this many measured messages")
    bench.add_argument("--duration", type=float, help="at most this many measured seconds")
    bench.add_argument("--warm-up", type=float, help="seconds at the rate before, not counted")
    bench.add_argument("--out", metavar="DIR", help="where to write the results")
    bench.add_argument(
        "--profile", action="store_true", help="record a flame graph of the engine (py-spy)"
    )
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.set_defaults(handler=lambda args: run_bench(args, sys.stdout, sys.stderr))
