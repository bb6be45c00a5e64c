"""A client that posts pre-signed Twilio webhooks as fast as a process can, on loopback.

The client is a loop over ``selectors`` (epoll) and blocking sockets with
``TCP_NODELAY``: one ``send`` and one ``recv`` per request, a minimal HTTP/1.1 response
reader (``Content-Length`` bodies, as the engine sends them) and kept-alive
connections, reopened should the server close one. h11 or trio would cost the client
tens of µs a request on a machine whose other core serves them.

Each request is a POST of the form Twilio sends for an inbound SMS, signed the way
Twilio signs (``X-Twilio-Signature``: base64 of HMAC-SHA1 over the URL and the sorted
fields), built and signed before any timed phase (:func:`sign_requests`).

* **Closed loop**: every connection sends its next request as soon as it has the answer
  to the last, until the phase's seconds are over; latency from send to answer.
* **Open loop**: request k is due ``k / rate`` seconds after the start, whatever
  happened before; a due request waits for a free connection, and its latency counts
  from the moment it was due (coordinated omission corrected). The loop wakes when the
  next request falls due (epoll's timeout has 1 ms resolution: a request may go out up
  to about 1 ms late, which counts against the server; ``sent - due`` shows it).
"""

from __future__ import annotations

import base64
import contextlib
import math
import os
import selectors
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Final
from urllib.parse import urlencode, urlsplit

import msgspec

from .. import signing

__all__ = [
    "TWIML",
    "HttpLoad",
    "ParentGoneError",
    "PhaseRecords",
    "Signer",
    "sign_requests",
    "twilio_signature",
]

_READ_BYTES: Final = 65536
_HEAD_END: Final = b"\r\n\r\n"
_PROGRESS_SECONDS: Final = 0.25
TWIML: Final = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
"""What the engine's ``twilio`` carrier answers once a message is committed."""

Signer = Callable[[str, Mapping[str, str]], str]
"""Computes ``X-Twilio-Signature`` for a URL and the posted fields."""


class ParentGoneError(Exception):
    """The process's standard input closed (its parent is gone): stop now."""


class PhaseRecords(msgspec.Struct, frozen=True, kw_only=True):
    """One phase, one entry per request sent in each of the first lists."""

    name: str
    rate: float | None
    """Requests per second it was paced at; None for a closed loop."""
    indices: list[int]
    due: list[float]
    """``perf_counter`` when due (open loop) or sent (closed loop)."""
    sent: list[float]
    answered: list[float]
    """When the whole answer was read; NaN without one."""
    ok: list[bool]
    """Answered ``200`` with empty TwiML."""
    errors: dict[str, int]
    """Everything else, by kind: ``status 503``, ``200 without empty TwiML``, ``no answer``..."""
    seconds: float
    """From the phase's start to its last answer."""
    connections_opened: int
    cpu_seconds: float
    """The process's own CPU time over the phase."""
    signed_out: bool = False
    """The closed loop ran out of signed requests before its time was over."""


def twilio_signature(auth_token: str) -> Signer:
    """Twilio's signature scheme with ``auth_token``."""

    def sign(url: str, fields: Mapping[str, str]) -> str:
        signed = url + "".join(key + fields[key] for key in sorted(fields))
        return base64.b64encode(signing.hmac_digest("sha1", auth_token, signed)).decode()

    return sign


def sign_requests(url: str, forms: Sequence[Mapping[str, str]], signer: Signer) -> list[bytes]:
    """Each form as a whole request (head and body) to ``url``, signed by ``signer``."""
    parts = urlsplit(url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "User-Agent: TwilioProxy/1.1\r\nAccept: */*\r\n"
    )
    requests: list[bytes] = []
    for fields in forms:
        body = urlencode(fields).encode()
        signature = signer(url, fields)
        requests.append(
            f"{head}X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return requests


class _Connection:
    def __init__(self, address: tuple[str, int], selector: selectors.BaseSelector) -> None:
        self._address = address
        self._selector = selector
        self.buffer = bytearray()
        self.slot = -1
        """The phase's entry of the request in flight, or -1."""
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

    def send(self, slot: int, request: bytes) -> None:
        self.slot = slot
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


class HttpLoad:
    """Kept-alive connections to one server, and the phases run over them.

    ``requests[i]`` is request ``first + i``; :meth:`start_at` says which to send next.
    ``watch_fd`` (the process's standard input) is watched while a phase runs: its end
    raises :class:`ParentGoneError` at once, mid-phase included.
    """

    def __init__(
        self,
        url: str,
        connections: int,
        drain_seconds: float,
        *,
        watch_fd: int | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"{url!r} names no host and port")
        self.drain_seconds = drain_seconds
        """How long a phase waits for the answers still outstanding when it ends."""
        self._requests: list[bytes] = []
        self._first = 0
        self._next = 0
        self._limit = 0
        self._selector = selectors.DefaultSelector()
        self._watch_fd = watch_fd
        if watch_fd is not None:
            self._selector.register(watch_fd, selectors.EVENT_READ, None)
        self._address = (parts.hostname, parts.port)
        self._connections = [_Connection(self._address, self._selector) for _ in range(connections)]
        self._opened = len(self._connections)

    def load(self, requests: list[bytes], first: int = 0) -> None:
        """Send these requests (numbered from ``first``) next, in order."""
        self._requests = requests
        self._first = self._next = first
        self._limit = first + len(requests)

    def start_at(self, index: int) -> None:
        """Send request ``index`` next."""
        self._next = index

    def limit_closed_loop(self, count: int) -> None:
        """Let a closed loop use the requests before index ``first + count`` only."""
        self._limit = self._first + count

    def close(self) -> None:
        for connection in self._connections:
            connection.close()
        self._selector.close()

    def run_phase(
        self,
        name: str,
        seconds: float,
        rate: float | None,
        on_progress: Callable[[int, int], None] | None = None,
        *,
        total: int | None = None,
    ) -> PhaseRecords:
        """A closed loop for ``seconds`` (``rate`` None), or an open loop of ``total``
        requests (default ``rate * seconds``) at ``rate``. ``on_progress(sent,
        answered)`` is called every quarter of a second or so."""
        indices: list[int] = []
        due_at: list[float] = []
        sent_at: list[float] = []
        answered_at: list[float] = []
        ok: list[bool] = []
        errors: dict[str, int] = {}
        opened_before, cpu_before = self._opened, time.process_time()
        idle = deque(self._connections)
        busy = 0
        waiting: deque[tuple[int, float]] = deque()  # open loop: due, not yet sent
        if not rate:
            total = 0
        elif total is None:
            total = int(rate * seconds)
        scheduled = answered_count = 0
        signed_out = False
        started = last_answer = time.perf_counter()
        deadline = started + (total / rate if rate else seconds)
        reported = started

        def error(kind: str) -> None:
            errors[kind] = errors.get(kind, 0) + 1

        def send(connection: _Connection, index: int, due: float) -> None:
            slot = len(indices)
            indices.append(index)
            due_at.append(due)
            answered_at.append(math.nan)
            ok.append(False)
            sent_at.append(time.perf_counter())
            connection.send(slot, self._requests[index - self._first])

        def take() -> int:
            index = self._next
            self._next += 1
            return index

        while True:
            now = time.perf_counter()
            if on_progress is not None and now - reported >= _PROGRESS_SECONDS:
                reported = now
                on_progress(len(indices), answered_count)
            if rate:
                due_count = min(total, int((now - started) * rate) + 1)
                while scheduled < due_count:
                    waiting.append((take(), started + scheduled / rate))
                    scheduled += 1
                while waiting and idle:
                    index, due = waiting.popleft()
                    send(idle.popleft(), index, due)
                    busy += 1
                finished = scheduled == total and not waiting
                # With requests waiting for a connection, only an answer can send one:
                # the next due time (maybe past already) would spin the loop.
                wake = None if finished or waiting else started + scheduled / rate
            else:
                while idle and now < deadline:
                    if self._next >= self._limit:
                        signed_out = True
                        break
                    send(idle.popleft(), take(), time.perf_counter())
                    busy += 1
                finished = now >= deadline or signed_out
                wake = None if finished else deadline
            if finished and not busy:
                break
            if finished and now > max(deadline, last_answer) + self.drain_seconds:
                for connection in self._connections:
                    if connection.slot >= 0:
                        error("no answer")
                        connection.slot = -1
                        connection.reopen()
                        self._opened += 1
                break
            timeout = _PROGRESS_SECONDS if wake is None else max(0.0, wake - now)
            for key, _ in self._selector.select(min(timeout, _PROGRESS_SECONDS)):
                connection = key.data
                if connection is None:
                    assert self._watch_fd is not None
                    if not os.read(self._watch_fd, _READ_BYTES):
                        raise ParentGoneError
                    continue
                assert isinstance(connection, _Connection)
                data = connection.sock.recv(_READ_BYTES)
                answered = time.perf_counter()
                if not data:
                    if connection.slot >= 0:
                        error("connection closed before the answer")
                        busy -= 1
                        connection.slot = -1
                        idle.append(connection)
                    connection.reopen()
                    self._opened += 1
                    continue
                connection.buffer += data
                answer = connection.answer()
                if answer is None:
                    continue
                status, body, close = answer
                if connection.slot < 0:
                    error("answer without a request")
                    continue
                if status != 200:
                    error(f"status {status}")
                elif body != TWIML:
                    error("200 without empty TwiML")
                else:
                    ok[connection.slot] = True
                answered_at[connection.slot] = answered
                answered_count += 1
                last_answer = answered
                connection.slot = -1
                busy -= 1
                if close:
                    connection.reopen()
                    self._opened += 1
                idle.append(connection)
        if on_progress is not None:
            on_progress(len(indices), answered_count)
        return PhaseRecords(
            name=name,
            rate=rate,
            indices=indices,
            due=due_at,
            sent=sent_at,
            answered=answered_at,
            ok=ok,
            errors=errors,
            seconds=last_answer - started,
            connections_opened=self._opened - opened_before,
            cpu_seconds=time.process_time() - cpu_before,
            signed_out=signed_out,
        )
