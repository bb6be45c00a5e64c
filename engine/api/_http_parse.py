"""Reading HTTP/1.x requests off a connection: httptools (llhttp, in C) frames them, this
module keeps what the server needs and refuses what it must not serve.

llhttp is strict by default: it refuses a request that could be read two ways (both
``Content-Length`` and ``Transfer-Encoding``, a bad chunk size, a space before a colon),
which closes the door on request smuggling. What llhttp leaves to its user is checked
here: the size of the head, the size of the body, the HTTP version, the ``Host``
header and the ``Expect`` header.

A :class:`RequestReader` is fed whatever the socket gives and queues the requests it
completes, in order (pipelined requests stay in order). A request it must refuse is
queued as a :class:`Refusal` after those it completed before; it then reads nothing
more, since the connection is closed once the refusal is answered.
"""

from __future__ import annotations

from collections import deque
from typing import Final
from urllib.parse import unquote, urlsplit

import httptools  # type: ignore[import-untyped]

__all__ = ["READ_SIZE", "Refusal", "Request", "RequestReader", "decode_path", "split_target"]

READ_SIZE: Final = 65536
"""Bytes asked of the socket at a time."""


class Request:
    """One whole request: its head as received (header names in lower case) and its body."""

    __slots__ = ("body", "headers", "http_version", "keep_alive", "method", "target")

    def __init__(
        self,
        method: bytes,
        target: bytes,
        http_version: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        keep_alive: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.http_version = http_version
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


class Refusal(Exception):
    """A request the server answers itself with a problem document, then hangs up."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


_IDLE, _HEAD, _BODY = 0, 1, 2


class RequestReader:
    """Requests framed from the bytes of one connection (see the module docstring)."""

    def __init__(self, *, max_head_bytes: int, max_body_bytes: int) -> None:
        self._parser = httptools.HttpRequestParser(self)
        self._max_head = max_head_bytes
        self._max_body = max_body_bytes
        self.ready: deque[Request | Refusal] = deque()
        """Requests complete and not yet taken, then perhaps one refusal."""
        self.failed = False
        """A refusal is queued: nothing more is read on this connection."""
        self.upgraded = False
        """The client switched protocols: what follows the last request is not HTTP/1."""
        self._state = _IDLE
        self.continue_wanted = False
        """The request being received waits for ``100 Continue`` before sending its body."""
        self._url: list[bytes] = []
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._head_size = 0
        self._unreported = 0
        self._body_size = 0
        self._declared: bytes | None = None
        self._expect: bytes | None = None
        self._hosts = 0

    @property
    def idle(self) -> bool:
        """No part of a next request has been received."""
        return self._state == _IDLE

    @property
    def in_head(self) -> bool:
        return self._state == _HEAD

    def feed(self, data: bytes) -> None:
        """Frame ``data``; what it completes is queued in :attr:`ready`."""
        if self.failed or self.upgraded:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.upgraded = True
            return
        except Refusal as refusal:
            self._refuse(refusal)
            return
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, Refusal):
                self._refuse(cause)
            else:
                reason = str(exc) or type(exc).__name__
                self._refuse(Refusal(400, "Bad Request", f"malformed request: {reason}"))
            return
        if self._state == _HEAD:
            # httptools reports a header line only once it is whole: bound what it holds
            # of a line in progress too (give or take one read).
            self._unreported += len(data)
            if self._head_size + self._unreported > self._max_head + READ_SIZE:
                self._refuse(_head_too_large(self._max_head))

    def _refuse(self, refusal: Refusal) -> None:
        self.failed = True
        self.continue_wanted = False
        self.ready.append(refusal)

    # httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._state = _HEAD
        self._url = []
        self._headers = []
        self._body = []
        self._head_size = self._unreported = self._body_size = self._hosts = 0
        self._declared = self._expect = None

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._grow_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        self._headers.append((name, value))
        self._grow_head(len(name) + len(value) + 4)
        if name == b"content-length":
            self._declared = value
        elif name == b"host":
            self._hosts += 1
        elif name == b"expect":
            self._expect = value

    def _grow_head(self, size: int) -> None:
        self._unreported = 0
        self._head_size += size
        if self._head_size > self._max_head:
            raise _head_too_large(self._max_head)

    def on_headers_complete(self) -> None:
        self._state = _BODY
        version = self._parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise Refusal(505, "HTTP Version Not Supported", "this server speaks HTTP/1.1")
        if self._hosts > 1 or (self._hosts == 0 and version == "1.1"):
            raise Refusal(400, "Bad Request", "an HTTP/1.1 request needs one Host header")
        declared = self._declared
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            raise _body_too_large(self._max_body)
        if self._expect is not None:
            if self._expect.strip().lower() != b"100-continue":
                raise Refusal(417, "Expectation Failed", "only 100-continue is expected")
            self.continue_wanted = version == "1.1"

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > self._max_body:
            raise _body_too_large(self._max_body)
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser = self._parser
        body = self._body
        self.ready.append(
            Request(
                parser.get_method(),
                b"".join(self._url),
                parser.get_http_version(),
                self._headers,
                body[0] if len(body) == 1 else b"".join(body),
                parser.should_keep_alive(),
            )
        )
        self._state = _IDLE
        self.continue_wanted = False


def _head_too_large(limit: int) -> Refusal:
    return Refusal(
        431, "Request Header Fields Too Large", f"the request head exceeds {limit} bytes"
    )


def _body_too_large(limit: int) -> Refusal:
    return Refusal(413, "Content Too Large", f"the body exceeds {limit} bytes")


def split_target(target: bytes) -> tuple[bytes, bytes]:
    """The path and the query string of a request target (origin form, absolute form
    or ``*``); :class:`Refusal` (400) for anything else."""
    if b"#" in target:
        target = target.partition(b"#")[0]
    if target.startswith(b"/"):
        path, _, query = target.partition(b"?")
        return path, query
    if target == b"*":
        return target, b""
    if target[:7].lower() == b"http://" or target[:8].lower() == b"https://":
        parts = urlsplit(target)
        return parts.path or b"/", parts.query
    raise Refusal(400, "Bad Request", "the request target is not a path or a URL")


def decode_path(raw_path: bytes) -> str:
    """The path as the application sees it: percent-decoded; :class:`Refusal` (400)
    for a path that is not ASCII."""
    try:
        return unquote(raw_path.decode("ascii"))
    except UnicodeDecodeError:
        raise Refusal(400, "Bad Request", "the request path is not ASCII") from None
