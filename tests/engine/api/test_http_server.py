"""The HTTP/1.1 server itself, on 127.0.0.1 with real sockets: framing, keep-alive,
pipelining, limits, timeouts, malformed requests, the carriers' direct path, the ASGI
adapter and shutdown."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import httpx
import msgspec
import pytest
import trio

from engine.api._http_carriers import CarrierWebhooks
from engine.api._http_server import HttpServer
from engine.errors import StoreError
from engine.model import InboundItem, IngestResult
from engine.plugin_api import Emit, WebhookRequest, WebhookResponse

pytestmark = pytest.mark.trio

Message = dict[str, Any]


async def app(scope: Message, receive: Any, send: Any) -> None:
    """A small ASGI application: ``/echo`` answers what it got as JSON, ``/stream``
    streams three chunks, ``/hold`` answers once the client hangs up (and records it),
    ``/slow`` answers after 0.5 s, ``/fail`` raises, ``/empty`` answers 204."""
    path = scope["path"]
    if path == "/fail":
        raise RuntimeError("the application failed")
    message = await receive()
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    if path == "/hold":
        HELD.append(await receive())
        return
    if path == "/slow":
        await trio.sleep(0.5)
    if path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    document = {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "http_version": scope["http_version"],
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        "body": message["body"].decode(),
        "more_body": message["more_body"],
        "client": list(scope["client"]),
        "server": list(scope["server"]),
    }
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


HELD: list[Message] = []


class Carrier:
    """A webhook carrier: a body "store-down" fails as the inbox would; any other body is
    emitted as is and answered "stored <body>"."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[msgspec.Struct]] = msgspec.Struct
    name = "hook"
    seen: ClassVar[list[WebhookRequest]] = []

    async def handle(self, request: WebhookRequest, emit: Emit) -> WebhookResponse:
        self.seen.append(request)
        if request.body == b"store-down":
            raise StoreError("the database is read-only")
        await emit(request.body)  # type: ignore[arg-type]
        return WebhookResponse(body=b"stored " + request.body, headers=(("x-carrier", "1"),))


class Engine:
    """What the carriers' path needs of an engine: an emit per carrier instance."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, object]] = []

    def _emit_as(self, name: str) -> Emit:
        async def emit(item: InboundItem) -> IngestResult:
            self.emitted.append((name, item))
            return None  # type: ignore[return-value]

        return emit


@asynccontextmanager
async def serving(**limits: Any) -> AsyncIterator[tuple[HttpServer, int, Engine]]:
    engine = Engine()
    webhooks = CarrierWebhooks(engine, {"hook": Carrier()}, None)  # type: ignore[arg-type]
    server = HttpServer(app, webhooks, **{"max_body_bytes": 4096, **limits})
    async with trio.open_nursery() as nursery:
        url = await nursery.start(server.serve, "127.0.0.1", 0)
        yield server, int(url.rsplit(":", 1)[1]), engine
        nursery.cancel_scope.cancel()


async def exchange(port: int, data: bytes, *, wait: float = 5.0) -> bytes:
    """Send ``data``, then read until the server closes (or ``wait`` seconds)."""
    received = b""
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(data)
        with trio.move_on_after(wait):
            while chunk := await stream.receive_some(65536):
                received += chunk
    return received


class Answer(msgspec.Struct):
    status: int
    headers: dict[str, str]
    body: bytes


def answers(data: bytes) -> list[Answer]:
    """The answers in ``data``, in order (``Content-Length`` or chunked bodies)."""
    found: list[Answer] = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(status_line.split()[1])
        if status == 100:
            continue
        if "content-length" in headers:
            length = int(headers["content-length"])
            body, data = data[:length], data[length:]
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size_line, _, data = data.partition(b"\r\n")
                size = int(size_line, 16)
                chunk, data = data[:size], data[size + 2 :]
                body += chunk
                if size == 0:
                    break
        else:
            body, data = data, b""
        found.append(Answer(status, headers, body))
    return found


def problem(answer: Answer, status: int) -> dict[str, Any]:
    assert answer.status == status
    assert answer.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = json.loads(answer.body)
    assert document["status"] == status
    return document


GET = b"GET /echo HTTP/1.1\r\nHost: example.test\r\n\r\n"


async def test_requests_reuse_a_kept_alive_connection() -> None:
    async with serving() as (server, port, _):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for n in range(20):
                answer = await client.post(f"/echo?n={n}", content=b"x" * n)
                assert answer.json()["query"] == f"n={n}"
                assert answer.json()["body"] == "x" * n
                assert answer.headers["date"]
            assert server.connection_count == 1
        # HTTP/1.0 closes unless asked to keep the connection.
        [closed] = answers(await exchange(port, b"GET /echo HTTP/1.0\r\n\r\n"))
        assert closed.status == 200
        assert closed.headers["connection"] == "close"
        kept = await exchange(
            port, b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", wait=0.3
        )
        assert answers(kept)[0].headers["connection"] == "keep-alive"


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with serving() as (_, port, engine):
        data = (
            b"GET /echo?first HTTP/1.1\r\nHost: a\r\n\r\n"
            b"POST /carriers/hook/in HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
            b"POST /echo?third HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
            b"GET /echo?last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        first, second, third, last = answers(await exchange(port, data))
        assert json.loads(first.body)["query"] == "first"
        assert second.body == b"stored hello"
        assert json.loads(third.body)["body"] == "abc"
        assert json.loads(last.body)["query"] == "last"
        assert last.headers["connection"] == "close"
        assert engine.emitted == [("hook", b"hello")]


async def test_chunked_bodies_reach_the_application_and_the_carrier() -> None:
    async with serving() as (_, port, engine):
        chunked = b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"
        head = b"Host: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        data = b"POST /echo HTTP/1.1\r\n" + head + chunked
        data += b"POST /carriers/hook HTTP/1.1\r\nConnection: close\r\n" + head + chunked
        echo, stored = answers(await exchange(port, data))
        document = json.loads(echo.body)
        assert (document["body"], document["more_body"]) == ("hello world", False)
        assert stored.body == b"stored hello world"
        assert engine.emitted == [("hook", b"hello world")]


async def test_expect_100_continue() -> None:
    async with serving() as (_, port, _):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(
                b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            with trio.fail_after(5):
                interim = await stream.receive_some(65536)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            await stream.send_all(b"ping")
            received = b""
            with trio.fail_after(5):
                while b"ping" not in received:
                    received += await stream.receive_some(65536)
            assert answers(received)[0].status == 200
        # Too large to be accepted: refused at once, no 100.
        refused = await exchange(
            port,
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n"
            b"Expect: 100-continue\r\n\r\n",
        )
        assert not refused.startswith(b"HTTP/1.1 100")
        problem(answers(refused)[0], 413)


async def test_heads_and_bodies_over_the_limits_are_refused() -> None:
    async with serving(max_head_bytes=1024) as (_, port, engine):
        long_head = b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 2000 + b"\r\n\r\n"
        document = problem(answers(await exchange(port, long_head))[0], 431)
        assert "1024" in document["detail"]
        # A header line that never ends is refused too, without waiting for its end.
        endless = b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 200_000
        problem(answers(await exchange(port, endless))[0], 431)
        declared = b"POST /carriers/hook HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n"
        problem(answers(await exchange(port, declared + b"x" * 5000))[0], 413)
        chunks = b"".join(b"3e8\r\n" + b"y" * 1000 + b"\r\n" for _ in range(10)) + b"0\r\n\r\n"
        chunked = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        refused = problem(answers(await exchange(port, chunked + chunks))[0], 413)
        assert refused["detail"] == "the body exceeds 4096 bytes"
        assert engine.emitted == []


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"\x00\x01 nonsense\r\n\r\n", 400),
        (b"GET /echo HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n", 400),
        (b"GET /echo HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /carriers/hook HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417),
        (b"GET /echo HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ],
)
async def test_malformed_requests_are_400_problems(request_bytes: bytes, status: int) -> None:
    async with serving() as (_, port, _):
        [answer] = answers(await exchange(port, request_bytes))
        problem(answer, status)
        assert answer.headers["connection"] == "close"
        # The server is none the worse for it.
        assert answers(await exchange(port, GET, wait=0.3))[0].status == 200


async def test_slow_heads_and_idle_connections_are_closed() -> None:
    async with serving(head_timeout=0.3, keep_alive_timeout=0.6) as (server, port, _):
        async with await trio.open_tcp_stream("127.0.0.1", port) as slow:
            await slow.send_all(b"GET /echo HTTP/1.1\r\nHost: a\r\n")
            with trio.fail_after(3):
                assert await slow.receive_some(65536) == b""  # closed under it
        async with await trio.open_tcp_stream("127.0.0.1", port) as idle:
            await idle.send_all(GET)
            start = trio.current_time()
            with trio.fail_after(3):
                received = b""
                while chunk := await idle.receive_some(65536):
                    received += chunk
            assert answers(received)[0].status == 200
            assert trio.current_time() - start >= 0.5
        with trio.fail_after(3):
            while server.connection_count:
                await trio.sleep(0.05)


async def test_many_connections_beyond_the_cap_are_all_served() -> None:
    async with serving(max_connections=20) as (server, port, engine):
        statuses: list[int] = []

        async def client(n: int) -> None:
            body = b"m%d" % n
            data = b"POST /carriers/hook HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
            data += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            statuses.extend(answer.status for answer in answers(await exchange(port, data)))

        async with trio.open_nursery() as nursery:
            for n in range(200):
                nursery.start_soon(client, n)
        assert statuses == [200] * 200
        assert sorted(item for _, item in engine.emitted) == sorted(  # type: ignore[type-var]
            b"m%d" % n for n in range(200)
        )
        assert server.connection_count <= 20


async def test_the_carriers_path_builds_the_request_and_answers_problems() -> None:
    Carrier.seen.clear()
    async with serving() as (_, port, _):
        data = (
            b"POST /carriers/hook/sms/in%20bound?a=1&a=2&b= HTTP/1.1\r\nHost: sms.test:8080\r\n"
            b"X-Sig: one\r\nx-sig: two\r\nContent-Length: 2\r\n\r\nhi"
            b"POST /carriers/nobody HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
            b"POST /carriers/hook HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nstore-down"
            b"PUT /carriers/hook HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
            b"POST /carriers/hook?\xff HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
            b"Content-Length: 0\r\n\r\n"
        )
        stored, unknown, unavailable, put, not_ascii = answers(await exchange(port, data))
        assert (stored.status, stored.body, stored.headers["x-carrier"]) == (200, b"stored hi", "1")
        assert stored.headers["content-type"] == "text/plain; charset=utf-8"
        request = Carrier.seen[0]
        assert request.url == "http://sms.test:8080/carriers/hook/sms/in bound?a=1&a=2&b="
        assert request.path == "sms/in bound"
        assert request.query == (("a", "1"), ("a", "2"), ("b", ""))
        assert request.headers["x-sig"] == "one, two"
        assert request.method == "POST"
        assert problem(unknown, 404)["detail"] == "no webhook carrier is named 'nobody'"
        assert problem(unavailable, 503)["detail"] == "the database is read-only"
        assert unavailable.headers["retry-after"] == "5"
        assert json.loads(put.body)["method"] == "PUT"  # not a carrier's: the application's
        assert problem(not_ascii, 400)["detail"].startswith("malformed request")


async def test_the_asgi_adapter_streams_and_frames_answers() -> None:
    async with serving() as (_, port, _):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            streamed = await client.get("/stream")
            assert streamed.text == "one two three"
            assert streamed.headers["transfer-encoding"] == "chunked"
            echo = (await client.get("/echo/a%2Fb?x=%20")).json()
            assert echo["path"] == "/echo/a/b"
            assert echo["raw_path"] == "/echo/a%2Fb"
            assert echo["query"] == "x=%20"
            assert echo["http_version"] == "1.1"
            assert echo["client"][0] == echo["server"][0] == "127.0.0.1"
            assert echo["server"][1] == port
            assert ["host", f"127.0.0.1:{port}"] in echo["headers"]
            head = await client.head("/echo")
            assert head.status_code == 200
            assert head.content == b""
            assert int(head.headers["content-length"]) > 0
            empty = await client.get("/empty")
            assert (empty.status_code, empty.content) == (204, b"")
            failed = await client.get("/fail")
            assert failed.status_code == 500
            assert failed.headers["content-type"] == "application/problem+json"
            assert (await client.get("/echo")).status_code == 200  # a new connection
        # HTTP/1.0 gets a streamed body closed by the end of the connection.
        [streamed_10] = answers(await exchange(port, b"GET /stream HTTP/1.0\r\n\r\n"))
        assert streamed_10.body == b"one two three"
        assert streamed_10.headers["connection"] == "close"


async def test_the_application_hears_a_client_hang_up() -> None:
    HELD.clear()
    async with serving() as (server, port, _):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(b"GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
            await trio.sleep(0.2)
            assert HELD == []
        with trio.fail_after(5):
            while not HELD or server.connection_count:
                await trio.sleep(0.02)
        assert HELD == [{"type": "http.disconnect"}]


async def test_shutdown_lets_a_request_in_hand_finish_then_closes() -> None:
    engine = Engine()
    server = HttpServer(app, CarrierWebhooks(engine, {}, None), grace_seconds=5.0)  # type: ignore[arg-type]
    received: list[bytes] = []
    async with trio.open_nursery() as outer:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(server.serve, "127.0.0.1", 0)
            port = int(url.rsplit(":", 1)[1])
            idle = await trio.open_tcp_stream("127.0.0.1", port)
            await idle.send_all(GET)
            await idle.receive_some(65536)

            async def slow_request() -> None:
                received.append(
                    await exchange(port, b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n", wait=5)
                )

            outer.start_soon(slow_request)
            while server.connection_count < 2:
                await trio.sleep(0.01)
            await trio.sleep(0.2)  # the request is in hand
            start = trio.current_time()
            nursery.cancel_scope.cancel()
        elapsed = trio.current_time() - start
    # The idle connection was closed at once; the slow one was answered, then closed.
    with trio.fail_after(1):
        assert await idle.receive_some(65536) == b""
    await idle.aclose()
    [answer] = answers(received[0])
    assert answer.status == 200
    assert answer.headers["connection"] == "close"
    assert 0.1 < elapsed < 3
    with pytest.raises(OSError, match="connect"):
        await trio.open_tcp_stream("127.0.0.1", port)


async def test_shutdown_cancels_what_outlasts_the_grace_period() -> None:
    HELD.clear()
    server = HttpServer(app, None, grace_seconds=0.3)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(server.serve, "127.0.0.1", 0)
        stream = await trio.open_tcp_stream("127.0.0.1", int(url.rsplit(":", 1)[1]))
        await stream.send_all(b"GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
        while not server.connection_count:
            await trio.sleep(0.01)
        await trio.sleep(0.1)
        start = trio.current_time()
        nursery.cancel_scope.cancel()
    assert trio.current_time() - start < 2
    with trio.fail_after(1):
        assert await stream.receive_some(65536) == b""
    await stream.aclose()
