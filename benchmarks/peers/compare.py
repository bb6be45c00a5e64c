"""Septet beside Jasmin and Kannel: the same deliver_sm stream, the same HTTP sink.

Usage::

    python benchmarks/peers/compare.py [--systems septet,kannel,jasmin] [--messages N]
        [--sustained-runs 3] [--rate 1000] [--low-rate 100] [--rate-seconds S]
        [--low-rate-seconds S] [--markdown FILE] [--json FILE] [--from-json FILE]

(``make bench-peers`` runs it with the defaults and updates ``benchmarks/RESULTS.md``.)

It installs what is missing (Kannel, RabbitMQ and Redis from Debian; Jasmin from PyPI
in a virtual environment under ``~/.cache/septet-peers``), starts the sink
(:mod:`sink`, a process of its own), then for each system in turn: starts the SMSC
simulator (``engine.testing``, in this process) and the system bound to it as an ESME,
and runs four phases, each with a stream of its own (:mod:`stream`):

1. **warm-up**: ``--warm-up`` messages, as fast as the window lets them; not scored
   beyond a note when something went missing.
2. **sustained rate**: ``--messages`` messages written as fast as the system's SMPP
   window lets them (the simulator's window is ``--window``); the rate is measured at
   the sink, first to last arrival, after the backlog drained. Bounded in time by
   ``--max-seconds``: what was not sent by then is not counted. It runs
   ``--sustained-runs`` times (3), each time with a stream of its own, and the table
   shows the median rate: runs of the same build minutes apart differed by up to a
   quarter on a shared machine, so one run says little.
3. **fixed rate**: ``--rate`` messages a second for ``--rate-seconds``, open loop: every
   message's PDUs are written at its due time whatever the system answered, and its
   latency runs from that due time to its arrival at the sink (no coordinated omission).
4. **low fixed rate**: the same at ``--low-rate``, a rate every system keeps up with.

A phase ends when every message arrived and nothing more came for ``--settle``
seconds, or when nothing came for ``--grace`` seconds: what is missing then is lost.
Then the system is stopped, and every process this script started is stopped on the
way out, on error or Ctrl-C too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import msgspec
import trio
from jasmin_peer import JasminSystem
from report import PhaseResult, RunResult, SystemResult, machine, render, write_results
from score import score_phase
from sink import SECRET_ENV, Arrival, RawRequest, decode_request
from stream import StreamMessage, build_stream
from systems import KannelSystem, SeptetSystem, System, new_secret

from engine._bench._collector import collector_paused
from engine.smpp import CommandStatus
from engine.testing import EsmeResponse, EsmeSession, open_smsc_simulator

HERE: Final = Path(__file__).resolve().parent
_POLL: Final = 0.2
_FIXED_RATES: Final = {"rate": "rate", "low-rate": "low_rate"}


class _Sink:
    """The sink process and its line protocol (see :mod:`sink`)."""

    def __init__(self, process: trio.Process, secret: str) -> None:
        self.process = process
        self.secret = secret
        self.url = ""
        self._buffer = b""

    async def read_line(self) -> str:
        assert self.process.stdout is not None
        while b"\n" not in self._buffer:
            data = await self.process.stdout.receive_some(4096)
            if not data:
                raise RuntimeError("the sink ended early")
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode().strip()

    async def ask(self, command: str) -> str:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(command.encode() + b"\n")
        return await self.read_line()

    async def count(self) -> int:
        return int((await self.ask("count")).split()[1])

    async def flush(self, directory: Path) -> list[Arrival]:
        path = directory / f"flush-{time.monotonic_ns()}.msgpack"
        await self.ask(f"flush {path}")
        requests = msgspec.msgpack.decode(path.read_bytes(), type=list[RawRequest])
        path.unlink()
        return [decode_request(request, self.secret) for request in requests]


async def _drain(sink: _Sink, expected: int, args: argparse.Namespace) -> None:
    """Wait until ``expected`` requests came and then ``settle`` seconds of quiet, or
    ``grace`` seconds of quiet whatever the count."""
    last_count, last_change = -1, time.perf_counter()
    while True:
        count = await sink.count()
        now = time.perf_counter()
        if count != last_count:
            last_count, last_change = count, now
        quiet = now - last_change
        if (count >= expected and quiet >= args.settle) or quiet >= args.grace:
            return
        await trio.sleep(_POLL)


async def _send_windowed(
    session: EsmeSession, messages: Sequence[StreamMessage], seconds: float
) -> tuple[list[StreamMessage], list[EsmeResponse]]:
    """Every message's PDUs as fast as the window lets them, until ``seconds`` passed;
    the messages sent in full, and the answers."""
    deadline = time.perf_counter() + seconds
    sent: list[StreamMessage] = []

    def frames() -> Iterator[bytes]:
        for message in messages:
            if time.perf_counter() > deadline:
                return
            yield from message.frames
            sent.append(message)

    return sent, await session.deliver_many(frames())


async def _send_paced(
    session: EsmeSession, messages: Sequence[StreamMessage], rate: float
) -> tuple[dict[int, float], float, list[EsmeResponse]]:
    """Write each message's PDUs at its due time (open loop); the due times, the 99th
    percentile of how late the writes were (ms, to show the sender kept up), and the
    answers (waited for up to a minute after the last write)."""
    start = time.perf_counter() + 0.05
    due = {message.index: start + n / rate for n, message in enumerate(messages)}
    lateness: list[float] = []
    responses: list[EsmeResponse] = []
    for message in messages:
        wait = due[message.index] - time.perf_counter()
        if wait > 0:
            await trio.sleep(wait)
        lateness.append(time.perf_counter() - due[message.index])
        responses.extend(session.deliver_nowait(frame) for frame in message.frames)
    with trio.move_on_after(60):
        await session.wait_until(lambda: all(r.answered_at for r in responses), timeout=60)
    lateness.sort()
    return due, lateness[int(len(lateness) * 0.99)] * 1000 if lateness else 0.0, responses


def _not_ok(responses: Sequence[EsmeResponse], counts: dict[int, int]) -> None:
    for response in responses:
        if response.command_status != CommandStatus.ESME_ROK:
            status = -1 if response.command_status is None else int(response.command_status)
            counts[status] = counts.get(status, 0) + 1


def _log_tails(workdir: Path) -> dict[str, str]:
    return {
        str(path.relative_to(workdir)): path.read_text(errors="replace")[-3000:]
        for path in sorted(workdir.rglob("*"))
        if path.is_file() and path.suffix in (".log", ".out")
    }


def _progress(message: str) -> None:
    print(f"[peers] {message}", file=sys.stderr, flush=True)


async def _run_system(
    system: System, sink: _Sink, streams: dict[str, list[StreamMessage]], args: argparse.Namespace
) -> SystemResult:
    """Start the simulator and ``system``, run every phase, stop both; on failure, show
    the end of the system's logs."""
    phases: dict[str, PhaseResult] = {}
    not_ok: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix=f"peers-{system.name}-") as tmp:
        workdir = Path(tmp)
        try:
            async with open_smsc_simulator(
                {system.system_id: system.password}, window=args.window
            ) as smsc:
                started = time.perf_counter()
                async with system.running(workdir, smsc.port, sink.url):
                    session = await smsc.wait_for_session(timeout=args.start_seconds)
                    seconds = time.perf_counter() - started
                    _progress(f"{system.name}: bound ({session.bind}) after {seconds:.1f} s")
                    await sink.flush(workdir)
                    for name, messages in streams.items():
                        phase = await _run_phase(name, session, messages, sink, workdir, args)
                        phases[name], responses = phase
                        _not_ok(responses, not_ok)
                        score = phases[name].score
                        _progress(
                            f"{system.name}: {name}: {score.arrived:,}/{score.sent:,} arrived,"
                            f" {score.garbled:,} garbled, {score.rate or 0:,.0f} msg/s,"
                            f" latency (ms) {score.latency_ms}"
                        )
        except BaseException:
            for name, tail in _log_tails(workdir).items():
                _progress(f"{system.name}: the end of {name}:\n{tail}")
            raise
        logs = _log_tails(workdir)
    return SystemResult(name=system.name, phases=phases, smpp_not_ok=not_ok, log_tails=logs)


async def _run_phase(
    name: str,
    session: EsmeSession,
    messages: list[StreamMessage],
    sink: _Sink,
    workdir: Path,
    args: argparse.Namespace,
) -> tuple[PhaseResult, list[EsmeResponse]]:
    due: dict[int, float] | None = None
    lag: float | None = None
    # The simulator runs in this process: no collector pauses while it sends (a late
    # send counts against the system measured).
    with collector_paused():
        if name in _FIXED_RATES:
            rate = getattr(args, _FIXED_RATES[name])
            due, lag, responses = await _send_paced(session, messages, rate)
            sent = messages
        else:
            sent, responses = await _send_windowed(session, messages, args.max_seconds)
        await _drain(sink, len(sent), args)
    score = score_phase(sent, await sink.flush(workdir), due)
    return PhaseResult(score=score, send_lag_p99_ms=lag), responses


async def _main(args: argparse.Namespace, systems: list[System], secret: str) -> RunResult:
    streams = {
        "warm-up": build_stream(0, args.warm_up),
        "sustained": build_stream(1, args.messages),
        # More runs of it, each a stream of its own (phases 0 to 3 are taken above).
        **{
            f"sustained-{run}": build_stream(2 + run, args.messages)
            for run in range(2, args.sustained_runs + 1)
        },
        "rate": build_stream(2, round(args.rate * args.rate_seconds)),
        "low-rate": build_stream(3, round(args.low_rate * args.low_rate_seconds)),
    }
    env = {**os.environ, SECRET_ENV: secret}
    command = [sys.executable, str(HERE / "sink.py")]
    process = await trio.lowlevel.open_process(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True
    )
    results: list[SystemResult] = []
    try:
        sink = _Sink(process, secret)
        port = int((await sink.read_line()).split()[1])
        sink.url = f"http://127.0.0.1:{port}"
        for system in systems:
            # One system at a time: each has the machine to itself while it runs.
            result = await _run_system(system, sink, streams, args)
            results.append(result)
    finally:
        with trio.CancelScope(shield=True):
            if process.stdin is not None:
                await process.stdin.aclose()
            with trio.move_on_after(5):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
    settings = {key: str(v) if isinstance(v, Path) else v for key, v in vars(args).items()}
    return RunResult(machine=machine(), command=args.command, args=settings, systems=results)


_OUTPUT_OPTIONS: Final = ("--markdown", "--json")


def _measuring(argv: list[str]) -> list[str]:
    """``argv`` less the options that only say where results go (what was measured stays)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _OUTPUT_OPTIONS:
            skip = True
        elif (
            not arg.startswith(tuple(f"{o}=" for o in _OUTPUT_OPTIONS)) and arg != "--no-results-md"
        ):
            kept.append(arg)
    return kept


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default="septet,kannel,jasmin")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument(
        "--sustained-runs",
        type=int,
        default=3,
        help="how many times the sustained phase runs; the table shows the median rate",
    )
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--low-rate", type=float, default=100.0)
    parser.add_argument("--low-rate-seconds", type=float, default=20.0)
    parser.add_argument("--window", type=int, default=64, help="the SMSC's window")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--grace", type=float, default=20.0)
    parser.add_argument("--start-seconds", type=float, default=120.0)
    parser.add_argument(
        "--septet-concurrency",
        type=int,
        help="Septet's webhook max_concurrency (default: the engine's default policy)",
    )
    parser.add_argument("--markdown", type=Path, default=HERE / "RESULTS-peers.md")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--no-results-md", action="store_true", help="do not update benchmarks/RESULTS.md"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        help="write the tables of an earlier run (its --json file) again, without running",
    )
    args = parser.parse_args(argv)
    if args.from_json:
        earlier = msgspec.json.decode(args.from_json.read_bytes(), type=RunResult)
        write_results(render(earlier), args.markdown, update_results_md=not args.no_results_md)
        return 0
    args.command = "python benchmarks/peers/compare.py" + "".join(f" {a}" for a in _measuring(argv))
    secret = new_secret()
    known: dict[str, System] = {
        "septet": SeptetSystem(secret, max_concurrency=args.septet_concurrency),
        "kannel": KannelSystem(),
        "jasmin": JasminSystem(),
    }
    names = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        parser.error(f"--systems: choose among {', '.join(known)}")
    if args.sustained_runs < 1:
        parser.error("--sustained-runs: at least 1")
    systems = [known[name] for name in names]
    for system in systems:
        system.install()
    result = trio.run(_main, args, systems, secret)
    table = render(result)
    print(table)
    write_results(table, args.markdown, update_results_md=not args.no_results_md)
    if args.json:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
