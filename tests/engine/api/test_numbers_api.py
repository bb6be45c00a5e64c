"""Number rental over the REST API, against the live server on 127.0.0.1 with keys of two
tenants: search, lease and confirm; leases with their time left; renew, auto-renew and
release; another tenant's ids answer 404; a viewer cannot write; a revoked key fails at
once; of two tenants confirming at once one wins; cooling-off hides messages, which
only operators read in the quarantine; statements as JSON and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from problem_json import problem

import engine
from engine.api import serve_api
from engine.config import ApiConfig, Config, NumbersConfig
from engine.model import InboundText, Message

pytestmark = pytest.mark.trio

ADMIN = "test-admin-key-0123456789"
START = datetime(2025, 1, 30, 9, 0, tzinfo=UTC)
LONDON = "+447700900123"
MANCHESTER = "+447700900124"
NEW_YORK = "+12125550100"
DAY = {"unit": "day", "count": 1}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@dataclass
class World:
    """Three numbers for rent; the tenants ``acme`` and ``beta``, each with an owner key,
    and a viewer key of ``acme``."""

    septet: engine.Septet
    client: httpx.AsyncClient
    clock: Clock
    acme: str
    beta: str
    viewer: str

    async def call(self, key: str, method: str, path: str, **options: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=_bearer(key), **options)

    async def ok(self, key: str, method: str, path: str, **options: Any) -> Any:
        response = await self.call(key, method, path, **options)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def lease(self, key: str, number: str, term: dict[str, Any] = DAY) -> dict[str, Any]:
        quote = await self.ok(key, "POST", f"/v1/numbers/{number}/lease", json={"term": term})
        lease: dict[str, Any] = await self.ok(
            key, "POST", "/v1/leases", json={"quoteId": quote["id"]}
        )
        return lease

    async def text(self, number: str, text: str) -> Message:
        result = await self.septet.ingest(
            InboundText(carrier="tw", number=number, sender="Bank", text=text)
        )
        assert result.message is not None
        return result.message


@asynccontextmanager
async def _world(tmp_path: Path) -> AsyncIterator[World]:
    clock = Clock()
    config = Config(data_dir=str(tmp_path), numbers=NumbersConfig(cooling_off_hours=24))
    async with engine.open(config, clock=clock) as septet, trio.open_nursery() as nursery:
        url = await nursery.start(serve_api, septet, ApiConfig(port=0, admin_key=ADMIN), {})
        async with httpx.AsyncClient(base_url=url) as client:
            admin = _bearer(ADMIN)
            for number, country, capabilities, currency in (
                (LONDON, "GB", ["sms"], "GBP"),
                (MANCHESTER, "GB", ["sms", "mms"], "GBP"),
                (NEW_YORK, "US", ["sms", "voice"], "USD"),
            ):
                added = await client.post(
                    "/v1/inventory",
                    headers=admin,
                    json={
                        "number": number,
                        "country": country,
                        "region": "somewhere",
                        "carrier": "tw",
                        "capabilities": capabilities,
                        "prices": {"hour": 5, "day": 90, "month": 1500},
                        "currency": currency,
                    },
                )
                assert added.status_code == 201, added.text
            keys = {}
            for tenant in ("acme", "beta"):
                await septet.create_tenant(tenant.title(), tenant_id=tenant)
                _, keys[tenant] = await septet.create_key(tenant, name="owner", role="owner")
            _, viewer = await septet.create_key("acme", name="dash", role="viewer")
            yield World(
                septet=septet,
                client=client,
                clock=clock,
                acme=keys["acme"],
                beta=keys["beta"],
                viewer=viewer,
            )
        nursery.cancel_scope.cancel()


async def _offer(
    world: World, admin: dict[str, str], number: str, prices: dict[str, int]
) -> httpx.Response:
    """The operator's answer to putting ``number`` up for rent in GB through ``tw``."""
    return await world.client.post(
        "/v1/inventory",
        headers=admin,
        json={
            "number": number,
            "country": "GB",
            "carrier": "tw",
            "prices": prices,
            "currency": "GBP",
        },
    )


async def test_search_lease_confirm_and_list_with_time_left(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        found = await world.ok(world.acme, "GET", "/v1/numbers?country=gb&capability=mms")
        assert [n["number"] for n in found["data"]] == [MANCHESTER]
        both = await world.ok(world.acme, "GET", "/v1/numbers?capability=sms,voice")
        assert [n["number"] for n in both["data"]] == [NEW_YORK]
        paged = await world.ok(world.acme, "GET", "/v1/numbers?limit=2")
        assert len(paged["data"]) == 2
        rest = await world.ok(world.acme, "GET", f"/v1/numbers?after={paged['next']}")
        assert (len(rest["data"]), rest["next"]) == (1, None)

        term = {"unit": "day", "count": 7}
        quote = await world.ok(
            world.acme, "POST", f"/v1/numbers/{MANCHESTER}/lease", json={"term": term}
        )
        assert (quote["unitPrice"], quote["amount"], quote["currency"]) == (90, 630, "GBP")
        assert quote["id"].startswith("quo_")
        # Nothing is leased until confirmed.
        still = await world.ok(world.acme, "GET", "/v1/numbers?capability=mms")
        assert [n["number"] for n in still["data"]] == [MANCHESTER]
        confirmed = await world.call(
            world.acme, "POST", "/v1/leases", json={"quoteId": quote["id"]}
        )
        assert confirmed.status_code == 201
        lease = confirmed.json()
        assert confirmed.headers["location"] == f"/v1/leases/{lease['id']}"
        assert (lease["number"], lease["state"], lease["timeLeftSeconds"]) == (
            MANCHESTER,
            "active",
            7 * 86400,
        )
        again = await world.ok(world.acme, "POST", "/v1/leases", json={"quoteId": quote["id"]})
        assert again["id"] == lease["id"]
        gone = await world.ok(world.acme, "GET", "/v1/numbers?capability=mms")
        assert gone["data"] == []

        world.clock.now += timedelta(hours=1)
        listed = await world.ok(world.acme, "GET", "/v1/leases")
        assert [(item["id"], item["timeLeftSeconds"]) for item in listed["data"]] == [
            (lease["id"], 7 * 86400 - 3600)
        ]
        path = f"/v1/leases/{lease['id']}"
        auto = await world.ok(world.acme, "PATCH", path, json={"autoRenew": True})
        assert auto["autoRenew"] is True
        renewed = await world.ok(world.acme, "POST", f"{path}/renew", json={"term": DAY})
        assert datetime.fromisoformat(renewed["expiresAt"]) == START + timedelta(days=8)
        own_term = await world.ok(world.acme, "POST", f"{path}/renew")
        assert datetime.fromisoformat(own_term["expiresAt"]) == START + timedelta(days=15)
        released = await world.ok(world.acme, "POST", f"{path}/release")
        assert (released["state"], released["endReason"]) == ("ended", "released")
        assert (await world.ok(world.acme, "GET", "/v1/leases"))["data"] == []
        every = await world.ok(world.acme, "GET", "/v1/leases?all=true")
        assert [item["id"] for item in every["data"]] == [lease["id"]]
        inventory = await world.client.get(f"/v1/inventory/{MANCHESTER}", headers=_bearer(ADMIN))
        assert inventory.json()["state"] == "cooling_off"


async def test_another_tenants_ids_answer_404_and_its_lists_are_empty(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        quote = await world.ok(
            world.acme, "POST", f"/v1/numbers/{LONDON}/lease", json={"term": DAY}
        )
        lease = await world.ok(world.acme, "POST", "/v1/leases", json={"quoteId": quote["id"]})
        message = await world.text(LONDON, "Your code is 123456")
        assert (
            await world.call(world.acme, "GET", f"/v1/messages/{message.id}")
        ).status_code == 200

        path = f"/v1/leases/{lease['id']}"
        for method, target, body in [
            ("GET", path, None),
            ("PATCH", path, {"autoRenew": True}),
            ("POST", f"{path}/renew", {"term": DAY}),
            ("POST", f"{path}/release", None),
            ("POST", "/v1/leases", {"quoteId": quote["id"]}),
            ("GET", f"/v1/messages/{message.id}", None),
        ]:
            problem(await world.call(world.beta, method, target, json=body), 404)
        assert (await world.ok(world.beta, "GET", "/v1/leases?all=true"))["data"] == []
        assert (await world.ok(world.beta, "GET", "/v1/billing/charges"))["data"] == []
        assert (await world.ok(world.beta, "GET", "/v1/messages"))["data"] == []
        statement = await world.ok(world.beta, "GET", "/v1/billing/statements/2025-01")
        assert (statement["lines"], statement["totals"]) == ([], [])
        taken = await world.call(
            world.beta, "POST", f"/v1/numbers/{LONDON}/lease", json={"term": DAY}
        )
        assert "leased" in problem(taken, 409)["detail"]
        # Tenants' keys are not the operator's.
        for method, target in [
            ("GET", "/v1/inventory"),
            ("POST", "/v1/inventory"),
            ("GET", f"/v1/inventory/{LONDON}"),
            ("DELETE", f"/v1/inventory/{LONDON}"),
            ("GET", "/v1/quarantine/messages"),
        ]:
            refused = problem(await world.call(world.beta, method, target, json={}), 403)
            assert refused["scope"].split(":")[0] in ("inventory", "quarantine")
        # Nothing of acme's was touched.
        kept = await world.ok(world.acme, "GET", path)
        assert (kept["state"], kept["autoRenew"], kept["renewals"]) == ("active", False, 0)


async def test_a_viewer_reads_but_cannot_write(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        lease = await world.lease(world.acme, LONDON)
        assert (await world.call(world.viewer, "GET", "/v1/numbers")).status_code == 200
        listed = await world.ok(world.viewer, "GET", "/v1/leases")
        assert [item["id"] for item in listed["data"]] == [lease["id"]]
        path = f"/v1/leases/{lease['id']}"
        for method, target, scope in [
            ("POST", f"/v1/numbers/{NEW_YORK}/lease", "numbers:write"),
            ("POST", "/v1/leases", "numbers:write"),
            ("PATCH", path, "numbers:write"),
            ("POST", f"{path}/renew", "numbers:write"),
            ("POST", f"{path}/release", "numbers:write"),
            ("GET", "/v1/billing/charges", "billing:read"),
            ("GET", "/v1/billing/statements/2025-01", "billing:read"),
        ]:
            refused = problem(await world.call(world.viewer, method, target, json={}), 403)
            assert refused["scope"] == scope
        assert (await world.ok(world.acme, "GET", path))["state"] == "active"


async def test_a_revoked_key_fails_at_once(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        created = await world.ok(
            world.acme, "POST", "/v1/keys", json={"name": "buyer", "role": "admin"}
        )
        key = created["secret"]
        quote = await world.ok(key, "POST", f"/v1/numbers/{LONDON}/lease", json={"term": DAY})
        revoked = await world.call(world.acme, "DELETE", f"/v1/keys/{created['key']['id']}")
        assert revoked.status_code == 204
        refused = await world.call(key, "POST", "/v1/leases", json={"quoteId": quote["id"]})
        assert problem(refused, 401)["detail"] == "the API key was revoked"
        assert (await world.ok(world.acme, "GET", "/v1/leases"))["data"] == []


async def test_of_two_tenants_confirming_one_number_at_once_one_wins(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        quotes = {}
        for key in (world.acme, world.beta):
            quote = await world.ok(key, "POST", f"/v1/numbers/{LONDON}/lease", json={"term": DAY})
            quotes[key] = quote["id"]
        answers: list[int] = []

        async def confirm(key: str) -> None:
            answer = await world.call(key, "POST", "/v1/leases", json={"quoteId": quotes[key]})
            answers.append(answer.status_code)

        async with trio.open_nursery() as nursery:
            for key in quotes:
                nursery.start_soon(confirm, key)
        assert sorted(answers) == [201, 409]
        leases = [
            (await world.ok(key, "GET", "/v1/leases"))["data"] for key in (world.acme, world.beta)
        ]
        assert sorted(len(found) for found in leases) == [0, 1]
        number = await world.client.get(f"/v1/inventory/{LONDON}", headers=_bearer(ADMIN))
        winner = "acme" if leases[0] else "beta"
        assert number.json()["lessee"] == winner


async def test_cooling_off_hides_messages_which_only_operators_read(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        before = await world.text(LONDON, "Your code is 100000")
        lease = await world.lease(world.acme, LONDON)
        own = await world.text(LONDON, "Your code is 200000")
        await world.ok(world.acme, "POST", f"/v1/leases/{lease['id']}/release")
        cooling = await world.text(LONDON, "Your code is 300000")

        world.clock.now += timedelta(hours=24)
        await world.septet.numbers.sweep()
        await world.lease(world.beta, LONDON)
        fresh = await world.text(LONDON, "Your code is 400000")

        def ids(page: dict[str, Any]) -> list[str]:
            return [item["id"] for item in page["data"]]

        assert ids(await world.ok(world.acme, "GET", "/v1/messages")) == [own.id]
        assert ids(await world.ok(world.beta, "GET", "/v1/messages")) == [fresh.id]
        for key in (world.acme, world.beta):
            problem(await world.call(key, "GET", f"/v1/messages/{cooling.id}"), 404)
            problem(await world.call(key, "GET", "/v1/quarantine/messages"), 403)
            waited = await world.ok(
                key,
                "GET",
                "/v1/messages/wait",
                params={"number": LONDON, "since": START.isoformat(), "timeout": "0"},
            )
            assert waited["data"] is None or waited["data"]["id"] in (own.id, fresh.id)

        admin = _bearer(ADMIN)
        quarantine = (await world.client.get("/v1/quarantine/messages", headers=admin)).json()
        assert [(q["reason"], q["message"]["id"]) for q in quarantine["data"]] == [
            ("cooling-off", cooling.id),
            ("unleased", before.id),
        ]
        assert quarantine["data"][0]["message"]["otp"]["code"] == "300000"
        page = await world.client.get(
            "/v1/quarantine/messages?reason=unleased&limit=1", headers=admin
        )
        assert [q["message"]["id"] for q in page.json()["data"]] == [before.id]
        # The quarantine is no tenant: an operator cannot act as it.
        as_quarantine = {**admin, "septet-tenant": "quarantine:cooling-off"}
        problem(await world.client.get("/v1/messages", headers=as_quarantine), 404)
        problem(await world.client.get("/v1/quarantine/messages?reason=nope", headers=admin), 400)


async def test_statements_as_json_and_csv(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        await world.lease(world.acme, LONDON, {"unit": "day", "count": 3})
        await world.lease(world.acme, NEW_YORK, {"unit": "month", "count": 2})
        world.clock.now += timedelta(days=2)  # February 1st
        await world.lease(world.acme, MANCHESTER, {"unit": "hour", "count": 10})

        january = await world.ok(world.acme, "GET", "/v1/billing/statements/2025-01")
        assert [(line["number"], line["amount"]) for line in january["lines"]] == [
            (LONDON, 270),
            (NEW_YORK, 3000),
        ]
        assert january["totals"] == [
            {"currency": "GBP", "amount": 270, "lines": 1},
            {"currency": "USD", "amount": 3000, "lines": 1},
        ]
        february = await world.ok(world.acme, "GET", "/v1/billing/statements/2025-02")
        assert february["totals"] == [{"currency": "GBP", "amount": 50, "lines": 1}]

        for options in (
            {"params": {"format": "csv"}},
            {"headers": {**_bearer(world.acme), "accept": "text/csv"}},
        ):
            answer = await world.client.get(
                "/v1/billing/statements/2025-01", **{"headers": _bearer(world.acme), **options}
            )
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(answer.text)))
            lines = [row for row in rows if row["kind"] != "total"]
            totals = {row["currency"]: int(row["amount"]) for row in rows if row["kind"] == "total"}
            assert [row["number"] for row in lines] == [LONDON, NEW_YORK]
            assert totals == {"GBP": 270, "USD": 3000}
            assert sum(int(row["amount"]) for row in lines) == sum(totals.values())

        first = await world.ok(world.acme, "GET", "/v1/billing/charges?limit=2")
        rest = await world.ok(world.acme, "GET", f"/v1/billing/charges?after={first['next']}")
        assert len(first["data"]) == 2
        assert ([c["number"] for c in rest["data"]], rest["next"]) == ([MANCHESTER], None)
        monthly = await world.ok(world.acme, "GET", "/v1/billing/charges?month=2025-02")
        assert [c["kind"] for c in monthly["data"]] == ["lease"]
        for bad in ("/v1/billing/statements/2025-13", "/v1/billing/statements/2025-01?format=x"):
            problem(await world.call(world.acme, "GET", bad), 400)
        problem(await world.call(world.acme, "GET", "/v1/billing/charges?month=jan"), 400)


async def test_bad_input_gets_the_right_4xx(tmp_path: Path) -> None:
    async with _world(tmp_path) as world:
        admin = _bearer(ADMIN)
        lease_path = f"/v1/numbers/{LONDON}/lease"
        bad_term = await world.call(
            world.acme, "POST", lease_path, json={"term": {"unit": "day", "count": 0}}
        )
        assert problem(bad_term, 422)["key"] == "term"
        unit = await world.call(
            world.acme, "POST", lease_path, json={"term": {"unit": "week", "count": 1}}
        )
        assert problem(unit, 422)["key"] == "term.unit"
        await world.client.patch(
            f"/v1/inventory/{LONDON}", headers=admin, json={"prices": {"day": 90}}
        )
        monthly = await world.call(
            world.acme, "POST", lease_path, json={"term": {"unit": "month", "count": 1}}
        )
        assert problem(monthly, 422)["key"] == "term"
        problem(await world.call(world.acme, "POST", lease_path, content=b"{"), 400)
        unknown = await world.call(
            world.acme, "POST", "/v1/numbers/+447700900000/lease", json={"term": DAY}
        )
        problem(unknown, 404)
        problem(await world.call(world.acme, "GET", "/v1/leases/lse_nope"), 404)
        problem(await world.call(world.acme, "GET", "/v1/numbers?capability=fax"), 400)
        problem(await world.call(world.acme, "GET", "/v1/numbers?country=GBR"), 400)

        quote = await world.ok(world.acme, "POST", lease_path, json={"term": DAY})
        world.clock.now += timedelta(minutes=10)
        late = await world.call(world.acme, "POST", "/v1/leases", json={"quoteId": quote["id"]})
        assert "expired" in problem(late, 409)["detail"]
        problem(await world.call(world.acme, "POST", "/v1/leases", json={"quoteId": "x"}), 404)

        twice = await _offer(world, admin, LONDON, {"day": 1})
        problem(twice, 409)
        national = await _offer(world, admin, "07700900555", {"day": 1})
        assert problem(national, 422)["key"] == "number"
        priceless = await _offer(world, admin, "+447700900555", {})
        assert problem(priceless, 422)["key"] == "prices"
        await world.lease(world.acme, LONDON)
        problem(await world.client.delete(f"/v1/inventory/{LONDON}", headers=admin), 409)
        removed = await world.client.delete(f"/v1/inventory/{NEW_YORK}", headers=admin)
        assert removed.status_code == 204
        problem(await world.client.get(f"/v1/inventory/{NEW_YORK}", headers=admin), 404)
        inventory = (await world.client.get("/v1/inventory?state=leased", headers=admin)).json()
        assert [(n["number"], n["lessee"]) for n in inventory["data"]] == [(LONDON, "acme")]
        actions = [e.action for e in await world.septet.audit_log(None)]
        assert actions[:2] == ["number.remove", "number.update"]
