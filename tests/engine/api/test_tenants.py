"""Tenants, API keys, members and the audit log over the REST API, against the live
server on 127.0.0.1: two tenants with their own keys never see each other's data, roles
and scopes hold, a revoked or rotated key fails at once, a key is shown once and never
logged, every change is audited, and a key over its rate is told when to come back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from http_server import Answer, open_http_server, webhook_destination
from problem_json import problem
from structlog.testing import capture_logs

import engine
from engine.api import serve_api
from engine.config import ApiConfig, Config
from engine.delivery import RouteTable
from engine.errors import InvalidKeyError, ScopeError, TenantConflictError
from engine.model import InboundText

pytestmark = pytest.mark.trio

ADMIN = "test-admin-key-0123456789"


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@dataclass
class World:
    """The receiving tenant ``default`` (a message, its failed delivery, the
    destination ``hook``) and the tenant ``beta``, each with an owner key."""

    septet: engine.Septet
    client: httpx.AsyncClient
    message_id: str
    delivery_id: str
    default_owner: str
    beta_owner: str

    async def as_key(self, key: str, method: str, path: str, **options: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=_bearer(key), **options)

    async def new_key(self, owner: str, **body: Any) -> dict[str, Any]:
        response = await self.as_key(owner, "POST", "/v1/keys", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@asynccontextmanager
async def _world(tmp_path: Path, **api: Any) -> AsyncIterator[World]:
    async with open_http_server(default=Answer(status=400)) as receiver:
        hook = webhook_destination(receiver)
        config = Config(
            data_dir=str(tmp_path), destinations=(hook,), routes=RouteTable(default=("hook",))
        )
        settings = ApiConfig(port=0, admin_key=ADMIN, **api)
        async with engine.open(config) as septet, trio.open_nursery() as nursery:
            result = await septet.ingest(
                InboundText(
                    carrier="tenant-test",
                    number="+15550001111",
                    sender="Acme",
                    text="Your code is 482913",
                    carrier_message_id="m1",
                )
            )
            with trio.fail_after(5):
                while not (failed := await septet.deliveries(status="failed")):
                    await trio.sleep(0.02)
            url = await nursery.start(serve_api, septet, settings, {})
            async with httpx.AsyncClient(base_url=url) as client:
                created = await client.post(
                    "/v1/tenants", json={"id": "beta", "name": "Beta"}, headers=_bearer(ADMIN)
                )
                assert created.status_code == 201, created.text
                keys = {}
                for tenant in ("default", "beta"):
                    answer = await client.post(
                        "/v1/keys",
                        json={"name": f"{tenant} owner", "role": "owner"},
                        headers={**_bearer(ADMIN), "septet-tenant": tenant},
                    )
                    assert answer.status_code == 201, answer.text
                    keys[tenant] = answer.json()["secret"]
                assert result.message is not None
                yield World(
                    septet=septet,
                    client=client,
                    message_id=result.message.id,
                    delivery_id=failed[0].id,
                    default_owner=keys["default"],
                    beta_owner=keys["beta"],
                )
            nursery.cancel_scope.cancel()


async def test_another_tenants_ids_answer_404_on_every_endpoint(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        owner, beta = world.default_owner, world.beta_owner
        message, delivery = world.message_id, world.delivery_id
        own_key = (await world.new_key(owner, name="spare", role="viewer"))["key"]["id"]
        member = await world.as_key(
            owner, "POST", "/v1/members", json={"email": "ana@example.com", "role": "admin"}
        )
        member_id = member.json()["id"]

        # The receiving tenant's owner sees its own.
        assert (await world.as_key(owner, "GET", f"/v1/messages/{message}")).status_code == 200
        listed = await world.as_key(owner, "GET", "/v1/deliveries")
        assert [d["id"] for d in listed.json()["data"]] == [delivery]

        # The other tenant sees none of it, by id or in a list.
        for method, path in [
            ("GET", f"/v1/messages/{message}"),
            ("DELETE", f"/v1/messages/{message}"),
            ("GET", f"/v1/deliveries/{delivery}/attempts"),
            ("POST", f"/v1/deliveries/{delivery}/replay"),
            ("GET", "/v1/destinations/hook"),
            ("DELETE", "/v1/destinations/hook"),
            ("POST", "/v1/destinations/hook/replay"),
            ("POST", "/v1/destinations/hook/enable"),
            ("POST", f"/v1/keys/{own_key}/rotate"),
            ("DELETE", f"/v1/keys/{own_key}"),
            ("DELETE", f"/v1/members/{member_id}"),
        ]:
            problem(await world.as_key(beta, method, path), 404)
        for path in ("/v1/messages", "/v1/deliveries", "/v1/destinations", "/v1/members"):
            assert (await world.as_key(beta, "GET", path)).json()["data"] == [], path
        beta_keys = (await world.as_key(beta, "GET", "/v1/keys")).json()["data"]
        assert [k["tenant"] for k in beta_keys] == ["beta"]
        wait = await world.as_key(
            beta, "GET", "/v1/messages/wait?since=2000-01-01T00:00:00Z&timeout=0.2"
        )
        assert wait.json() == {"data": None}
        # Beta's route table is its own: setting it leaves the default tenant's alone.
        default_routes = world.septet.routes()
        put = await world.as_key(beta, "PUT", "/v1/routes", json={"default": []})
        assert put.status_code == 200, put.text
        assert world.septet.routes() == default_routes
        assert world.septet.routes(tenant="beta").source == "api"
        problem(await world.as_key(beta, "POST", "/v1/sandbox/messages", json={}), 403)

        # Nothing was touched: the message, the key and the member are all still there.
        assert await world.septet.get(message) is not None
        keys = await world.septet.api_keys("default")
        assert next(k for k in keys if k.id == own_key).revoked_at is None
        assert [m.id for m in await world.septet.members("default")] == [member_id]


async def test_the_operator_sees_every_tenant_it_names(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        admin = _bearer(ADMIN)
        tenants = (await world.client.get("/v1/tenants", headers=admin)).json()["data"]
        assert [t["id"] for t in tenants] == ["beta", "default"]
        message = f"/v1/messages/{world.message_id}"
        assert (await world.client.get(message, headers=admin)).status_code == 200
        as_beta = {**admin, "septet-tenant": "beta"}
        problem(await world.client.get(message, headers=as_beta), 404)
        keys = (await world.client.get("/v1/keys", headers=as_beta)).json()["data"]
        assert [k["name"] for k in keys] == ["beta owner"]
        unknown = await world.client.get("/v1/messages", headers={**admin, "septet-tenant": "x"})
        assert "no tenant" in problem(unknown, 404)["detail"]
        assert (await world.client.get("/v1/tenants/beta", headers=admin)).json()["name"] == "Beta"
        problem(await world.client.get("/v1/tenants/nope", headers=admin), 404)
        taken = await world.client.post(
            "/v1/tenants", json={"id": "beta", "name": "B"}, headers=admin
        )
        problem(taken, 409)

        # The receiving tenant is not deleted; another one is, and its keys stop at once.
        problem(await world.client.delete("/v1/tenants/default", headers=admin), 409)
        assert (await world.as_key(world.beta_owner, "GET", "/v1/keys")).status_code == 200
        assert (await world.client.delete("/v1/tenants/beta", headers=admin)).status_code == 204
        gone = await world.as_key(world.beta_owner, "GET", "/v1/keys")
        assert problem(gone, 401)["detail"] == "the API key was revoked"
        problem(await world.client.delete("/v1/tenants/beta", headers=admin), 404)

        # A tenant's owner is no operator.
        refused = await world.as_key(world.default_owner, "GET", "/v1/tenants")
        assert problem(refused, 403)["scope"] == "tenants:read"


async def test_a_viewer_reads_but_cannot_write(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        viewer = (await world.new_key(world.default_owner, name="dash", role="viewer"))["secret"]
        assert (await world.as_key(viewer, "GET", "/v1/messages")).status_code == 200
        assert (await world.as_key(viewer, "GET", "/v1/destinations")).status_code == 200
        for method, path, scope in [
            ("DELETE", f"/v1/messages/{world.message_id}", "messages:delete"),
            ("POST", f"/v1/deliveries/{world.delivery_id}/replay", "deliveries:write"),
            ("POST", "/v1/destinations/hook/enable", "destinations:write"),
            ("PUT", "/v1/routes", "routes:write"),
            ("POST", "/v1/sandbox/messages", "sandbox:write"),
            ("POST", "/v1/keys", "keys:write"),
            ("POST", "/v1/members", "members:write"),
            ("GET", "/v1/audit", "audit:read"),
            ("POST", "/v1/tenants", "tenants:write"),
        ]:
            refused = problem(await world.as_key(viewer, method, path, json={}), 403)
            assert refused["scope"] == scope
            assert scope in refused["detail"]
        assert await world.septet.get(world.message_id) is not None


async def test_a_key_grants_no_more_than_its_role_and_its_maker(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        owner = world.default_owner
        narrow = await world.new_key(owner, name="reader", role="owner", scopes=["messages:read"])
        assert narrow["key"]["scopes"] == ["messages:read"]
        reader = narrow["secret"]
        assert (await world.as_key(reader, "GET", "/v1/messages")).status_code == 200
        problem(await world.as_key(reader, "GET", "/v1/deliveries"), 403)

        beyond = await world.as_key(
            owner,
            "POST",
            "/v1/keys",
            json={"name": "x", "role": "viewer", "scopes": ["keys:write"]},
        )
        assert problem(beyond, 422)["key"] == "scopes"
        admin = (await world.new_key(owner, name="admin", role="admin"))["secret"]
        escalate = await world.as_key(
            admin, "POST", "/v1/keys", json={"name": "x", "role": "owner"}
        )
        assert "messages:delete" in problem(escalate, 403)["detail"]
        assert (
            await world.as_key(admin, "POST", "/v1/keys", json={"name": "v", "role": "viewer"})
        ).status_code == 201


async def test_a_revoked_or_rotated_key_fails_at_once(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        owner = world.default_owner
        created = await world.new_key(owner, name="ci", role="developer")
        key_id, secret = created["key"]["id"], created["secret"]
        assert (await world.as_key(secret, "GET", "/v1/messages")).status_code == 200

        rotated = await world.as_key(owner, "POST", f"/v1/keys/{key_id}/rotate")
        assert rotated.status_code == 200
        fresh = rotated.json()["secret"]
        assert fresh != secret
        assert rotated.json()["key"]["rotatedAt"]
        problem(await world.as_key(secret, "GET", "/v1/messages"), 401)
        assert (await world.as_key(fresh, "GET", "/v1/messages")).status_code == 200

        assert (await world.as_key(owner, "DELETE", f"/v1/keys/{key_id}")).status_code == 204
        refused = problem(await world.as_key(fresh, "GET", "/v1/messages"), 401)
        assert refused["detail"] == "the API key was revoked"
        assert (await world.as_key(owner, "DELETE", f"/v1/keys/{key_id}")).status_code == 204
        problem(await world.as_key(owner, "POST", f"/v1/keys/{key_id}/rotate"), 404)

        # Through the embedding API too: the next request fails.
        other = await world.new_key(owner, name="other", role="viewer")
        assert (await world.as_key(other["secret"], "GET", "/v1/messages")).status_code == 200
        await world.septet.revoke_key(other["key"]["id"], tenant="default")
        problem(await world.as_key(other["secret"], "GET", "/v1/messages"), 401)

        for bad in ("sk_nope", "sk_" + "0" * 32 + "_x", secret[:-1] + "A"):
            problem(await world.as_key(bad, "GET", "/v1/messages"), 401)


async def test_an_expired_key_fails(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        brief = await world.new_key(
            world.default_owner, name="brief", role="viewer", expiresAt=soon
        )
        assert brief["key"]["expiresAt"]
        assert (await world.as_key(brief["secret"], "GET", "/v1/messages")).status_code == 200
        await trio.sleep(1.1)
        expired = await world.as_key(brief["secret"], "GET", "/v1/messages")
        assert problem(expired, 401)["detail"] == "the API key has expired"
        assert expired.headers["www-authenticate"].startswith("Bearer")


async def test_a_key_is_shown_once_and_never_logged(tmp_path: Path) -> None:
    with capture_logs() as logs:
        async with _world(tmp_path) as world:
            created = await world.new_key(world.default_owner, name="ci", role="viewer")
            secret = created["secret"]
            assert secret.startswith("sk_")
            assert secret.startswith(created["key"]["prefix"])
            assert (await world.as_key(secret, "GET", "/v1/messages")).status_code == 200
            listed = await world.as_key(world.default_owner, "GET", "/v1/keys")
            rotated = await world.as_key(
                world.default_owner, "POST", f"/v1/keys/{created['key']['id']}/rotate"
            )
            audit = await world.as_key(world.default_owner, "GET", "/v1/audit")
            keys = [world.default_owner, world.beta_owner, secret, rotated.json()["secret"]]
            for key in keys:
                assert key not in listed.text
                assert key not in audit.text
                assert key.split("_", 2)[2] not in listed.text
            assert all("secret" not in entry for entry in listed.json()["data"])
    changes = [entry for entry in logs if entry["event"].startswith("api key")]
    assert [entry["event"] for entry in changes][-2:] == ["api key created", "api key rotated"]
    assert changes[-1]["key"] == created["key"]["id"]
    for entry in logs:
        for key in keys:
            assert key.split("_", 2)[2] not in repr(entry)


async def test_every_change_is_audited_with_its_actor_and_time(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        owner = world.default_owner
        before = datetime.now(UTC)
        created = await world.new_key(owner, name="ci", role="viewer")
        added = await world.as_key(
            owner, "POST", "/v1/members", json={"email": "ana@example.com", "role": "viewer"}
        )
        problem(
            await world.as_key(
                owner, "POST", "/v1/members", json={"email": "ana@example.com", "role": "admin"}
            ),
            409,
        )
        await world.as_key(owner, "POST", f"/v1/keys/{created['key']['id']}/rotate")
        await world.as_key(owner, "DELETE", f"/v1/keys/{created['key']['id']}")
        await world.as_key(owner, "DELETE", f"/v1/members/{added.json()['id']}")

        owner_id = next(
            k.id for k in await world.septet.api_keys("default") if k.name == "default owner"
        )
        pages: list[dict[str, Any]] = []
        path = "/v1/audit?limit=2"
        while True:
            page = (await world.as_key(owner, "GET", path)).json()
            pages.extend(page["data"])
            if page["next"] is None:
                break
            path = f"/v1/audit?limit=2&before={page['next']}"
        actions = [(e["action"], e["actor"]) for e in pages]
        assert actions == [
            ("member.remove", owner_id),
            ("key.revoke", owner_id),
            ("key.rotate", owner_id),
            ("member.add", owner_id),
            ("key.create", owner_id),
            ("key.create", "operator"),
        ]
        recent = [datetime.fromisoformat(e["at"]) for e in pages[:5]]
        assert all(before <= at <= datetime.now(UTC) for at in recent)
        assert pages[4]["details"] == {
            "name": "ci",
            "role": "viewer",
            "scopes": created["key"]["scopes"],
        }
        problem(await world.as_key(owner, "GET", "/v1/audit?before=nope"), 400)
        beta_audit = (await world.as_key(world.beta_owner, "GET", "/v1/audit")).json()["data"]
        assert [e["action"] for e in beta_audit] == ["key.create", "tenant.create"]


async def test_a_key_over_its_rate_is_told_when_to_retry(tmp_path: Path) -> None:
    async with _world(tmp_path, key_rate_limit=0.5, key_rate_burst=3) as world:
        key = world.beta_owner
        answers = [await world.as_key(key, "GET", "/v1/messages") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        limited = problem(answers[-1], 429)
        assert "rate" in limited["detail"]
        assert answers[-1].headers["retry-after"] == "2"
        # Another key has its own bucket; the admin key has none.
        assert (await world.as_key(world.default_owner, "GET", "/v1/messages")).status_code == 200
        for _ in range(5):
            assert (await world.as_key(ADMIN, "GET", "/v1/messages")).status_code == 200


async def test_a_keys_last_use_is_recorded(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        assert (await world.as_key(world.beta_owner, "GET", "/v1/messages")).status_code == 200
        (key,) = await world.septet.api_keys("beta")
        assert key.last_used_at is not None
        assert key.last_used_at <= datetime.now(UTC)


async def test_the_embedding_api_manages_tenants_and_keys(tmp_path: Path) -> None:
    async with engine.open(Config(data_dir=str(tmp_path))) as septet:
        tenant = await septet.create_tenant("Gamma")
        assert tenant.id.startswith("ten_")
        with pytest.raises(TenantConflictError):
            await septet.create_tenant("Again", tenant_id=tenant.id)
        key, whole = await septet.create_key(tenant.id, name="app", role="developer")
        assert set(key.scopes) >= {"messages:read", "sandbox:write", "deliveries:write"}
        assert (await septet.authenticate(whole)).id == key.id
        with pytest.raises(ScopeError) as refused:
            await septet.create_key(tenant.id, name="x", role="viewer", scopes=["keys:write"])
        assert refused.value.scopes == ("keys:write",)
        with pytest.raises(ValueError, match="operator"):
            await septet.create_key(tenant.id, name="x", role="operator")
        with pytest.raises(KeyError):
            await septet.create_key("nobody", name="x", role="viewer")
        operator, operator_key = await septet.create_key(None, name="ops", role="operator")
        assert (await septet.authenticate(operator_key)).tenant is None
        await septet.revoke_key(key.id, tenant=tenant.id)
        with pytest.raises(InvalidKeyError, match="revoked"):
            await septet.authenticate(whole)
        member = await septet.add_member(tenant.id, email="bo@example.com", role="owner")
        assert await septet.members(tenant.id) == [member]
        await septet.remove_member(tenant.id, member.id)
        with pytest.raises(KeyError):
            await septet.remove_member(tenant.id, member.id)
        assert await septet.delete_tenant(tenant.id)
        actions = [entry.action for entry in await septet.audit_log(tenant.id)]
        assert actions[0] == "tenant.delete"
        assert {entry.actor for entry in await septet.audit_log(tenant.id)} == {"embedder"}
        assert [k.id for k in await septet.api_keys(None)] == [operator.id]
