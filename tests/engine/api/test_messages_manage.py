"""Searching and deleting messages, and simulating inbound SMS through a sandbox
carrier, over HTTP on 127.0.0.1 with a real client."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from http_server import Answer, open_http_server, webhook_destination

import engine
from engine.api import serve_api
from engine.config import ApiConfig, CarrierConfig, Config
from engine.delivery import RouteTable
from engine.model import InboundText, Message

pytestmark = pytest.mark.trio

KEY = "test-admin-key-0123456789"
AUTH = {"authorization": f"Bearer {KEY}"}
NUMBER = "+15550001111"
SANDBOX = CarrierConfig(name="sim", adapter="sandbox", config={"numbers": ["+15550100001"]})

_ids = itertools.count()


def _text(text: str, *, sender: str = "Acme", cid: str | None = None) -> InboundText:
    return InboundText(
        carrier="api-test",
        number=NUMBER,
        sender=sender,
        text=text,
        carrier_message_id=cid or f"m-{next(_ids)}",
    )


@asynccontextmanager
async def _server(
    tmp_path: Path, **config: Any
) -> AsyncIterator[tuple[engine.Septet, httpx.AsyncClient]]:
    api = ApiConfig(port=0, admin_key=KEY, max_body_bytes=4096)
    async with (
        engine.open(Config(data_dir=str(tmp_path), **config)) as septet,
        trio.open_nursery() as nursery,
    ):
        url = await nursery.start(serve_api, septet, api, {})
        async with httpx.AsyncClient(base_url=url, headers=AUTH) as client:
            yield septet, client
        nursery.cancel_scope.cancel()


async def _ingest(septet: engine.Septet, item: InboundText) -> Message:
    message = (await septet.ingest(item)).message
    assert message is not None
    return message


async def _event_ids(base_url: str, last_event_id: str, *, until: str) -> list[str]:
    """The ids of the events ``/v1/stream`` sends after ``last_event_id``, up to
    ``until``; read off the socket, as the stream never ends by itself."""
    host, _, port = base_url.removeprefix("http://").rstrip("/").partition(":")
    request = (
        f"GET /v1/stream HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {KEY}\r\n"
        f"last-event-id: {last_event_id}\r\n\r\n"
    )
    received = b""
    with trio.fail_after(10):
        async with await trio.open_tcp_stream(host, int(port)) as stream:
            await stream.send_all(request.encode())
            while f"id: {until}\n".encode() not in received:
                received += await stream.receive_some(65536)
    return re.findall(r"^id: (msg_[0-9a-f]+)$", received.decode(), re.MULTILINE)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    return document


# Search ------------------------------------------------------------------------------


async def test_search_finds_text_in_any_case_and_script(tmp_path: Path) -> None:
    async with _server(tmp_path) as (septet, client):
        await _ingest(septet, _text("Ваш КОД: 5170", sender="Bank"))
        await _ingest(septet, _text("Straße closed 🚧 today"))
        await _ingest(septet, _text("your code: 8812", sender="Bank"))
        await _ingest(septet, _text("Your CODE: 9090", sender="Shop"))

        async def contents(query: dict[str, str]) -> list[str]:
            page = (await client.get("/v1/messages", params=query)).json()
            return [m["content"] for m in page["data"]]

        assert await contents({"q": "код"}) == ["Ваш КОД: 5170"]
        assert await contents({"q": "STRASSE CLOSED 🚧"}) == ["Straße closed 🚧 today"]
        assert await contents({"q": "Code:"}) == ["Your CODE: 9090", "your code: 8812"]
        assert await contents({"q": "code", "sender": "Bank"}) == ["your code: 8812"]
        assert await contents({"q": "%"}) == []
        assert len(await contents({"q": ""})) == 4  # an empty q filters nothing
        first = (await client.get("/v1/messages", params={"q": "CODE", "limit": "1"})).json()
        assert [m["content"] for m in first["data"]] == ["Your CODE: 9090"]
        rest = await client.get(
            "/v1/messages", params={"q": "CODE", "limit": "1", "before": first["next"]}
        )
        assert [m["content"] for m in rest.json()["data"]] == ["your code: 8812"]
        assert rest.json()["next"] is None


# Delete ------------------------------------------------------------------------------


async def test_a_deleted_message_is_gone_and_its_retry_stores_nothing(tmp_path: Path) -> None:
    async with _server(tmp_path, carriers=(SANDBOX,)) as (septet, client):
        first = await _ingest(septet, _text("first"))
        sent = {"text": "Your code is 777111", "sender": "Acme", "carrierMessageId": "SM-del"}
        made = await client.post("/v1/sandbox/messages", json=sent)
        gone = made.json()["data"][0]["id"]
        last = await _ingest(septet, _text("last"))

        deleted = await client.delete(f"/v1/messages/{gone}")
        assert deleted.status_code == 204
        assert deleted.content == b""
        assert _problem(await client.get(f"/v1/messages/{gone}"), 404)["detail"]
        listed = (await client.get("/v1/messages")).json()["data"]
        assert [m["id"] for m in listed] == [last.id, first.id]
        _problem(await client.delete(f"/v1/messages/{gone}"), 404)
        _problem(await client.delete("/v1/messages/msg_" + "0" * 32), 404)
        _problem(await client.delete("/v1/messages/nonsense"), 404)
        refused = await client.delete(f"/v1/messages/{last.id}", headers={"authorization": ""})
        _problem(refused, 401)

        # The carrier delivers it again (it missed the ack): answered, nothing stored.
        again = await client.post("/v1/sandbox/messages", json=sent)
        assert again.status_code == 201
        assert again.json() == {"data": [], "outcomes": ["duplicate"]}
        listed = (await client.get("/v1/messages")).json()["data"]
        assert [m["id"] for m in listed] == [last.id, first.id]

        # A stream resumed from before it never shows it.
        assert await _event_ids(str(client.base_url), first.id, until=last.id) == [last.id]


async def test_a_pending_delivery_is_never_sent_once_its_message_is_deleted(
    tmp_path: Path,
) -> None:
    async with open_http_server(default=Answer(status=503)) as receiver:
        hook = webhook_destination(receiver, schedule=(0.3, 0.3, 0.3, 0.3))
        routes = RouteTable(default=("hook",))
        async with _server(tmp_path, destinations=(hook,), routes=routes) as (septet, client):
            gone = await _ingest(septet, _text("Your code is 404404"))
            with trio.fail_after(5):
                while not receiver.requests:  # the first attempt met the outage
                    await trio.sleep(0.02)
                while (await septet.deliveries())[0].status != "pending":
                    await trio.sleep(0.02)
            assert (await client.delete(f"/v1/messages/{gone.id}")).status_code == 204
            assert await septet.deliveries(message_id=gone.id) == []
            receiver.default = Answer(body=b"ok")  # the destination is back
            kept = await _ingest(septet, _text("Your code is 200200"))
            with trio.fail_after(5):
                while not await septet.deliveries(status="delivered"):
                    await trio.sleep(0.02)
            await trio.sleep(1.0)  # longer than the retry the deleted one had scheduled
        sent = [request.json()["data"]["id"] for request in receiver.requests]
        assert sent == [gone.id, kept.id]  # the outage's attempt, then only the kept one


# Sandbox -----------------------------------------------------------------------------


async def test_without_a_sandbox_carrier_injecting_is_not_found(tmp_path: Path) -> None:
    async with _server(tmp_path) as (_, client):
        refused = await client.post("/v1/sandbox/messages", json={"preset": "otp"})
        assert "sandbox" in _problem(refused, 404)["detail"]
        _problem(await client.post("/v1/sandbox/messages", headers={"authorization": ""}), 401)


async def test_sandbox_presets_are_ingested_and_answered_after_the_commit(
    tmp_path: Path,
) -> None:
    async with _server(tmp_path, carriers=(SANDBOX,)) as (_, client):

        async def inject(body: dict[str, Any]) -> dict[str, Any]:
            answer = await client.post("/v1/sandbox/messages", json=body)
            assert answer.status_code == 201, answer.text
            assert answer.headers["content-type"] == "application/json"
            injected: dict[str, Any] = answer.json()
            return injected

        otp = await inject({"preset": "otp"})
        assert otp["outcomes"] == ["committed"]
        (message,) = otp["data"]
        assert message["otp"]["code"]
        assert message["carrier"] == "sim"
        assert message["numberUsed"] == "+15550100001"
        stored = (await client.get(f"/v1/messages/{message['id']}")).json()
        assert stored == message  # the same shape as the inbox's items

        multipart = await inject({"preset": "multipart-out-of-order", "number": "+15550100002"})
        (long,) = multipart["data"]
        assert multipart["outcomes"] == ["buffered"] * (long["parts"] - 1) + ["committed"]
        assert long["parts"] >= 3
        assert "€" in long["content"]
        assert long["numberUsed"] == "+15550100002"

        emoji = (await inject({"preset": "unicode-emoji"}))["data"][0]
        assert "😀" in emoji["content"]
        assert emoji["content"].startswith("Привет!")
        assert "flash" in (await inject({"preset": "flash"}))["data"][0]["flags"]

        retried = await inject({"preset": "duplicate-retry"})
        assert retried["outcomes"] == ["committed", "duplicate"]
        assert len(retried["data"]) == 1
        assert await inject({"preset": "status-report"}) == {"data": [], "outcomes": ["status"]}

        text = {"text": "Привет 👋", "sender": "+447700900123", "carrierMessageId": "T-1"}
        made = await inject(text)
        assert [m["content"] for m in made["data"]] == ["Привет 👋"]
        assert made["data"][0]["senderId"] == "+447700900123"
        assert made["data"][0]["carrierMessageId"] == "T-1"
        repeated = await inject({**text, "carrier": "sim"})
        assert repeated == {"data": made["data"], "outcomes": ["duplicate"]}
        listed = (await client.get("/v1/messages", params={"limit": "100"})).json()["data"]
        assert len(listed) == 6  # otp, multipart, emoji, flash, retry, text


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b'{"preset": "otp", "text": "hi", "sender": "A"}', 400, "exactly one"),
        (b"{}", 400, "exactly one"),
        (b'{"preset": "no-such-preset"}', 400, "unknown preset"),
        (b'{"text": "no sender"}', 400, "sender"),
        (b'{"preset": "otp", "sender": "A"}', 400, "preset sets its own"),
        (b'{"preset": "otp", "pdu": "00"}', 400, "pdu"),
        (b'{"preset": 7}', 400, "preset"),
        (b"not json", 400, "not a sandbox request"),
        (b'{"text": "\xed\xa0\x80", "sender": "A"}', 400, "not a sandbox request"),
        (b'{"preset": "otp", "carrier": "twilio"}', 404, "twilio"),
        (b'{"text": "' + b"x" * 5000 + b'", "sender": "A"}', 413, "bytes"),
    ],
)
async def test_a_bad_sandbox_request_is_a_problem(
    tmp_path: Path, body: bytes, status: int, detail: str
) -> None:
    async with _server(tmp_path, carriers=(SANDBOX,)) as (septet, client):
        answer = await client.post("/v1/sandbox/messages", content=body)
        assert detail in _problem(answer, status)["detail"]
        assert await septet.messages() == []
