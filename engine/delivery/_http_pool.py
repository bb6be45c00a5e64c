"""Kept-alive HTTP/1.1 connections to one target, each opened through the SSRF guard.

An :class:`OriginPool` holds the connections to one ``(scheme, host, port)``. At most
``limit`` requests use it at once (more wait their turn, in order) and at most ``limit``
connections stay open; an idle one is reused most recent first, so the others age out
after ``idle_timeout`` and the pool shrinks back when the traffic does. A connection goes
back to the pool only after a complete answer that leaves it usable: a server's
``Connection: close``, an answer cut short or read only in part closes it.

:func:`open_connection` resolves the host itself, refuses the connection unless every
address it got is allowed by the :class:`HttpTargetPolicy`, and connects to those very
addresses, so a DNS answer that changes after the check (rebinding) reaches nothing.
TLS verifies the URL's host name (SNI and the certificate) whatever address the socket
reached. :class:`Connection` exchanges one request and its answer at a time: it sends
the bytes of a request ``_http1`` has checked and framed, and reads the answer with an
``_http1`` reader (httptools: ``Content-Length``, chunked, or up to the end of the stream;
``Connection: close`` and HTTP/1.0 honoured).

What cannot give an answer raises :class:`NoAnswer`; a refused target raises
:class:`~engine.errors.PermanentDeliveryError` before anything is sent.
"""

from __future__ import annotations

import socket
import ssl
from collections import deque
from typing import Final, NamedTuple, TypeAlias

import trio

from ..errors import PermanentDeliveryError
from ._http1 import AnswerHead, AnswerReader, EncodedRequest, MalformedAnswer
from ._targets import HttpTargetPolicy, refusal_message

__all__ = ["Answer", "Connection", "NoAnswer", "Origin", "OriginPool", "open_connection"]

_RECEIVE_BYTES: Final = 65536
# (host, port) for IPv4, (host, port, flowinfo, scope_id) for IPv6.
_SocketAddress: TypeAlias = tuple[str | int, ...]


class Origin(NamedTuple):
    """Where a pool's connections go; ``host`` is ASCII (IDNA), an IPv6 one unbracketed."""

    scheme: str
    host: str
    port: int


class Answer(NamedTuple):
    """One answer as read: its head, the start of its body, whether the body went on."""

    head: AnswerHead
    body: bytes
    truncated: bool


class NoAnswer(Exception):
    """No complete answer came: resolving, connecting, sending or reading failed.

    ``timed_out`` when a timeout cut it short. ``replayable`` when a reused connection
    failed before a single byte of answer came back: the server closed it while it was
    idle, so the request can be sent again on a new connection.
    """

    def __init__(self, detail: str, *, timed_out: bool = False, replayable: bool = False) -> None:
        super().__init__(detail)
        self.timed_out = timed_out
        self.replayable = replayable


class Connection:
    """One HTTP/1.1 connection, used by one request at a time."""

    __slots__ = ("_peek", "_plain", "_reusable", "_socket", "_stream", "idle_since", "reused")

    def __init__(
        self, stream: trio.abc.Stream, sock: trio.socket.SocketType, peek: socket.socket
    ) -> None:
        self._stream = stream
        self._socket = sock
        # The same socket as the stdlib object trio wraps (non-blocking), for a peek that
        # needs no trip through the event loop, and for plain TCP's sends and receives.
        self._peek = peek
        self._plain = isinstance(stream, trio.SocketStream)
        """No TLS: requests and answers go straight through the socket (a request is
        written by one system call, and an answer waited for once, without the stream
        layer's bookkeeping around every call)."""
        self._reusable = False
        self.idle_since = 0.0
        self.reused = False

    def looks_alive(self) -> bool:
        """Whether an idle connection can take a request: nothing has come to read.

        An end of stream means the server closed it; bytes nobody asked for (a ``408``
        some servers send before closing an idle connection) would be taken for the
        answer to the next request. One non-blocking peek: a system call, no trip through
        the event loop.
        """
        try:
            self._peek.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False

    def close(self) -> None:
        """Close at once, without a TLS goodbye (nothing waits for one; nothing can block)."""
        self._socket.close()

    async def exchange(self, request: EncodedRequest, read_limit: int) -> Answer:
        """Send ``request`` and read the answer, keeping ``read_limit`` bytes of its body.

        Afterwards :meth:`reusable` says whether the connection may take another request.
        Raises :class:`NoAnswer` (``replayable`` as the class says) for a failure that left
        no answer: a broken connection, an answer cut short or not valid HTTP/1.1.
        """
        self._reusable = False
        try:
            if self._plain:
                await self._send_plain(request.data)
            else:
                await self._stream.send_all(request.data)
        except (trio.BrokenResourceError, OSError) as exc:
            raise NoAnswer(f"sending failed: {_cause(exc)}", replayable=self.reused) from exc
        reader = AnswerReader(read_limit)
        received = 0
        try:
            while not (reader.complete or reader.truncated):
                chunk: bytes | bytearray
                if self._plain:
                    chunk = await self._receive_plain(first=not received)
                else:
                    chunk = await self._stream.receive_some(_RECEIVE_BYTES)
                if not chunk:
                    if not received:
                        raise NoAnswer(
                            "the server closed the connection without answering",
                            replayable=self.reused,
                        )
                    if not reader.end_of_stream():
                        raise NoAnswer(
                            f"the answer was cut short: the connection closed after {received} "
                            "bytes of it"
                        )
                    break
                received += len(chunk)
                reader.feed(chunk)
        except MalformedAnswer as exc:
            raise NoAnswer(str(exc)) from None
        except (trio.BrokenResourceError, OSError) as exc:
            replayable = self.reused and not received
            raise NoAnswer(f"reading failed: {_cause(exc)}", replayable=replayable) from exc
        finally:
            reader.release()
        assert reader.head is not None  # complete or truncated: the head was read
        # A truncated answer's rest is not read: the connection is dropped.
        self._reusable = reader.complete and reader.reusable and request.keep_alive
        return Answer(reader.head, reader.body, reader.truncated)

    async def _send_plain(self, data: bytes) -> None:
        sock = self._peek
        view = memoryview(data)
        while view:
            try:
                sent = sock.send(view)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
                continue
            view = view[sent:]

    async def _receive_plain(self, *, first: bool) -> bytes:
        sock = self._peek
        if first:  # just sent: the answer cannot be there yet, so wait before reading
            await trio.lowlevel.wait_readable(sock)
        while True:
            try:
                return sock.recv(_RECEIVE_BYTES)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)

    def reusable(self) -> bool:
        """Whether the answer just read in full leaves the connection usable: both sides
        meant to keep it, the answer's end was framed (not the end of the stream), and
        nothing came after the answer."""
        return self._reusable


class OriginPool:
    """The connections to one origin: at most ``limit`` in use, and at most ``limit`` open."""

    def __init__(self, limit: int, idle_timeout: float) -> None:
        self._limit = limit
        self._idle_timeout = idle_timeout
        self._idle: deque[Connection] = deque()  # least recently used on the left
        self._in_use = 0
        self._waiting = trio.lowlevel.ParkingLot()
        self._closed = False

    async def acquire(self) -> None:
        """Wait for a turn to use a connection; :meth:`release` ends it."""
        if self._in_use < self._limit and not self._waiting:
            self._in_use += 1
        else:
            await self._waiting.park()  # woken by release(), which hands its turn over

    def release(self) -> None:
        """End a turn: hand it to the longest waiter, if any."""
        if self._waiting:
            self._waiting.unpark()
        else:
            self._in_use -= 1

    @property
    def unused(self) -> bool:
        """Whether no connection is open, in use or awaited: the pool may be dropped."""
        return not (self._idle or self._in_use or self._waiting)

    def close_expired(self) -> None:
        """Close the connections that have been idle for ``idle_timeout`` or longer."""
        expired = trio.current_time() - self._idle_timeout
        while self._idle and self._idle[0].idle_since <= expired:
            self._idle.popleft().close()

    def take_idle(self) -> Connection | None:
        """The most recently used idle connection that still looks alive, if any."""
        self.close_expired()
        while self._idle:
            connection = self._idle.pop()
            if connection.looks_alive():
                connection.reused = True
                return connection
            connection.close()
        return None

    def put_back(self, connection: Connection) -> None:
        """Keep ``connection`` for the next request (closed instead once the pool is)."""
        if self._closed:
            connection.close()
        else:
            connection.idle_since = trio.current_time()
            self._idle.append(connection)

    def close(self) -> None:
        """Close the idle connections; those in use close when their request ends."""
        self._closed = True
        while self._idle:
            self._idle.pop().close()


async def open_connection(
    origin: Origin,
    policy: HttpTargetPolicy,
    ssl_context: ssl.SSLContext,
    connect_timeout: float,
) -> Connection:
    """Resolve, check, connect and (for https) shake hands, in ``connect_timeout``."""
    with trio.move_on_after(connect_timeout):
        return await _connect(origin, policy, ssl_context)
    raise NoAnswer(
        f"connecting to {origin.host} took longer than the connect timeout of {connect_timeout:g}s",
        timed_out=True,
    )


async def _connect(
    origin: Origin, policy: HttpTargetPolicy, ssl_context: ssl.SSLContext
) -> Connection:
    host = origin.host
    addresses = await _resolve(host, origin.port)
    if not policy.allows_host(host):
        # Every address is checked before any is tried: a name that resolves to a public
        # and a private address at once is refused outright, whichever would answer.
        for _, (ip, *_) in addresses:
            reason = policy.refusal_reason(str(ip))
            if reason is not None:
                raise PermanentDeliveryError(refusal_message(host, reason, str(ip)))
    failure: OSError | None = None
    for family, address in addresses:
        try:
            peek = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:  # out of file descriptors, say
            failure = exc
            continue
        sock = trio.socket.from_stdlib_socket(peek)
        try:
            await sock.connect(address)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        except BaseException:
            sock.close()
            raise
        break
    else:
        assert failure is not None  # _resolve returns at least one address
        raise NoAnswer(str(failure) or type(failure).__name__) from failure
    stream: trio.abc.Stream = trio.SocketStream(sock)
    if origin.scheme == "https":
        # https_compatible: an answer's end is its framing, not a TLS close_notify, which
        # many servers skip before closing.
        stream = trio.SSLStream(stream, ssl_context, server_hostname=host, https_compatible=True)
        try:
            await stream.do_handshake()
        except trio.BrokenResourceError as exc:
            sock.close()
            raise NoAnswer(f"TLS handshake failed: {_cause(exc)}") from exc
        except BaseException:
            sock.close()
            raise
    return Connection(stream, sock, peek)


async def _resolve(host: str, port: int) -> list[tuple[int, _SocketAddress]]:
    """``(family, address)`` of each distinct address ``host`` resolves to, in order."""
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise NoAnswer(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    found: dict[_SocketAddress, int] = {}
    for family, _, _, _, address in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            found.setdefault((str(address[0]), *address[1:]), family)
    if not found:
        raise NoAnswer(f"{host} resolves to no address")
    return [(family, address) for address, family in found.items()]


def _cause(exc: BaseException) -> str:
    """What went wrong, from the error trio wraps around (an ``ssl.SSLError``, an
    ``OSError``) when it reports a broken stream."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLError | OSError) and str(cause):
            return str(cause)
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__
