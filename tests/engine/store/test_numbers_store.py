"""Numbers for rent in every store: the inventory, quotes confirmed into leases exactly
once, renewals from the current expiry, release and expiry into cooling-off, the sweep,
the ledger, and an audit row with every change, all of it surviving a reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import trio
from conftest import OpenTestStore

from engine.store import (
    NumberQuery,
    Prices,
    RentalNumber,
    Store,
    SweepOutcome,
    Term,
    term_end,
)

pytestmark = pytest.mark.trio

NOW = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
COOLING = timedelta(hours=48)
DAY = Term(unit="day", count=1)


def _number(number: str = "+447700900001", **fields: object) -> RentalNumber:
    values: dict[str, object] = {
        "number": number,
        "country": "GB",
        "region": "London",
        "capabilities": ("sms",),
        "carrier": "tw",
        "prices": Prices(hour=10, day=150, month=2500),
        "currency": "GBP",
        "state": "available",
        "lessee": None,
        "lease_id": None,
        "cooling_off_until": None,
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }
    return RentalNumber(**values)  # type: ignore[arg-type]


async def _lease(
    store: Store, tenant: str, number: str, term: Term = DAY, *, auto_renew: bool = False
) -> str:
    quoted = await store.create_quote(
        tenant,
        number,
        term,
        auto_renew=auto_renew,
        now=NOW,
        expires_at=NOW + timedelta(minutes=5),
        actor="test",
    )
    assert quoted.refused is None
    assert quoted.quote is not None
    leased = await store.confirm_quote(tenant, quoted.quote.id, now=NOW, actor="test")
    assert leased.refused is None
    assert leased.lease is not None
    return leased.lease.id


async def test_a_term_ends_on_the_same_day_of_a_later_month_or_that_months_last() -> None:
    assert term_end(NOW, Term(unit="month", count=1)) == datetime(2025, 2, 28, 10, tzinfo=UTC)
    assert term_end(NOW, Term(unit="month", count=13)) == datetime(2026, 2, 28, 10, tzinfo=UTC)
    leap = datetime(2024, 1, 31, tzinfo=UTC)
    assert term_end(leap, Term(unit="month", count=1)) == datetime(2024, 2, 29, tzinfo=UTC)
    assert term_end(NOW, Term(unit="month", count=12)) == datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert term_end(NOW, Term(unit="day", count=2)) == NOW + timedelta(days=2)
    assert term_end(NOW, Term(unit="hour", count=5)) == NOW + timedelta(hours=5)
    for bad in (0, -1, 121):
        with pytest.raises(ValueError, match="a term counts"):
            Term(unit="month", count=bad)


async def test_the_inventory_adds_lists_changes_and_removes_with_audit(store: Store) -> None:
    assert (await store.add_number(_number(), actor="operator")).number == _number()
    assert (await store.add_number(_number(), actor="operator")).refused == "exists"
    await store.add_number(
        _number("+15550100001", country="US", capabilities=("sms", "voice"), currency="USD"),
        actor="operator",
    )
    listed = await store.list_numbers(NumberQuery())
    assert [n.number for n in listed] == ["+15550100001", "+447700900001"]
    voice = await store.list_numbers(NumberQuery(capabilities=("voice", "sms")))
    assert [n.number for n in voice] == ["+15550100001"]
    assert await store.list_numbers(NumberQuery(country="FR")) == []
    page = await store.list_numbers(NumberQuery(after="+15550100001", limit=1))
    assert [n.number for n in page] == ["+447700900001"]

    cheaper = _number(prices=Prices(day=99), region=None, updated_at=NOW + timedelta(hours=1))
    changed = await store.update_number(cheaper, actor="operator")
    assert changed.number is not None
    assert changed.number.prices == Prices(day=99)
    assert changed.number.region is None
    assert changed.number.state == "available"
    assert (await store.update_number(_number("+33100000000"), actor="x")).refused == "missing"

    assert (await store.remove_number("+15550100001", actor="operator")).refused is None
    assert (await store.remove_number("+15550100001", actor="operator")).refused == "missing"
    assert await store.get_number("+15550100001") is None
    actions = [e.action for e in await store.audit_log(None)]
    assert actions == ["number.remove", "number.update", "number.add", "number.add"]


async def test_a_quote_confirmed_leases_the_number_with_its_charge(store: Store) -> None:
    await store.add_number(_number(), actor="operator")
    revision = await store.number_revision()
    quoted = await store.create_quote(
        "acme",
        "+447700900001",
        Term(unit="day", count=7),
        auto_renew=True,
        now=NOW,
        expires_at=NOW + timedelta(minutes=5),
        actor="key_a",
    )
    quote = quoted.quote
    assert quote is not None
    assert (quote.unit_price, quote.amount, quote.currency) == (150, 1050, "GBP")
    assert await store.number_revision() == revision  # a quote changes nobody's number

    # Another tenant cannot confirm it: it is not theirs.
    other = await store.confirm_quote("beta", quote.id, now=NOW, actor="key_b")
    assert other.refused == "missing"
    leased = await store.confirm_quote("acme", quote.id, now=NOW, actor="key_a")
    assert leased.refused is None
    lease, number, charge = leased.lease, leased.number, leased.charge
    assert lease is not None
    assert number is not None
    assert charge is not None
    assert (lease.tenant, lease.number, lease.auto_renew) == ("acme", "+447700900001", True)
    assert lease.expires_at == NOW + timedelta(days=7)
    assert (number.state, number.lessee, number.lease_id) == ("leased", "acme", lease.id)
    assert (charge.kind, charge.amount, charge.period_end) == ("lease", 1050, lease.expires_at)
    assert await store.number_revision() > revision

    again = await store.confirm_quote("acme", quote.id, now=NOW, actor="key_a")
    assert again.repeated
    assert again.lease == lease
    assert [c.id for c in await store.charges("acme")] == [charge.id]
    assert await store.charges("beta") == []
    assert await store.get_lease("beta", lease.id) is None
    assert await store.get_lease("acme", lease.id) == lease

    # A leased number is quoted to nobody, and stays in the inventory.
    taken = await store.create_quote(
        "beta", "+447700900001", DAY, auto_renew=False, now=NOW, expires_at=NOW, actor="b"
    )
    assert taken.refused == "taken"
    assert (await store.remove_number("+447700900001", actor="operator")).refused == "in_use"
    owners = await store.number_owners()
    assert owners[1] == [("+447700900001", "leased", "acme")]
    actions = [e.action for e in await store.audit_log("acme")]
    assert actions == ["lease.create", "lease.quote"]


async def test_a_quote_refuses_what_cannot_be_leased(store: Store) -> None:
    await store.add_number(_number(prices=Prices(day=100)), actor="operator")

    async def quote(number: str, term: Term) -> str | None:
        change = await store.create_quote(
            "acme", number, term, auto_renew=False, now=NOW, expires_at=NOW, actor="a"
        )
        return change.refused

    assert await quote("+447700900009", DAY) == "missing"
    assert await quote("+447700900001", Term(unit="month", count=1)) == "not_offered"
    stale = await store.create_quote(
        "acme", "+447700900001", DAY, auto_renew=False, now=NOW, expires_at=NOW, actor="a"
    )
    assert stale.quote is not None
    late = await store.confirm_quote("acme", stale.quote.id, now=NOW, actor="a")
    assert late.refused == "quote_expired"
    assert (await store.confirm_quote("acme", "quo_nope", now=NOW, actor="a")).refused == "missing"


async def test_two_tenants_confirming_one_number_at_once_make_one_lease(store: Store) -> None:
    await store.add_number(_number(), actor="operator")
    quotes = {}
    for tenant in ("acme", "beta"):
        change = await store.create_quote(
            tenant,
            "+447700900001",
            DAY,
            auto_renew=False,
            now=NOW,
            expires_at=NOW + timedelta(minutes=5),
            actor=tenant,
        )
        assert change.quote is not None
        quotes[tenant] = change.quote.id
    outcomes: dict[str, str | None] = {}

    async def confirm(tenant: str) -> None:
        change = await store.confirm_quote(tenant, quotes[tenant], now=NOW, actor=tenant)
        outcomes[tenant] = change.refused

    async with trio.open_nursery() as nursery:
        for tenant in quotes:
            nursery.start_soon(confirm, tenant)
    assert sorted(outcomes.values(), key=str) == [None, "taken"]
    winner = next(t for t, refused in outcomes.items() if refused is None)
    loser = next(t for t in outcomes if t != winner)
    assert [lease.tenant for lease in await store.leases(winner)] == [winner]
    assert await store.leases(loser) == []
    assert await store.charges(loser) == []


async def test_a_renewal_extends_from_the_current_expiry(store: Store) -> None:
    await store.add_number(_number(), actor="operator")
    lease_id = await _lease(store, "acme", "+447700900001", Term(unit="month", count=1))
    later = NOW + timedelta(days=3)
    renewed = await store.renew_lease(
        "acme", lease_id, Term(unit="month", count=2), now=later, actor="a"
    )
    assert renewed.lease is not None
    assert renewed.charge is not None
    assert renewed.lease.expires_at == datetime(2025, 4, 28, 10, tzinfo=UTC)
    assert renewed.lease.renewals == 1
    assert renewed.charge.period_start == datetime(2025, 2, 28, 10, tzinfo=UTC)
    assert (renewed.charge.kind, renewed.charge.amount) == ("renewal", 5000)
    assert renewed.charge.charged_at == later
    # Its own term by default, at the number's price now.
    await store.update_number(_number(prices=Prices(month=3000)), actor="operator")
    again = await store.renew_lease("acme", lease_id, None, now=later, actor="a")
    assert again.charge is not None
    assert again.charge.amount == 3000
    assert (await store.renew_lease("beta", lease_id, None, now=later, actor="b")).refused == (
        "missing"
    )
    not_offered = await store.renew_lease("acme", lease_id, DAY, now=later, actor="a")
    assert not_offered.refused == "not_offered"
    # Past its expiry a lease is over, swept or not.
    past = datetime(2025, 6, 1, tzinfo=UTC)
    assert (await store.renew_lease("acme", lease_id, None, now=past, actor="a")).refused == (
        "ended"
    )
    assert [c.amount for c in await store.charges("acme")] == [2500, 5000, 3000]


async def test_a_release_cools_the_number_off_then_the_sweep_frees_it(
    store: Store,
) -> None:
    await store.add_number(_number(), actor="operator")
    lease_id = await _lease(store, "acme", "+447700900001")
    moment = NOW + timedelta(hours=2)
    assert (
        await store.set_auto_renew("acme", lease_id, True, now=moment, actor="a")
    ).lease.auto_renew  # type: ignore[union-attr]
    released = await store.release_lease(
        "acme", lease_id, now=moment, cooling_off=COOLING, actor="a"
    )
    assert released.lease is not None
    assert released.number is not None
    assert (released.lease.ended_at, released.lease.end_reason) == (moment, "released")
    assert released.number.state == "cooling_off"
    assert released.number.cooling_off_until == moment + COOLING
    assert released.number.lessee is None
    again = await store.release_lease("acme", lease_id, now=moment, cooling_off=COOLING, actor="a")
    assert again.refused == "ended"
    assert (await store.set_auto_renew("acme", lease_id, False, now=moment, actor="a")).refused == (
        "ended"
    )
    assert await store.leases("acme") == []
    assert [lease.id for lease in await store.leases("acme", active_only=False)] == [lease_id]
    cooling = await store.create_quote(
        "beta", "+447700900001", DAY, auto_renew=False, now=moment, expires_at=moment, actor="b"
    )
    assert cooling.refused == "taken"

    early = await store.sweep_numbers(now=moment + COOLING / 2, cooling_off=COOLING, actor="s")
    assert early.freed == ()
    assert early.next_due == moment + COOLING
    swept = await store.sweep_numbers(now=moment + COOLING, cooling_off=COOLING, actor="s")
    assert swept.freed == ("+447700900001",)
    assert swept.next_due is None
    number = await store.get_number("+447700900001")
    assert number is not None
    assert number.state == "available"
    assert "number.available" in [e.action for e in await store.audit_log(None)]


async def test_the_sweep_expires_or_auto_renews_what_fell_due_and_survives_a_reopen(
    open_test_store: OpenTestStore,
) -> None:
    async with open_test_store() as store:
        for number in ("+447700900001", "+447700900002"):
            await store.add_number(_number(number), actor="operator")
        plain = await _lease(store, "acme", "+447700900001")
        renewing = await _lease(store, "beta", "+447700900002", auto_renew=True)
        due = await store.sweep_numbers(now=NOW, cooling_off=COOLING, actor="s")
        assert due.next_due == NOW + timedelta(days=1)
    # Three days and an hour later (the engine was down): the plain lease expired at its
    # expiry and its cooling-off is over; the renewing one renewed three times.
    later = NOW + timedelta(days=3, hours=1)
    async with open_test_store() as store:
        swept = await store.sweep_numbers(now=later, cooling_off=COOLING, actor="s")
        assert [lease.id for lease in swept.expired] == [plain]
        (expired,) = swept.expired
        assert expired.ended_at == NOW + timedelta(days=1)
        assert expired.cooling_off_until == NOW + timedelta(days=3)
        assert swept.freed == ("+447700900001",)
        (renewed,) = swept.renewed
        assert renewed.id == renewing
        assert renewed.expires_at == NOW + timedelta(days=4)
        assert renewed.renewals == 3
        lines = await store.charges("beta")
        assert [(c.kind, c.period_start) for c in lines] == [
            ("lease", NOW),
            ("auto_renewal", NOW + timedelta(days=1)),
            ("auto_renewal", NOW + timedelta(days=2)),
            ("auto_renewal", NOW + timedelta(days=3)),
        ]
        assert swept.next_due == NOW + timedelta(days=4)
        revision, owners = await store.number_owners()
        assert sorted(owners) == [
            ("+447700900001", "available", None),
            ("+447700900002", "leased", "beta"),
        ]
        assert revision == await store.number_revision()
        nothing = await store.sweep_numbers(now=later, cooling_off=COOLING, actor="s")
        assert nothing == SweepOutcome(next_due=swept.next_due)
        beta_actions = [e.action for e in await store.audit_log("beta")]
        assert beta_actions.count("lease.auto_renewal") == 3
        assert "lease.expire" in [e.action for e in await store.audit_log("acme")]


async def test_charges_page_within_a_period(store: Store) -> None:
    await store.add_number(_number(), actor="operator")
    lease_id = await _lease(store, "acme", "+447700900001", Term(unit="hour", count=1))
    for hours in (1, 2):
        await store.renew_lease(
            "acme", lease_id, None, now=NOW + timedelta(minutes=30 * hours), actor="a"
        )
    every = await store.charges("acme")
    assert len(every) == 3
    first = await store.charges("acme", limit=1)
    rest = await store.charges("acme", after=first[0].id)
    assert [*first, *rest] == list(every)
    window = await store.charges(
        "acme", since=NOW + timedelta(minutes=1), until=NOW + timedelta(hours=1)
    )
    assert [c.charged_at for c in window] == [NOW + timedelta(minutes=30)]
    with pytest.raises(ValueError, match="charge"):
        await store.charges("beta", after=first[0].id)
