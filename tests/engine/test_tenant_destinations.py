"""Every tenant's own destinations and routes, end to end with real webhook receivers on
127.0.0.1: a lessee's messages reach its own webhook and no other tenant's; an expired
lease stops delivery (the next message is quarantined and delivered nowhere), while a
message received during the lease still reaches the tenant that held the number then;
two tenants with a destination of the same name each get only their own; deleting one
leaves the other alone; stored destinations of a tenant deliver again after a restart;
and over REST a tenant sees and changes its own only (another's answers 404), a viewer
cannot write and a revoked key fails at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from http_server import Answer, HttpTestServer, open_http_server
from leasing import (
    HOUR,
    NUMBER,
    OTHER,
    Clock,
    lease_number,
    numbers_config,
    receive_text,
    stock_numbers,
)

import engine
from engine import signing
from engine.api import serve_api
from engine.config import ApiConfig
from engine.delivery import RouteRule, RouteTable
from engine.errors import DefinitionConflictError, TenantConflictError
from engine.model import DeliveryRecord, Message

pytestmark = pytest.mark.trio

ADMIN = "test-admin-key-0123456789"


def _webhook(receiver: HttpTestServer, path: str) -> dict[str, Any]:
    return {
        "url": receiver.url.replace("127.0.0.1", "localhost") + path,
        "secrets": [signing.generate_secret()],
        "allow_hosts": ["localhost"],
    }


async def _hooks(septet: engine.Septet, tenant: str, receiver: HttpTestServer) -> None:
    """Give ``tenant`` a destination ``hooks`` posting to ``/<tenant>``, and route every
    message of the tenant to it."""
    await septet.create_destination(
        "hooks",
        "webhook",
        config=_webhook(receiver, f"/{tenant}"),
        policy={"schedule": [0.05]},
        tenant=tenant,
    )
    await septet.set_routes(RouteTable(default=("hooks",)), tenant=tenant)


async def _delivered(septet: engine.Septet, tenant: str, message: Message) -> DeliveryRecord:
    with trio.fail_after(10):
        while True:
            found = await septet.deliveries(message_id=message.id, tenant=tenant)
            if found and found[0].status == "delivered":
                return found[0]
            await trio.sleep(0.01)


@asynccontextmanager
async def _acme_and_beta_with_hooks(
    tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[HttpTestServer, engine.Septet]]:
    """A webhook receiver, and an engine on ``clock`` with tenants ``acme`` and ``beta``,
    each routing every message to its own ``hooks`` (see :func:`_hooks`)."""
    async with (
        open_http_server(default=Answer(status=204)) as receiver,
        engine.open(numbers_config(tmp_path), clock=clock) as septet,
    ):
        for tenant in ("acme", "beta"):
            await septet.create_tenant(tenant.title(), tenant_id=tenant)
            await _hooks(septet, tenant, receiver)
        yield receiver, septet


def _received(receiver: HttpTestServer, tenant: str) -> list[str]:
    """The ids of the messages the webhook of ``tenant`` received, in order."""
    return [r.json()["data"]["id"] for r in receiver.requests if r.target == f"/{tenant}"]


async def test_an_expired_lease_stops_delivery_to_the_tenants_own_webhook(tmp_path: Path) -> None:
    clock = Clock()
    async with _acme_and_beta_with_hooks(tmp_path, clock) as (receiver, septet):
        await stock_numbers(septet, NUMBER)
        await lease_number(septet, "acme", NUMBER, HOUR)

        # During the lease: the message is acme's and reaches acme's webhook.
        first = await receive_text(septet, NUMBER, "Your code is 111111")
        assert first.tenant == "acme"
        await _delivered(septet, "acme", first)
        assert _received(receiver, "acme") == [first.id]

        # Held back (acme disabled its webhook) while the lease ends: the message
        # received during the lease is still acme's, and goes to acme once enabled.
        await septet.disable_destination("hooks", "maintenance", tenant="acme")
        held = await receive_text(septet, NUMBER, "Your code is 222222")
        assert held.tenant == "acme"
        clock.advance(hours=1)
        swept = await septet.numbers.sweep()
        assert [lease.number for lease in swept.expired] == [NUMBER]

        # After the lease: quarantined, and no delivery for anybody.
        late = await receive_text(septet, NUMBER, "Your code is 333333")
        assert late.tenant == "quarantine:cooling-off"
        for tenant in ("acme", "beta", "default", "quarantine:cooling-off"):
            assert await septet.deliveries(message_id=late.id, tenant=tenant) == []
        await septet.enable_destination("hooks", tenant="acme")
        await _delivered(septet, "acme", held)
        assert _received(receiver, "acme") == [first.id, held.id]

        # The next tenant gets its own messages at its own webhook, never acme's.
        clock.advance(hours=48)
        await septet.numbers.sweep()
        await lease_number(septet, "beta", NUMBER, HOUR)
        fresh = await receive_text(septet, NUMBER, "Your code is 444444")
        assert fresh.tenant == "beta"
        await _delivered(septet, "beta", fresh)
        assert _received(receiver, "beta") == [fresh.id]
        assert _received(receiver, "acme") == [first.id, held.id]
        assert [d.message_id for d in await septet.deliveries(tenant="acme")] == [
            first.id,
            held.id,
        ]
        assert [d.message_id for d in await septet.deliveries(tenant="beta")] == [fresh.id]
        assert len(receiver.requests) == 3


async def test_same_named_destinations_stay_apart_and_deleting_one_leaves_the_other(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with _acme_and_beta_with_hooks(tmp_path, clock) as (receiver, septet):
        await stock_numbers(septet, NUMBER, OTHER)
        await lease_number(septet, "acme", NUMBER, HOUR)
        await lease_number(septet, "beta", OTHER, HOUR)
        assert [d.name for d in await septet.destinations(tenant="acme")] == ["hooks"]
        assert [d.name for d in await septet.destinations()] == []  # Config.tenant's

        to_acme = await receive_text(septet, NUMBER, "Your code is 111111")
        to_beta = await receive_text(septet, OTHER, "Your code is 222222")
        await _delivered(septet, "acme", to_acme)
        await _delivered(septet, "beta", to_beta)
        assert _received(receiver, "acme") == [to_acme.id]
        assert _received(receiver, "beta") == [to_beta.id]

        # acme deletes its "hooks" (taking it out of its routes): beta's stays, and
        # still delivers; acme's next message stays in its inbox only.
        assert await septet.delete_destination("hooks", force=True, tenant="acme") == 0
        with pytest.raises(KeyError):
            await septet.destination("hooks", tenant="acme")
        assert (await septet.destination("hooks", tenant="beta")).name == "hooks"
        assert septet.routes(tenant="acme").default == ()
        assert septet.routes(tenant="beta").default == ("hooks",)
        kept = await receive_text(septet, NUMBER, "Your code is 333333")
        again = await receive_text(septet, OTHER, "Your code is 444444")
        await _delivered(septet, "beta", again)
        assert await septet.deliveries(message_id=kept.id, tenant="acme") == []
        assert _received(receiver, "acme") == [to_acme.id]
        assert _received(receiver, "beta") == [to_beta.id, again.id]

        # A rule of one tenant's table never routes another tenant's message.
        await septet.create_destination(
            "codes", "webhook", config=_webhook(receiver, "/acme-codes"), tenant="acme"
        )
        rule = RouteRule(name="all", numbers=(NUMBER, OTHER), destinations=("codes",))
        await septet.set_routes(RouteTable(rules=(rule,)), tenant="acme")
        mine = await receive_text(septet, NUMBER, "Your code is 555555")
        theirs = await receive_text(septet, OTHER, "Your code is 666666")
        await _delivered(septet, "acme", mine)
        await _delivered(septet, "beta", theirs)
        codes = [r.json()["data"]["id"] for r in receiver.requests if r.target == "/acme-codes"]
        assert codes == [mine.id]


async def test_the_quarantine_and_unknown_tenants_have_no_destinations(tmp_path: Path) -> None:
    async with engine.open(numbers_config(tmp_path)) as septet:
        for tenant in ("quarantine:unleased", "quarantine:cooling-off"):
            with pytest.raises(DefinitionConflictError, match="quarantine"):
                await septet.create_destination("hooks", "webhook", tenant=tenant)
            with pytest.raises(DefinitionConflictError, match="quarantine"):
                await septet.set_routes(RouteTable(), tenant=tenant)
        with pytest.raises(KeyError, match="no tenant"):
            await septet.create_destination("hooks", "webhook", tenant="nobody")
        assert await septet.destinations(tenant="nobody") == []
        assert septet.routes(tenant="nobody").default == ()


async def test_a_tenants_stored_destinations_deliver_after_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    async with open_http_server(default=Answer(status=204)) as receiver:
        async with engine.open(numbers_config(tmp_path), clock=clock) as septet:
            await septet.create_tenant("Acme", tenant_id="acme")
            await _hooks(septet, "acme", receiver)
            await stock_numbers(septet, NUMBER)
            await lease_number(septet, "acme", NUMBER, HOUR)
        async with engine.open(numbers_config(tmp_path), clock=clock) as septet:
            assert septet.routes(tenant="acme").source == "api"
            message = await receive_text(septet, NUMBER, "Your code is 111111")
            assert message.tenant == "acme"
            await _delivered(septet, "acme", message)
            assert _received(receiver, "acme") == [message.id]


# Over REST ----------------------------------------------------------------------------


@asynccontextmanager
async def _api(tmp_path: Path) -> AsyncIterator[tuple[engine.Septet, httpx.AsyncClient]]:
    async with engine.open(numbers_config(tmp_path)) as septet, trio.open_nursery() as nursery:
        url = await nursery.start(serve_api, septet, ApiConfig(port=0, admin_key=ADMIN), {})
        async with httpx.AsyncClient(base_url=url) as client:
            yield septet, client
        nursery.cancel_scope.cancel()


def _bearer(key: str, tenant: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {key}"}
    if tenant is not None:
        headers["septet-tenant"] = tenant
    return headers


async def test_over_rest_each_tenant_has_its_own_destinations_and_routes(tmp_path: Path) -> None:
    async with (
        open_http_server(default=Answer(status=204)) as receiver,
        _api(tmp_path) as (
            septet,
            client,
        ),
    ):
        keys: dict[str, str] = {}
        for tenant in ("acme", "beta"):
            await septet.create_tenant(tenant.title(), tenant_id=tenant)
            _, keys[tenant] = await septet.create_key(tenant, name="owner", role="owner")
        _, viewer = await septet.create_key("beta", name="viewer", role="viewer")
        acme, beta = _bearer(keys["acme"]), _bearer(keys["beta"])

        # Both create "hooks"; each lists its own only.
        for headers in (acme, beta):
            body = {"name": "hooks", "adapter": "webhook", "config": _webhook(receiver, "/x")}
            created = await client.post("/v1/destinations", json=body, headers=headers)
            assert created.status_code == 201, created.text
        only = await client.post(
            "/v1/destinations",
            json={"name": "beta-only", "adapter": "webhook", "config": _webhook(receiver, "/b")},
            headers=beta,
        )
        assert only.status_code == 201, only.text
        listed = (await client.get("/v1/destinations", headers=acme)).json()["data"]
        assert [d["name"] for d in listed] == ["hooks"]
        listed = (await client.get("/v1/destinations", headers=beta)).json()["data"]
        assert [d["name"] for d in listed] == ["hooks", "beta-only"]

        # Another tenant's destination answers 404 on every endpoint; nothing changes.
        for method, path, body in [
            ("GET", "/v1/destinations/beta-only", None),
            ("PATCH", "/v1/destinations/beta-only", {"policy": {"timeout_seconds": 5}}),
            ("DELETE", "/v1/destinations/beta-only", None),
            ("POST", "/v1/destinations/beta-only/test", None),
            ("POST", "/v1/destinations/beta-only/replay", None),
            ("POST", "/v1/destinations/beta-only/enable", None),
        ]:
            answer = await client.request(method, path, json=body, headers=acme)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        # A route naming another tenant's destination names none of the caller's.
        refused = await client.put("/v1/routes", json={"default": ["beta-only"]}, headers=acme)
        assert refused.status_code == 422, refused.text
        assert refused.json()["key"] == "default[0]"
        assert [d.name for d in await septet.destinations(tenant="beta")] == ["hooks", "beta-only"]

        # Routes are per tenant; the operator acts on the tenant it names.
        put = await client.put("/v1/routes", json={"default": ["hooks"]}, headers=acme)
        assert put.status_code == 200, put.text
        assert (await client.get("/v1/routes", headers=acme)).json()["default"] == ["hooks"]
        assert (await client.get("/v1/routes", headers=beta)).json()["default"] == []
        as_acme = await client.get("/v1/routes", headers=_bearer(ADMIN, "acme"))
        assert as_acme.json()["default"] == ["hooks"]
        assert septet.routes().default == ()  # Config.tenant's, untouched
        named = await client.get("/v1/destinations/beta-only", headers=_bearer(ADMIN, "beta"))
        assert named.status_code == 200

        # A tenant's test-fire posts to its own webhook.
        fired = await client.post("/v1/destinations/beta-only/test", headers=beta)
        assert fired.status_code == 200, fired.text
        assert fired.json()["outcome"] == "delivered"
        assert [r.target for r in receiver.requests] == ["/b"]
        assert receiver.requests[0].json()["data"]["tenant"] == "beta"

        # Replaying and enabling by name act on the caller's own destination.
        await septet.disable_destination("beta-only", "paused", tenant="beta")
        replayed = await client.post("/v1/destinations/beta-only/replay", headers=beta)
        assert replayed.status_code == 200, replayed.text
        assert replayed.json() == {"replayed": 0}
        enabled = await client.post("/v1/destinations/beta-only/enable", headers=beta)
        assert enabled.status_code == 200, enabled.text
        infos = {d.name: d for d in await septet.destinations(tenant="beta")}
        assert infos["beta-only"].disabled is None

        # A viewer reads but cannot write.
        assert (await client.get("/v1/destinations", headers=_bearer(viewer))).status_code == 200
        for method, path in [
            ("POST", "/v1/destinations"),
            ("DELETE", "/v1/destinations/hooks"),
            ("PUT", "/v1/routes"),
            ("POST", "/v1/destinations/hooks/test"),
        ]:
            answer = await client.request(method, path, json={}, headers=_bearer(viewer))
            assert answer.status_code == 403, (method, path, answer.text)

        # Deleting acme's "hooks" leaves beta's.
        deleted = await client.delete("/v1/destinations/hooks?force=true", headers=acme)
        assert deleted.status_code == 200, deleted.text
        assert (await client.get("/v1/destinations/hooks", headers=acme)).status_code == 404
        assert (await client.get("/v1/destinations/hooks", headers=beta)).status_code == 200

        # A revoked key fails at once.
        key = next(k for k in await septet.api_keys("beta") if k.name == "owner")
        await septet.revoke_key(key.id, tenant="beta")
        assert (await client.get("/v1/destinations", headers=beta)).status_code == 401


async def test_a_tenant_with_destinations_or_leases_is_not_deleted(tmp_path: Path) -> None:
    clock = Clock()
    async with (
        open_http_server(default=Answer(status=204)) as receiver,
        engine.open(numbers_config(tmp_path), clock=clock) as septet,
    ):
        await septet.create_tenant("Acme", tenant_id="acme")
        await _hooks(septet, "acme", receiver)
        await stock_numbers(septet, NUMBER)
        lease = await lease_number(septet, "acme", NUMBER, HOUR)
        with pytest.raises(TenantConflictError, match="destinations"):
            await septet.delete_tenant("acme")
        await septet.set_routes(RouteTable(), tenant="acme")
        await septet.delete_destination("hooks", tenant="acme")
        with pytest.raises(TenantConflictError, match="leases"):
            await septet.delete_tenant("acme")
        await septet.numbers.release("acme", lease)
        assert await septet.delete_tenant("acme")
        assert [t.id for t in await septet.tenants()] == ["default"]
