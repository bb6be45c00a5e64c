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
computed by Twilio's own SDK (``twilio.request_validator``). The client is a loop over
``selectors`` (epoll) and blocking sockets with ``TCP_NODELAY``: one ``send`` and one
``recv`` per request, a minimal HTTP/1.1 response reader (``Content-Length`` bodies, as
the engine sends them) and kept-alive connections, reopened should the server close one.
h11 or trio would cost the generator tens of µs a request on a machine whose other core
serves them.

* **Closed loop**: every connection sends its next request as soon as it has the answer
  to the last, until the phase's seconds are over; latency from send to answer.
* **Open loop**: request k is due ``k / rate`` seconds after the start, whatever
  happened before; a due request waits for a free connection, and its latency counts
  from the moment it was due (coordinated omission corrected). The loop wakes when the
  next request falls due (epoll's timeout has 1 ms resolution: a request may go out up
  to about 1 ms late, which counts against the server; ``send_lag`` measures it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final
from urllib.parse import urlencode, urlsplit

import msgspec
import trio
from engine_load import NUMBERS, TEXTS
from hdrh.histogram import HdrHistogram
from webhook_sink import _LineReader, _stop

__all__ = ["LoadPlan", "PhaseResult", "open_load_generator"]

_READ_BYTES: Final = 65536
_HEAD_END: Final = b"\r\n\r\n"
_TWIML: Final = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
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


def message_sid(index: int) -> str:
    return f"SM{index:032x}"


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


def sign_requests(url: str, auth_token: str, first: int, count: int) -> list[bytes]:
    """Requests ``first`` to ``first + count - 1``, whole (head and body), signed."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(auth_token)
    parts = urlsplit(url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "User-Agent: TwilioProxy/1.1\r\nAccept: */*\r\n"
    )
    requests: list[bytes] = []
    for index in range(first, first + count):
        fields = _form(index)
        body = urlencode(fields).encode()
        signature = validator.compute_signature(url, fields)
        requests.append(
            f"{head}X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return requests


class _ParentGone(Exception):
    """The benchmark closed our standard input: stop now."""


class _Connection:
    def __init__(self, address: tuple[str, int], selector: selectors.BaseSelector) -> None:
        self._address = address
        self._selector = selector
        self.buffer = bytearray()
        self.index = -1
        """The request in flight, or -1."""
        self.started = 0.0
        self.sock = self._open()

    def _open(self) -> socket.socket:
        sock = socket.create_connection(self._address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._selector.register(sock, selectors.EVENT_READ, self)
        return sock

    def reopen(self) -> None:
        self.close()
        self.buffer.clear()
        self.sock = self._open()

    def close(self) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(self.sock)
        self.sock.close()

    def send(self, index: int, request: bytes, started: float) -> None:
        self.index, self.started = index, started
        self.sock.sendall(request)

    def answer(self) -> tuple[int, bytes, bool] | None:
        """The status, body and whether the server closes, once the whole answer is in."""
        end = self.buffer.find(_HEAD_END)
        if end < 0:
            return None
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise ValueError("only Content-Length answers are read")
        stop = end + len(_HEAD_END) + length
        if len(self.buffer) < stop:
            return None
        body = bytes(self.buffer[end + len(_HEAD_END) : stop])
        del self.buffer[:stop]
        return status, body, close


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, _MAX_MICROSECONDS, 3)


def _record(histogram: HdrHistogram, seconds: float) -> None:
    histogram.record_value(min(_MAX_MICROSECONDS, max(1, int(seconds * 1e6))))


class _Generator:
    def __init__(self, plan: LoadPlan, requests: list[bytes]) -> None:
        parts = urlsplit(plan.url)
        assert parts.hostname is not None
        assert parts.port is not None
        self._plan = plan
        self._requests = requests
        self._next = 0
        self._limit = len(requests)
        self._selector = selectors.DefaultSelector()
        self._stdin = sys.stdin.fileno()
        os.set_blocking(self._stdin, False)
        self._selector.register(self._stdin, selectors.EVENT_READ, None)
        self._address = (parts.hostname, parts.port)
        self._connections = [
            _Connection(self._address, self._selector) for _ in range(plan.connections)
        ]
        self._opened = len(self._connections)

    def start_at(self, index: int) -> None:
        """Send request ``index`` next; the closed loop then stops at the last one."""
        self._next = index

    def limit_closed_loop(self, count: int) -> None:
        """Let a closed loop use the first ``count`` requests only."""
        self._limit = count

    def close(self) -> None:
        for connection in self._connections:
            connection.close()
        self._selector.close()

    def run_phase(self, name: str, seconds: float, rate: float | None) -> PhaseResult:
        latency, send_lag = _histogram(), _histogram()
        ok: list[int] = []
        errors: dict[str, int] = {}
        opened_before, cpu_before = self._opened, time.process_time()
        idle = deque(self._connections)
        busy = 0
        waiting: deque[tuple[int, float]] = deque()  # open loop: due, not yet sent
        total = int(rate * seconds) if rate else 0
        scheduled = sent = 0
        signed_out = False
        started = last_answer = time.perf_counter()
        deadline = started + seconds

        def error(kind: str) -> None:
            errors[kind] = errors.get(kind, 0) + 1

        def take() -> int:
            index = self._next
            self._next += 1
            return index

        while True:
            now = time.perf_counter()
            if rate:
                due_count = min(total, int((now - started) * rate) + 1)
                while scheduled < due_count:
                    waiting.append((take(), started + scheduled / rate))
                    scheduled += 1
                while waiting and idle:
                    index, due = waiting.popleft()
                    idle.popleft().send(index, self._requests[index], due)
                    _record(send_lag, time.perf_counter() - due)
                    busy += 1
                    sent += 1
                finished = scheduled == total and not waiting
                # With requests waiting for a connection, only an answer can send one:
                # the next due time (maybe past already) would spin the loop.
                wake = None if finished or waiting else started + scheduled / rate
            else:
                while idle and now < deadline:
                    if self._next >= self._limit:
                        signed_out = True
                        break
                    index = take()
                    idle.popleft().send(index, self._requests[index], time.perf_counter())
                    busy += 1
                    sent += 1
                finished = now >= deadline or signed_out
                wake = None if finished else deadline
            if finished and not busy:
                break
            if finished and now > max(deadline, last_answer) + self._plan.drain_seconds:
                for connection in self._connections:
                    if connection.index >= 0:
                        error("no answer")
                        connection.index = -1
                        connection.reopen()
                        self._opened += 1
                break
            timeout = self._plan.drain_seconds if wake is None else max(0.0, wake - now)
            for key, _ in self._selector.select(timeout):
                connection = key.data
                if connection is None:
                    if not os.read(self._stdin, _READ_BYTES):
                        raise _ParentGone
                    continue
                assert isinstance(connection, _Connection)
                data = connection.sock.recv(_READ_BYTES)
                answered = time.perf_counter()
                if not data:
                    if connection.index >= 0:
                        error("connection closed before the answer")
                        busy -= 1
                        connection.index = -1
                        idle.append(connection)
                    connection.reopen()
                    self._opened += 1
                    continue
                connection.buffer += data
                answer = connection.answer()
                if answer is None:
                    continue
                status, body, close = answer
                if connection.index < 0:
                    error("answer without a request")
                    continue
                if status != 200:
                    error(f"status {status}")
                elif body != _TWIML:
                    error("200 without empty TwiML")
                else:
                    ok.append(connection.index)
                    _record(latency, answered - connection.started)
                last_answer = answered
                connection.index = -1
                busy -= 1
                if close:
                    connection.reopen()
                    self._opened += 1
                idle.append(connection)
        return PhaseResult(
            name=name,
            rate=rate,
            sent=sent,
            ok=ok,
            errors=errors,
            seconds=last_answer - started,
            latency=latency.encode(),
            send_lag=send_lag.encode() if rate else b"",
            connections_opened=self._opened - opened_before,
            cpu_seconds=time.process_time() - cpu_before,
            signed_out=signed_out,
        )


def _run(plan: LoadPlan, out: Path) -> None:
    began = time.perf_counter()
    closed_count = int(plan.max_rate * (plan.warm_up_seconds + plan.throughput_seconds))
    requests = sign_requests(
        plan.url, plan.auth_token, 0, closed_count + int(plan.rate * plan.paced_seconds)
    )
    print(f"signed {len(requests)} {time.perf_counter() - began:.1f}", flush=True)
    generator = _Generator(plan, requests)
    generator.limit_closed_loop(closed_count)
    results: list[PhaseResult] = []
    phases: list[tuple[str, float, float | None]] = [
        ("warm-up", plan.warm_up_seconds, None),
        ("throughput", plan.throughput_seconds, None),
    ]
    try:
        for name, seconds, rate in phases:
            print(f"begin {name}", flush=True)
            results.append(generator.run_phase(name, seconds, rate))
            print(f"end {name}", flush=True)
        # The open loop's requests come after every closed-loop one, whatever was used.
        generator.start_at(closed_count)
        print("begin paced", flush=True)
        results.append(generator.run_phase("paced", plan.paced_seconds, plan.rate))
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
    except (_ParentGone, KeyboardInterrupt):
        return 130
    return 0


# The benchmark's side ----------------------------------------------------------------


class LoadGenerator:
    """The running generator, as the benchmark sees it."""

    def __init__(self, process: trio.Process, lines: _LineReader, out: Path) -> None:
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
        yield LoadGenerator(process, _LineReader(process.stdout), out)
    finally:
        with trio.CancelScope(shield=True):
            await _stop(process)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
