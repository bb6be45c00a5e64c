"""One HTTP/1.1 connection: requests in order, each answered before the next is read.

A connection is one trio task. It reads, frames requests (:mod:`._http_parse`) and
answers them one at a time, in the order they came (pipelined ones included), keeping
the connection open while both sides want it. A carrier's webhook
(``POST``/``GET /carriers/<name>[/<path>]``) is answered right here: the request is
handed to the carrier and its answer written, with no framework in between, since that
is the path every inbound SMS of a webhook carrier takes. Everything else goes to the
ASGI application (:mod:`._http_asgi`).

The connection never sets a timer of its own: it says by when it must have made
progress (:attr:`Connection.deadline`) and the server cancels it once that passes.
"""

from __future__ import annotations

import contextlib
import math
import socket
from typing import Final

import structlog
import trio

from .. import _stages
from .._webhooks import WebhookResponse, problem_response
from ._http_asgi import AsgiApp, AsgiExchange
from ._http_carriers import CARRIER_PATH, CarrierWebhooks
from ._http_parse import READ_SIZE, Refusal, Request, RequestReader, decode_path, split_target
from ._http_response import CONTINUE, problem_answer, webhook_answer

__all__ = ["Connection", "HttpService"]

_log = structlog.get_logger("septet.api")

_LINGER_SECONDS: Final = 2.0
"""How long a refused client may keep sending before the connection is closed under it."""
_LINGER_BYTES: Final = 1024 * 1024
_UNYIELDING_READS: Final = 16
"""Reads that found data waiting, in a row, before the connection lets others run."""
_PENDING_BYTES: Final = READ_SIZE
"""What a client may send ahead while its request is answered by the ASGI application."""


class HttpService:
    """What every connection of a server shares: the application, the webhook carriers,
    the limits and whether the server is shutting down."""

    def __init__(
        self,
        app: AsgiApp,
        webhooks: CarrierWebhooks | None,
        *,
        max_body_bytes: int,
        max_head_bytes: int,
        keep_alive_timeout: float,
        head_timeout: float,
        body_timeout: float,
        write_timeout: float,
    ) -> None:
        self.app = app
        self.webhooks = webhooks
        self.max_body_bytes = max_body_bytes
        self.max_head_bytes = max_head_bytes
        self.keep_alive_timeout = keep_alive_timeout
        self.head_timeout = head_timeout
        self.body_timeout = body_timeout
        self.write_timeout = write_timeout
        self.draining = False
        """Shutting down: answer the request in hand, then close."""


class Connection:
    """One client's connection (see the module docstring)."""

    def __init__(self, service: HttpService, sock: socket.socket) -> None:
        self.service = service
        self.socket = sock
        """Non-blocking; read and written directly, waiting through trio only when it
        is not ready (a ``trio.SocketStream`` costs two trips through the scheduler a
        request)."""
        self.cancel_scope = trio.CancelScope(shield=True)
        """Shielded: the server, not its caller's cancellation, decides when it ends."""
        self.deadline = math.inf
        """When the connection must have made progress; the server cancels it after."""
        self.waiting = False
        """Waiting for the next request, none of which has come: safe to close."""
        self.streaming = False
        """Writing an answer of no known length (an event stream): it ends only with
        the connection."""
        self.pending: list[bytes] = []
        """What the client sent while the ASGI application answered, to read next."""
        self.pending_size = 0
        self.hung_up = False
        self._watching = trio.Lock()
        self.client = _address(sock, "getpeername")
        self.server = _address(sock, "getsockname")
        self._unyielding = 0
        self._reader = RequestReader(
            max_head_bytes=service.max_head_bytes, max_body_bytes=service.max_body_bytes
        )

    async def run(self) -> None:
        """Serve requests until either side is done; the socket is closed on return."""
        try:
            with self.cancel_scope:
                await self._serve()
        except OSError:
            pass  # the client reset the connection
        finally:
            trio.lowlevel.notify_closing(self.socket)
            self.socket.close()

    async def _serve(self) -> None:
        reader = self._reader
        ready = reader.ready
        service = self.service
        receive = self.receive
        phase = -1
        while True:
            if not ready:
                if reader.failed or reader.upgraded or self.hung_up:
                    return
                if reader.idle:
                    if service.draining:
                        return
                    if phase != 0:
                        phase = 0
                        self.deadline = trio.current_time() + service.keep_alive_timeout
                elif reader.in_head:
                    if phase != 1:
                        phase = 1
                        self.deadline = trio.current_time() + service.head_timeout
                elif phase != 2:
                    phase = 2
                    self.deadline = trio.current_time() + service.body_timeout
                    if reader.continue_wanted:
                        reader.continue_wanted = False
                        await self.send(CONTINUE)
                if self.pending:
                    data = b"".join(self.pending)
                    self.pending.clear()
                    self.pending_size = 0
                else:
                    self.waiting = phase == 0
                    data = await receive()
                    self.waiting = False
                    if not data:
                        return
                reader.feed(data)
                continue
            item = ready.popleft()
            phase = -1
            self.deadline = math.inf
            if isinstance(item, Refusal):
                await self.refuse(item, "1.1")
                return
            if not await self._answer(item):
                return

    async def _answer(self, request: Request) -> bool:
        """Answer ``request``; whether the connection stays open for another."""
        try:
            raw_path, query = split_target(request.target)
            method = request.method
            webhooks = self.service.webhooks
            if (
                webhooks is not None
                and raw_path.startswith(b"/carriers/")
                and (method == b"POST" or method == b"GET")
                and (match := CARRIER_PATH.fullmatch(decode_path(raw_path))) is not None
            ):
                return await self._webhook(
                    webhooks, request, match["name"], match["path"] or "", query
                )
            return await AsgiExchange(self, request, raw_path, query).run()
        except Refusal as refusal:
            await self.refuse(refusal, request.http_version)
            return False

    async def _webhook(
        self,
        webhooks: CarrierWebhooks,
        request: Request,
        name: str,
        path: str,
        query: bytes,
    ) -> bool:
        """The direct path of a carrier's webhook (see the module docstring)."""
        if _stages.RECORDER is not None:
            _stages.RECORDER.http_received(request.body)
        answer: WebhookResponse
        if name not in webhooks:
            answer = webhooks.unknown(name)
        else:
            try:
                webhook = webhooks.request(
                    method="POST" if request.method == b"POST" else "GET",
                    scheme="http",
                    server=self.server,
                    name=name,
                    path=path,
                    query_string=query,
                    headers=request.headers,
                    body=request.body,
                )
            except ValueError as exc:
                answer = problem_response(400, "Bad Request", str(exc))
            else:
                try:
                    answer = await webhooks.answer(name, webhook)
                except Exception:
                    _log.exception("webhook failed", carrier=name)
                    answer = problem_response(
                        500, "Internal Server Error", "the server failed; this is a bug"
                    )
        keep_alive = request.keep_alive and not self.service.draining
        try:
            data = webhook_answer(answer, keep_alive=keep_alive, http_version=request.http_version)
        except ValueError:
            _log.exception("webhook answer cannot be sent", carrier=name)
            keep_alive = False
            data = problem_answer(500, "Internal Server Error", "the server failed; this is a bug")
        await self.send(data)
        if _stages.RECORDER is not None:
            _stages.RECORDER.http_answered(request.body)
        return keep_alive

    async def receive(self) -> bytes:
        """What the client sent next; ``b""`` once it closed its side (or reset).

        Data already there is taken without a checkpoint, so a client that keeps
        sending gives way to other tasks every few reads instead.
        """
        sock = self.socket
        if self._unyielding >= _UNYIELDING_READS:
            self._unyielding = 0
            await trio.lowlevel.checkpoint()
        while True:
            try:
                data = sock.recv(READ_SIZE)
            except BlockingIOError:
                self._unyielding = 0
                await trio.lowlevel.wait_readable(sock)
                continue
            except OSError:
                return b""
            self._unyielding += 1
            return data

    async def send(self, data: bytes) -> None:
        """Write ``data``, waiting (within the write timeout) only when the socket's
        buffer is full."""
        sock = self.socket
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return
        self.deadline = trio.current_time() + self.service.write_timeout
        rest = memoryview(data)[sent:]
        while rest:
            await trio.lowlevel.wait_writable(sock)
            with contextlib.suppress(BlockingIOError):
                rest = rest[sock.send(rest) :]
        self.deadline = math.inf

    async def refuse(self, refusal: Refusal, http_version: str) -> None:
        """Answer ``refusal`` and close, reading (and dropping) what the client still
        sends for a moment: closing a socket with unread data resets the connection,
        and the client could lose the answer."""
        await self.send(
            problem_answer(refusal.status, refusal.title, refusal.detail, http_version=http_version)
        )
        with trio.move_on_after(_LINGER_SECONDS):
            self.socket.shutdown(socket.SHUT_WR)
            dropped = 0
            while dropped < _LINGER_BYTES:
                data = await self.receive()
                if not data:
                    break
                dropped += len(data)

    async def wait_for_hang_up(self) -> None:
        """Return once the client has closed its side of the connection. What it sends
        meanwhile is kept (a pipelined request) up to a bound, then no longer read."""
        async with self._watching:
            while not self.hung_up:
                if self.pending_size >= _PENDING_BYTES:
                    await trio.sleep_forever()
                data = await self.receive()
                if not data:
                    self.hung_up = True
                else:
                    self.pending.append(data)
                    self.pending_size += len(data)


def _address(sock: socket.socket, which: str) -> tuple[str, int] | None:
    try:
        address = getattr(sock, which)()
    except OSError:
        return None
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None
