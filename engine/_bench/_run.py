"""Run a scenario: start the processes, pace the load, collect what they recorded.

The orchestrator (the ``septet bench`` process) starts, each in a process of its own
and all on 127.0.0.1 with ephemeral ports:

* for a fan-out, the webhook sink (:mod:`._sink`), which the engine's ``webhook``
  destination delivers every message to;
* for SMPP, the SMSC (:mod:`._smpp_generator`), which the engine's ``smpp`` carrier
  binds to;
* the engine (:mod:`._engine_process`), on a fresh SQLite data directory in a temporary
  directory, with the stage recorder installed;
* for HTTP, the webhook generator (:mod:`._http_generator`), which posts to the engine's
  ``twilio`` carrier.

The embedded path has no generator process: its load is calls to the Python API, which
can only be made inside the engine's process.

Then a warm-up at the scenario's rate (not counted), and either one measured run or,
for ``--find-max``, runs at rising rates until one breaks the bound. After each run the
orchestrator waits for the last deliveries (at most ``drain`` seconds without progress)
and takes what the sink received. At the end the engine reads its inbox back and hands
over its stage records, CPU time and peak memory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

import msgspec
import trio

from ..config import ApiConfig, CarrierConfig, Config, DestinationConfig, StoreConfig
from ..delivery import DestinationPolicy, RouteTable
from ..signing import generate_secret
from ._analysis import Run, Step, judge_step
from ._child import BenchProcessError, Child, open_child, stop_process
from ._engine_process import EnginePlan
from ._records import EngineReport, GeneratorRun, Usage
from ._scenario import Scenario
from ._sink import WebhookSink, open_webhook_sink
from ._smpp_generator import ACCOUNT

__all__ = [
    "Collected",
    "Reporter",
    "collect",
    "default_out",
    "engine_config",
    "py_spy_command",
]

DESTINATION: Final = "sink"
CARRIER: Final = {"smpp": "smsc", "http": "tw", "embed": "bench"}
AUTH_TOKEN: Final = "0123456789abcdef0123456789abcdef"
"""The Twilio auth token the generator signs with: a benchmark's, not a secret."""
_BIND_SECONDS: Final = 30.0
_RUN_MARGIN_SECONDS: Final = 120.0
_POLL_SECONDS: Final = 0.1
_PROFILE_RATE: Final = 250
"""Samples a second py-spy takes of the engine."""


class Reporter(Protocol):
    """Where the orchestrator says how the run goes (a progress bar, or nothing)."""

    def phase(self, label: str, total: int) -> None:
        """A run of ``total`` messages begins."""

    def progress(self, sent: int, answered: int, delivered: int | None) -> None:
        """So far in this run: messages sent, answered, and delivered (fan-out)."""

    def note(self, text: str) -> None:
        """A line worth showing between runs."""


@dataclass
class Collected:
    """Everything the processes handed back."""

    runs: list[Run]
    report: EngineReport
    before: Usage
    """The engine's usage when the measured part began."""
    after: Usage
    steps: list[Step] = field(default_factory=list)
    flame_graph: Path | None = None
    sink_cpu_seconds: float = 0.0


def py_spy_command() -> str:
    """The ``py-spy`` executable, beside this Python's or on the PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    found = shutil.which("py-spy")
    if found is None:
        raise BenchProcessError(
            "--profile needs py-spy: pip install 'septet[bench]' (or pip install py-spy)"
        )
    return found


def engine_config(
    scenario: Scenario, data_dir: Path, smsc_port: int | None, sink: WebhookSink | None, secret: str
) -> Config:
    carriers: tuple[CarrierConfig, ...] = ()
    api = ApiConfig(host="127.0.0.1", port=None)
    if scenario.path == "smpp":
        system_id, password = ACCOUNT
        smsc = {
            "host": "127.0.0.1",
            "port": smsc_port,
            "system_id": system_id,
            "password": password,
            "window": scenario.smpp.window,
        }
        carriers = (CarrierConfig(name=CARRIER["smpp"], adapter="smpp", config={"smscs": [smsc]}),)
    elif scenario.path == "http":
        api = ApiConfig(host="127.0.0.1", port=0)
        carriers = (
            CarrierConfig(
                name=CARRIER["http"], adapter="twilio", config={"auth_token": AUTH_TOKEN}
            ),
        )
    destinations: tuple[DestinationConfig, ...] = ()
    routes = RouteTable()
    if sink is not None:
        webhook = {"url": sink.url, "secrets": [secret], "allow_hosts": ["localhost"]}
        policy = DestinationPolicy(max_concurrency=scenario.webhook.max_concurrency)
        destinations = (
            DestinationConfig(name=DESTINATION, adapter="webhook", config=webhook, policy=policy),
        )
        routes = RouteTable(default=(DESTINATION,))
    return Config(
        data_dir=str(data_dir),
        store=StoreConfig(
            batch_rows=scenario.store.batch_rows,
            batch_ms=scenario.store.batch_ms,
            linger_ms=scenario.store.linger_ms,
        ),
        api=api,
        carriers=carriers,
        destinations=destinations,
        routes=routes,
    )


class _Driver:
    """The process that generates the load (the engine itself, embedded)."""

    def __init__(self, child: Child, workdir: Path) -> None:
        self._child = child
        self._workdir = workdir
        self._runs = 0

    async def run(
        self,
        start: int,
        count: int,
        rate: float,
        drain: float,
        on_progress: Callable[[int, int], None],
    ) -> GeneratorRun:
        self._runs += 1
        path = self._workdir / f"run-{self._runs}.msgpack"
        await self._child.send(f"run {start} {count} {rate!r} {drain!r} {path}")
        # The generator gives up on answers by itself (``drain``); this bounds the rest
        # (signing the requests, a generator that hangs).
        with trio.fail_after(count / rate + 2 * drain + _RUN_MARGIN_SECONDS):
            while True:
                words = (await self._child.readline()).split()
                if words[:1] == ["progress"]:
                    on_progress(int(words[1]), int(words[2]))
                elif words[:1] == ["ran"]:
                    break
                else:
                    raise BenchProcessError(f"the load generator said {' '.join(words)!r}")
        run = msgspec.msgpack.decode(path.read_bytes(), type=GeneratorRun)
        path.unlink()
        return run


async def _usage(engine: Child) -> Usage:
    (text,) = await engine.ask("usage", "usage")
    return msgspec.json.decode(text, type=Usage)


@asynccontextmanager
async def _profiler(pid: int, output: Path, log: Path) -> AsyncIterator[None]:
    """py-spy recording the engine (every thread) until the block ends: a flame graph."""
    command = [py_spy_command(), "record", "--pid", str(pid), "--output", str(output)]
    command += ["--format", "flamegraph", "--rate", str(_PROFILE_RATE), "--nonblocking"]
    with log.open("ab") as errors:
        process = await trio.lowlevel.open_process(
            command, stdin=subprocess.DEVNULL, stdout=errors, stderr=errors
        )
    try:
        yield
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.send_signal(signal.SIGINT)  # py-spy writes its output and exits
            with trio.move_on_after(30):
                await process.wait()
            if process.returncode is None:
                await stop_process(process, 0)


async def collect(
    scenario: Scenario, out: Path, reporter: Reporter, *, find_max: bool, profile: bool
) -> Collected:
    """Run ``scenario`` (see the module docstring); logs and the flame graph go to ``out``."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    secret = generate_secret()
    with tempfile.TemporaryDirectory(prefix="septet-bench-") as tmp:
        workdir = Path(tmp)
        async with AsyncExitStack() as stack:
            sink: WebhookSink | None = None
            if scenario.fanout:
                sink = await stack.enter_async_context(
                    open_webhook_sink(secret, workdir, log=logs / "sink.log")
                )
            mix = msgspec.json.encode(scenario.mix).decode()
            smsc: Child | None = None
            if scenario.path == "smpp":
                command = [python, "-m", "engine._bench._smpp_generator"]
                command += [str(scenario.smpp.window), mix]
                smsc = await stack.enter_async_context(
                    open_child("SMSC", command, log=logs / "generator.log")
                )
            config = engine_config(
                scenario,
                workdir / "data",
                int(smsc.ready[0]) if smsc is not None else None,
                sink,
                secret,
            )
            plan = EnginePlan(
                config=config,
                embed_carrier=CARRIER["embed"],
                mix=scenario.mix,
                destination=DESTINATION if sink is not None else None,
            )
            plan_path = workdir / "engine-plan.json"
            plan_path.write_bytes(msgspec.json.encode(plan))
            engine = await stack.enter_async_context(
                open_child(
                    "engine",
                    [python, "-m", "engine._bench._engine_process", str(plan_path)],
                    log=logs / "engine.log",
                )
            )
            driver_child = engine
            if smsc is not None:
                await smsc.send(f"bind {_BIND_SECONDS!r}")
                with trio.fail_after(_BIND_SECONDS + 5):
                    await smsc.expect("bound")
                driver_child = smsc
            elif scenario.path == "http":
                url = f"{engine.ready[0]}/carriers/{CARRIER['http']}"
                command = [python, "-m", "engine._bench._http_generator", url, AUTH_TOKEN]
                command += [str(scenario.http.connections), mix]
                driver_child = await stack.enter_async_context(
                    open_child("HTTP generator", command, log=logs / "generator.log")
                )
            driver = _Driver(driver_child, workdir)
            runs: list[Run] = []
            next_index = 0

            async def one_run(label: str, rate: float, count: int, measured: bool) -> Run:
                nonlocal next_index
                reporter.phase(label, count)
                delivered: list[int | None] = [None if sink is None else 0]
                counts = [0, 0]

                def on_progress(sent: int, answered: int) -> None:
                    counts[:] = [sent, answered]
                    reporter.progress(sent, answered, delivered[0])

                async with trio.open_nursery() as nursery:
                    if sink is not None:

                        async def watch_sink() -> None:
                            while True:
                                await trio.sleep(0.25)
                                delivered[0] = await sink.count()
                                reporter.progress(counts[0], counts[1], delivered[0])

                        nursery.start_soon(watch_sink)
                    generated = await driver.run(
                        next_index, count, rate, scenario.drain, on_progress
                    )
                    nursery.cancel_scope.cancel()
                next_index += count
                records = None
                if sink is not None:
                    got = await sink.wait_for(sum(generated.ok), scenario.drain, poll=_POLL_SECONDS)
                    reporter.progress(len(generated.indices), sum(generated.ok), got)
                    records = await sink.flush()
                run = Run(
                    label=label, rate=rate, generator=generated, sink=records, measured=measured
                )
                runs.append(run)
                return run

            start_rate = scenario.find_max.start_rate if find_max else scenario.rate
            warm_up = int(start_rate * scenario.warm_up)
            if warm_up:
                await one_run("warm-up", start_rate, warm_up, measured=False)
            steps: list[Step] = []
            flame = out / "flame.svg" if profile else None
            async with AsyncExitStack() as profiling:
                if flame is not None:
                    await profiling.enter_async_context(
                        _profiler(engine.pid, flame, logs / "py-spy.log")
                    )
                before = await _usage(engine)
                if not find_max:
                    await one_run("measured", scenario.rate, scenario.measured_count, True)
                else:
                    bounds = scenario.find_max
                    rate = bounds.start_rate
                    for number in range(1, bounds.max_steps + 1):
                        seconds = min(bounds.step_seconds, scenario.duration)
                        count = max(1, min(scenario.count, int(rate * seconds)))
                        usage = await _usage(engine)
                        run = await one_run(f"step {number}: {rate:,.0f}/s", rate, count, True)
                        judged = judge_step(scenario.find_max.p99_ms, rate, run.generator, run.sink)
                        step = msgspec.structs.replace(
                            judged, engine_cpu_seconds=_cpu(await _usage(engine)) - _cpu(usage)
                        )
                        steps.append(step)
                        verdict = "sustained" if step.sustained else f"not sustained: {step.reason}"
                        reporter.note(f"{rate:,.0f} msg/s: p99 {step.p99_ms:.2f} ms, {verdict}")
                        if not step.sustained or rate >= bounds.max_rate:
                            break
                        rate = min(bounds.max_rate, rate * bounds.factor)
                after = await _usage(engine)
            report_path = workdir / "engine-report.msgpack"
            await engine.send(f"stop {report_path}")
            with trio.fail_after(120):
                await engine.expect("stopped")
            report = msgspec.msgpack.decode(report_path.read_bytes(), type=EngineReport)
            await stop_process(engine.process)
    sink_cpu = sum(run.sink.cpu_seconds for run in runs if run.sink is not None)
    return Collected(
        runs=runs,
        report=report,
        before=before,
        after=after,
        steps=steps,
        flame_graph=flame if flame is not None and flame.exists() else None,
        sink_cpu_seconds=sink_cpu,
    )


def _cpu(usage: Usage) -> float:
    return usage.user_seconds + usage.system_seconds


def default_out(scenario: Scenario) -> Path:
    """``septet-bench/NAME-YYYYmmdd-HHMMSS`` in the current directory."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(os.getcwd()) / "septet-bench" / f"{scenario.name}-{stamp}"
