"""Writing HTTP/1.1 answers: status lines, framing and the few headers the server adds."""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Final

from .._webhooks import WebhookResponse, problem_response

__all__ = [
    "CONTINUE",
    "connection_header",
    "date_header",
    "header_line",
    "problem_answer",
    "status_line",
    "webhook_answer",
]

CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_STATUS_LINES = {
    status.value: b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode("ascii"))
    for status in HTTPStatus
}
_UNSAFE = re.compile(rb"[\r\n\0]")
_KEEP_ALIVE: Final = b"connection: keep-alive\r\n"
_CLOSE: Final = b"connection: close\r\n"
_dated = [0, b""]


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <status> <reason>``; ValueError for a status outside 100 to 999."""
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError(f"not an HTTP status: {status}")
        line = b"HTTP/1.1 %d \r\n" % status
    return line


def date_header() -> bytes:
    """The ``Date`` header line for this second (RFC 9110 asks an origin server for one)."""
    now = int(time.time())
    if now != _dated[0]:
        _dated[0] = now
        _dated[1] = b"date: %s\r\n" % formatdate(now, usegmt=True).encode("ascii")
    dated: bytes = _dated[1]  # type: ignore[assignment]
    return dated


def connection_header(keep_alive: bool, http_version: str) -> bytes:
    """What the answer says of the connection: ``close``, or ``keep-alive`` to a
    client of HTTP/1.0 (which closes by default); nothing for a kept HTTP/1.1 one."""
    if not keep_alive:
        return _CLOSE
    return _KEEP_ALIVE if http_version == "1.0" else b""


def header_line(name: bytes, value: bytes) -> bytes:
    """``name: value``; ValueError for a line break or NUL, which would split the head."""
    if _UNSAFE.search(name) or _UNSAFE.search(value):
        raise ValueError(f"a header cannot hold a line break: {name!r}")
    return b"%s: %s\r\n" % (name, value)


def webhook_answer(
    answer: WebhookResponse, *, keep_alive: bool, http_version: str, head_only: bool = False
) -> bytes:
    """The whole answer (head and body) for ``answer``, framed by ``Content-Length``."""
    content_type = answer.content_type.encode("latin-1")
    if _UNSAFE.search(content_type):
        raise ValueError("a content type cannot hold a line break")
    parts = [
        status_line(answer.status),
        b"content-type: %s\r\ncontent-length: %d\r\n" % (content_type, len(answer.body)),
    ]
    for name, value in answer.headers:
        parts.append(header_line(name.encode("latin-1"), value.encode("latin-1")))
    parts.append(date_header())
    parts.append(connection_header(keep_alive, http_version))
    parts.append(b"\r\n")
    if not head_only:
        parts.append(answer.body)
    return b"".join(parts)


def problem_answer(status: int, title: str, detail: str, *, http_version: str = "1.1") -> bytes:
    """A problem document (``application/problem+json``), closing the connection."""
    return webhook_answer(
        problem_response(status, title, detail), keep_alive=False, http_version=http_version
    )
