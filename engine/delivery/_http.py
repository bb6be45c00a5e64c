"""The HTTP client destinations share: lean HTTP/1.1 over trio, guarded against SSRF.

:func:`open_http_client` returns an :class:`HttpClient`. Its connections are opened
through the guard (see ``_http_pool``): the host is resolved by the client itself, the
connection is refused unless every address it got is allowed by the
:class:`HttpTargetPolicy`, and those very addresses are connected to, so a DNS answer
that changes after the check (rebinding) reaches nothing. TLS still verifies the URL's
host name. Connections are kept alive and reused, up to ``max_connections`` per target.

The client never follows redirects (a redirect could lead anywhere), reads no proxy or
other settings from the environment, asks for uncompressed answers (so a small answer
cannot inflate in memory), keeps at most ``read_limit`` bytes of an answer's body, and
bounds each request, answer body included, by ``total_timeout``. Failures come out
classified, as :class:`~engine.errors.RetryableDeliveryError` (no answer; ``throttled``
for a timeout) or :class:`~engine.errors.PermanentDeliveryError` (a target the policy
refuses, before anything is sent; a URL or request that cannot be sent).

It is a plain client, not httpx: profiling found httpx over an httpcore pool spent about
four times the CPU per delivery of HTTP/1.1 framed by h11 directly, and h11 about three
times what ``_http1`` spends now: a request is checked and written as bytes in one go
(``_http1.encode_request``), an answer framed by httptools (llhttp, in C). What does not
change from one request to the next (the parsed URL, its origin, the policy's verdict on
it) is kept per URL, for the 64 URLs last asked for; the addresses a host resolves to
are still checked at every new connection, as ``_http_pool`` says.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Final, NamedTuple, Self

import httpx
import msgspec
import trio

from .. import __version__
from ..errors import PermanentDeliveryError, RetryableDeliveryError
from ._http1 import EncodedRequest, UnsendableRequest, encode_request
from ._http_pool import Answer, Connection, NoAnswer, Origin, OriginPool, open_connection
from ._targets import (
    HttpTargetPolicy,
    redact_url,
    scrub_secrets,
    url_refusal,
    url_secrets,
)

__all__ = ["HttpAnswer", "HttpClient", "USER_AGENT", "open_http_client", "parse_url"]

USER_AGENT: Final = f"Septet/{__version__}"
"""The ``user-agent`` every destination request carries."""

_DEFAULT_HEADERS: Final = (
    ("user-agent", b"user-agent", USER_AGENT.encode()),
    ("accept-encoding", b"accept-encoding", b"identity"),
)
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Methods whose request has no body unless one is given (others say "content-length: 0").
_BODILESS: Final = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})
# URLs whose parsing and verdict a client keeps: a destination sends to one or a few.
_TARGETS_KEPT: Final = 64


class _Target(NamedTuple):
    """What a client keeps of a URL between requests."""

    url: httpx.URL
    refusal: str | None
    """Why the policy refuses the URL's scheme or host, if it does (checked once)."""
    origin: Origin | None
    """Where its connections go; None when refused."""


class HttpAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What a target answered to :meth:`HttpClient.request`, as much as was read."""

    status_code: int
    headers: httpx.Headers
    body: bytes
    """The start of the body, at most ``read_limit`` bytes (unredacted: never log it)."""
    truncated: bool
    """Whether the body went on past ``read_limit`` (the rest was not read)."""

    def __repr__(self) -> str:
        # Not the body: it is unredacted.
        return (
            f"HttpAnswer(status_code={self.status_code}, body=<{len(self.body)} bytes>, "
            f"truncated={self.truncated})"
        )


def open_http_client(
    policy: HttpTargetPolicy,
    *,
    connect_timeout: float = 5.0,
    total_timeout: float = 15.0,
    ssl_context: ssl.SSLContext | None = None,
    max_connections: int = 32,
    idle_timeout: float = 30.0,
) -> HttpClient:
    """Return an :class:`HttpClient` that only reaches targets ``policy`` allows.

    Use it as ``async with open_http_client(policy) as client:``, or keep it for as long
    as the destination lives and ``await client.aclose()`` in its ``aclose``. Creating it
    opens nothing; connections open on first use and are kept alive between requests.

    ``connect_timeout`` bounds resolving and connecting (TLS handshake included);
    ``total_timeout`` a whole request: waiting for a connection, connecting, sending and
    reading the answer. ``ssl_context`` replaces the default trust (the system's CAs),
    for a receiver with a private CA. At most ``max_connections`` requests go to one
    target (scheme, host and port) at once, more wait their turn; a connection idle for
    ``idle_timeout`` seconds is closed.
    """
    return HttpClient(
        policy,
        connect_timeout=connect_timeout,
        total_timeout=total_timeout,
        ssl_context=ssl_context if ssl_context is not None else ssl.create_default_context(),
        max_connections=max_connections,
        idle_timeout=idle_timeout,
    )


class HttpClient:
    """An HTTP/1.1 client guarded by an :class:`HttpTargetPolicy`; see the module docstring.

    Made by :func:`open_http_client`; send with :func:`~engine.plugin_api.post_json`, or
    :meth:`request` for another method or framing.
    """

    def __init__(
        self,
        policy: HttpTargetPolicy,
        *,
        connect_timeout: float,
        total_timeout: float,
        ssl_context: ssl.SSLContext,
        max_connections: int,
        idle_timeout: float,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._policy = policy
        self._connect_timeout = connect_timeout
        self._total_timeout = total_timeout
        self._ssl_context = ssl_context
        self._max_connections = max_connections
        self._idle_timeout = idle_timeout
        self._pools: dict[Origin, OriginPool] = {}
        self._targets: dict[str | httpx.URL, _Target] = {}
        self._shown: dict[tuple[httpx.URL, tuple[str, ...]], tuple[str, list[str]]] = {}
        self._next_sweep = -math.inf
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the kept-alive connections; requests under way close theirs as they end."""
        self._closed = True
        for pool in self._pools.values():
            pool.close()
        self._shown.clear()  # it holds the secrets to hide: gone with the client
        await trio.lowlevel.checkpoint()

    def shown_and_secrets(self, url: httpx.URL, redact: tuple[str, ...]) -> tuple[str, list[str]]:
        """What may be shown of ``url`` (:func:`redact_url`), and what to hide in an answer
        from it (:func:`url_secrets` with ``redact``): the same for every request to a
        destination, so worked out once per client and URL (never change the list). The
        client keeps them, secrets included, only while it is open."""
        key = (url, redact)
        found = self._shown.get(key)
        if found is None:
            if len(self._shown) >= _TARGETS_KEPT:
                del self._shown[next(iter(self._shown))]  # the one kept longest
            found = self._shown[key] = (redact_url(url), url_secrets(url, redact))
        return found

    async def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        content: bytes = b"",
        headers: Mapping[str, str] | None = None,
        read_limit: int = 65536,
        redact: Iterable[str] = (),
    ) -> HttpAnswer:
        """Send one request and return the answer, whatever its status.

        ``headers`` add to (or replace, whatever their case) ``host``, ``user-agent``,
        ``accept-encoding: identity`` and ``content-length``. At most ``read_limit`` bytes
        of the answer's body are read; if there is more, the connection is dropped.
        Error messages show the URL as ``scheme://host[:port]`` and hide its token-like
        parts and the strings in ``redact``, as :func:`~engine.plugin_api.post_json` says.

        Raises :class:`~engine.errors.RetryableDeliveryError` when no answer came (a
        timeout, ``throttled``; a refused or broken connection, an invalid answer) and
        :class:`~engine.errors.PermanentDeliveryError` when the policy refuses the target
        or the URL or request cannot be sent. A request is sent once, except when a kept-
        alive connection turns out closed before any answer: then once more, on a new one.
        """
        if self._closed:
            raise RuntimeError("the HTTP client is closed")
        target = self._target(url)
        parsed, origin = target.url, target.origin
        if origin is None:
            assert target.refusal is not None
            raise PermanentDeliveryError(target.refusal)
        request = _encode_request(method, parsed, content, headers, redact)
        pool = self._pool(origin)
        deadline = trio.current_time() + self._total_timeout
        answer: Answer | None = None
        try:
            if trio.current_effective_deadline() <= deadline:
                # The caller's deadline (a destination worker's timeout) comes first: a
                # scope for the total timeout could never fire, yet would cost one a request.
                answer = await self._send(pool, origin, request, read_limit)
            else:
                with trio.move_on_at(deadline):
                    answer = await self._send(pool, origin, request, read_limit)
        except NoAnswer as exc:
            raise _no_answer_error(parsed, str(exc), exc.timed_out, redact) from None
        if answer is None:
            too_slow = f"the request took longer than the total timeout of {self._total_timeout:g}s"
            raise _no_answer_error(parsed, too_slow, True, redact)
        return HttpAnswer(
            status_code=answer.head.status_code,
            headers=httpx.Headers(answer.head.headers),
            body=answer.body,
            truncated=answer.truncated,
        )

    def _target(self, url: str | httpx.URL) -> _Target:
        """``url`` parsed and judged by the policy, once per URL while it is asked for."""
        target = self._targets.get(url)
        if target is None:
            parsed = parse_url(url)
            refusal = url_refusal(parsed, self._policy)
            origin = None
            if refusal is None:
                origin = Origin(parsed.scheme, parsed.raw_host.decode("ascii"), _port(parsed))
            if len(self._targets) >= _TARGETS_KEPT:
                del self._targets[next(iter(self._targets))]  # the one kept longest
            target = self._targets[url] = _Target(parsed, refusal, origin)
        return target

    def _pool(self, origin: Origin) -> OriginPool:
        now = trio.current_time()
        if now >= self._next_sweep:
            # A pool closes its expired connections when next used: sweep them all now and
            # then, so a target no longer asked for keeps none open (nor its pool) for long.
            self._next_sweep = now + self._idle_timeout
            for key, swept in list(self._pools.items()):
                swept.close_expired()
                if swept.unused:
                    del self._pools[key]
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = OriginPool(self._max_connections, self._idle_timeout)
        return pool

    async def _send(
        self, pool: OriginPool, origin: Origin, request: EncodedRequest, read_limit: int
    ) -> Answer:
        await pool.acquire()
        try:
            connection = pool.take_idle()
            if connection is not None:
                try:
                    return await self._exchange(pool, connection, request, read_limit)
                except NoAnswer as exc:
                    if not exc.replayable:
                        raise
                # The server had closed the kept-alive connection: send on a new one (the
                # dead one is closed, so this keeps within max_connections).
            connection = await open_connection(
                origin, self._policy, self._ssl_context, self._connect_timeout
            )
            return await self._exchange(pool, connection, request, read_limit)
        finally:
            pool.release()

    async def _exchange(
        self,
        pool: OriginPool,
        connection: Connection,
        request: EncodedRequest,
        read_limit: int,
    ) -> Answer:
        keep = False
        try:
            answer = await connection.exchange(request, read_limit)
            keep = not answer.truncated and connection.reusable()
            return answer
        finally:
            if keep:
                pool.put_back(connection)
            else:
                connection.close()


def parse_url(url: str | httpx.URL) -> httpx.URL:
    """``url`` parsed; :class:`~engine.errors.PermanentDeliveryError` if it cannot be."""
    if isinstance(url, httpx.URL):
        return url
    try:
        return httpx.URL(url)
    except httpx.InvalidURL:
        raise PermanentDeliveryError(f"{redact_url(url)}: the URL cannot be requested") from None


def _port(url: httpx.URL) -> int:
    return url.port if url.port is not None else _DEFAULT_PORTS[url.scheme]


def _encode_request(
    method: str,
    url: httpx.URL,
    content: bytes,
    headers: Mapping[str, str] | None,
    redact: Iterable[str],
) -> EncodedRequest:
    """The request on the wire, checked before any connection is touched."""
    given = {name.lower() for name in headers} if headers else set()
    fields: list[tuple[bytes, bytes]] = []
    if "host" not in given:
        fields.append((b"host", url.netloc))
    fields += [(raw, value) for name, raw, value in _DEFAULT_HEADERS if name not in given]
    if (
        "content-length" not in given
        and "transfer-encoding" not in given
        and (content or method.upper() not in _BODILESS)
    ):
        fields.append((b"content-length", b"%d" % len(content)))
    try:
        if headers:
            fields += [
                (name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()
            ]
        return encode_request(method.encode("ascii"), url.raw_path, fields, content)
    except UnicodeEncodeError:
        raise _unsendable(url, "a method or header is not ASCII", headers, redact) from None
    except UnsendableRequest as exc:
        raise _unsendable(url, str(exc), headers, redact) from None


def _no_answer_error(
    url: httpx.URL, detail: str, timed_out: bool, redact: Iterable[str]
) -> RetryableDeliveryError:
    detail = scrub_secrets(detail, url_secrets(url, redact))
    if timed_out:
        return RetryableDeliveryError(
            f"{redact_url(url)}: no answer in time: {detail}", throttled=True
        )
    return RetryableDeliveryError(f"{redact_url(url)}: the connection failed: {detail}")


def _unsendable(
    url: httpx.URL, detail: str, headers: Mapping[str, str] | None, redact: Iterable[str]
) -> PermanentDeliveryError:
    # The detail names a header, never its value; still hide every header value (a token
    # may be one) in both spellings, should one be a header's name too.
    values = list((headers or {}).values())
    quoted = [repr(value.encode("ascii", "backslashreplace"))[2:-1] for value in values]
    detail = scrub_secrets(detail, url_secrets(url, [*redact, *values, *quoted]))
    return PermanentDeliveryError(f"{redact_url(url)}: the request cannot be sent: {detail}")
