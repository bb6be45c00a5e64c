"""Numbers rented to tenants, through the embedding API with a clock the test moves:
each message is filed under its number's lessee, in the quarantine while nobody leases
it (cooling-off included), or under ``Config.tenant`` when the number is not for rent;
an expired lease stops delivery; the sweeper works by itself and across a restart; a
lease made by another process is followed; statements add up."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio
from http_server import Answer, open_http_server, webhook_destination
from leasing import (
    DAY,
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
from engine import InvalidTermError, NumberConflictError
from engine.delivery import RouteTable
from engine.errors import ConfigError, TenantConflictError
from engine.model import InboundText
from engine.store import Prices, Term, open_sqlite_store

pytestmark = pytest.mark.trio


async def test_messages_follow_the_lease_and_cooling_off_hides_them(tmp_path: Path) -> None:
    clock = Clock()
    async with engine.open(numbers_config(tmp_path), clock=clock) as septet:
        await stock_numbers(septet, NUMBER)
        # Not for rent: as ever, Config.tenant's. For rent, not leased: the quarantine's.
        plain = await receive_text(septet, "+447700900999")
        assert plain.tenant == "default"
        unleased = await receive_text(septet, NUMBER)
        assert unleased.tenant == "quarantine:unleased"
        assert await septet.messages(number=NUMBER) == []

        lease_id = await lease_number(septet, "acme", NUMBER)
        since = datetime.now(UTC)
        leased = await receive_text(septet, NUMBER, "Your code is 111111")
        assert leased.tenant == "acme"
        assert [m.id for m in await septet.messages(tenant="acme")] == [leased.id]
        assert await septet.get(leased.id) is None  # not Config.tenant's
        found = await septet.wait_for_code(NUMBER, timeout=5, since=since)
        assert found.id == leased.id

        await septet.numbers.release("acme", lease_id)
        late = await receive_text(septet, NUMBER, "Your code is 222222")
        assert late.tenant == "quarantine:cooling-off"
        with pytest.raises(NumberConflictError, match="cooling off"):
            await septet.numbers.quote("beta", NUMBER, DAY)

        clock.advance(hours=48)
        await septet.numbers.sweep()
        await lease_number(septet, "beta", NUMBER)
        fresh = await receive_text(septet, NUMBER, "Your code is 333333")
        assert [m.id for m in await septet.messages(tenant="beta")] == [fresh.id]
        assert [m.id for m in await septet.messages(tenant="acme")] == [leased.id]
        assert await septet.messages(tenant="default", number=NUMBER) == []
        quarantined = await septet.numbers.quarantined()
        assert [(q.reason, q.message.id) for q in quarantined] == [
            ("cooling-off", late.id),
            ("unleased", unleased.id),
        ]
        assert [q.message.id for q in await septet.numbers.quarantined(reason="unleased")] == [
            unleased.id
        ]


async def test_every_path_in_files_by_the_number(tmp_path: Path) -> None:
    async with engine.open(numbers_config(tmp_path)) as septet:
        await stock_numbers(septet, NUMBER)
        await lease_number(septet, "acme", NUMBER)
        items = [
            InboundText(
                carrier="tw", number=NUMBER, sender="A", text="one", carrier_message_id="b1"
            ),
            InboundText(
                carrier="tw", number=OTHER, sender="A", text="two", carrier_message_id="b2"
            ),
        ]
        batch = await septet.ingest_many(items)
        assert [r.message.tenant for r in batch if r.message] == ["acme", "default"]
        # A concatenated message is filed when its set completes.
        for seq, text in ((1, "Your code "), (2, "is 654321")):
            segment = engine.model.Segment(reference=7, reference_bits=8, total=2, seq=seq)
            result = await septet.ingest(
                InboundText(
                    carrier="tw",
                    number=NUMBER,
                    sender="A",
                    text=text,
                    segment=segment,
                    carrier_message_id=f"p{seq}",
                )
            )
        assert result.message is not None
        assert (result.message.tenant, result.message.content) == ("acme", "Your code is 654321")


async def test_an_expired_lease_stops_delivery(tmp_path: Path) -> None:
    clock = Clock()
    async with open_http_server(default=Answer(status=204)) as receiver:
        hook = webhook_destination(receiver)
        config = numbers_config(
            tmp_path, destinations=(hook,), routes=RouteTable(default=("hook",))
        )
        async with engine.open(config, clock=clock) as septet:
            await stock_numbers(septet, NUMBER, OTHER)
            await lease_number(septet, "default", NUMBER, HOUR)
            await lease_number(septet, "beta", OTHER, HOUR)
            delivered = await receive_text(septet, NUMBER)
            with trio.fail_after(5):
                while not await septet.deliveries(status="delivered"):
                    await trio.sleep(0.01)
            # Another tenant's message never goes to this tenant's destinations.
            elsewhere = await receive_text(septet, OTHER)
            assert await septet.deliveries(message_id=elsewhere.id, tenant="beta") == []

            clock.advance(hours=1)
            swept = await septet.numbers.sweep()
            assert {lease.number for lease in swept.expired} == {NUMBER, OTHER}
            after = await receive_text(septet, NUMBER)
            assert after.tenant == "quarantine:cooling-off"
            for tenant in ("default", "quarantine:cooling-off"):
                assert await septet.deliveries(message_id=after.id, tenant=tenant) == []
            outbox = await septet.deliveries(tenant="default")
            assert [d.message_id for d in outbox] == [delivered.id]
            assert len(receiver.requests) == 1
            assert receiver.requests[0].json()["data"]["id"] == delivered.id


async def test_the_sweeper_expires_a_lease_by_itself(tmp_path: Path) -> None:
    clock = Clock()
    async with engine.open(numbers_config(tmp_path), clock=clock) as septet:
        await stock_numbers(septet, NUMBER)
        await lease_number(septet, "acme", NUMBER, HOUR)
        assert septet.numbers.owner_of(NUMBER) == "acme"
        clock.advance(hours=1)
        with trio.fail_after(5):
            while septet.numbers.owner_of(NUMBER) is not None:
                await trio.sleep(0.01)
        assert (await receive_text(septet, NUMBER)).tenant == "quarantine:cooling-off"
        (lease,) = await septet.numbers.leases("acme", active_only=False)
        assert (lease.state, lease.end_reason, lease.time_left_seconds) == ("ended", "expired", 0)


async def test_the_lifecycle_carries_on_across_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    async with engine.open(numbers_config(tmp_path), clock=clock) as septet:
        await stock_numbers(septet, NUMBER, OTHER)
        await lease_number(septet, "acme", NUMBER)
        renewing = await lease_number(septet, "beta", OTHER, auto_renew=True)
    # Down for a day and an hour: at start the plain lease has expired (cooling off
    # since it did), the renewing one renewed, before any message is filed.
    clock.advance(days=1, hours=1)
    async with engine.open(numbers_config(tmp_path), clock=clock) as septet:
        assert (await receive_text(septet, NUMBER)).tenant == "quarantine:cooling-off"
        assert (await receive_text(septet, OTHER)).tenant == "beta"
        (lease,) = await septet.numbers.leases("beta")
        assert lease.id == renewing
        assert lease.renewals == 1
        assert lease.time_left_seconds == 23 * 3600
        kinds = [c.kind for c in await septet.numbers.charges("beta")]
        assert kinds == ["lease", "auto_renewal"]
        actions = [e.action for e in await septet.audit_log("acme")]
        assert actions[0] == "lease.expire"


async def test_a_lease_made_by_another_process_is_followed(tmp_path: Path) -> None:
    config = numbers_config(tmp_path)
    async with engine.open(config) as septet:
        await stock_numbers(septet, NUMBER)
        assert (await receive_text(septet, NUMBER)).tenant == "quarantine:unleased"
        # Another process (the command line) leases it in the same inbox.
        async with open_sqlite_store(tmp_path / "septet.db", readers=1) as store:
            other = engine.NumberBook(store, config.numbers)
            quote = await other.quote("acme", NUMBER, DAY)
            await other.lease("acme", quote.id)
        with trio.fail_after(5):
            while septet.numbers.owner_of(NUMBER) != "acme":
                await trio.sleep(0.01)
        assert (await receive_text(septet, NUMBER)).tenant == "acme"


async def test_leasing_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    async with engine.open(numbers_config(tmp_path)) as septet:
        await stock_numbers(septet, NUMBER)
        with pytest.raises(NumberConflictError, match="inventory already"):
            await stock_numbers(septet, NUMBER)
        with pytest.raises(ConfigError) as bad:
            await septet.numbers.add_number(
                "07700900123", country="GB", carrier="tw", prices=Prices(day=1), currency="GBP"
            )
        assert bad.value.key == "number"
        with pytest.raises(KeyError):
            await septet.numbers.quote("acme", "+447700900000", DAY)
        with pytest.raises(InvalidTermError, match="month"):
            await septet.numbers.quote("acme", NUMBER, Term(unit="month", count=1))
        quotes = [await septet.numbers.quote(t, NUMBER, DAY) for t in ("acme", "beta")]
        outcomes: list[str] = []

        async def confirm(tenant: str, quote_id: str) -> None:
            try:
                await septet.numbers.lease(tenant, quote_id)
                outcomes.append(f"leased by {tenant}")
            except NumberConflictError:
                outcomes.append("refused")

        async with trio.open_nursery() as nursery:
            for quote in quotes:
                nursery.start_soon(confirm, quote.tenant, quote.id)
        assert sorted(outcome.split()[0] for outcome in outcomes) == ["leased", "refused"]
        (winner,) = [q.tenant for q in quotes if f"leased by {q.tenant}" in outcomes]
        loser = "beta" if winner == "acme" else "acme"
        (lease,) = await septet.numbers.leases(winner)
        # Another tenant's lease is nobody's: every change answers KeyError.
        for change in (
            septet.numbers.renew(loser, lease.id),
            septet.numbers.release(loser, lease.id),
            septet.numbers.set_auto_renew(loser, lease.id, True),
        ):
            with pytest.raises(KeyError):
                await change
        assert await septet.numbers.lease_info(loser, lease.id) is None
        with pytest.raises(NumberConflictError, match="leased"):
            await septet.numbers.remove_number(NUMBER)
        with pytest.raises(TenantConflictError):
            await septet.create_tenant("Sneaky", tenant_id="quarantine:unleased")
        await septet.numbers.release(winner, lease.id)
        with pytest.raises(NumberConflictError, match="ended"):
            await septet.numbers.renew(winner, lease.id)


async def test_a_monthly_statement_adds_up_as_json_and_csv(tmp_path: Path) -> None:
    clock = Clock()
    async with engine.open(numbers_config(tmp_path), clock=clock) as septet:
        await stock_numbers(septet, NUMBER)
        await septet.numbers.add_number(
            OTHER, country="US", carrier="tw", prices=Prices(month=1250), currency="USD"
        )
        lease_id = await lease_number(septet, "acme", NUMBER, Term(unit="day", count=3))
        await lease_number(septet, "acme", OTHER, Term(unit="month", count=1))
        await septet.numbers.renew("acme", lease_id, Term(unit="hour", count=5))
        clock.advance(days=2)  # February
        await septet.numbers.renew("acme", lease_id)
        january = await septet.numbers.statement("acme", "2025-01")
        assert [(c.kind, c.amount, c.currency) for c in january.lines] == [
            ("lease", 300, "GBP"),
            ("lease", 1250, "USD"),
            ("renewal", 25, "GBP"),
        ]
        assert [(t.currency, t.amount, t.lines) for t in january.totals] == [
            ("GBP", 325, 2),
            ("USD", 1250, 1),
        ]
        february = await septet.numbers.statement("acme", "2025-02")
        assert [(t.currency, t.amount) for t in february.totals] == [("GBP", 300)]
        assert (await septet.numbers.statement("beta", "2025-01")).lines == []
        rows = list(csv.reader(io.StringIO(january.csv())))
        assert rows[0][:3] == ["charge_id", "charged_at", "kind"]
        assert [row[2] for row in rows[1:]] == ["lease", "lease", "renewal", "total", "total"]
        assert [(row[7], row[8]) for row in rows[-2:]] == [("325", "GBP"), ("1250", "USD")]
        assert sum(int(row[7]) for row in rows[1:4] if row[8] == "GBP") == 325
        with pytest.raises(ValueError, match="YYYY-MM"):
            await septet.numbers.statement("acme", "2025-13")
