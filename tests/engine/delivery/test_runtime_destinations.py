"""Destinations and routes changed while the engine runs, through the embedding API:
a replacement that loses nothing in flight, definitions that fail to start without
stopping the engine, and the errors each refusal raises."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
from http_server import Answer, HttpTestServer, open_http_server

import engine
from engine import signing
from engine._redaction import merge_patch, redact_settings, restore_redacted
from engine.config import Config
from engine.delivery import DestinationPolicy, RouteRule, RouteTable
from engine.errors import ConfigError, DefinitionConflictError, StaleVersionError
from engine.model import DeliveryRecord, InboundText
from engine.store import open_sqlite_store

T = TypeVar("T")

SECRET = signing.generate_secret()
QUICK = DestinationPolicy(schedule=(0.05, 0.1), breaker_failures=1000, breaker_min_requests=1000)


def _hook(server: HttpTestServer, path: str = "/sms") -> dict[str, Any]:
    url = server.url.replace("127.0.0.1", "localhost") + path
    return {"url": url, "secrets": [SECRET], "allow_hosts": ["localhost"]}


def _text(cid: str) -> InboundText:
    return InboundText(
        carrier="sandbox",
        number="+15550001111",
        sender="Acme",
        text="Your code is 482913",
        carrier_message_id=cid,
    )


async def _eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, seconds: float = 5.0
) -> T:
    with trio.fail_after(seconds):
        while True:
            value = await probe()
            if accept(value):
                return value
            await trio.sleep(0.02)


async def _delivered(septet: engine.Septet, count: int) -> list[DeliveryRecord]:
    async def probe() -> list[DeliveryRecord]:
        return await septet.deliveries()

    return await _eventually(
        probe, lambda found: len(found) == count and all(d.status == "delivered" for d in found)
    )


@pytest.mark.trio
async def test_a_replacement_lets_the_attempt_in_flight_finish(tmp_path: Path) -> None:
    async with (
        open_http_server(default=Answer(delay=0.5)) as slow,
        open_http_server() as fast,
        engine.open(Config(data_dir=str(tmp_path))) as septet,
    ):
        await septet.create_destination("ops", "webhook", config=_hook(slow), policy=QUICK)
        await septet.set_routes(RouteTable(default=("ops",)))
        first = (await septet.ingest(_text("m1"))).message
        await _eventually(trio.lowlevel.checkpoint, lambda _: len(slow.requests) == 1)
        await septet.put_destination("ops", "webhook", config=_hook(fast), policy=QUICK)
        second = (await septet.ingest(_text("m2"))).message
        records = await _delivered(septet, 2)
    assert first is not None
    assert second is not None
    assert [r.json()["data"]["id"] for r in slow.requests] == [first.id]
    assert [r.json()["data"]["id"] for r in fast.requests] == [second.id]
    assert [d.attempts for d in records] == [1, 1]


@pytest.mark.trio
async def test_a_stored_destination_that_cannot_start_waits_to_be_fixed(tmp_path: Path) -> None:
    path = tmp_path / "septet.db"
    async with open_sqlite_store(path) as store:
        # Stored by an earlier version that took a setting this one refuses.
        await store.put_destination(
            "default",
            "ops",
            adapter="webhook",
            config={"url": "ftp://nowhere", "secrets": [SECRET]},
            policy={},
        )
        await store.put_route_table("default", {"default": ["ops"]})
    async with (
        open_http_server() as sink,
        open_sqlite_store(path) as store,
        engine.open(Config(data_dir=str(tmp_path)), store=store) as septet,
    ):
        broken = await septet.destination("ops")
        assert broken.error is not None
        assert "config.url" in broken.error
        assert broken.config == {"url": "ftp://nowhere", "secrets": "[redacted]"}
        assert "ops" not in septet.destination_names
        message = (await septet.ingest(_text("m1"))).message
        [waiting] = await septet.deliveries()
        assert waiting.status == "pending"
        with pytest.raises(DefinitionConflictError, match="not running"):
            await septet.test_destination("ops")
        fixed = await septet.put_destination(
            "ops", "webhook", config=_hook(sink), expected_version=broken.version
        )
        assert fixed.error is None
        await _delivered(septet, 1)
    assert message is not None
    assert [r.json()["data"]["id"] for r in sink.requests] == [message.id]


@pytest.mark.trio
async def test_the_embedding_api_round_trip_and_its_refusals(tmp_path: Path) -> None:
    async with open_http_server() as sink, engine.open(Config(data_dir=str(tmp_path))) as septet:
        created = await septet.create_destination(
            "ops", "webhook", config=_hook(sink), policy=QUICK
        )
        assert (created.source, created.config["secrets"]) == ("api", "[redacted]")
        with pytest.raises(DefinitionConflictError, match="exists"):
            await septet.create_destination("ops", "webhook", config=_hook(sink))
        with pytest.raises(ConfigError) as bad:
            await septet.create_destination("other", "webhook", config={**_hook(sink), "url": "x"})
        assert bad.value.key == "config.url"
        with pytest.raises(ConfigError) as bad_policy:
            await septet.create_destination(
                "other", "webhook", config=_hook(sink), policy={"max_concurrency": 0}
            )
        assert (bad_policy.value.key or "").startswith("policy")
        patched = await septet.patch_destination("ops", {"policy": {"ordered": True}})
        assert patched.policy.ordered
        assert patched.version > created.version
        with pytest.raises(StaleVersionError):
            await septet.put_destination(
                "ops", "webhook", config=_hook(sink), expected_version=created.version
            )
        rule = RouteRule(name="codes", has_code=True, destinations=("ops",))
        routes = await septet.set_routes(RouteTable(rules=(rule,)))
        assert (routes.source, routes.rules) == ("api", (rule,))
        assert septet.routes() == routes
        with pytest.raises(ConfigError) as unknown:
            await septet.set_routes(RouteTable(default=("ghost",)))
        assert unknown.value.key == "default[0]"
        with pytest.raises(StaleVersionError):
            await septet.set_routes(None, expected_version=routes.version - 1)
        with pytest.raises(DefinitionConflictError, match="rule 'codes'"):
            await septet.delete_destination("ops")
        assert await septet.delete_destination("ops", force=True) == 0
        with pytest.raises(KeyError):
            await septet.destination("ops")
        assert septet.routes().rules == ()
        result = await septet.set_routes(None)
        assert (result.source, result.default) == ("config", ())


def test_secrets_are_redacted_in_nested_settings_and_restored_when_sent_back() -> None:
    stored = {
        "url": "https://hooks.example.com/T0/abcdefghijklmnopqrstuvwxyz",
        "auth_token": "tok-0123456789",
        "upstream": {"password": "p-0123456789", "host": "mx.example.com"},
        "retries": 3,
    }
    shown = redact_settings(stored, None)
    assert shown == {
        "url": "https://hooks.example.com/[redacted]",
        "auth_token": "[redacted]",
        "upstream": {"password": "[redacted]", "host": "mx.example.com"},
        "retries": 3,
    }
    edited = {**shown, "retries": 4, "upstream": {**shown["upstream"], "host": "mx2.example.com"}}
    assert restore_redacted(edited, stored, None) == {
        **stored,
        "retries": 4,
        "upstream": {"password": "p-0123456789", "host": "mx2.example.com"},
    }
    # A new value replaces the secret; "[redacted]" for a setting never stored is kept as sent.
    assert restore_redacted({"auth_token": "new", "other": "[redacted]"}, stored, None) == {
        "auth_token": "new",
        "other": "[redacted]",
    }


def test_a_merge_patch_replaces_merges_and_removes() -> None:
    current = {"adapter": "webhook", "config": {"url": "u", "headers": {"a": "1"}}, "policy": {}}
    patch = {"config": {"headers": {"a": None, "b": "2"}, "url": None}, "policy": {"ordered": True}}
    assert merge_patch(current, patch) == {
        "adapter": "webhook",
        "config": {"headers": {"b": "2"}},
        "policy": {"ordered": True},
    }
