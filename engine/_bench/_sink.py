"""A webhook receiver for benchmarks, in a process of its own.

:func:`open_webhook_sink` starts it (``python -m engine._bench._sink``) and talks to it
over its standard input and output (see :mod:`._child`):

* sink: ``ready CLOCK PORT`` once it listens on ``127.0.0.1:PORT``;
* ``count``: ``count N``, the distinct message ids received since the last flush;
* ``flush PATH``: the sink writes what it recorded since the last flush to ``PATH``
  (a msgpack :class:`SinkRecords`), forgets it, and answers ``flushed N``;
* end of input: the sink exits.

For each request it records when the request's last byte was read, its ``webhook-id``,
the message's id and text (``data.id`` and ``data.content`` of the body, so the
benchmark can check that every text arrived as it was sent); it verifies every signature
(a native HMAC, about 2 µs) and answers ``200 ok`` on a kept-alive connection. It reads
HTTP/1.1 itself, only as much as its one client (the engine's httpx,
``Content-Length`` bodies) sends: h11 cost about 65 µs a request, more than the rest of
the sink's work. Its CPU time and the connections it accepted are reported with the
records, so a reader can see it was not the bottleneck and whether the client kept its
connections alive.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import msgspec
import trio

from .. import signing
from ..errors import SignatureError
from ._child import Child, LineReader, check_clock, open_child, say, stdin_lines
from ._collector import collect_now

__all__ = ["SinkRecords", "WebhookSink", "open_webhook_sink"]

_SECRET_ENV: Final = "SEPTET_BENCH_SINK_SECRET"
_READ_BYTES: Final = 65536


class SinkRecords(msgspec.Struct, frozen=True, kw_only=True):
    """What the sink received between two flushes, one entry per request in each list."""

    arrivals: list[float]
    """``time.perf_counter()`` when the request's last byte was read."""
    webhook_ids: list[str]
    message_ids: list[str]
    contents: list[str]
    """The message's text as delivered (``data.content``)."""
    bad_signatures: int
    """Requests whose signature did not verify (they were answered 200 all the same)."""
    connections: int
    """Connections accepted: few when the client keeps them alive."""
    cpu_seconds: float
    """The sink's CPU time over the period, parsing and verifying included."""


class WebhookSink:
    """The running sink, as the benchmark sees it; get one from :func:`open_webhook_sink`."""

    def __init__(self, child: Child, workdir: Path):
        self.port = int(child.ready[0])
        self.url = f"http://localhost:{self.port}/hook"
        """Where to deliver: by name, since the webhook destination refuses IP literals."""
        self.pid = child.pid
        self._child = child
        self._workdir = workdir
        self._flushes = 0

    async def count(self) -> int:
        """Distinct message ids received since the last flush."""
        (count,) = await self._child.ask("count", "count")
        return int(count)

    async def wait_for(self, expected: int, grace: float, *, poll: float) -> int:
        """Until the sink has ``expected`` messages, or none new arrived for ``grace``
        seconds, asking every ``poll`` seconds; how many it has then."""
        seen = -1
        progress_at = trio.current_time()
        while (count := await self.count()) < expected:
            if count != seen:
                seen, progress_at = count, trio.current_time()
            elif trio.current_time() - progress_at >= grace:
                break
            await trio.sleep(poll)
        return count

    async def flush(self) -> SinkRecords:
        """Everything received since the last flush (and forget it)."""
        self._flushes += 1
        path = self._workdir / f"sink-{self._flushes}.msgpack"
        await self._child.ask(f"flush {path}", "flushed")
        records = msgspec.msgpack.decode(path.read_bytes(), type=SinkRecords)
        path.unlink()
        return records


@asynccontextmanager
async def open_webhook_sink(
    secret: str, workdir: Path, *, log: Path | None = None
) -> AsyncIterator[WebhookSink]:
    """Start the sink in its own process, verifying signatures with ``secret``; it is
    stopped (killed if it does not exit) when the block ends, whatever ends it.

    ``workdir`` holds the files records are flushed through; the sink's standard error
    goes to ``log`` (else to ours).
    """
    command = [sys.executable, "-m", "engine._bench._sink"]
    env = {_SECRET_ENV: secret}
    async with open_child("webhook sink", command, env=env, log=log) as child:
        yield WebhookSink(child, workdir)


# The sink process ---------------------------------------------------------------------


class _Data(msgspec.Struct, frozen=True):
    id: str
    content: str = ""


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
        self._contents: list[str] = []
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
            data = _decode_envelope(body).data
        except msgspec.DecodeError:
            data = _Data(id="")
        self._arrivals.append(arrived)
        self._webhook_ids.append(webhook_id)
        self._message_ids.append(data.id)
        self._contents.append(data.content)
        self._distinct.add(data.id)

    def count(self) -> int:
        return len(self._distinct)

    def flush(self, path: str) -> int:
        records = SinkRecords(
            arrivals=self._arrivals,
            webhook_ids=self._webhook_ids,
            message_ids=self._message_ids,
            contents=self._contents,
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


async def _obey(recorder: _Recorder, commands: LineReader) -> None:
    """Answer the benchmark's commands until its end of input."""
    while (line := await commands.readline()) is not None:
        command, _, argument = line.partition(" ")
        if command == "count":
            say("count", recorder.count())
        elif command == "flush":
            say("flushed", recorder.flush(argument))
            collect_now()  # between phases: the collector is off (see main)
        else:
            say("unknown", command)


async def _serve(secret: str) -> None:
    recorder = _Recorder(secret)
    commands = stdin_lines()
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
        say("ready", repr(time.perf_counter()), port)
        await _obey(recorder, commands)
        nursery.cancel_scope.cancel()


def main() -> int:
    check_clock()
    secret = os.environ.get(_SECRET_ENV)
    if not secret:
        print(f"set {_SECRET_ENV} to the webhook secret", file=sys.stderr)
        return 2
    # A receiver that pauses records every request in flight late: no automatic
    # collection while it runs, one after each flush (see _collector).
    gc.disable()
    try:
        trio.run(_serve, secret)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
