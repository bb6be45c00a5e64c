"""A small HTTP/1.1 endpoint for Prometheus to scrape: ``GET /metrics`` and ``GET /healthz``.

It runs in the engine's nursery on trio (no threads). Each connection carries one
request and is closed after the answer; a request that is malformed, too large or too
slow gets a 4xx, never an unhandled error.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

__all__ = ["serve_metrics"]

_MAX_HEAD = 8192
_READ_TIMEOUT = 5.0
_CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


def _response(status: bytes, body: bytes, content_type: bytes = b"text/plain") -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\n"
        b"Content-Type: " + content_type + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n"
    )
    return head + body


async def _read_head(stream: trio.abc.Stream) -> bytes | None:
    data = b""
    with trio.move_on_after(_READ_TIMEOUT):
        while b"\r\n\r\n" not in data and len(data) <= _MAX_HEAD:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            data += chunk
        return data
    return None


def answer(head: bytes | None, render: Callable[[], bytes]) -> bytes:
    """The response to one request head (``None`` when the client was too slow)."""
    if head is None:
        return _response(b"408 Request Timeout", b"request timeout\n")
    if len(head) > _MAX_HEAD or b"\r\n\r\n" not in head:
        return _response(b"400 Bad Request", b"bad request\n")
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return _response(b"400 Bad Request", b"bad request\n")
    method, target = parts[0], parts[1].split(b"?", 1)[0]
    if target not in (b"/metrics", b"/healthz"):
        return _response(b"404 Not Found", b"not found\n")
    if method not in (b"GET", b"HEAD"):
        return _response(b"405 Method Not Allowed", b"method not allowed\n")
    if target == b"/healthz":
        return _response(b"200 OK", b"ok\n")
    response = _response(b"200 OK", render(), _CONTENT_TYPE)
    if method == b"HEAD":
        return response.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    return response


async def serve_metrics(
    render: Callable[[], bytes],
    host: str,
    port: int,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; reports the bound port through ``task_status``."""

    async def handle(stream: trio.SocketStream) -> None:
        async with stream:
            try:
                await stream.send_all(answer(await _read_head(stream), render))
            except trio.BrokenResourceError:
                return  # the client went away; nothing to answer

    listeners = await trio.open_tcp_listeners(port, host=host)
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handle, listeners)
