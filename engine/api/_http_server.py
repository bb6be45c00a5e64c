"""A lean HTTP/1.1 server on trio: the engine's API and carriers' webhooks.

Each connection is one task (:mod:`._http_connection`): keep-alive, HTTP/1.1 and 1.0,
``Content-Length`` and chunked bodies, ``Expect: 100-continue`` and pipelined requests
answered in order. Requests are framed by httptools (llhttp, the parser of Node.js,
in C), which frames a request in a few microseconds where h11, in pure Python, takes
tens. A carrier's webhook is answered on the connection's task with no framework in
between; every other request goes to the ASGI application.

Limits: a request head of at most ``max_head_bytes`` (else 431), a body of at most
``max_body_bytes`` (else 413, before the body is read when its length is declared), at
most ``max_connections`` open at once (past that, new ones wait in the listen backlog).
A malformed request is answered 400 and its connection closed.

Timeouts: a kept-alive connection idle for ``keep_alive_timeout`` is closed, as is one
whose request head takes longer than ``head_timeout`` from its first byte, whose body
takes longer than ``body_timeout`` after its head, or whose client reads an answer
slower than ``write_timeout`` allows. A request being answered has no timeout of its
own (a long poll or an event stream lasts as long as it needs).

Shutdown (the server's task is cancelled): it stops accepting at once and closes idle
connections and event streams; a request being answered gets up to ``grace_seconds``
to finish (its answer then says ``Connection: close``) before it is cancelled too.
"""

from __future__ import annotations

import errno
import socket
from typing import Final

import structlog
import trio

from ._http_asgi import AsgiApp
from ._http_carriers import CarrierWebhooks
from ._http_connection import Connection, HttpService

__all__ = ["HttpServer"]

_log = structlog.get_logger("septet.api")

_ACCEPT_RETRY: Final = 0.1
"""Seconds to wait before accepting again when the process is out of descriptors."""
_OUT_OF_RESOURCES: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_GONE_BEFORE_ACCEPTED: Final = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM})


class HttpServer:
    """Serves ``app`` (ASGI) and the webhook carriers (see the module docstring)."""

    def __init__(
        self,
        app: AsgiApp,
        webhooks: CarrierWebhooks | None = None,
        *,
        max_body_bytes: int = 1024 * 1024,
        max_head_bytes: int = 16 * 1024,
        max_connections: int = 1000,
        keep_alive_timeout: float = 30.0,
        head_timeout: float = 10.0,
        body_timeout: float = 30.0,
        write_timeout: float = 30.0,
        grace_seconds: float = 5.0,
    ) -> None:
        self._service = HttpService(
            app,
            webhooks,
            max_body_bytes=max_body_bytes,
            max_head_bytes=max_head_bytes,
            keep_alive_timeout=keep_alive_timeout,
            head_timeout=head_timeout,
            body_timeout=body_timeout,
            write_timeout=write_timeout,
        )
        self._slots = trio.Semaphore(max_connections)
        self._grace = grace_seconds
        self._tick = min(1.0, keep_alive_timeout, head_timeout, body_timeout, write_timeout) / 4
        self._connections: set[Connection] = set()
        self._all_closed = trio.Event()
        self._all_closed.set()

    @property
    def connection_count(self) -> int:
        """Connections open now."""
        return len(self._connections)

    async def serve(
        self, host: str, port: int, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on ``host``:``port`` and serve until cancelled, then shut down (see the
        module docstring). ``task_status`` gets the base URL, with the real port when
        ``port`` is 0."""
        # trio binds (every address of ``host``, the options it sets), then the server
        # takes the plain sockets: see Connection.socket.
        listeners = [
            socket.socket(fileno=listener.socket.detach())
            for listener in await trio.open_tcp_listeners(port, host=host)
        ]
        for listener in listeners:
            listener.setblocking(False)
        try:
            async with trio.open_nursery() as connections:
                connections.start_soon(self._enforce_deadlines)
                try:
                    async with trio.open_nursery() as accepting:
                        for listener in listeners:
                            accepting.start_soon(self._accept, listener, connections)
                        task_status.started(_base_url(listeners[0]))
                finally:
                    with trio.CancelScope(shield=True):
                        for listener in listeners:
                            trio.lowlevel.notify_closing(listener)
                            listener.close()
                        await self._drain()
                    connections.cancel_scope.cancel()
        finally:
            for listener in listeners:
                listener.close()

    async def _accept(self, listener: socket.socket, nursery: trio.Nursery) -> None:
        while True:
            await self._slots.acquire()
            try:
                sock = await _accept_one(listener)
            except BaseException:
                self._slots.release()
                raise
            connection = Connection(self._service, sock)
            self._connections.add(connection)
            self._all_closed = trio.Event()
            nursery.start_soon(self._run, connection)

    async def _run(self, connection: Connection) -> None:
        try:
            await connection.run()
        finally:
            self._connections.discard(connection)
            self._slots.release()
            if not self._connections:
                self._all_closed.set()

    async def _enforce_deadlines(self) -> None:
        while True:
            await trio.sleep(self._tick)
            now = trio.current_time()
            for connection in list(self._connections):
                if connection.deadline < now:
                    connection.cancel_scope.cancel()

    async def _drain(self) -> None:
        """Close what waits for nothing, let requests in hand finish for a while, then
        close the rest."""
        self._service.draining = True
        with trio.move_on_after(self._grace):
            for connection in list(self._connections):
                if connection.waiting or connection.streaming:
                    connection.cancel_scope.cancel()
            while self._connections:
                # A connection in hand may go back to waiting only to close: look again.
                with trio.move_on_after(self._tick):
                    await self._all_closed.wait()
                for connection in list(self._connections):
                    if connection.waiting or connection.streaming:
                        connection.cancel_scope.cancel()
        for connection in list(self._connections):
            connection.cancel_scope.cancel()


async def _accept_one(listener: socket.socket) -> socket.socket:
    """The next connection, non-blocking and with Nagle's algorithm off (an answer goes
    out whole, at once)."""
    while True:
        try:
            sock, _ = listener.accept()
        except BlockingIOError:
            await trio.lowlevel.wait_readable(listener)
            continue
        except OSError as exc:
            if exc.errno in _GONE_BEFORE_ACCEPTED:
                continue
            if exc.errno not in _OUT_OF_RESOURCES:
                raise
            _log.warning("cannot accept a connection", error=str(exc))
            await trio.sleep(_ACCEPT_RETRY)
            continue
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def _base_url(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    if listener.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"http://{host}:{port}"
