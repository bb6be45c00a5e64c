"""HTTP/1.1 framing for the destinations' client: requests written as bytes, answers
read with httptools (llhttp, in C).

:func:`encode_request` writes a request's line, headers and body in one ``bytes``, after
checking what HTTP/1.1 requires of them, so that nothing malformed (a header value with
a line break, which would smuggle a header or a second request) ever reaches a socket:
the method is a token, the target printable ASCII without spaces, every header name a
token and every value free of CR, LF, NUL and leading or trailing white space; exactly
one ``Host``; a ``Content-Length`` that is the body's length; a ``Transfer-Encoding``
that is ``chunked`` (the body is then sent in one chunk). A request it refuses raises
:class:`UnsendableRequest`. ``HEAD`` and ``CONNECT`` are refused too: their answers are
framed by the request's method (a ``HEAD`` answer announces a body it does not send),
which the answer reader does not know.

An :class:`AnswerReader` is fed what the socket gives and frames the one answer to one
request: a body by ``Content-Length``, chunked (extensions and trailers allowed), or,
with neither, up to the end of the stream. Interim ``1xx`` answers are skipped. It keeps
at most ``read_limit`` bytes of the body and says when there was more. It says whether
the connection can carry another request: not after an HTTP/1.0 answer, a
``Connection: close``, a body delimited by the end of the stream, or bytes that came
after the answer (blank lines aside, which llhttp skips). An answer that cannot be read
(malformed, a transfer coding other than chunked, a switch of protocols nobody asked
for, a head over ``MAX_HEAD_BYTES``) raises :class:`MalformedAnswer`.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

import httptools  # type: ignore[import-untyped]
import msgspec

__all__ = [
    "MAX_HEAD_BYTES",
    "AnswerHead",
    "AnswerReader",
    "EncodedRequest",
    "MalformedAnswer",
    "UnsendableRequest",
    "encode_request",
]

MAX_HEAD_BYTES: Final = 65536
"""An answer's head (status line and headers) may take this many bytes, give or take
one read of the socket; a longer one is refused rather than held in memory."""

# RFC 9110's grammar, as bytes: a token (method, header name), a field value (visible
# characters and obs-text separated by single runs of spaces or tabs, none at either
# end), a request target (visible ASCII).
_TOKEN: Final = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_FIELD_VALUE: Final = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")
_TARGET: Final = re.compile(rb"[\x21-\x7e]+")
_DIGITS: Final = re.compile(rb"[0-9]{1,20}")
_CLOSE: Final = re.compile(rb"(?:^|,)[ \t]*close[ \t]*(?:,|$)", re.IGNORECASE)
# What a value may not hold anywhere: CR, LF, NUL, and the white space other than space
# and tab that the grammar leaves out (VT, FF).
_FORBIDDEN: Final = b"\r\n\x00\x0b\x0c"
_BLANKS: Final = b" \t"
"""White space a value may hold inside, but not at either end."""
# The headers that frame the request or the connection, checked by name.
_FRAMING: Final = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection"})
_NAMES: dict[bytes, bytes] = {}
"""Header names found to be tokens, each to its lower case: a client sends the same few."""
_NAMES_KEPT: Final = 512
# Methods whose answer's framing depends on the method itself.
_UNFRAMEABLE: Final = frozenset({b"HEAD", b"CONNECT"})


class UnsendableRequest(Exception):
    """A request HTTP/1.1 cannot carry as given; nothing was sent. The message names
    the offending header, never its value (a token may be one)."""


class MalformedAnswer(Exception):
    """An answer that cannot be read as HTTP/1.1."""


class EncodedRequest(NamedTuple):
    """A request as it goes on the wire, and whether it lets the connection be kept."""

    data: bytes
    keep_alive: bool
    """False when the request itself says ``Connection: close``."""


class AnswerHead(msgspec.Struct, frozen=True, kw_only=True):
    """The status and the headers of an answer, as received (names in their case)."""

    status_code: int
    headers: list[tuple[bytes, bytes]]


def encode_request(
    method: bytes, target: bytes, fields: list[tuple[bytes, bytes]], body: bytes
) -> EncodedRequest:
    """The bytes of one HTTP/1.1 request; :class:`UnsendableRequest` for one that HTTP/1.1
    cannot carry (see the module docstring). ``Host`` goes first whatever its place in
    ``fields`` (RFC 9110 asks a client to send it first); the others keep their order."""
    if not _TOKEN.fullmatch(method):
        raise UnsendableRequest(f"the method {_shown(method)} is not an HTTP token")
    if method.upper() in _UNFRAMEABLE:
        raise UnsendableRequest(
            f"{method.decode()} requests are not supported: the answer's framing depends on "
            "the method"
        )
    if not _TARGET.fullmatch(target):
        raise UnsendableRequest("the request target holds a character HTTP/1.1 does not allow")
    hosts: list[bytes] = []
    lines: list[bytes] = []
    declared: bytes | None = None
    chunked = False
    keep_alive = True
    for name, value in fields:
        lower = _NAMES.get(name)
        if lower is None:
            lower = _checked_name(name)
        if value and (value[0] in _BLANKS or value[-1] in _BLANKS):
            raise _value_refused(name)
        if lower in _FRAMING:
            if lower == b"host":
                hosts += (name, b": ", value, b"\r\n")
                continue
            if lower == b"content-length":
                if _forbids(value):  # written normalized, so not searched with the head
                    raise _value_refused(name)
                lengths = {length.strip() for length in value.split(b",")}
                length = lengths.pop()
                if lengths or not _DIGITS.fullmatch(length):
                    raise UnsendableRequest("the content-length header is not one length")
                if declared is not None:
                    if length != declared:
                        raise UnsendableRequest("the content-length headers disagree")
                    continue  # the same length said twice is said once
                declared = value = length
            elif lower == b"transfer-encoding":
                if chunked:
                    raise UnsendableRequest("the transfer-encoding header is given twice")
                value = value.lower()
                if value != b"chunked":
                    raise UnsendableRequest("the only transfer-encoding supported is chunked")
                chunked = True
            elif _CLOSE.search(value):  # connection
                keep_alive = False
        lines += (name, b": ", value, b"\r\n")
    if len(hosts) != 4:  # one host line, in four pieces
        raise UnsendableRequest(
            "the request has no host header" if not hosts else "the host header is given twice"
        )
    head = b"".join([method, b" ", target, b" HTTP/1.1\r\n", *hosts, *lines, b"\r\n"])
    # The values were not yet searched for the characters no value may hold: the whole
    # head is, at once (one pass in C). The method, the target and the names hold none
    # of them, so the head holds exactly the CR LF pairs put there, or a value is at
    # fault (then found the slow way, to name it).
    if len(head) - len(head.translate(None, _FORBIDDEN)) != 2 * (len(lines) // 4 + 3):
        raise _value_refused(next(name for name, value in fields if _forbids(value)))
    if chunked:
        framed = (b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)) if body else b"0\r\n\r\n"
    else:
        expected = 0 if declared is None else int(declared)
        if len(body) != expected:
            raise UnsendableRequest(
                f"the body is {len(body)} bytes long but the content-length says {expected}"
            )
        framed = body
    return EncodedRequest(head + framed, keep_alive)


def _checked_name(name: bytes) -> bytes:
    """``name`` in lower case once it is found a token (and kept, while few are)."""
    if not _TOKEN.fullmatch(name):
        raise UnsendableRequest(f"the header name {_shown(name)} is not an HTTP token")
    lower = name.lower()
    if len(_NAMES) < _NAMES_KEPT:
        _NAMES[name] = lower
    return lower


def _forbids(value: bytes) -> bool:
    """Whether a header value breaks RFC 9110's grammar (the slow way: a regular expression)."""
    return _FIELD_VALUE.fullmatch(value) is None


def _value_refused(name: bytes) -> UnsendableRequest:
    return UnsendableRequest(
        f"the value of the header {_shown(name)} holds a character HTTP/1.1 does not "
        "allow there (a line break, a NUL) or white space at an end"
    )


def _shown(text: bytes) -> str:
    """``text`` for a message: printable, quoted, bounded (a method or a header name)."""
    shown = repr(text[:64].decode("ascii", "backslashreplace"))
    return shown if len(text) <= 64 else f"{shown}..."


class AnswerReader:
    """Frames the answer to one request from the bytes of a connection (see the module
    docstring). Feed it with :meth:`feed` until :attr:`complete` or :attr:`truncated`;
    tell it of the end of the stream with :meth:`end_of_stream`."""

    __slots__ = (
        "_body",
        "_body_size",
        "_headers",
        "_in_head",
        "_parser",
        "_pending_head",
        "_read_limit",
        "_status",
        "_until_eof",
        "complete",
        "head",
        "reusable",
        "truncated",
    )

    def __init__(self, read_limit: int) -> None:
        # A parser per answer: llhttp's state after an answer (or an error) is never
        # carried into the next request's.
        self._parser = httptools.HttpResponseParser(self)
        self._read_limit = read_limit
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._status = 0
        self._in_head = False
        self._pending_head = 0
        self._until_eof = False
        self.head: AnswerHead | None = None
        """The final answer's head, once read."""
        self.complete = False
        """The whole answer has been read."""
        self.truncated = False
        """The body went on past ``read_limit``: the rest is not read."""
        self.reusable = False
        """The connection can carry another request (meaningful once complete)."""

    @property
    def body(self) -> bytes:
        """The body read so far, at most ``read_limit`` bytes."""
        body = self._body
        data = body[0] if len(body) == 1 else b"".join(body)
        return data[: self._read_limit] if self.truncated else data

    def feed(self, data: bytes | bytearray) -> None:
        """Frame ``data``; :class:`MalformedAnswer` if it is not a valid answer."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise MalformedAnswer(
                "the server switched protocols, which was not asked for"
            ) from None
        except httptools.HttpParserError as exc:
            if self.complete or self.truncated:
                # What follows the answer, or the part of its body not kept, is not
                # valid: what was read stands, the connection is not kept.
                self.reusable = False
                return
            cause = exc.__context__
            if isinstance(cause, MalformedAnswer):
                raise cause from None
            reason = str(exc) or type(exc).__name__
            raise MalformedAnswer(f"the answer is not valid HTTP/1.1: {reason}") from None
        if self._in_head:
            # httptools reports a header only once it is whole: bound what it holds of a
            # head in progress too (give or take one read).
            self._pending_head += len(data)
            if self._pending_head > MAX_HEAD_BYTES:
                raise MalformedAnswer(f"the answer's head exceeds {MAX_HEAD_BYTES} bytes")

    def release(self) -> None:
        """Drop the parser, once the answer is read or given up on; the reader is not fed
        again. The parser holds the reader's callbacks, so until then each is part of a
        reference cycle, which only the garbage collector would free (in pauses of
        milliseconds at a delivery per message)."""
        del self._parser

    def end_of_stream(self) -> bool:
        """Note that the server closed the connection; whether the answer is complete
        (a body delimited by the end of the stream is, and the connection not reusable)."""
        if not self.complete and self.head is not None and self._until_eof:
            self.complete = True
            self.reusable = False
        return self.complete

    # httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:
            self.reusable = False  # a second answer to one request: bytes after ours
            return
        self._headers = []
        self._in_head = True
        self._pending_head = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        self._in_head = False
        status = self._parser.get_status_code()
        self._status = status
        if status == 101:
            raise MalformedAnswer("the server switched protocols, which was not asked for")
        if status < 200:
            return  # an interim answer: skipped
        framed = False
        for name, value in self._headers:
            lower = name.lower()
            if lower == b"transfer-encoding":
                if value.strip().lower() != b"chunked":
                    raise MalformedAnswer(
                        f"the answer uses the transfer coding {_shown(value)}, not chunked"
                    )
                framed = True
            elif lower == b"content-length":
                framed = True
        self._until_eof = not framed and status not in (204, 304)
        self.head = AnswerHead(status_code=status, headers=self._headers)

    def on_body(self, body: bytes) -> None:
        if self.complete or self.truncated:
            return
        self._body.append(body)
        self._body_size += len(body)
        if self._body_size > self._read_limit:
            self.truncated = True

    def on_message_complete(self) -> None:
        if self.complete or self._status < 200:
            return  # after ours, or an interim answer's end
        parser = self._parser
        # Asked here: llhttp forgets the answer's framing once past it.
        self.reusable = parser.should_keep_alive() and parser.get_http_version() == "1.1"
        self.complete = True
