"""The HTTP client destinations share: httpx over trio, guarded against SSRF.

:func:`open_http_client` builds an ``httpx.AsyncClient`` whose connections go through
a guard (a custom httpcore network backend): it resolves the host itself, refuses the
connection unless every address it got is allowed by the :class:`HttpTargetPolicy`,
and connects to those very addresses. Checking the addresses actually connected to,
not a lookup made earlier, leaves no window for DNS rebinding. TLS still verifies the
URL's host name: httpcore hands it to the TLS handshake (SNI and the certificate
check) whatever address the socket reached.

The client never follows redirects (a redirect could lead anywhere), never reads a
proxy or other settings from the environment, asks for uncompressed answers (so a small
answer cannot inflate in memory), and bounds each request, answer body included, by
``total_timeout``. A refused target raises :class:`~engine.errors.PermanentDeliveryError`
out of the request, before anything is sent.
"""

from __future__ import annotations

import contextlib
import math
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Final

import httpcore
import httpx
import trio

from .. import __version__
from ..errors import PermanentDeliveryError
from ._targets import HttpTargetPolicy, refusal_message, url_refusal

__all__ = ["USER_AGENT", "open_http_client"]

USER_AGENT: Final = f"Septet/{__version__}"
"""The ``user-agent`` every destination request carries."""

# Most specific first: the first class an error is an instance of decides.
_ERRORS: Final[tuple[tuple[type[Exception], type[httpx.TransportError]], ...]] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def open_http_client(
    policy: HttpTargetPolicy,
    *,
    connect_timeout: float = 5.0,
    total_timeout: float = 15.0,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """Return an ``httpx.AsyncClient`` that only reaches targets ``policy`` allows.

    Use it as ``async with open_http_client(policy) as client:``, or keep it for as long
    as the destination lives and ``await client.aclose()`` in its ``aclose``. Creating it
    opens nothing; connections open on first use and are kept alive between requests.

    ``connect_timeout`` bounds resolving and connecting (TLS handshake included);
    ``total_timeout`` a whole request, reading the answer's body included (an
    ``httpx.TimeoutException`` past it). ``ssl_context`` replaces the default trust
    (certifi's CAs), for a receiver with a private CA.
    """
    transport = _GuardedTransport(
        policy,
        total_timeout=total_timeout,
        ssl_context=ssl_context if ssl_context is not None else httpx.create_ssl_context(),
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT, "accept-encoding": "identity"},
    )


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's trio backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: HttpTargetPolicy) -> None:
        self._policy = policy
        self._trio = httpcore.TrioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._policy.allows_host(host):
            return await self._trio.connect_tcp(host, port, timeout, local_address, socket_options)
        deadline = trio.current_time() + (math.inf if timeout is None else timeout)
        addresses = await _resolve(host, port, deadline)
        # Every address is checked before any is tried: a name that resolves to a public
        # and a private address at once is refused outright, whichever would answer.
        for address in addresses:
            reason = self._policy.refusal_reason(address)
            if reason is not None:
                raise PermanentDeliveryError(refusal_message(host, reason, address))
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            remaining = max(deadline - trio.current_time(), 0.0)
            try:
                return await self._trio.connect_tcp(
                    address, port, remaining, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None  # _resolve returns at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.UnsupportedProtocol("destinations are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._trio.sleep(seconds)


async def _resolve(host: str, port: int, deadline: float) -> list[str]:
    with trio.move_on_at(deadline) as scope:
        try:
            infos = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    if scope.cancelled_caught:
        raise httpcore.ConnectTimeout(f"resolving {host} took longer than the connect timeout")
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise httpcore.ConnectError(f"{host} resolves to no address")
    return addresses


class _GuardedTransport(httpx.AsyncBaseTransport):
    """httpx's transport over an httpcore pool that connects through the guard.

    httpx 0.28's own transport takes no network backend, so this one does its job (turn
    the request into httpcore's, map httpcore's errors to httpx's) and adds the scheme
    check and the overall deadline.
    """

    def __init__(
        self, policy: HttpTargetPolicy, *, total_timeout: float, ssl_context: ssl.SSLContext
    ) -> None:
        self._policy = policy
        self._total_timeout = total_timeout
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        reason = url_refusal(request.url, self._policy)
        if reason is not None:
            raise PermanentDeliveryError(reason)
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        deadline = trio.current_time() + self._total_timeout
        with _httpx_errors(request), trio.move_on_at(deadline) as scope:
            response = await self._pool.handle_async_request(core_request)
        if scope.cancelled_caught:
            raise httpx.TimeoutException(self._too_slow(), request=request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_DeadlineStream(response, deadline, request, self._too_slow()),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()

    def _too_slow(self) -> str:
        return f"the request took longer than the total timeout of {self._total_timeout:g}s"


class _DeadlineStream(httpx.AsyncByteStream):
    """An answer's body, read chunk by chunk under the request's overall deadline.

    An iterator class rather than an async generator, so a reader that stops early (the
    body is longer than it keeps) leaves no suspended generator of ours behind.
    """

    def __init__(
        self, response: httpcore.Response, deadline: float, request: httpx.Request, message: str
    ) -> None:
        assert isinstance(response.stream, AsyncIterable)
        self._response = response
        self._chunks = aiter(response.stream)
        self._deadline = deadline
        self._request = request
        self._message = message

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        with _httpx_errors(self._request), trio.move_on_at(self._deadline):
            return await anext(self._chunks)
        raise httpx.ReadTimeout(self._message, request=self._request)

    async def aclose(self) -> None:
        # httpcore's stream iterates with an async generator: close it here rather than
        # leave it, suspended, to the garbage collector when a reader stops early.
        close_chunks = getattr(self._chunks, "aclose", None)
        if close_chunks is not None:
            await close_chunks()
        await self._response.aclose()


@contextlib.contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except httpcore.ConnectError as exc:
        # trio reports a failed handshake as a broken stream; name the TLS problem instead.
        tls = _tls_failure(exc)
        message = f"TLS handshake failed: {tls}" if tls is not None else str(exc)
        raise httpx.ConnectError(message or type(exc).__name__, request=request) from exc
    except Exception as exc:
        for core_type, httpx_type in _ERRORS:
            if isinstance(exc, core_type):
                raise httpx_type(str(exc) or type(exc).__name__, request=request) from exc
        raise


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None
