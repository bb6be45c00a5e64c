"""Retention and erasure over the REST API, against the live server on 127.0.0.1: a
tenant's retention period (set by its admin, audited), the purge it drives (bodies go,
metadata and the audit trail stay, other tenants untouched), and the erasure of a number
or a sender (one tenant's only, or every tenant's for an operator; a carrier's retry of
an erased message is not stored again)."""

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

import engine
from engine._ids import new_id
from engine.api import serve_api
from engine.config import ApiConfig, Config, RetentionConfig
from engine.model import InboundText, Message

pytestmark = pytest.mark.trio

ADMIN = "test-admin-key-0123456789"
NUMBER = "+15550001111"
OTHER_NUMBER = "+15550002222"


def _bearer(key: str, tenant: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {key}"}
    if tenant is not None:
        headers["septet-tenant"] = tenant
    return headers


@dataclass
class World:
    """The receiving tenant ``default`` and the tenant ``beta``, each with an owner and
    an admin key."""

    septet: engine.Septet
    client: httpx.AsyncClient
    keys: dict[str, str]

    async def call(self, key: str, method: str, path: str, **options: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=_bearer(key), **options)


@asynccontextmanager
async def _world(tmp_path: Path, **retention: Any) -> AsyncIterator[World]:
    config = Config(data_dir=str(tmp_path), retention=RetentionConfig(**retention))
    async with engine.open(config) as septet, trio.open_nursery() as nursery:
        url = await nursery.start(serve_api, septet, ApiConfig(port=0, admin_key=ADMIN), {})
        async with httpx.AsyncClient(base_url=url) as client:
            created = await client.post(
                "/v1/tenants", json={"id": "beta", "name": "Beta"}, headers=_bearer(ADMIN)
            )
            assert created.status_code == 201, created.text
            keys = {}
            for tenant in ("default", "beta"):
                for role in ("owner", "admin", "viewer"):
                    answer = await client.post(
                        "/v1/keys",
                        json={"name": f"{tenant} {role}", "role": role},
                        headers=_bearer(ADMIN, tenant),
                    )
                    assert answer.status_code == 201, answer.text
                    keys[f"{tenant} {role}"] = answer.json()["secret"]
            yield World(septet=septet, client=client, keys=keys)
        nursery.cancel_scope.cancel()


async def _ingest(
    septet: engine.Septet, text: str, *, number: str = NUMBER, sender: str = "+15550009999"
) -> Message:
    result = await septet.ingest(
        InboundText(
            carrier="api-test",
            number=number,
            sender=sender,
            text=text,
            carrier_message_id=f"cm-{text}",
            raw=f"raw {text}".encode(),
        )
    )
    assert result.outcome == "committed"
    assert result.message is not None
    return result.message


async def _beta_message(septet: engine.Septet, text: str, *, number: str = NUMBER) -> Message:
    """A message of tenant ``beta`` (filed by the store as a leased number's would be)."""
    message = Message(
        id=new_id("msg"),
        tenant="beta",
        number_used=number,
        sender_id="+15550009999",
        content=text,
        encoding="text",
        parts=1,
        received_at=datetime.now(UTC),
        sent_at=None,
        carrier="api-test",
        carrier_message_id=f"beta-{text}",
        otp=None,
    )
    written = await septet._store.commit_message(message, raw=b"beta raw")
    assert written.outcome == "inserted"
    return message


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    return document


# Retention ----------------------------------------------------------------------------


async def test_a_tenants_retention_period_is_its_admins_to_set_and_is_audited(
    tmp_path: Path,
) -> None:
    async with _world(tmp_path, default_days=30) as world:
        admin, viewer = world.keys["default admin"], world.keys["default viewer"]
        denied = _problem(await world.call(viewer, "GET", "/v1/retention"), 403)
        assert denied["scope"] == "retention:read"

        shown = await world.call(admin, "GET", "/v1/retention")
        assert shown.status_code == 200, shown.text
        assert shown.json() == {
            "tenant": "default",
            "days": 30,
            "source": "default",
            "defaultDays": 30,
            "updatedAt": None,
        }
        put = await world.call(admin, "PUT", "/v1/retention", json={"days": 7})
        assert put.status_code == 200, put.text
        assert (put.json()["days"], put.json()["source"]) == (7, "tenant")
        forever = await world.call(admin, "PUT", "/v1/retention", json={"days": None})
        assert (forever.json()["days"], forever.json()["source"]) == (None, "tenant")
        # Another tenant's period is its own.
        beta = await world.call(world.keys["beta admin"], "GET", "/v1/retention")
        assert (beta.json()["tenant"], beta.json()["source"]) == ("beta", "default")

        for body, status in (({"days": 0}, 422), ({"days": "7"}, 422), ({}, 422)):
            refused = _problem(await world.call(admin, "PUT", "/v1/retention", json=body), status)
            assert refused["key"] == "days"
        _problem(await world.call(admin, "PUT", "/v1/retention", content=b"{nope"), 400)

        reset = await world.call(admin, "DELETE", "/v1/retention")
        assert (reset.json()["days"], reset.json()["source"]) == (30, "default")

        audit = (await world.call(admin, "GET", "/v1/audit")).json()["data"]
        changes = [(e["action"], e["details"]) for e in audit if e["action"].startswith("ret")]
        assert changes == [
            ("retention.inherit", {}),
            ("retention.set", {"days": None, "before": 7}),
            ("retention.set", {"days": 7, "before": None}),
        ]
        # The operator sets any tenant's, by the Septet-Tenant header.
        by_operator = await world.client.put(
            "/v1/retention", json={"days": 90}, headers=_bearer(ADMIN, "beta")
        )
        assert (by_operator.json()["tenant"], by_operator.json()["days"]) == ("beta", 90)


async def test_the_purge_empties_old_bodies_of_one_tenant_only(tmp_path: Path) -> None:
    async with _world(tmp_path, default_days=30) as world:
        septet = world.septet
        mine = await _ingest(septet, "your code is 482913")
        theirs = await _beta_message(septet, "beta keeps this")
        forever = await world.call(
            world.keys["beta admin"], "PUT", "/v1/retention", json={"days": None}
        )
        assert forever.status_code == 200

        assert await septet.purge_expired(now=datetime.now(UTC) + timedelta(days=29)) == {}
        purged = await septet.purge_expired(now=datetime.now(UTC) + timedelta(days=31))
        assert purged == {"default": 1}

        viewer = world.keys["default viewer"]
        shown = (await world.call(viewer, "GET", f"/v1/messages/{mine.id}")).json()
        assert shown["content"] == ""
        assert shown["otp"] is None
        assert shown["purgedAt"] is not None
        assert (shown["numberUsed"], shown["senderId"]) == (mine.number_used, mine.sender_id)
        assert await septet.raw_payload(mine.id) is None
        listed = (await world.call(viewer, "GET", "/v1/messages", params={"q": "482913"})).json()
        assert listed["data"] == []

        kept = await world.call(world.keys["beta viewer"], "GET", f"/v1/messages/{theirs.id}")
        assert kept.json()["content"] == "beta keeps this"
        assert kept.json()["purgedAt"] is None

        audit = (await world.call(world.keys["default admin"], "GET", "/v1/audit")).json()
        [run] = [e for e in audit["data"] if e["action"] == "retention.purge"]
        assert (run["actor"], run["details"]) == ("retention", {"messages": 1, "days": 30})


# Erasure ------------------------------------------------------------------------------


async def test_erasure_of_a_number_in_one_tenant(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        septet = world.septet
        erased = [await _ingest(septet, f"for the number {i}") for i in range(2)]
        elsewhere = await _ingest(septet, "to another number", number=OTHER_NUMBER)
        theirs = await _beta_message(septet, "beta's, same number")
        owner = world.keys["default owner"]

        denied = await world.call(
            world.keys["default admin"], "POST", "/v1/erasures", json={"number": NUMBER}
        )
        assert _problem(denied, 403)["scope"] == "erasures:write"

        answer = await world.call(owner, "POST", "/v1/erasures", json={"number": NUMBER})
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert report["subject"] == "number"
        assert report["totals"]["messages"] == 2
        assert report["totals"]["rawPayloads"] == 2
        assert list(report["tenants"]) == ["default"]

        viewer = world.keys["default viewer"]
        for message in erased:
            _problem(await world.call(viewer, "GET", f"/v1/messages/{message.id}"), 404)
        kept = await world.call(viewer, "GET", f"/v1/messages/{elsewhere.id}")
        assert kept.status_code == 200
        # Tenant beta's message to the same number is beta's: untouched.
        beta = await world.call(world.keys["beta viewer"], "GET", f"/v1/messages/{theirs.id}")
        assert beta.status_code == 200

        # The carrier retries an erased message: answered as a duplicate, not stored.
        retry = await septet.ingest(
            InboundText(
                carrier="api-test",
                number=NUMBER,
                sender="+15550009999",
                text="for the number 0",
                carrier_message_id="cm-for the number 0",
            )
        )
        assert retry.outcome == "duplicate"
        listed = (await world.call(viewer, "GET", "/v1/messages")).json()["data"]
        assert [m["id"] for m in listed] == [elsewhere.id]

        audit = (await world.call(owner, "GET", "/v1/audit")).json()["data"]
        [entry] = [e for e in audit if e["action"] == "erasure"]
        assert (entry["target"], entry["details"]["messages"]) == ("number", 2)
        assert NUMBER not in str(entry)
        assert "for the number" not in str(entry)


async def test_erasure_by_sender_and_across_tenants(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        septet = world.septet
        ours = await _ingest(septet, "promo one", sender="SPAMCO")
        theirs = await _beta_message(septet, "promo two")

        # A tenant's key may not erase across tenants.
        refused = await world.call(
            world.keys["beta owner"],
            "POST",
            "/v1/erasures",
            json={"sender": "+15550009999", "allTenants": True},
        )
        _problem(refused, 403)
        # Beta's own erasure takes beta's message only.
        by_beta = await world.call(
            world.keys["beta owner"], "POST", "/v1/erasures", json={"sender": "+15550009999"}
        )
        assert by_beta.json()["totals"]["messages"] == 1
        assert await septet.get(theirs.id, tenant="beta") is None
        assert await septet.get(ours.id) is not None

        wide = await world.client.post(
            "/v1/erasures", json={"sender": "SPAMCO", "allTenants": True}, headers=_bearer(ADMIN)
        )
        assert wide.status_code == 200, wide.text
        assert wide.json()["tenants"]["default"]["messages"] == 1
        assert wide.json()["tenants"]["beta"]["messages"] == 0
        assert await septet.get(ours.id) is None
        operator_audit = await septet.audit_log(None)
        assert [e.action for e in operator_audit] == ["erasure"]
        assert operator_audit[0].details["tenants"] == 1


async def test_erasure_requests_are_checked(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        owner = world.keys["default owner"]
        for body in (
            {},
            {"number": NUMBER, "sender": "SPAMCO"},
            {"number": "15550001111"},
            {"number": "+1 555 000"},
            {"sender": ""},
            {"sender": "x" * 65},
            {"sender": "tab\there"},
            {"sender": "SPAMCO", "extra": 1},
        ):
            answer = await world.call(owner, "POST", "/v1/erasures", json=body)
            _problem(answer, 422)
        _problem(await world.call(owner, "POST", "/v1/erasures", content=b"{not json"), 400)
