"""A load generator of signed Twilio webhooks for ``http_load.py``, in a process of its own.

:func:`open_load_generator` starts it (``python benchmarks/twilio_load_generator.py``
with the plan as arguments) and reads its standard output, one line per event:

* ``signed N SECONDS``: every request of the plan is built and signed (before any timed
  phase, so signing costs the phases nothing);
* ``begin PHASE`` and ``end PHASE`` around each phase (``warm-up``, ``throughput``,
  ``paced``), so the benchmark can read its own CPU time at the same moments;
* ``done``: the results are in the ``--out`` file (a msgpack list of
  :class:`PhaseResult`).

End of its standard input (a pipe from the benchmark, so however the benchmark ends, even
killed) stops it at once, mid-phase included.

Each request is a POST of the form Twilio sends for an inbound SMS, with its own
``MessageSid``, a sender and a text with a code that vary, and an ``X-Twilio-Signature``
computed by Twilio's own SDK (``twilio.request_validator``), so the engine's check is
held to Twilio's scheme and not to ours. The client, closed and open loops, is
:class:`engine._bench._http_load.HttpLoad` (kept-alive connections over raw sockets, a
minimal HTTP/1.1 reader): this process builds the requests and turns what each phase
recorded into HDR histograms.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import msgspec
import trio
from engine_load import NUMBERS, TEXTS
from hdrh.histogram import HdrHistogram

from engine._bench._child import LineReader, stop_process
from engine._bench._http_load import HttpLoad, ParentGoneError, PhaseRecords, sign_requests
from engine._bench._messages import message_sid

__all__ = ["LoadPlan", "PhaseResult", "message_sid", "open_load_generator"]

_ACCOUNT: Final = "AC" + "0" * 32
_SENDERS: Final = [f"+1415555{n:04d}" for n in range(200)] + ["Acme", "VERIFY", "Bank"]
_MAX_MICROSECONDS: Final = 60_000_000


class LoadPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What the generator does, in order: warm-up, throughput, paced."""

    url: str
    """The carrier's webhook, as signed: ``http://127.0.0.1:PORT/carriers/NAME``."""
    auth_token: str
    connections: int
    warm_up_seconds: float
    throughput_seconds: float
    max_rate: float
    """Requests per second the closed loop is signed for; it stops early past that."""
    rate: float
    paced_seconds: float
    drain_seconds: float
    """How long a phase waits for the answers still outstanding when it ends."""


class PhaseResult(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    rate: float | None
    """Requests per second it was paced at; None for a closed loop."""
    sent: int
    ok: list[int]
    """The indices (``MessageSid``) of the requests answered ``200`` with empty TwiML."""
    errors: dict[str, int]
    """Everything else, by kind: ``status 503``, ``not TwiML``, ``no answer``..."""
    seconds: float
    """From the phase's start to its last answer."""
    latency: bytes
    """An encoded HdrHistogram, µs: send (closed loop) or due (open loop) to answer."""
    send_lag: bytes
    """An encoded HdrHistogram, µs: due to sent (open loop; empty for a closed loop)."""
    connections_opened: int
    cpu_seconds: float
    """The generator's own CPU time over the phase."""
    signed_out: bool = False
    """The closed loop ran out of signed requests before its time was over."""


def _form(index: int) -> dict[str, str]:
    """Request ``index``'s fields, as Twilio sends them for an inbound SMS."""
    to = NUMBERS[index % len(NUMBERS)]
    sender = _SENDERS[index % len(_SENDERS)]
    text = TEXTS[index % len(TEXTS)].format(code=f"{(index * 7919) % 1_000_000:06d}")
    sid = message_sid(index)
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": text,
        "FromCountry": "US",
        "To": to,
        "ToZip": "94105",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": _ACCOUNT,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, _MAX_MICROSECONDS, 3)


def _record(histogram: HdrHistogram, seconds: float) -> None:
    histogram.record_value(min(_MAX_MICROSECONDS, max(1, int(seconds * 1e6))))


def phase_result(records: PhaseRecords) -> PhaseResult:
    """The histograms of a phase: latency of the requests answered ``200`` with TwiML
    (from when due, open loop, or sent, closed loop), and the send lag (open loop)."""
    latency, send_lag = _histogram(), _histogram()
    ok: list[int] = []
    for index, due, sent, answered, good in zip(
        records.indices, records.due, records.sent, records.answered, records.ok, strict=True
    ):
        if records.rate:
            _record(send_lag, sent - due)
        if good and not math.isnan(answered):
            ok.append(index)
            _record(latency, answered - due)
    return PhaseResult(
        name=records.name,
        rate=records.rate,
        sent=len(records.indices),
        ok=ok,
        errors=records.errors,
        seconds=records.seconds,
        latency=latency.encode(),
        send_lag=send_lag.encode() if records.rate else b"",
        connections_opened=records.connections_opened,
        cpu_seconds=records.cpu_seconds,
        signed_out=records.signed_out,
    )


def _run(plan: LoadPlan, out: Path) -> None:
    from twilio.request_validator import RequestValidator

    began = time.perf_counter()
    closed_count = int(plan.max_rate * (plan.warm_up_seconds + plan.throughput_seconds))
    total = closed_count + int(plan.rate * plan.paced_seconds)
    validator = RequestValidator(plan.auth_token)
    requests = sign_requests(
        plan.url, [_form(index) for index in range(total)], validator.compute_signature
    )
    print(f"signed {len(requests)} {time.perf_counter() - began:.1f}", flush=True)
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    generator = HttpLoad(plan.url, plan.connections, plan.drain_seconds, watch_fd=stdin)
    generator.load(requests)
    generator.limit_closed_loop(closed_count)
    results: list[PhaseResult] = []
    phases: list[tuple[str, float, float | None]] = [
        ("warm-up", plan.warm_up_seconds, None),
        ("throughput", plan.throughput_seconds, None),
    ]
    try:
        for name, seconds, rate in phases:
            print(f"begin {name}", flush=True)
            results.append(phase_result(generator.run_phase(name, seconds, rate)))
            print(f"end {name}", flush=True)
        # The open loop's requests come after every closed-loop one, whatever was used.
        generator.start_at(closed_count)
        print("begin paced", flush=True)
        results.append(phase_result(generator.run_phase("paced", plan.paced_seconds, plan.rate)))
        print("end paced", flush=True)
    finally:
        generator.close()
    out.write_bytes(msgspec.msgpack.encode(results))
    print("done", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("plan", help="the LoadPlan, as JSON")
    args = parser.parse_args(argv)
    plan = msgspec.json.decode(args.plan, type=LoadPlan)
    try:
        _run(plan, args.out)
    except (ParentGoneError, KeyboardInterrupt):
        return 130
    return 0


# The benchmark's side ----------------------------------------------------------------


class LoadGenerator:
    """The running generator, as the benchmark sees it."""

    def __init__(self, process: trio.Process, lines: LineReader, out: Path) -> None:
        self._process = process
        self._lines = lines
        self._out = out

    async def run(self, on_event: Callable[[str, str], None], timeout: float) -> list[PhaseResult]:
        """Wait for the plan to run (``on_event(begin|end, phase)`` as it goes) and
        return every phase's result."""
        with trio.fail_after(timeout):
            while (line := await self._lines.readline()) != "done":
                if line is None:
                    raise RuntimeError("the load generator stopped before it was done")
                event, _, phase = line.partition(" ")
                on_event(event, phase)
        return msgspec.msgpack.decode(self._out.read_bytes(), type=list[PhaseResult])


@asynccontextmanager
async def open_load_generator(plan: LoadPlan, workdir: Path) -> AsyncIterator[LoadGenerator]:
    """Start the generator in its own process; it is stopped (killed if it does not exit)
    when the block ends, whatever ends it."""
    out = workdir / "load-results.msgpack"
    process = await trio.lowlevel.open_process(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            f"--out={out}",
            msgspec.json.encode(plan).decode(),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        # Its own session: a Ctrl-C reaches the benchmark, which then stops the generator.
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        yield LoadGenerator(process, LineReader(process.stdout), out)
    finally:
        with trio.CancelScope(shield=True):
            await stop_process(process)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
