"""The HTTP server on 127.0.0.1 with a real client: health, metrics, carriers' webhooks,
the REST API, and RFC 9457 problems for every client mistake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import h11
import httpx
import msgspec
import pytest
import trio
from http_server import Answer, open_http_server

import engine
from engine import signing
from engine.api import serve_api
from engine.config import ApiConfig, Config, DestinationConfig
from engine.delivery import DestinationPolicy, RouteTable
from engine.errors import StoreError
from engine.model import InboundText
from engine.plugin_api import Emit, WebhookRequest, WebhookResponse, problem_response

pytestmark = pytest.mark.trio

KEY = "test-admin-key-0123456789"
AUTH = {"authorization": f"Bearer {KEY}"}
NUMBER = "+15550001111"


def _text(text: str = "Your code is 482913", *, cid: str, sender: str = "Acme") -> InboundText:
    return InboundText(
        carrier="api-test", number=NUMBER, sender=sender, text=text, carrier_message_id=cid
    )


class EchoCarrier:
    """A webhook carrier for the tests: a JSON body {"from", "text", "id"} becomes a
    message; a body "bad" is refused with 400; it answers what emit answered."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[msgspec.Struct]] = msgspec.Struct
    name = "echo"
    seen: ClassVar[list[WebhookRequest]] = []

    async def handle(self, request: WebhookRequest, emit: Emit) -> WebhookResponse:
        self.seen.append(request)
        if request.body == b"bad":
            return problem_response(400, "Bad Request", "not a message")
        fields = json.loads(request.body)
        result = await emit(
            InboundText(
                carrier="ignored",
                number=NUMBER,
                sender=fields["from"],
                text=fields["text"],
                carrier_message_id=fields["id"],
            )
        )
        return WebhookResponse(
            content_type="application/json", body=json.dumps({"outcome": result.outcome}).encode()
        )


@asynccontextmanager
async def _server(
    tmp_path: Path, *, store: Any = None, **config: Any
) -> AsyncIterator[tuple[engine.Septet, httpx.AsyncClient]]:
    api = ApiConfig(port=0, admin_key=KEY, max_body_bytes=4096)
    async with (
        engine.open(Config(data_dir=str(tmp_path), **config), store=store) as septet,
        trio.open_nursery() as nursery,
    ):
        url = await nursery.start(serve_api, septet, api, {"echo": EchoCarrier()})
        async with httpx.AsyncClient(base_url=url) as client:
            yield septet, client
        nursery.cancel_scope.cancel()


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    assert document["title"]
    return document


async def test_health_readiness_and_metrics(tmp_path: Path) -> None:
    async with _server(tmp_path) as (septet, client):
        await septet.ingest(_text(cid="m1"))
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        metrics = await client.get("/metrics")
        assert 'septet_ingested_total{carrier="api-test",outcome="committed"} 1.0' in metrics.text


async def test_the_rest_api_needs_the_admin_key(tmp_path: Path) -> None:
    async with _server(tmp_path) as (_, client):
        missing = _problem(await client.get("/v1/messages"), 401)
        assert "Bearer" in missing["detail"]
        wrong = await client.get("/v1/messages", headers={"authorization": "Bearer nope"})
        assert _problem(wrong, 401)["detail"] == "the API key is not valid"
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        assert (await client.get("/v1/messages", headers=AUTH)).status_code == 200


async def test_messages_page_newest_first_with_a_cursor(tmp_path: Path) -> None:
    async with _server(tmp_path) as (septet, client):
        ids = [
            (await septet.ingest(_text(f"code {i}0000", cid=f"c{i}"))).message.id for i in range(5)
        ]  # type: ignore[union-attr]
        first = (await client.get("/v1/messages?limit=2", headers=AUTH)).json()
        assert [m["id"] for m in first["data"]] == ids[::-1][:2]
        second = (
            await client.get(f"/v1/messages?limit=2&before={first['next']}", headers=AUTH)
        ).json()
        assert [m["id"] for m in second["data"]] == ids[::-1][2:4]
        last = (
            await client.get(f"/v1/messages?limit=2&before={second['next']}", headers=AUTH)
        ).json()
        assert [m["id"] for m in last["data"]] == ids[:1]
        assert last["next"] is None
        one = (await client.get(f"/v1/messages/{ids[0]}", headers=AUTH)).json()
        assert one["content"] == "code 00000"
        assert one["numberUsed"] == NUMBER


async def test_message_filters(tmp_path: Path) -> None:
    async with _server(tmp_path) as (septet, client):
        await septet.ingest(_text("Your code is 111222", cid="a", sender="Bank"))
        await septet.ingest(_text("no code here", cid="b", sender="Friend"))
        by_sender = (await client.get("/v1/messages?sender=Bank", headers=AUTH)).json()
        assert [m["senderId"] for m in by_sender["data"]] == ["Bank"]
        coded = (await client.get("/v1/messages?has_code=true", headers=AUTH)).json()
        assert [m["otp"]["code"] for m in coded["data"]] == ["111222"]
        uncoded = (await client.get("/v1/messages?has_code=false", headers=AUTH)).json()
        assert [m["content"] for m in uncoded["data"]] == ["no code here"]
        future = (await client.get("/v1/messages?since=2999-01-01T00:00:00Z", headers=AUTH)).json()
        assert future["data"] == []


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("since=yesterday", "since"),
        ("since=2026-01-01T00:00:00", "UTC offset"),
        ("has_code=maybe", "has_code"),
        ("before=msg_nothex", "before"),
    ],
)
async def test_bad_parameters_are_400_problems(tmp_path: Path, query: str, detail: str) -> None:
    async with _server(tmp_path) as (_, client):
        document = _problem(await client.get(f"/v1/messages?{query}", headers=AUTH), 400)
        assert detail in document["detail"]


async def test_unknown_ids_routes_and_methods_are_problems(tmp_path: Path) -> None:
    async with _server(tmp_path) as (_, client):
        _problem(await client.get("/v1/messages/msg_" + "0" * 32, headers=AUTH), 404)
        _problem(await client.get("/v1/messages/whatever", headers=AUTH), 404)
        _problem(await client.get("/v2/nothing"), 404)
        _problem(await client.delete("/healthz"), 405)
        _problem(
            await client.get("/v1/deliveries/dlv_" + "0" * 32 + "/attempts", headers=AUTH), 404
        )
        _problem(await client.post("/v1/destinations/nowhere/enable", headers=AUTH), 404)


async def test_a_webhook_carrier_commits_before_it_answers(tmp_path: Path) -> None:
    EchoCarrier.seen.clear()
    async with _server(tmp_path) as (septet, client):
        body = {"from": "Acme", "text": "Your code is 314159", "id": "SM1"}
        first = await client.post("/carriers/echo/inbound?x=1", json=body)
        assert first.json() == {"outcome": "committed"}
        [stored] = await septet.messages()
        assert stored.carrier == "echo"  # the instance it came through
        assert stored.otp is not None
        assert stored.otp.code == "314159"
        again = await client.post("/carriers/echo/inbound?x=1", json=body)
        assert again.json() == {"outcome": "duplicate"}
        request = EchoCarrier.seen[0]
        assert request.path == "inbound"
        assert request.url == f"{str(client.base_url).rstrip('/')}/carriers/echo/inbound?x=1"
        assert request.query == (("x", "1"),)
        assert request.headers["content-type"] == "application/json"
        refused = await client.post("/carriers/echo", content=b"bad")
        assert _problem(refused, 400)["detail"] == "not a message"
        _problem(await client.post("/carriers/nobody", content=b"{}"), 404)


async def test_a_body_over_the_limit_is_refused_with_413(tmp_path: Path) -> None:
    EchoCarrier.seen.clear()
    async with _server(tmp_path) as (_, client):
        _problem(await client.post("/carriers/echo", content=b"x" * 5000), 413)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"y" * 1000

        _problem(await client.post("/carriers/echo", content=chunks()), 413)
    assert EchoCarrier.seen == []


class _BrokenStore:
    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def list_messages(self, query: Any) -> Any:
        raise StoreError("the database is read-only")

    async def commit_message(self, *args: Any, **kwargs: Any) -> Any:
        raise StoreError("the database is read-only")


async def test_an_unavailable_inbox_is_a_503_with_retry_after(tmp_path: Path) -> None:
    from engine.store import open_sqlite_store

    async with (
        open_sqlite_store(tmp_path / "inbox.db") as real,
        _server(tmp_path, store=_BrokenStore(real)) as (_, client),
    ):
        ready = await client.get("/readyz")
        assert _problem(ready, 503)["detail"] == "the database is read-only"
        assert ready.headers["retry-after"] == "5"
        _problem(await client.get("/v1/messages", headers=AUTH), 503)
        body = {"from": "Acme", "text": "hello", "id": "SM9"}
        refused = await client.post("/carriers/echo", json=body)
        assert _problem(refused, 503)["detail"] == "the database is read-only"


async def test_deliveries_attempts_and_replay_over_http(tmp_path: Path) -> None:
    secret = signing.generate_secret()
    async with open_http_server(default=Answer(status=400)) as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost") + "/hook"
        hook = DestinationConfig(
            name="hook",
            adapter="webhook",
            config={"url": url, "secrets": [secret], "allow_hosts": ["localhost"]},
            policy=DestinationPolicy(schedule=()),
        )
        async with _server(
            tmp_path, destinations=(hook,), routes=RouteTable(default=("hook",))
        ) as (septet, client):
            message = (await septet.ingest(_text(cid="d1"))).message
            assert message is not None
            with trio.fail_after(5):
                while not (failed := await septet.deliveries(status="failed")):
                    await trio.sleep(0.02)
            listed = (await client.get("/v1/deliveries?status=failed", headers=AUTH)).json()
            assert [d["id"] for d in listed["data"]] == [failed[0].id]
            assert listed["data"][0]["messageId"] == message.id
            attempts = (
                await client.get(f"/v1/deliveries/{failed[0].id}/attempts", headers=AUTH)
            ).json()["data"]
            assert [(a["attempt"], a["statusCode"]) for a in attempts] == [(1, 400)]
            receiver.default = Answer(status=200)
            replayed = await client.post(f"/v1/deliveries/{failed[0].id}/replay", headers=AUTH)
            assert replayed.json() == {"replayed": 1}
            with trio.fail_after(5):
                while (await septet.deliveries())[0].status != "delivered":
                    await trio.sleep(0.02)
            bulk = await client.post("/v1/destinations/hook/replay", headers=AUTH)
            assert bulk.json() == {"replayed": 0}
            enabled = await client.post("/v1/destinations/hook/enable", headers=AUTH)
            assert enabled.json() == {"destination": "hook", "enabled": True}
            bad = await client.get("/v1/deliveries?status=lost", headers=AUTH)
            _problem(bad, 400)


async def test_api_settings_are_checked_and_the_key_never_shown(tmp_path: Path) -> None:
    assert Config(data_dir=str(tmp_path)).api.port is None  # no HTTP server by default
    with pytest.raises(engine.errors.ConfigError) as caught:
        ApiConfig(port=70000)
    assert caught.value.key == "port"
    with pytest.raises(engine.errors.ConfigError):
        ApiConfig(admin_key="short")
    shown = repr(ApiConfig(admin_key=KEY))
    assert "[redacted]" in shown
    assert KEY not in shown


async def test_the_long_poll_answers_when_a_matching_message_commits(tmp_path: Path) -> None:
    async with _server(tmp_path) as (septet, client):
        await septet.ingest(_text("Your code is 000111", cid="old"))  # before the poll: not it

        async def send_later() -> None:
            await trio.sleep(0.2)
            await septet.ingest(_text("hello, no code", cid="w1"))
            await septet.ingest(_text("Your code is 424242", cid="w2", sender="Bank"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_later)
            answer = await client.get(
                "/v1/messages/wait?has_code=true&sender=Bank&timeout=10", headers=AUTH
            )
        assert answer.json()["data"]["otp"]["code"] == "424242"
        # A match already stored after `since` answers at once.
        at_once = await client.get(
            "/v1/messages/wait?since=2000-01-01T00:00:00Z&sender=Acme&timeout=10", headers=AUTH
        )
        assert at_once.json()["data"]["content"] == "Your code is 000111"
        nothing = await client.get("/v1/messages/wait?sender=Nobody&timeout=0.2", headers=AUTH)
        assert nothing.json() == {"data": None}
        _problem(await client.get("/v1/messages/wait?timeout=301", headers=AUTH), 400)
        _problem(await client.get("/v1/messages/wait?timeout=nan", headers=AUTH), 400)


async def test_a_client_that_hangs_up_ends_its_long_poll(tmp_path: Path) -> None:
    async with _server(tmp_path) as (septet, client):
        async with httpx.AsyncClient(base_url=client.base_url) as leaving:
            with trio.move_on_after(0.3):
                await leaving.get("/v1/messages/wait?timeout=300", headers=AUTH)
            assert septet._hub._subscriptions  # the server is still waiting for it
        # The server noticed the hang-up and stopped waiting: the hub has no watcher left.
        with trio.fail_after(5):
            while septet._hub._subscriptions:
                await trio.sleep(0.05)


class _EventClient:
    """A minimal Server-Sent Events client over a raw trio stream (with h11), so a test
    decides exactly when the connection closes."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self._stream = stream
        self._conn = h11.Connection(h11.CLIENT)
        self._buffer = b""
        self.status = 0
        self.headers: dict[str, str] = {}

    @classmethod
    @asynccontextmanager
    async def open(cls, base_url: str, headers: dict[str, str]) -> AsyncIterator[_EventClient]:
        host, _, port = base_url.removeprefix("http://").partition(":")
        stream = await trio.open_tcp_stream(host, int(port))
        client = cls(stream)
        try:
            request = h11.Request(
                method="GET",
                target="/v1/stream",
                headers=[("host", host), *headers.items()],
            )
            await stream.send_all(
                client._conn.send(request) + client._conn.send(h11.EndOfMessage())
            )
            while True:
                event = await client._next_event()
                if isinstance(event, h11.Response):
                    client.status = event.status_code
                    client.headers = {k.decode(): v.decode() for k, v in event.headers}
                    break
            yield client
        finally:
            await stream.aclose()

    async def _next_event(self) -> object:
        while True:
            event = self._conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self._conn.receive_data(await self._stream.receive_some(65536))

    async def events(self, count: int) -> list[dict[str, str]]:
        """The next ``count`` events (comments skipped)."""
        found: list[dict[str, str]] = []
        with trio.fail_after(10):
            while len(found) < count:
                if b"\n\n" not in self._buffer:
                    event = await self._next_event()
                    assert isinstance(event, h11.Data), event
                    self._buffer += bytes(event.data)
                    continue
                block, _, self._buffer = self._buffer.partition(b"\n\n")
                fields = {}
                for line in block.decode().splitlines():
                    if line.startswith(":"):
                        continue
                    name, _, value = line.partition(": ")
                    fields[name] = value
                if fields:
                    found.append(fields)
        return found


async def test_the_event_stream_is_live_and_resumes_with_last_event_id(tmp_path: Path) -> None:
    async with _server(tmp_path) as (septet, client):
        base = str(client.base_url).rstrip("/")
        async with _EventClient.open(base, AUTH) as events:
            assert events.status == 200
            assert events.headers["content-type"].startswith("text/event-stream")
            first = (await septet.ingest(_text("Your code is 100001", cid="s1"))).message
            second = (await septet.ingest(_text("Your code is 100002", cid="s2"))).message
            received = await events.events(2)
        assert first is not None
        assert second is not None
        assert [e["id"] for e in received] == [first.id, second.id]
        assert {e["event"] for e in received} == {"message"}
        assert json.loads(received[0]["data"])["otp"]["code"] == "100001"
        # Disconnected, one more arrives; reconnecting with the last id seen delivers
        # the missed one first, then live ones, with no repeat.
        missed = (await septet.ingest(_text("Your code is 100003", cid="s3"))).message
        assert missed is not None
        async with _EventClient.open(base, {**AUTH, "last-event-id": second.id}) as events:
            resumed = await events.events(1)
            live = (await septet.ingest(_text("Your code is 100004", cid="s4"))).message
            resumed += await events.events(1)
        assert live is not None
        assert [e["id"] for e in resumed] == [missed.id, live.id]
        bad = await client.get("/v1/stream", headers={**AUTH, "last-event-id": "nope"})
        _problem(bad, 400)
        # The server let go of both streams once their clients left.
        with trio.fail_after(5):
            while septet._hub._subscriptions:
                await trio.sleep(0.05)
