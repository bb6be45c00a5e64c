"""One request handed to an ASGI 3 application (HTTP only; no lifespan, no websockets).

``receive`` gives the whole body at once (the server has read it, within its limit),
then waits until the client hangs up and says ``http.disconnect``: the long poll and the
event stream watch for it to stop working for a client that left. After the answer is
complete it says ``http.disconnect`` at once.

``send`` takes ``http.response.start`` and ``http.response.body`` messages. An answer
whose whole body comes in its first body message is framed by ``Content-Length``; one
that streams (``more_body``) without a length is chunked (closed at its end for an
HTTP/1.0 client). No body is written for ``HEAD``, 1xx, 204 and 304. Once the client
is gone, whatever is sent is dropped.

An application that fails before it starts its answer gets a 500 problem document
written for it; one that fails or stops midway leaves a connection that is closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Final

import structlog

from ._http_parse import Request, decode_path
from ._http_response import (
    connection_header,
    date_header,
    header_line,
    problem_answer,
    status_line,
)

if TYPE_CHECKING:
    from ._http_connection import Connection

__all__ = ["AsgiApp", "AsgiExchange"]

_log = structlog.get_logger("septet.api")

Message = MutableMapping[str, Any]
AsgiApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
_ASGI: Final = {"version": "3.0", "spec_version": "2.3"}
_FRAMING: Final = frozenset((b"content-length", b"transfer-encoding", b"connection"))
_LAST_CHUNK: Final = b"0\r\n\r\n"


class AsgiExchange:
    """A request and its answer through the application (see the module docstring)."""

    def __init__(self, connection: Connection, request: Request, raw_path: bytes, query: bytes):
        self._connection = connection
        self._request = request
        self._path = decode_path(raw_path)
        self._raw_path = raw_path
        self._query = query
        self._body_taken = False
        self._started = False
        self._head_sent = False
        self._complete = False
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._declared_length = False
        self._chunked = False
        self._no_body = request.method == b"HEAD"
        self._keep_alive = request.keep_alive

    async def run(self) -> bool:
        """Run the application for the request; whether the connection can serve another."""
        connection, request = self._connection, self._request
        scope: Message = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": request.http_version,
            "method": request.method.decode("ascii"),
            "scheme": "http",
            "path": self._path,
            "raw_path": self._raw_path,
            "query_string": self._query,
            "root_path": "",
            "headers": request.headers,
            "client": connection.client,
            "server": connection.server,
            "extensions": {},
        }
        try:
            await connection.service.app(scope, self.receive, self.send)
        except Exception:
            if not self._started:
                _log.exception("request failed", path=self._path)
            if not self._head_sent and not connection.hung_up:
                await connection.send(_failed())
            return False
        finally:
            connection.streaming = False
        if not self._complete:
            if not self._head_sent and not connection.hung_up:
                _log.error("the application did not answer", path=self._path)
                await connection.send(_failed())
            return False
        return self._keep_alive and not connection.hung_up and not connection.service.draining

    async def receive(self) -> Message:
        if not self._body_taken:
            self._body_taken = True
            return {"type": "http.request", "body": self._request.body, "more_body": False}
        if not self._complete:
            await self._connection.wait_for_hang_up()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self._started:
                raise RuntimeError("the answer has started already")
            self._started = True
            self._status = int(message["status"])
            self._headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", ())]
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        if not self._started or self._complete:
            raise RuntimeError("a body sent outside an answer")
        body = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        self._complete = not more
        if self._connection.hung_up:
            return
        data = b"" if self._head_sent else self._head(None if more else len(body))
        if not self._no_body and body:
            data += b"%x\r\n%s\r\n" % (len(body), body) if self._chunked else body
        if self._complete and self._chunked:
            data += _LAST_CHUNK
        if data:
            try:
                await self._connection.send(data)
            except OSError:
                self._connection.hung_up = True

    def _head(self, length: int | None) -> bytes:
        """The status line and headers; ``length`` is the body's when it came whole."""
        status = self._status
        self._no_body |= status < 200 or status in (204, 304)
        lines = [status_line(status)]
        for name, value in self._headers:
            if name in _FRAMING:
                if name == b"content-length":
                    self._declared_length = True
                    lines.append(header_line(name, value))
                elif name == b"connection" and b"close" in value.lower():
                    self._keep_alive = False
                continue
            lines.append(header_line(name, value))
        if not self._declared_length and not (status < 200 or status in (204, 304)):
            if length is not None:
                lines.append(b"content-length: %d\r\n" % length)
            elif self._request.http_version == "1.1":
                self._chunked = not self._no_body
                lines.append(b"transfer-encoding: chunked\r\n")
            else:
                self._keep_alive = False  # the end of the body is the end of the connection
        if length is None and not self._declared_length:
            self._connection.streaming = True
        self._keep_alive = self._keep_alive and not self._connection.service.draining
        lines.append(date_header())
        lines.append(connection_header(self._keep_alive, self._request.http_version))
        lines.append(b"\r\n")
        self._head_sent = True
        return b"".join(lines)


def _failed() -> bytes:
    return problem_answer(500, "Internal Server Error", "the server failed; this is a bug")
