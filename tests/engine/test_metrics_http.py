"""The metrics endpoint over real TCP on 127.0.0.1."""

from __future__ import annotations

import pytest
import trio

from engine._metrics_http import answer, serve_metrics


def render() -> bytes:
    return b"# HELP septet_up 1\nseptet_up 1.0\n"


async def request(port: int, raw: bytes) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(raw)
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
        return data


@pytest.mark.trio
async def test_metrics_health_and_errors_over_tcp() -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_metrics, render, "127.0.0.1", 0)
        ok = await request(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"text/plain; version=0.0.4" in ok
        assert ok.endswith(render())
        assert (await request(port, b"GET /healthz HTTP/1.1\r\n\r\n")).endswith(b"ok\n")
        head = await request(port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert head.endswith(b"\r\n\r\n")
        missing = await request(port, b"GET /other HTTP/1.1\r\n\r\n")
        assert missing.startswith(b"HTTP/1.1 404")
        post = await request(port, b"POST /metrics HTTP/1.1\r\n\r\n")
        assert post.startswith(b"HTTP/1.1 405")
        garbage = await request(port, b"\x00\x01 nonsense\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400")
        nursery.cancel_scope.cancel()


def test_answers_to_odd_requests() -> None:
    assert answer(None, render).startswith(b"HTTP/1.1 408")
    assert answer(b"GET /metrics HTTP/1.1\r\n", render).startswith(b"HTTP/1.1 400")
    assert answer(b"X" * 9000 + b"\r\n\r\n", render).startswith(b"HTTP/1.1 400")
    assert answer(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", render).startswith(b"HTTP/1.1 200")
