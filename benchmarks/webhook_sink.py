"""A webhook receiver for the delivery benchmark, in a process of its own.

:func:`open_webhook_sink` starts it (``python benchmarks/webhook_sink.py``) and talks
to it over its standard input and output, one line each way:

* sink: ``ready PORT CLOCK`` once it listens on ``127.0.0.1:PORT`` (``CLOCK``: its
  ``time.perf_counter()`` at that moment);
* ``count``: ``count N``, the distinct message ids received since the last flush;
* ``flush PATH``: the sink writes what it recorded since the last flush to ``PATH``
  (a msgpack :class:`SinkRecords`), forgets it, and answers ``flushed N``;
* end of input: the sink exits. Its input is a pipe from the benchmark, so it ends
  however the benchmark does, even killed.

For each request it records when the request's last byte was read, its
``webhook-id`` and the message id (``data.id`` of the body); it verifies every
signature (a native HMAC, about 2 µs) and answers ``200 ok`` on a kept-alive
connection. It reads HTTP/1.1 itself, only as much as its one client (the engine's
httpx, ``Content-Length`` bodies) sends: h11 cost about 65 µs a request, more than
the rest of the sink's work. Its CPU time and the connections it accepted are
reported with the records, so a reader can see it was not the bottleneck and whether
the client kept its connections alive.

The arrival times compare with the benchmark's own: on Linux ``time.perf_counter()``
is ``clock_gettime(CLOCK_MONOTONIC)``, one clock for the whole machine whichever
process reads it. Both sides check that this is the clock in use, and the benchmark
checks the sink's ``CLOCK`` lies between its own readings before the start and after
the ``ready`` line.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import msgspec
import trio

from engine import signing
from engine.errors import SignatureError

__all__ = ["SinkRecords", "WebhookSink", "check_clock", "open_webhook_sink"]

_SECRET_ENV: Final = "WEBHOOK_SINK_SECRET"
_READ_BYTES: Final = 65536
_START_SECONDS: Final = 30.0
_STOP_SECONDS: Final = 5.0


class SinkRecords(msgspec.Struct, frozen=True, kw_only=True):
    """What the sink received between two flushes, one entry per request in each list."""

    arrivals: list[float]
    """``time.perf_counter()`` when the request's last byte was read."""
    webhook_ids: list[str]
    message_ids: list[str]
    bad_signatures: int
    """Requests whose signature did not verify (they were answered 200 all the same)."""
    connections: int
    """Connections accepted: few when the client keeps them alive."""
    cpu_seconds: float
    """The sink's CPU time over the period, parsing and verifying included."""


def check_clock() -> None:
    """Refuse to run unless ``time.perf_counter()`` is the machine-wide monotonic clock."""
    info = time.get_clock_info("perf_counter")
    if "CLOCK_MONOTONIC" not in info.implementation:
        raise RuntimeError(
            f"time.perf_counter() is {info.implementation}, not CLOCK_MONOTONIC: "
            "times taken in two processes would not compare"
        )


class _LineReader:
    """Lines from a trio stream, without their end of line; None at end of input."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def readline(self) -> str | None:
        while (end := self._buffer.find(b"\n")) < 0:
            data = await self._stream.receive_some(_READ_BYTES)
            if not data:
                return None
            self._buffer += data
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line.decode()


class WebhookSink:
    """The running sink, as the benchmark sees it; get one from :func:`open_webhook_sink`."""

    def __init__(self, process: trio.Process, lines: _LineReader, port: int, workdir: Path):
        self.port = port
        self.url = f"http://localhost:{port}/hook"
        """Where to deliver: by name, since the webhook destination refuses IP literals."""
        self._process = process
        self._lines = lines
        self._workdir = workdir
        self._flushes = 0

    async def count(self) -> int:
        """Distinct message ids received since the last flush."""
        (count,) = await self._ask("count", "count")
        return int(count)

    async def flush(self) -> SinkRecords:
        """Everything received since the last flush (and forget it)."""
        self._flushes += 1
        path = self._workdir / f"sink-{self._flushes}.msgpack"
        await self._ask(f"flush {path}", "flushed")
        records = msgspec.msgpack.decode(path.read_bytes(), type=SinkRecords)
        path.unlink()
        return records

    async def _ask(self, command: str, answer: str) -> list[str]:
        assert self._process.stdin is not None
        await self._process.stdin.send_all(f"{command}\n".encode())
        line = await self._lines.readline()
        words = [] if line is None else line.split()
        if not words or words[0] != answer:
            raise RuntimeError(f"the webhook sink answered {line!r} to {command!r}")
        return words[1:]


@asynccontextmanager
async def open_webhook_sink(secret: str, workdir: Path) -> AsyncIterator[WebhookSink]:
    """Start the sink in its own process, verifying signatures with ``secret``; it is
    stopped (killed if it does not exit) when the block ends, whatever ends it.

    ``workdir`` holds the files records are flushed through.
    """
    check_clock()
    before = time.perf_counter()
    process = await trio.lowlevel.open_process(
        [sys.executable, str(Path(__file__).resolve())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, _SECRET_ENV: secret},
        # Its own session: a Ctrl-C reaches the benchmark, which then stops the sink
        # in order, rather than both at once.
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        lines = _LineReader(process.stdout)
        with trio.fail_after(_START_SECONDS):
            ready = await lines.readline()
        after = time.perf_counter()
        words = [] if ready is None else ready.split()
        if len(words) != 3 or words[0] != "ready":
            raise RuntimeError(f"the webhook sink did not start (it said {ready!r})")
        clock = float(words[2])
        if not before <= clock <= after:
            raise RuntimeError(
                f"the sink's perf_counter ({clock}) is not between the benchmark's "
                f"({before}, {after}): the two processes do not share a clock"
            )
        yield WebhookSink(process, lines, int(words[1]), workdir)
    finally:
        with trio.CancelScope(shield=True):
            await _stop(process)


async def _stop(process: trio.Process) -> None:
    if process.stdin is not None:
        with contextlib.suppress(trio.BrokenResourceError):
            await process.stdin.aclose()  # end of input: the sink exits
    with trio.move_on_after(_STOP_SECONDS):
        await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()


# The sink process ---------------------------------------------------------------------


class _Data(msgspec.Struct, frozen=True):
    id: str


class _Envelope(msgspec.Struct, frozen=True):
    data: _Data


_decode_envelope = msgspec.json.Decoder(_Envelope).decode


class _Recorder:
    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._reset()

    def _reset(self) -> None:
        self._arrivals: list[float] = []
        self._webhook_ids: list[str] = []
        self._message_ids: list[str] = []
        self._distinct: set[str] = set()
        self._bad_signatures = 0
        self.connections = 0
        self._cpu_started = time.process_time()

    def record(self, arrived: float, headers: dict[bytes, bytes], body: bytes) -> None:
        webhook_id = headers.get(b"webhook-id", b"").decode("latin-1")
        try:
            signing.verify(
                self._secret,
                webhook_id,
                headers.get(b"webhook-timestamp", b"").decode("latin-1"),
                body,
                headers.get(b"webhook-signature", b"").decode("latin-1"),
            )
        except SignatureError:
            self._bad_signatures += 1
        try:
            message_id = _decode_envelope(body).data.id
        except msgspec.DecodeError:
            message_id = ""
        self._arrivals.append(arrived)
        self._webhook_ids.append(webhook_id)
        self._message_ids.append(message_id)
        self._distinct.add(message_id)

    def count(self) -> int:
        return len(self._distinct)

    def flush(self, path: str) -> int:
        records = SinkRecords(
            arrivals=self._arrivals,
            webhook_ids=self._webhook_ids,
            message_ids=self._message_ids,
            bad_signatures=self._bad_signatures,
            connections=self.connections,
            cpu_seconds=time.process_time() - self._cpu_started,
        )
        Path(path).write_bytes(msgspec.msgpack.encode(records))
        self._reset()
        return len(records.arrivals)


_OK: Final = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
_HEAD_END: Final = b"\r\n\r\n"
_MAX_HEAD: Final = 65536


class _BadRequest(Exception):
    """Not a request this sink reads (it only needs what httpx sends)."""


def _parse_head(head: bytes) -> dict[bytes, bytes]:
    """The header fields of a request head, names lowercased."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"POST "):
        raise _BadRequest(lines[0][:80])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise _BadRequest(line[:80])
        headers[name.strip().lower()] = value.strip()
    if b"transfer-encoding" in headers or b"content-length" not in headers:
        raise _BadRequest(b"only Content-Length bodies are read")
    return headers


async def _serve_connection(recorder: _Recorder, stream: trio.SocketStream) -> None:
    """Read requests off one kept-alive connection and answer each ``200 ok``.

    A minimal HTTP/1.1 reader rather than h11: the sink must cost the machine as little
    as possible, and its one client (httpx) always sends a ``Content-Length`` body.
    Anything else closes the connection, which the engine would report as a failure.
    """
    recorder.connections += 1
    buffer = bytearray()
    arrived = 0.0

    async def read() -> bool:
        nonlocal arrived
        data = await stream.receive_some(_READ_BYTES)
        arrived = time.perf_counter()  # the read that completes a request dates it
        buffer.extend(data)
        return bool(data)

    try:
        while True:
            while (end := buffer.find(_HEAD_END)) < 0:
                if len(buffer) > _MAX_HEAD or not await read():
                    return
            headers = _parse_head(bytes(buffer[:end]))
            start = end + len(_HEAD_END)
            stop = start + int(headers[b"content-length"])
            while len(buffer) < stop:
                if not await read():
                    return
            body = bytes(buffer[start:stop])
            del buffer[:stop]
            recorder.record(arrived, headers, body)
            await stream.send_all(_OK)
            if headers.get(b"connection", b"").lower() == b"close":
                return
    except (_BadRequest, ValueError, trio.BrokenResourceError, trio.ClosedResourceError):
        return
    finally:
        await trio.aclose_forcefully(stream)


async def _obey(recorder: _Recorder, commands: _LineReader) -> None:
    """Answer the benchmark's commands until its end of input."""
    while (line := await commands.readline()) is not None:
        command, _, argument = line.partition(" ")
        if command == "count":
            answer = f"count {recorder.count()}"
        elif command == "flush":
            answer = f"flushed {recorder.flush(argument)}"
        else:
            answer = f"unknown {command}"
        print(answer, flush=True)


async def _serve(secret: str) -> None:
    recorder = _Recorder(secret)
    commands = _LineReader(trio.lowlevel.FdStream(os.dup(sys.stdin.fileno())))
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(
                trio.serve_tcp,
                functools.partial(_serve_connection, recorder),
                0,
                host="127.0.0.1",
                backlog=1024,
            )
        )
        port = listeners[0].socket.getsockname()[1]
        print(f"ready {port} {time.perf_counter()!r}", flush=True)
        await _obey(recorder, commands)
        nursery.cancel_scope.cancel()


def main() -> int:
    check_clock()
    secret = os.environ.get(_SECRET_ENV)
    if not secret:
        print(f"set {_SECRET_ENV} to the webhook secret", file=sys.stderr)
        return 2
    try:
        trio.run(_serve, secret)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
