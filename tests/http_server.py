"""A real HTTP/1.1 server for tests: trio + h11 on 127.0.0.1, scripted answers.

::

    async with open_http_server() as server:
        server.answer(Answer(status=429, headers=[("retry-after", "7")]))
        ...  # POST to server.url
        assert server.requests[0].json()["type"] == "message.received"

Answers are given in order, one per request; once the script runs out, every request
gets ``default``. Each request is recorded (method, target, headers, body) before it is
answered, and each connection counted (``server.connections``, and
``server.open_connections`` still open), to see a client's keep-alive at work. Pass
``ssl_context`` to serve HTTPS.

:func:`use_fake_dns` makes chosen names resolve to chosen addresses for the rest of the
current trio run (other names resolve as usual), to test what a client does with
what DNS tells it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import h11
import msgspec
import trio

from engine import signing
from engine.config import DestinationConfig
from engine.delivery import DestinationPolicy

__all__ = [
    "Answer",
    "HttpTestServer",
    "RecordedRequest",
    "open_http_server",
    "use_fake_dns",
    "webhook_destination",
]

_CHUNK = b"x" * 16384


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """One scripted answer."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0
    """Seconds to wait before sending the answer's head."""
    endless: bool = False
    """Send a chunked body that never ends (after ``body``), until the client hangs up."""
    chunk_interval: float = 0.0
    """Seconds between the chunks of an endless body."""
    chunked: bool = False
    """Send ``body`` chunked (no ``content-length``)."""
    close: bool = False
    """Close the connection after this answer without saying so, as a server does with
    a kept-alive connection once it has been idle too long."""
    drop: bool = False
    """Close the connection instead of answering (the request is still recorded)."""
    cut_short: bool = False
    """Announce a body longer than ``body``, send ``body``, and close the connection."""
    keep_open: bool = False
    """After an answer with ``connection: close``, keep the connection open until the
    client hangs up: a client that ignored the header would wait in vain."""


class RecordedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One request as the server received it."""

    method: str
    target: str
    headers: dict[str, str]
    """Lower-cased names; a repeated header keeps its values joined with ``, ``."""
    body: bytes
    received_at: float = 0.0
    """When its last byte arrived, on trio's clock (``trio.current_time()``)."""

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


class HttpTestServer:
    """What ``open_http_server`` yields: its URL, the script, the recorded requests."""

    def __init__(self, port: int, scheme: str, default: Answer) -> None:
        self.port = port
        self.url = f"{scheme}://127.0.0.1:{port}"
        self.default = default
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        """Connections accepted so far."""
        self.open_connections = 0
        """Connections accepted and not yet closed (by either side)."""
        self.in_flight = 0
        """Requests received and not yet answered in full."""
        self.most_in_flight = 0
        """The most requests ever in flight at once."""
        self._script: deque[Answer] = deque()

    def answer(self, *answers: Answer) -> None:
        """Add answers to the script, to be given in order."""
        self._script.extend(answers)

    async def serve_connection(self, stream: trio.abc.Stream) -> None:
        connection = h11.Connection(h11.SERVER)
        self.connections += 1
        self.open_connections += 1
        try:
            while (request := await _read_request(connection, stream)) is not None:
                self.requests.append(request)
                answer = self._script.popleft() if self._script else self.default
                if answer.drop:
                    return
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                try:
                    await _send_answer(connection, stream, answer)
                finally:
                    self.in_flight -= 1
                if answer.keep_open:
                    while await stream.receive_some(65536):
                        pass
                if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                    return
                if answer.close:
                    return
                connection.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            pass  # the client hung up (a capped read, a timeout, a refused certificate)
        finally:
            self.open_connections -= 1
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.aclose()


@asynccontextmanager
async def open_http_server(
    *, default: Answer | None = None, ssl_context: ssl.SSLContext | None = None, port: int = 0
) -> AsyncIterator[HttpTestServer]:
    """Serve on 127.0.0.1 until the block exits: on ``port``, or a free one when 0."""
    listeners: list[Any] = await trio.open_tcp_listeners(port, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    scheme = "https" if ssl_context is not None else "http"
    server = HttpTestServer(port, scheme, default or Answer(body=b"ok"))
    if ssl_context is not None:
        listeners = [trio.SSLListener(listener, ssl_context) for listener in listeners]
    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, server.serve_connection, listeners)
        yield server
        nursery.cancel_scope.cancel()


async def _read_request(
    connection: h11.Connection, stream: trio.abc.Stream
) -> RecordedRequest | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            headers: dict[str, str] = {}
            for name, value in head.headers:
                key = name.decode().lower()
                headers[key] = (
                    f"{headers[key]}, {value.decode()}" if key in headers else value.decode()
                )
            return RecordedRequest(
                method=head.method.decode(),
                target=head.target.decode(),
                headers=headers,
                body=bytes(body),
                received_at=trio.current_time(),
            )
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None


async def _send_answer(connection: h11.Connection, stream: trio.abc.Stream, answer: Answer) -> None:
    if answer.delay:
        await trio.sleep(answer.delay)
    headers = list(answer.headers)
    if answer.cut_short:
        headers.append(("content-length", str(len(answer.body) + 100)))
    elif not (answer.endless or answer.chunked):
        headers.append(("content-length", str(len(answer.body))))
    head = h11.Response(status_code=answer.status, headers=headers)
    await stream.send_all(connection.send(head) or b"")
    if answer.chunked:
        for start in range(0, len(answer.body), 5):  # small chunks, several per read
            await stream.send_all(
                connection.send(h11.Data(data=answer.body[start : start + 5])) or b""
            )
    elif answer.body:
        await stream.send_all(connection.send(h11.Data(data=answer.body)) or b"")
    if answer.cut_short:
        return
    while answer.endless:
        await trio.sleep(answer.chunk_interval)
        await stream.send_all(connection.send(h11.Data(data=_CHUNK)) or b"")
    await stream.send_all(connection.send(h11.EndOfMessage()) or b"")


def use_fake_dns(names: Mapping[str, Sequence[str]]) -> None:
    """Resolve each name in ``names`` to its addresses (in order) for this trio run."""
    trio.socket.set_custom_hostname_resolver(_FakeResolver(names))


class _FakeResolver(trio.abc.HostnameResolver):
    def __init__(self, names: Mapping[str, Sequence[str]]) -> None:
        self._names = {name.lower(): list(addresses) for name, addresses in names.items()}

    async def getaddrinfo(
        self,
        host: bytes | None,
        port: bytes | str | int | None,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[Any]:
        name = host.decode().lower() if host is not None else ""
        if name not in self._names:
            return await trio.to_thread.run_sync(
                socket.getaddrinfo, host, port, family, type, proto, flags
            )
        number = int(port or 0)
        infos: list[Any] = []
        for address in self._names[name]:
            if ipaddress.ip_address(address).version == 4:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, number)))
            else:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, number, 0, 0)))
        return infos

    async def getnameinfo(self, sockaddr: tuple[Any, ...], flags: int) -> tuple[str, str]:
        raise NotImplementedError


def webhook_destination(
    server: HttpTestServer, *, schedule: tuple[float, ...] = (), name: str = "hook"
) -> DestinationConfig:
    """A webhook destination ``name`` posting to ``server`` at ``/hook``, by the name
    ``localhost`` (the one host it allows), with a fresh secret and ``schedule`` as its
    retry schedule (none: a failed attempt is final)."""
    return DestinationConfig(
        name=name,
        adapter="webhook",
        config={
            "url": server.url.replace("127.0.0.1", "localhost") + "/hook",
            "secrets": [signing.generate_secret()],
            "allow_hosts": ["localhost"],
        },
        policy=DestinationPolicy(schedule=schedule),
    )
