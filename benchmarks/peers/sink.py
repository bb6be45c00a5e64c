"""The HTTP receiver every compared system forwards its inbound SMS to, in a process of its own.

Each system posts in its own documented way, to a path of its own on ``127.0.0.1``:

* ``POST /septet``: Septet's webhook destination, a Standard Webhooks signed JSON
  envelope (``data.senderId``, ``data.content``). The signature is verified on arrival,
  as a receiver must; a bad one is answered 401 (problem+json) and counted.
* ``POST /jasmin``: Jasmin's HTTP client connector, a form with ``from``, ``to``,
  ``coding``, ``content`` (the raw ``short_message``) and ``binary`` (its hex). Jasmin
  wants the body ``ACK/Jasmin`` back, or it queues the message again.
* ``GET /kannel``: Kannel's ``get-url`` with the query this benchmark's sms-service
  asks for: ``from=%p``, ``coding=%c``, ``charset=%C``, ``udh=%u`` and ``text=%b``
  (the message as it arrived, byte for byte; ``%a`` would fold its white space).

For each request the sink records ``time.perf_counter()`` when its last byte was read
(CLOCK_MONOTONIC: one clock for every process of the machine, checked at start), the
wall-clock time (for the signature's timestamp check) and the request itself. Turning a
request into a sender and a text (:func:`decode_request`) is left to the benchmark,
after the run, so that it costs the measured systems no CPU while they run.

Control is one line each way over standard input and output:

* sink: ``ready PORT`` once it listens;
* ``count``: ``count N``, requests received since the last flush;
* ``flush PATH``: writes those requests to ``PATH`` (msgpack, a list of
  :class:`RawRequest`), forgets them, answers ``flushed N``;
* end of input: the sink exits, so it ends however the benchmark does.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl

import httptools
import msgspec
import trio

from engine import signing
from engine._bench._collector import collect_now
from engine.codec import gsm7_decode, ucs2_decode
from engine.errors import Gsm7Error, SignatureError

__all__ = [
    "SECRET_ENV",
    "Arrival",
    "RawRequest",
    "decode_jasmin",
    "decode_kannel",
    "decode_request",
    "decode_septet",
    "main",
]

SECRET_ENV: Final = "PEER_SINK_SECRET"
"""The environment variable that hands the sink Septet's webhook signing secret."""

_KEPT_HEADERS: Final = frozenset({"webhook-id", "webhook-timestamp", "webhook-signature"})
_ANSWERS: Final = {
    "/septet": (b"200 OK", b"text/plain", b"ok"),
    "/jasmin": (b"200 OK", b"text/plain", b"ACK/Jasmin"),
    "/kannel": (b"200 OK", b"text/plain", b""),
}
_METHODS: Final = {"/septet": b"POST", "/jasmin": b"POST", "/kannel": b"GET"}
_MAX_BODY: Final = 1 << 20


class RawRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One request as the sink received it."""

    arrival: float
    """``time.perf_counter()`` when its last byte was read."""
    wall: float
    """``time.time()`` at the same moment."""
    path: str
    query: bytes = b""
    body: bytes = b""
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    """The ``webhook-*`` headers (lower-cased names); no others are kept."""
    signature_ok: bool | None = None
    """For ``/septet``: whether the signature verified (None elsewhere)."""


class Arrival(msgspec.Struct, frozen=True, kw_only=True):
    """What a consumer of the system made of one request."""

    system: str
    arrival: float
    sender: str
    text: str | None
    """The decoded text; None when it could not be decoded (``problem`` says why)."""
    problem: str | None = None


# --- decoding, the way each system's documentation tells a consumer to ------------------


def decode_request(request: RawRequest, secret: str) -> Arrival:
    """The sender and text of ``request``, by the path it came to."""
    if request.path == "/septet":
        return decode_septet(request, secret)
    if request.path == "/jasmin":
        return decode_jasmin(request)
    if request.path == "/kannel":
        return decode_kannel(request)
    return Arrival(system="?", arrival=request.arrival, sender="", text=None, problem="bad path")


_Envelope = msgspec.json.Decoder(dict[str, object])


def decode_septet(request: RawRequest, secret: str) -> Arrival:
    """A Standard Webhooks envelope: ``data.senderId`` and ``data.content``, trusted only
    when the signature verifies."""
    problem: str | None = None
    if request.signature_ok is None:
        try:
            signing.verify_headers(secret, request.headers, request.body, now=request.wall)
        except SignatureError as exc:
            problem = f"signature: {exc}"
    elif not request.signature_ok:
        problem = "signature did not verify"
    try:
        envelope = _Envelope.decode(request.body)
        data = envelope["data"]
        if not isinstance(data, dict):
            raise TypeError("data is not an object")
        sender, text = str(data["senderId"]), data["content"]
        if not isinstance(text, str):
            raise TypeError("content is not a string")
        flags = data.get("flags") or []
        if isinstance(flags, list) and "incomplete" in flags:
            problem = problem or "flagged incomplete"
    except (msgspec.DecodeError, KeyError, TypeError) as exc:
        return _undecodable("septet", request, f"body: {exc}")
    return Arrival(
        system="septet", arrival=request.arrival, sender=sender, text=text, problem=problem
    )


def decode_jasmin(request: RawRequest) -> Arrival:
    """Jasmin's form: the octets of ``binary`` (hex), decoded by the SMPP ``coding``:
    0 the SMSC default alphabet (GSM 03.38, one septet per octet), 8 UCS-2 (UTF-16BE),
    3 Latin-1, 1 ASCII. ``content`` holds the same octets undecoded: Jasmin decodes
    no text for the receiver."""
    try:
        body = request.body.decode("ascii")
        fields = dict(parse_qsl(body, keep_blank_values=True, encoding="latin-1"))
        sender, coding, octets = fields["from"], fields.get("coding", "0"), fields["binary"]
        data = bytes.fromhex(octets)
    except (UnicodeDecodeError, KeyError, ValueError) as exc:
        return _undecodable("jasmin", request, f"form: {exc}")
    # Jasmin 0.11 sends the data_coding octet itself (``coding=%08``), not its number.
    if len(coding) == 1 and not coding.isdigit():
        coding = str(ord(coding))
    return _decode_octets("jasmin", request, sender, data, coding)


def decode_kannel(request: RawRequest) -> Arrival:
    """Kannel's ``get-url``: ``text`` (``%b``) is the message's octets in the charset
    ``charset`` (``%C``) names: ``UTF-8`` for 7-bit messages (Kannel converts the GSM
    alphabet to its internal UTF-8), ``UTF-16BE`` for UCS-2 (``coding`` 2), ``GSM`` for
    septets left as they were; ``coding`` 1 is binary, no text."""
    try:
        query = request.query.decode("ascii")
        fields = dict(parse_qsl(query, keep_blank_values=True, encoding="latin-1"))
        sender, coding, charset = fields["from"], fields.get("coding", "0"), fields["charset"]
        data = fields["text"].encode("latin-1")
    except (UnicodeDecodeError, KeyError) as exc:
        return _undecodable("kannel", request, f"query: {exc}")
    if fields.get("udh"):
        problem = "a part, not the whole message (a UDH came with it)"
        return _undecodable("kannel", request, problem, sender)
    if coding == "1":
        return _undecodable("kannel", request, "coding 1 (8-bit binary)", sender)
    if coding == "2" or charset.upper() in ("UTF-16BE", "UCS-2", "UCS2"):
        return _decode_octets("kannel", request, sender, data, "8")
    if charset.upper() == "GSM":
        return _decode_octets("kannel", request, sender, data, "0")
    try:
        text = data.decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        return _undecodable("kannel", request, f"charset {charset}: {exc}", sender)
    return Arrival(system="kannel", arrival=request.arrival, sender=sender, text=text)


def _decode_octets(
    system: str, request: RawRequest, sender: str, data: bytes, coding: str
) -> Arrival:
    try:
        if coding == "0":
            text = gsm7_decode(data)
        elif coding == "8":
            text = ucs2_decode(data)
        elif coding == "3":
            text = data.decode("latin-1")
        elif coding == "1":
            text = data.decode("ascii")
        else:
            return _undecodable(system, request, f"coding {coding}", sender)
    except (Gsm7Error, UnicodeDecodeError, ValueError) as exc:
        return _undecodable(system, request, f"coding {coding}: {exc}", sender)
    return Arrival(system=system, arrival=request.arrival, sender=sender, text=text)


def _undecodable(system: str, request: RawRequest, problem: str, sender: str = "") -> Arrival:
    return Arrival(
        system=system, arrival=request.arrival, sender=sender, text=None, problem=problem
    )


# --- the server ---------------------------------------------------------------------------


class _Sink:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.requests: list[RawRequest] = []

    async def serve_connection(self, stream: trio.SocketStream) -> None:
        connection = _Connection(self)
        parser = connection.parser = httptools.HttpRequestParser(connection)
        try:
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                parser.feed_data(data)
                if connection.answers:
                    await stream.send_all(b"".join(connection.answers))
                    connection.answers.clear()
                if connection.close:
                    return
        except (httptools.HttpParserError, trio.BrokenResourceError):
            return
        finally:
            await trio.aclose_forcefully(stream)

    def respond(self, connection: _Connection) -> bytes:
        arrival, wall = time.perf_counter(), time.time()
        path, _, query = connection.url.partition(b"?")
        name = path.decode("latin-1")
        if name not in _ANSWERS:
            return _problem(b"404 Not Found", "no such receiver")
        if connection.method != _METHODS[name]:
            return _problem(b"405 Method Not Allowed", f"{name} takes {_METHODS[name].decode()}")
        if connection.too_large:
            return _problem(b"413 Content Too Large", "the body is larger than 1 MiB")
        body = bytes(connection.body)
        signature_ok: bool | None = None
        if name == "/septet":
            try:
                signing.verify_headers(self.secret, connection.headers, body, now=wall)
                signature_ok = True
            except SignatureError:
                signature_ok = False
        self.requests.append(
            RawRequest(
                arrival=arrival,
                wall=wall,
                path=name,
                query=query,
                body=body,
                headers=connection.headers,
                signature_ok=signature_ok,
            )
        )
        if signature_ok is False:
            return _problem(b"401 Unauthorized", "the webhook signature did not verify")
        status, content_type, answer = _ANSWERS[name]
        return _response(status, content_type, answer)


class _Connection:
    """httptools callbacks for one connection (several requests, kept alive)."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.answers: list[bytes] = []
        self.close = False
        self.parser: httptools.HttpRequestParser | None = None
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.method = b""
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.too_large = False

    def on_message_begin(self) -> None:
        self._reset()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        if key in _KEPT_HEADERS:
            self.headers[key] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        if len(self.body) + len(body) > _MAX_BODY:
            self.too_large = True
        else:
            self.body += body

    def on_message_complete(self) -> None:
        assert self.parser is not None
        self.method = self.parser.get_method()
        self.answers.append(self.sink.respond(self))
        if not self.parser.should_keep_alive():
            self.close = True


def _response(status: bytes, content_type: bytes, body: bytes) -> bytes:
    return b"".join(
        (
            b"HTTP/1.1 ",
            status,
            b"\r\ncontent-type: ",
            content_type,
            b"\r\ncontent-length: ",
            str(len(body)).encode(),
            b"\r\n\r\n",
            body,
        )
    )


def _problem(status: bytes, detail: str) -> bytes:
    code, _, title = status.decode().partition(" ")
    document = {"type": "about:blank", "title": title, "status": int(code), "detail": detail}
    return _response(status, b"application/problem+json", msgspec.json.encode(document))


async def _control(sink: _Sink, nursery: trio.Nursery) -> None:
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    buffer = b""
    async with stdin:
        while True:
            data = await stdin.receive_some(4096)
            if not data:
                break
            buffer += data
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                command, _, argument = line.decode().strip().partition(" ")
                if command == "count":
                    _say(f"count {len(sink.requests)}")
                elif command == "flush":
                    taken, sink.requests = sink.requests, []
                    Path(argument).write_bytes(msgspec.msgpack.encode(taken))
                    _say(f"flushed {len(taken)}")
                    collect_now()  # between phases: the collector is off (see main)
                else:
                    _say(f"error unknown command {command!r}")
    nursery.cancel_scope.cancel()


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _serve(secret: str) -> None:
    sink = _Sink(secret)
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, sink.serve_connection, listeners)
        nursery.start_soon(_control, sink, nursery)
        _say(f"ready {port}")


def main() -> int:
    """Run the sink until its standard input ends."""
    if "CLOCK_MONOTONIC" not in time.get_clock_info("perf_counter").implementation:
        print("time.perf_counter() is not CLOCK_MONOTONIC", file=sys.stderr)
        return 1
    # A receiver that pauses records every request in flight late: with ten thousand
    # requests kept, a full collection took 20-60 ms. No automatic collection while it
    # runs, one after each flush, between phases.
    gc.disable()
    trio.run(_serve, os.environ.get(SECRET_ENV, ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
