"""Reading numbers for rent, leases, quotes and charge lines back from SQLite.

The rows of ``0006_numbers.sql`` decoded into their records, and the queries the store
answers on its reader connections. The writer's ops (:mod:`._sqlite_numbers`) read the
state they depend on through the same functions, inside their transaction.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, cast

from ._numbers import (
    CAPABILITIES,
    Capability,
    Charge,
    ChargeKind,
    Lease,
    LeaseEnd,
    LeaseQuote,
    NumberQuery,
    NumberState,
    Prices,
    RentalNumber,
    Term,
    TermUnit,
)
from ._sqlite_outbox import from_micros
from ._sqlite_rows import micros
from ._sqlite_tenants import optional_time

__all__ = [
    "CHARGE_COLUMNS",
    "LEASE_COLUMNS",
    "QUOTE_COLUMNS",
    "capability_bits",
    "charges",
    "find_lease",
    "get_lease",
    "get_number",
    "lease_from_row",
    "leases",
    "list_numbers",
    "number_owners",
    "number_revision",
    "quote_from_row",
]

_NUMBER_COLUMNS = (
    "n.number, n.country, n.region, n.capabilities, n.carrier, n.price_hour, n.price_day,"
    " n.price_month, n.currency, n.state, l.tenant, n.lease_id, n.cooling_off_until,"
    " n.created_at, n.updated_at"
)
_NUMBER_FROM = "numbers AS n LEFT JOIN leases AS l ON l.id = n.lease_id"
_HELD_COLUMNS = "id, tenant, number, term_unit, term_count, auto_renew"
"""The columns a lease and the quote it came from share, first in both tables."""
LEASE_COLUMNS = (
    f"{_HELD_COLUMNS}, started_at, expires_at, renewals, ended_at, end_reason, cooling_off_until"
)
QUOTE_COLUMNS = f"{_HELD_COLUMNS}, unit_price, amount, currency, created_at, expires_at, lease_id"
CHARGE_COLUMNS = (
    "id, tenant, lease_id, number, kind, term_unit, term_count, unit_price, amount, currency,"
    " period_start, period_end, charged_at"
)


def capability_bits(capabilities: tuple[Capability, ...]) -> int:
    """The bit set a row keeps: 1 sms, 2 mms, 4 voice."""
    return sum(1 << CAPABILITIES.index(capability) for capability in set(capabilities))


def _capabilities(bits: int) -> tuple[Capability, ...]:
    return tuple(c for i, c in enumerate(CAPABILITIES) if bits & (1 << i))


def _number(row: tuple[Any, ...]) -> RentalNumber:
    (number, country, region, bits, carrier, hour, day, month, currency, state, lessee,
     lease_id, cooling, created, updated) = row  # fmt: skip
    leased = state == "leased"
    return RentalNumber(
        number=number,
        country=country,
        region=region,
        capabilities=_capabilities(bits),
        carrier=carrier,
        prices=Prices(hour=hour, day=day, month=month),
        currency=currency,
        state=cast(NumberState, state),
        lessee=lessee if leased else None,
        lease_id=lease_id if leased else None,
        cooling_off_until=optional_time(cooling),
        created_at=from_micros(created),
        updated_at=from_micros(updated),
    )


def _term(unit: str, count: int) -> Term:
    return Term(unit=cast(TermUnit, unit), count=count)


def _held(row: tuple[Any, ...]) -> dict[str, Any]:
    """The fields of :data:`_HELD_COLUMNS`, which a lease and a quote decode alike."""
    record_id, tenant, number, unit, count, auto_renew = row[:6]
    return {
        "id": record_id,
        "tenant": tenant,
        "number": number,
        "term": _term(unit, count),
        "auto_renew": bool(auto_renew),
    }


def lease_from_row(row: tuple[Any, ...]) -> Lease:
    """A row of :data:`LEASE_COLUMNS` as its lease."""
    started, expires, renewals, ended, reason, cooling = row[6:]
    return Lease(
        **_held(row),
        started_at=from_micros(started),
        expires_at=from_micros(expires),
        renewals=renewals,
        ended_at=optional_time(ended),
        end_reason=cast("LeaseEnd | None", reason),
        cooling_off_until=optional_time(cooling),
    )


def quote_from_row(row: tuple[Any, ...]) -> LeaseQuote:
    """A row of :data:`QUOTE_COLUMNS` as its quote."""
    unit_price, amount, currency, created, expires, lease_id = row[6:]
    return LeaseQuote(
        **_held(row),
        unit_price=unit_price,
        amount=amount,
        currency=currency,
        created_at=from_micros(created),
        expires_at=from_micros(expires),
        lease_id=lease_id,
    )


def _charge(row: tuple[Any, ...]) -> Charge:
    (charge_id, tenant, lease_id, number, kind, unit, count, unit_price, amount, currency,
     start, end, charged) = row  # fmt: skip
    return Charge(
        id=charge_id,
        tenant=tenant,
        lease_id=lease_id,
        number=number,
        kind=cast(ChargeKind, kind),
        term=_term(unit, count),
        unit_price=unit_price,
        amount=amount,
        currency=currency,
        period_start=from_micros(start),
        period_end=from_micros(end),
        charged_at=from_micros(charged),
    )


def get_number(conn: sqlite3.Connection, number: str) -> RentalNumber | None:
    row = conn.execute(
        f"SELECT {_NUMBER_COLUMNS} FROM {_NUMBER_FROM} WHERE n.number = ?", (number,)
    ).fetchone()
    return None if row is None else _number(row)


def find_lease(conn: sqlite3.Connection, lease_id: str, tenant: str | None) -> Lease | None:
    """The lease ``lease_id``; only when it is ``tenant``'s, unless ``tenant`` is None."""
    sql = f"SELECT {LEASE_COLUMNS} FROM leases WHERE id = ?"
    params: tuple[str, ...] = (lease_id,)
    if tenant is not None:
        sql += " AND tenant = ?"
        params = (lease_id, tenant)
    row = conn.execute(sql, params).fetchone()
    return None if row is None else lease_from_row(row)


def list_numbers(conn: sqlite3.Connection, query: NumberQuery) -> list[RentalNumber]:
    """The inventory numbers ``query`` keeps, by number."""
    clauses: list[str] = []
    params: list[object] = []
    if query.state is not None:
        clauses.append("n.state = ?")
        params.append(query.state)
    if query.country is not None:
        clauses.append("n.country = ?")
        params.append(query.country)
    if query.carrier is not None:
        clauses.append("n.carrier = ?")
        params.append(query.carrier)
    if query.capabilities:
        bits = capability_bits(query.capabilities)
        clauses.append("n.capabilities & ? = ?")
        params += [bits, bits]
    if query.after is not None:
        clauses.append("n.number > ?")
        params.append(query.after)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT {_NUMBER_COLUMNS} FROM {_NUMBER_FROM}{where} ORDER BY n.number LIMIT ?",
        (*params, query.limit),
    )
    return [_number(row) for row in rows]


def number_owners(
    conn: sqlite3.Connection,
) -> tuple[int, list[tuple[str, NumberState, str | None]]]:
    """The revision, then every inventory number with its state and, when leased, its
    lessee. The revision is read first: a change landing between the two reads shows
    as a newer revision later, never as a revision that claims it."""
    revision = number_revision(conn)
    rows = conn.execute(f"SELECT n.number, n.state, l.tenant FROM {_NUMBER_FROM}").fetchall()
    return revision, [(number, cast(NumberState, state), lessee) for number, state, lessee in rows]


def number_revision(conn: sqlite3.Connection) -> int:
    (revision,) = conn.execute("SELECT revision FROM number_revision WHERE id = 1").fetchone()
    return int(revision)


def get_lease(conn: sqlite3.Connection, tenant: str, lease_id: str) -> Lease | None:
    return find_lease(conn, lease_id, tenant)


def leases(conn: sqlite3.Connection, tenant: str, *, active_only: bool) -> list[Lease]:
    """The tenant's leases, oldest first; only those not ended when ``active_only``."""
    sql = f"SELECT {LEASE_COLUMNS} FROM leases WHERE tenant = ?"
    if active_only:
        sql += " AND ended_at IS NULL"
    return [lease_from_row(row) for row in conn.execute(f"{sql} ORDER BY id", (tenant,))]


def charges(
    conn: sqlite3.Connection,
    tenant: str,
    *,
    since: datetime | None,
    until: datetime | None,
    after: str | None,
    limit: int,
) -> list[Charge]:
    """The tenant's charge lines charged in ``[since, until)``, oldest first; ``after``
    (a charge id) continues a page."""
    sql = f"SELECT {CHARGE_COLUMNS} FROM charges WHERE tenant = ?"
    params: list[object] = [tenant]
    if since is not None:
        sql += " AND charged_at >= ?"
        params.append(micros(since))
    if until is not None:
        sql += " AND charged_at < ?"
        params.append(micros(until))
    if after is not None:
        found = conn.execute(
            "SELECT charged_at FROM charges WHERE id = ? AND tenant = ?", (after, tenant)
        ).fetchone()
        if found is None:
            raise ValueError("after must name a charge of this tenant")
        sql += " AND (charged_at, id) > (?, ?)"
        params += [found[0], after]
    rows = conn.execute(f"{sql} ORDER BY charged_at, id LIMIT ?", (*params, limit))
    return [_charge(row) for row in rows]
