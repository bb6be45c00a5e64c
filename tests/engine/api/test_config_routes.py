"""Destinations and routes over the REST API, against the live server on 127.0.0.1 with
real receivers: create, read, change and delete them, see them take effect at once and
survive a restart, keep secrets out of every answer, and test-fire a destination."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import trio
from http_server import Answer, HttpTestServer, open_http_server
from problem_json import problem
from standardwebhooks.webhooks import Webhook
from structlog.testing import capture_logs

import engine
from engine import signing
from engine.api import serve_api
from engine.config import ApiConfig, Config, DestinationConfig
from engine.delivery import DestinationPolicy, RouteTable
from engine.model import InboundText

pytestmark = pytest.mark.trio

T = TypeVar("T")

KEY = "test-admin-key-0123456789"
AUTH = {"authorization": f"Bearer {KEY}"}
SECRET = signing.generate_secret()
CONFIG_SECRET = signing.generate_secret()
FAST = {"schedule": [0.05, 0.1], "breaker_failures": 1000, "breaker_min_requests": 1000}


def _url(server: HttpTestServer, path: str = "/sms") -> str:
    return server.url.replace("127.0.0.1", "localhost") + path


def _hook(url: str, **config: Any) -> dict[str, Any]:
    return {"url": url, "secrets": [SECRET], "allow_hosts": ["localhost"], **config}


def _text(text: str = "Your code is 482913", *, cid: str) -> InboundText:
    return InboundText(
        carrier="api-test", number="+15550001111", sender="Acme", text=text, carrier_message_id=cid
    )


@asynccontextmanager
async def _server(
    tmp_path: Path, receiver: HttpTestServer
) -> AsyncIterator[tuple[engine.Septet, httpx.AsyncClient]]:
    """An engine whose config file defines the destination ``cfg`` (routed by default)."""
    cfg = DestinationConfig(
        name="cfg",
        adapter="webhook",
        config={
            "url": _url(receiver, "/cfg/token-0123456789abcdef"),
            "secrets": [CONFIG_SECRET],
            "allow_hosts": ["localhost"],
        },
        policy=DestinationPolicy(schedule=()),
    )
    config = Config(
        data_dir=str(tmp_path), destinations=(cfg,), routes=RouteTable(default=("cfg",))
    )
    api = ApiConfig(port=0, admin_key=KEY, max_body_bytes=8192)
    async with engine.open(config) as septet, trio.open_nursery() as nursery:
        url = await nursery.start(serve_api, septet, api, {})
        async with httpx.AsyncClient(base_url=url, headers=AUTH) as client:
            yield septet, client
        nursery.cancel_scope.cancel()


async def _eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, seconds: float = 5.0
) -> T:
    with trio.fail_after(seconds):
        while True:
            value = await probe()
            if accept(value):
                return value
            await trio.sleep(0.02)


async def _received(server: HttpTestServer, count: int) -> None:
    async def seen() -> int:
        await trio.lowlevel.checkpoint()
        return len(server.requests)

    await _eventually(seen, lambda n: n >= count)


async def _create(client: httpx.AsyncClient, name: str, config: dict[str, Any]) -> httpx.Response:
    body = {"name": name, "adapter": "webhook", "config": config, "policy": FAST}
    response = await client.post("/v1/destinations", json=body)
    assert response.status_code == 201, response.text
    return response


async def test_config_destinations_are_listed_read_only_with_secrets_redacted(
    tmp_path: Path,
) -> None:
    async with open_http_server() as receiver, _server(tmp_path, receiver) as (_, client):
        listed = (await client.get("/v1/destinations")).json()["data"]
        assert [(d["name"], d["source"], d["version"]) for d in listed] == [("cfg", "config", 0)]
        shown = listed[0]["config"]
        assert shown["secrets"] == "[redacted]"
        assert shown["url"] == f"{receiver.url.replace('127.0.0.1', 'localhost')}/[redacted]"
        assert shown["allow_hosts"] == ["localhost"]
        assert CONFIG_SECRET not in str(listed)
        assert "token-0123" not in str(listed)
        body = {"adapter": "webhook", "config": _hook(_url(receiver))}
        for response in (
            await client.put("/v1/destinations/cfg", json=body),
            await client.patch("/v1/destinations/cfg", json={"policy": {"ordered": True}}),
            await client.delete("/v1/destinations/cfg"),
            await client.post("/v1/destinations", json={"name": "cfg", **body}),
        ):
            assert "config file" in problem(response, 409)["detail"]
        routes = await client.get("/v1/routes")
        assert routes.json() == {
            "rules": [],
            "default": ["cfg"],
            "source": "config",
            "version": 0,
            "updatedAt": None,
        }
        assert routes.headers["etag"] == '"0"'


async def test_a_destination_created_over_the_api_gets_messages_committed_after(
    tmp_path: Path,
) -> None:
    async with (
        open_http_server() as receiver,
        open_http_server() as sink,
        _server(tmp_path, receiver) as (septet, client),
    ):
        created = await _create(client, "ops", _hook(_url(sink)))
        info = created.json()
        assert created.headers["location"] == "/v1/destinations/ops"
        assert created.headers["etag"] == f'"{info["version"]}"'
        assert (info["source"], info["adapter"], info["error"]) == ("api", "webhook", None)
        assert info["policy"]["schedule"] == [0.05, 0.1]
        assert "ops" in septet.destination_names
        before = await septet.ingest(_text(cid="before"))  # routed to cfg only
        put = await client.put(
            "/v1/routes",
            json={"rules": [{"name": "codes", "has_code": True, "destinations": ["ops"]}]},
            headers={"if-match": '"0"'},
        )
        assert put.status_code == 200, put.text
        assert (put.json()["source"], put.json()["default"]) == ("api", [])
        after = await septet.ingest(_text(cid="after"))
        await _received(sink, 1)
        request = sink.requests[0]
        payload = Webhook(SECRET).verify(request.body, request.headers)
        assert payload["data"]["id"] == after.message.id  # type: ignore[union-attr]
        assert before.message is not None
        deliveries = await septet.deliveries(message_id=before.message.id)
        assert [d.destination for d in deliveries] == ["cfg"]


async def test_bad_definitions_are_422_naming_the_key(tmp_path: Path) -> None:
    async with open_http_server() as receiver, _server(tmp_path, receiver) as (_, client):
        good = _hook(_url(receiver))
        cases: list[tuple[dict[str, Any], str]] = [
            (
                {"name": "a", "adapter": "webhook", "config": {**good, "url": "ftp://x"}},
                "config.url",
            ),
            ({"name": "a", "adapter": "webhook", "config": {"url": good["url"]}}, "config.secrets"),
            ({"name": "a", "adapter": "webhook", "config": {**good, "bogus": 1}}, "config.bogus"),
            ({"name": "a", "adapter": "nope", "config": good}, "adapter"),
            (
                {
                    "name": "a",
                    "adapter": "webhook",
                    "config": good,
                    "policy": {"timeout_seconds": "x"},
                },
                "policy.timeout_seconds",
            ),
            ({"name": "a b/c", "adapter": "webhook", "config": good}, "name"),
            ({"adapter": "webhook", "config": good}, "name"),
            ({"name": "a", "config": good}, "adapter"),
        ]
        for body, key in cases:
            refused = problem(await client.post("/v1/destinations", json=body), 422)
            assert refused["key"] == key, (body, refused)
        table_cases: list[tuple[dict[str, Any], str]] = [
            ({"rules": [{"name": "r", "destinations": ["ghost"]}]}, "rules[0].destinations[0]"),
            ({"default": ["cfg", "ghost"]}, "default[1]"),
            (
                {"rules": [{"name": "r", "sender_regex": "(", "destinations": ["cfg"]}]},
                "rules[0].sender_regex",
            ),
            ({"rules": [{"name": "r", "destinations": []}]}, "rules[0].destinations"),
        ]
        for table, key in table_cases:
            refused = problem(await client.put("/v1/routes", json=table), 422)
            assert refused["key"] == key, (table, refused)
        problem(await client.post("/v1/destinations", content=b"{not json"), 400)
        problem(await client.put("/v1/routes", content=b""), 400)
        assert (await client.get("/v1/destinations")).json()["data"][1:] == []
        assert (await client.get("/v1/routes")).json()["version"] == 0


async def test_secrets_never_appear_in_answers_or_logs(tmp_path: Path) -> None:
    header = "Bearer header-secret-0123456789"
    slack_token = "T000/B000/slacktoken0123456789abcdef"
    password = "smtp-password-0123456789"
    secrets = [SECRET, SECRET.removeprefix("whsec_"), header, slack_token, password]
    async with (
        open_http_server() as receiver,
        _server(tmp_path, receiver) as (_, client),
    ):
        with capture_logs() as logs:
            answers = [
                await _create(client, "hook", _hook(_url(receiver), headers={"x-auth": header})),
                await client.post(
                    "/v1/destinations",
                    json={
                        "name": "chat",
                        "adapter": "slack",
                        "config": {"url": f"https://hooks.slack.com/services/{slack_token}"},
                    },
                ),
                await client.post(
                    "/v1/destinations",
                    json={
                        "name": "mail",
                        "adapter": "email",
                        "config": {
                            "host": "smtp.example.com",
                            "from_address": "septet@example.com",
                            "to": ["ops@example.com"],
                            "username": "septet",
                            "password": password,
                        },
                    },
                ),
            ]
            answers.append(await client.get("/v1/destinations"))
            answers += [await client.get(f"/v1/destinations/{n}") for n in ("hook", "chat", "mail")]
            answers.append(
                await client.patch("/v1/destinations/mail", json={"policy": {"ordered": True}})
            )
        assert [a.status_code for a in answers[:3]] == [201, 201, 201]
        for answer in answers:
            for secret in secrets:
                assert secret not in answer.text
        for secret in secrets:
            assert secret not in str(logs)
        shown = {d["name"]: d["config"] for d in answers[3].json()["data"]}
        assert shown["hook"]["headers"] == "[redacted]"
        assert shown["chat"]["url"] == "https://hooks.slack.com/[redacted]"
        assert shown["mail"]["password"] == "[redacted]"
        assert shown["mail"]["host"] == "smtp.example.com"


async def test_a_definition_sent_back_as_read_keeps_its_secrets(tmp_path: Path) -> None:
    async with (
        open_http_server() as receiver,
        open_http_server() as sink,
        _server(tmp_path, receiver) as (septet, client),
    ):
        await _create(client, "ops", _hook(_url(sink)))
        read = (await client.get("/v1/destinations/ops")).json()
        config = {**read["config"], "url": _url(sink, "/moved")}
        policy = {"schedule": [0.05], "max_concurrency": 2}
        put = await client.put(
            "/v1/destinations/ops",
            json={"adapter": "webhook", "config": config, "policy": policy},
            headers={"if-match": f'"{read["version"]}"'},
        )
        assert put.status_code == 200, put.text
        assert put.json()["version"] > read["version"]
        assert put.json()["policy"]["max_concurrency"] == 2
        await client.put("/v1/routes", json={"default": ["ops"]})
        await septet.ingest(_text(cid="m1"))
        await _received(sink, 1)
        request = sink.requests[0]
        assert request.target == "/moved"
        Webhook(SECRET).verify(request.body, request.headers)  # still the first secret


async def test_changes_based_on_a_stale_version_are_412(tmp_path: Path) -> None:
    async with open_http_server() as receiver, _server(tmp_path, receiver) as (_, client):
        first = await _create(client, "ops", _hook(_url(receiver)))
        stale = first.headers["etag"]
        body = {"adapter": "webhook", "config": _hook(_url(receiver, "/2"))}
        moved = await client.put("/v1/destinations/ops", json=body, headers={"if-match": stale})
        assert moved.status_code == 200
        assert moved.headers["etag"] != stale
        for response in (
            await client.put("/v1/destinations/ops", json=body, headers={"if-match": stale}),
            await client.patch(
                "/v1/destinations/ops", json={"policy": {}}, headers={"if-match": stale}
            ),
            await client.delete("/v1/destinations/ops", headers={"if-match": stale}),
            await client.put("/v1/destinations/ops", json=body, headers={"if-none-match": "*"}),
            await client.put("/v1/destinations/new", json=body, headers={"if-match": "*"}),
            await client.put("/v1/destinations/ops", json=body, headers={"if-match": "nonsense"}),
        ):
            problem(response, 412)
        assert (await client.get("/v1/destinations/new")).status_code == 404
        routes = await client.put("/v1/routes", json={"default": ["ops"]})
        etag = routes.headers["etag"]
        assert (await client.put("/v1/routes", json={"default": []})).status_code == 200
        problem(
            await client.put("/v1/routes", json={"default": []}, headers={"if-match": etag}), 412
        )
        problem(await client.delete("/v1/routes", headers={"if-match": etag}), 412)
        current = (await client.get("/v1/routes")).headers["etag"]
        reset = await client.delete("/v1/routes", headers={"if-match": current})
        assert (reset.json()["source"], reset.json()["default"]) == ("config", ["cfg"])
        assert reset.json()["version"] > int(current.strip('"'))
        deleted = await client.delete(
            "/v1/destinations/ops", headers={"if-match": moved.headers["etag"]}
        )
        assert deleted.json() == {"destination": "ops", "openDeliveries": 0}


async def test_a_route_change_leaves_committed_deliveries_alone(tmp_path: Path) -> None:
    async with (
        open_http_server() as receiver,
        open_http_server() as first,
        open_http_server() as second,
        _server(tmp_path, receiver) as (septet, client),
    ):
        first.answer(Answer(status=503), Answer(status=503))  # m1 is still pending...
        await _create(client, "first", _hook(_url(first)))
        await _create(client, "second", _hook(_url(second)))
        await client.put("/v1/routes", json={"default": ["first"]})
        m1 = (await septet.ingest(_text(cid="m1"))).message
        await _received(first, 1)
        await client.put("/v1/routes", json={"default": ["second"]})  # ...when routes change
        m2 = (await septet.ingest(_text(cid="m2"))).message
        assert m1 is not None
        assert m2 is not None
        await _received(first, 3)  # m1's retries still go to the first destination
        await _received(second, 1)
        assert [r.json()["data"]["id"] for r in second.requests] == [m2.id]
        assert {r.json()["data"]["id"] for r in first.requests} == {m1.id}
        by_message = {
            m.id: [d.destination for d in await septet.deliveries(message_id=m.id)]
            for m in (m1, m2)
        }
        assert by_message == {m1.id: ["first"], m2.id: ["second"]}


async def test_delete_is_refused_while_routed_and_leaves_deliveries_waiting(
    tmp_path: Path,
) -> None:
    async with (
        open_http_server() as receiver,
        open_http_server(default=Answer(status=410)) as gone,
        open_http_server() as sink,
        _server(tmp_path, receiver) as (septet, client),
    ):
        await _create(client, "ops", _hook(_url(gone)))
        rule = {"name": "codes", "has_code": True, "destinations": ["ops", "cfg"]}
        await client.put("/v1/routes", json={"rules": [rule], "default": ["ops"]})
        message = (await septet.ingest(_text(cid="m1"))).message
        assert message is not None
        await _received(gone, 1)  # 410: the destination is disabled, its delivery held
        refused = problem(await client.delete("/v1/destinations/ops"), 409)
        assert "rule 'codes'" in refused["detail"]
        assert "the default" in refused["detail"]
        problem(await client.delete("/v1/destinations/ops?force=maybe"), 400)
        deleted = await client.delete("/v1/destinations/ops?force=true")
        assert deleted.json() == {"destination": "ops", "openDeliveries": 1}
        routes = (await client.get("/v1/routes")).json()
        assert (routes["rules"][0]["destinations"], routes["default"]) == (["cfg"], [])
        assert "ops" not in septet.destination_names
        problem(await client.get("/v1/destinations/ops"), 404)
        problem(await client.delete("/v1/destinations/ops"), 404)
        [held] = await septet.deliveries(destination="ops")
        assert held.status == "pending"
        # The delivery waits for a destination of the name: here one comes back.
        await _create(client, "ops", _hook(_url(sink)))
        assert (await client.post("/v1/destinations/ops/enable")).status_code == 200
        await _received(sink, 1)
        assert sink.requests[0].json()["data"]["id"] == message.id
        assert len(gone.requests) == 1


async def test_test_fire_reports_a_live_and_a_dead_target(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    async with (
        open_http_server() as receiver,
        open_http_server(default=Answer(status=200, body=b"thanks " * 200)) as sink,
        _server(tmp_path, receiver) as (septet, client),
    ):
        await _create(client, "live", _hook(_url(sink)))
        await _create(client, "dead", _hook(f"http://localhost:{dead_port}/sms"))
        live = await client.post(
            "/v1/destinations/live/test", json={"content": "Your code is 424242"}
        )
        assert live.status_code == 200, live.text
        result = live.json()
        assert (result["outcome"], result["statusCode"], result["error"]) == (
            "delivered",
            200,
            None,
        )
        assert result["durationMs"] > 0
        assert len(result["response"]) <= 500
        assert result["message"]["flags"] == ["test"]
        assert result["message"]["otp"]["code"] == "424242"
        await _received(sink, 1)
        sent = Webhook(SECRET).verify(sink.requests[0].body, sink.requests[0].headers)
        assert sent["data"]["content"] == "Your code is 424242"
        assert sent["data"]["flags"] == ["test"]
        dead = await client.post("/v1/destinations/dead/test")
        assert dead.status_code == 200, dead.text
        failed = dead.json()
        assert failed["outcome"] == "retryable"
        assert failed["statusCode"] is None
        assert failed["error"]
        configured = (await client.post("/v1/destinations/cfg/test")).json()
        assert configured["outcome"] == "delivered"
        problem(await client.post("/v1/destinations/ghost/test"), 404)
        problem(await client.post("/v1/destinations/live/test", json={"bogus": 1}), 422)
        # Nothing of a test is stored: no message, no delivery.
        assert await septet.deliveries() == []
        assert await septet.messages() == []


async def test_definitions_survive_a_restart(tmp_path: Path) -> None:
    async with open_http_server() as receiver, open_http_server() as sink:
        async with _server(tmp_path, receiver) as (_, client):
            created = (await _create(client, "ops", _hook(_url(sink)))).json()
            patched = await client.patch(
                "/v1/destinations/ops", json={"policy": {"max_concurrency": 3}}
            )
            routes = (await client.put("/v1/routes", json={"default": ["ops"]})).json()
        async with _server(tmp_path, receiver) as (septet, client):
            listed = (await client.get("/v1/destinations")).json()["data"]
            again = next(d for d in listed if d["name"] == "ops")
            assert again == patched.json()
            assert again["createdAt"] == created["createdAt"]
            assert again["policy"]["max_concurrency"] == 3
            assert (await client.get("/v1/routes")).json() == routes
            message = (await septet.ingest(_text(cid="after-restart"))).message
            assert message is not None
            await _received(sink, 1)
            assert sink.requests[0].json()["data"]["id"] == message.id
