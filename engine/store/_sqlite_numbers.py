"""Numbers for rent, leases, quotes and the ledger in SQLite (``0006_numbers.sql``).

Every change is an op the batching writer runs in the batch's transaction (as the
tenants' are) and writes its audit rows and ledger lines in that same transaction, so a
lease is never stored without its charge, nor a charge without its lease. Each op reads
the state it depends on inside the transaction and refuses (a :class:`NumberChange`
with ``refused``) rather than raise: two tenants confirming quotes for the same number
in one batch see one lease made and one refusal. The unique index on a number's active
lease backs that up in the schema itself.

Times are passed in by the caller (the engine's clock), never read here, so a lease's
lifecycle can be driven by a clock a test controls. Rows are read and decoded by
:mod:`._sqlite_number_reads`.
"""

from __future__ import annotations

import sqlite3
from typing import cast

import msgspec

from .._ids import new_id
from ._numbers import (
    Charge,
    ChargeKind,
    Lease,
    LeaseEnd,
    LeaseQuote,
    NumberChange,
    NumberRefusal,
    RentalNumber,
    SweepOutcome,
    Term,
    term_end,
)
from ._sqlite_number_reads import (
    CHARGE_COLUMNS,
    LEASE_COLUMNS,
    QUOTE_COLUMNS,
    capability_bits,
    find_lease,
    get_number,
    lease_from_row,
    quote_from_row,
)
from ._sqlite_outbox import from_micros
from ._sqlite_rows import micros
from ._sqlite_tenants import AuditStamp

__all__ = [
    "AddNumber",
    "ConfirmQuote",
    "CreateQuote",
    "NumberOp",
    "ReleaseLease",
    "RemoveNumber",
    "RenewLease",
    "SetAutoRenew",
    "SweepNumbers",
    "UpdateNumber",
]

_QUOTES_KEPT = 86_400_000_000
"""Microseconds an expired quote is kept, so confirming it late says it expired."""


def _bump(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE number_revision SET revision = revision + 1 WHERE id = 1")


def _stamp(stamp: AuditStamp) -> AuditStamp:
    """Another audit row of the same change (each row has its own id)."""
    return AuditStamp(id=new_id("aud"), actor=stamp.actor, now=stamp.now)


def _write_charge(conn: sqlite3.Connection, charge: Charge) -> None:
    conn.execute(
        f"INSERT INTO charges ({CHARGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            charge.id,
            charge.tenant,
            charge.lease_id,
            charge.number,
            charge.kind,
            charge.term.unit,
            charge.term.count,
            charge.unit_price,
            charge.amount,
            charge.currency,
            micros(charge.period_start),
            micros(charge.period_end),
            micros(charge.charged_at),
        ),
    )


def _charge_details(charge: Charge) -> dict[str, object]:
    return {
        "charge": charge.id,
        "amount": charge.amount,
        "currency": charge.currency,
        "term": str(charge.term),
        "until": charge.period_end.isoformat(),
    }


def _described(record: RentalNumber) -> tuple[object, ...]:
    """What a number is, in the order of its columns: country, region, capabilities,
    carrier, the hour, day and month prices, currency."""
    prices = record.prices
    return (
        record.country,
        record.region,
        capability_bits(record.capabilities),
        record.carrier,
        prices.hour,
        prices.day,
        prices.month,
        record.currency,
    )


def _available(
    conn: sqlite3.Connection, number: str, busy: NumberRefusal
) -> tuple[RentalNumber | None, NumberChange | None]:
    """The number if it is in the inventory and available, else the refusal: ``missing``,
    or ``busy`` with the number as it is."""
    found = get_number(conn, number)
    if found is None:
        return None, NumberChange(refused="missing")
    if found.state != "available":
        return None, NumberChange(refused=busy, number=found)
    return found, None


# Inventory ---------------------------------------------------------------------------


class AddNumber(msgspec.Struct, frozen=True, kw_only=True):
    """Put a number in the inventory, available; refused when it is there already."""

    number: RentalNumber
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> NumberChange:
        record = self.number
        inserted = conn.execute(
            "INSERT INTO numbers (number, country, region, capabilities, carrier, price_hour,"
            " price_day, price_month, currency, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'available', ?, ?)"
            " ON CONFLICT (number) DO NOTHING",
            (
                record.number,
                *_described(record),
                micros(record.created_at),
                micros(record.updated_at),
            ),
        ).rowcount
        if not inserted:
            return NumberChange(refused="exists")
        _bump(conn)
        details = {"country": record.country, "carrier": record.carrier}
        self.stamp.record(conn, None, "number.add", record.number, details)
        return NumberChange(number=get_number(conn, record.number))


class UpdateNumber(msgspec.Struct, frozen=True, kw_only=True):
    """Change what a number is (region, capabilities, carrier, prices, currency): never
    where it is in its lifecycle. A lease already made keeps the price it was charged."""

    number: RentalNumber
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> NumberChange:
        record = self.number
        prices = record.prices
        changed = conn.execute(
            "UPDATE numbers SET country = ?, region = ?, capabilities = ?, carrier = ?,"
            " price_hour = ?, price_day = ?, price_month = ?, currency = ?, updated_at = ?"
            " WHERE number = ?",
            (*_described(record), micros(record.updated_at), record.number),
        ).rowcount
        if not changed:
            return NumberChange(refused="missing")
        _bump(conn)
        details = msgspec.to_builtins(
            {"carrier": record.carrier, "prices": prices, "currency": record.currency}
        )
        self.stamp.record(conn, None, "number.update", record.number, details)
        return NumberChange(number=get_number(conn, record.number))


class RemoveNumber(msgspec.Struct, frozen=True, kw_only=True):
    """Take an available number out of the inventory; a leased or cooling-off one
    stays (``in_use``)."""

    number: str
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> NumberChange:
        found, refused = _available(conn, self.number, "in_use")
        if found is None:
            return cast(NumberChange, refused)
        conn.execute("DELETE FROM numbers WHERE number = ?", (self.number,))
        _bump(conn)
        self.stamp.record(conn, None, "number.remove", self.number)
        return NumberChange(number=found)


# Quotes and leases ---------------------------------------------------------------------


class CreateQuote(msgspec.Struct, frozen=True, kw_only=True):
    """Price a lease of an available number for a term, and hold that price for the
    tenant until ``expires_at``."""

    id: str
    tenant: str
    number: str
    term: Term
    auto_renew: bool
    now: int
    expires_at: int
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> NumberChange:
        found, refused = _available(conn, self.number, "taken")
        if found is None:
            return cast(NumberChange, refused)
        unit_price = found.prices.of(self.term.unit)
        if unit_price is None:
            return NumberChange(refused="not_offered", number=found)
        quote = LeaseQuote(
            id=self.id,
            tenant=self.tenant,
            number=self.number,
            term=self.term,
            auto_renew=self.auto_renew,
            unit_price=unit_price,
            amount=unit_price * self.term.count,
            currency=found.currency,
            created_at=from_micros(self.now),
            expires_at=from_micros(self.expires_at),
        )
        conn.execute(
            f"INSERT INTO lease_quotes ({QUOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " NULL)",
            (
                quote.id,
                quote.tenant,
                quote.number,
                quote.term.unit,
                quote.term.count,
                int(quote.auto_renew),
                quote.unit_price,
                quote.amount,
                quote.currency,
                self.now,
                self.expires_at,
            ),
        )
        details = {"number": self.number, "amount": quote.amount, "currency": quote.currency}
        self.stamp.record(conn, self.tenant, "lease.quote", quote.id, details)
        return NumberChange(quote=quote, number=found)


class ConfirmQuote(msgspec.Struct, frozen=True, kw_only=True):
    """Lease the quoted number to the quote's tenant at the quoted price: the lease, the
    number's new state and the charge line, at once. A quote confirmed again answers
    its lease (``repeated``); one of another tenant is ``missing``."""

    tenant: str
    quote_id: str
    lease_id: str
    charge_id: str
    now: int
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> NumberChange:
        row = conn.execute(
            f"SELECT {QUOTE_COLUMNS} FROM lease_quotes WHERE id = ? AND tenant = ?",
            (self.quote_id, self.tenant),
        ).fetchone()
        if row is None:
            return NumberChange(refused="missing")
        quote = quote_from_row(row)
        if quote.lease_id is not None:
            lease = find_lease(conn, quote.lease_id, self.tenant)
            return NumberChange(quote=quote, lease=lease, repeated=True)
        if micros(quote.expires_at) <= self.now:
            return NumberChange(refused="quote_expired", quote=quote)
        found = get_number(conn, quote.number)
        if found is None:
            return NumberChange(refused="missing", quote=quote)
        active = conn.execute(
            "SELECT 1 FROM leases WHERE number = ? AND ended_at IS NULL", (quote.number,)
        ).fetchone()
        if found.state != "available" or active is not None:
            return NumberChange(refused="taken", quote=quote, number=found)
        started = from_micros(self.now)
        expires = term_end(started, quote.term)
        conn.execute(
            f"INSERT INTO leases ({LEASE_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, NULL)",
            (
                self.lease_id,
                self.tenant,
                quote.number,
                quote.term.unit,
                quote.term.count,
                int(quote.auto_renew),
                self.now,
                micros(expires),
            ),
        )
        conn.execute(
            "UPDATE numbers SET state = 'leased', lease_id = ?, cooling_off_until = NULL,"
            " updated_at = ? WHERE number = ?",
            (self.lease_id, self.now, quote.number),
        )
        conn.execute("UPDATE lease_quotes SET lease_id = ? WHERE id = ?", (self.lease_id, quote.id))
        charge = Charge(
            id=self.charge_id,
            tenant=self.tenant,
            lease_id=self.lease_id,
            number=quote.number,
            kind="lease",
            term=quote.term,
            unit_price=quote.unit_price,
            amount=quote.amount,
            currency=quote.currency,
            period_start=started,
            period_end=expires,
            charged_at=started,
        )
        _write_charge(conn, charge)
        _bump(conn)
        details = {"number": quote.number, "quote": quote.id, **_charge_details(charge)}
        self.stamp.record(conn, self.tenant, "lease.create", self.lease_id, details)
        return NumberChange(
            quote=quote,
            lease=find_lease(conn, self.lease_id, None),
            number=get_number(conn, quote.number),
            charge=charge,
        )


def _active_lease(
    conn: sqlite3.Connection, tenant: str, lease_id: str, now: int
) -> tuple[Lease | None, NumberChange | None]:
    """The tenant's lease if it is still running at ``now``, else the refusal."""
    lease = find_lease(conn, lease_id, tenant)
    if lease is None:
        return None, NumberChange(refused="missing")
    if lease.ended_at is not None or micros(lease.expires_at) <= now:
        return None, NumberChange(refused="ended", lease=lease)
    return lease, None


class RenewLease(msgspec.Struct, frozen=True, kw_only=True):
    """Extend a running lease from its current expiry by ``term`` (default: the term it
    was leased for), at the number's price now, with its charge line."""

    tenant: str
    lease_id: str
    term: Term | None
    charge_id: str
    now: int
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> NumberChange:
        lease, refused = _active_lease(conn, self.tenant, self.lease_id, self.now)
        if lease is None:
            return cast(NumberChange, refused)
        term = self.term or lease.term
        found = get_number(conn, lease.number)
        unit_price = None if found is None else found.prices.of(term.unit)
        if found is None or unit_price is None:
            return NumberChange(refused="not_offered", lease=lease, number=found)
        charge = _renewal(
            lease, term, unit_price, found.currency, self.charge_id, "renewal", self.now
        )
        _write_charge(conn, charge)
        conn.execute(
            "UPDATE leases SET expires_at = ?, renewals = renewals + 1 WHERE id = ?",
            (micros(charge.period_end), lease.id),
        )
        _bump(conn)
        self.stamp.record(conn, self.tenant, "lease.renew", lease.id, _charge_details(charge))
        return NumberChange(lease=find_lease(conn, lease.id, None), number=found, charge=charge)


def _renewal(
    lease: Lease,
    term: Term,
    unit_price: int,
    currency: str,
    charge_id: str,
    kind: ChargeKind,
    charged_at: int,
) -> Charge:
    return Charge(
        id=charge_id,
        tenant=lease.tenant,
        lease_id=lease.id,
        number=lease.number,
        kind=kind,
        term=term,
        unit_price=unit_price,
        amount=unit_price * term.count,
        currency=currency,
        period_start=lease.expires_at,
        period_end=term_end(lease.expires_at, term),
        charged_at=from_micros(charged_at),
    )


class SetAutoRenew(msgspec.Struct, frozen=True, kw_only=True):
    """Turn a running lease's auto-renewal on or off."""

    tenant: str
    lease_id: str
    auto_renew: bool
    now: int
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> NumberChange:
        lease, refused = _active_lease(conn, self.tenant, self.lease_id, self.now)
        if lease is None:
            return cast(NumberChange, refused)
        if lease.auto_renew != self.auto_renew:
            conn.execute(
                "UPDATE leases SET auto_renew = ? WHERE id = ?", (int(self.auto_renew), lease.id)
            )
            details = {"autoRenew": self.auto_renew}
            self.stamp.record(conn, self.tenant, "lease.auto_renew", lease.id, details)
        return NumberChange(lease=find_lease(conn, lease.id, None))


def _end_lease(
    conn: sqlite3.Connection, lease: Lease, at: int, reason: LeaseEnd, cooling_off: int
) -> None:
    until = at + cooling_off
    conn.execute(
        "UPDATE leases SET ended_at = ?, end_reason = ?, cooling_off_until = ? WHERE id = ?",
        (at, reason, until, lease.id),
    )
    conn.execute(
        "UPDATE numbers SET state = 'cooling_off', lease_id = NULL, cooling_off_until = ?,"
        " updated_at = ? WHERE number = ? AND lease_id = ?",
        (until, at, lease.number, lease.id),
    )


class ReleaseLease(msgspec.Struct, frozen=True, kw_only=True):
    """End a running lease now: its number goes into cooling-off at once. Nothing is
    refunded."""

    tenant: str
    lease_id: str
    now: int
    cooling_off: int
    """Microseconds."""
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> NumberChange:
        lease, refused = _active_lease(conn, self.tenant, self.lease_id, self.now)
        if lease is None:
            return cast(NumberChange, refused)
        _end_lease(conn, lease, self.now, "released", self.cooling_off)
        _bump(conn)
        details = {"number": lease.number, "coolingOffUntil": self.now + self.cooling_off}
        self.stamp.record(conn, self.tenant, "lease.release", lease.id, details)
        return NumberChange(
            lease=find_lease(conn, lease.id, None), number=get_number(conn, lease.number)
        )


class SweepNumbers(msgspec.Struct, frozen=True, kw_only=True):
    """Apply what fell due by ``now``: a lease past its expiry renews (auto-renewal: one
    charge line per term, until it runs past ``now``, at the number's price) or ends
    expired, its number cooling off from the moment it expired; a number whose
    cooling-off is over becomes available. Quotes expired for a day go."""

    now: int
    cooling_off: int
    """Microseconds."""
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> SweepOutcome:
        now = self.now
        renewed: list[Lease] = []
        expired: list[Lease] = []
        charged: list[Charge] = []
        due = [
            lease_from_row(row)
            for row in conn.execute(
                f"SELECT {LEASE_COLUMNS} FROM leases WHERE ended_at IS NULL AND expires_at <= ?"
                " ORDER BY expires_at, id",
                (now,),
            ).fetchall()
        ]
        for lease in due:
            found = get_number(conn, lease.number)
            unit_price = None if found is None else found.prices.of(lease.term.unit)
            if lease.auto_renew and found is not None and unit_price is not None:
                current = lease
                while micros(current.expires_at) <= now:
                    charge = _renewal(
                        current,
                        current.term,
                        unit_price,
                        found.currency,
                        new_id("chg"),
                        "auto_renewal",
                        micros(current.expires_at),
                    )
                    _write_charge(conn, charge)
                    charged.append(charge)
                    audit = _stamp(self.stamp)
                    details = _charge_details(charge)
                    audit.record(conn, lease.tenant, "lease.auto_renewal", lease.id, details)
                    current = msgspec.structs.replace(
                        current, expires_at=charge.period_end, renewals=current.renewals + 1
                    )
                conn.execute(
                    "UPDATE leases SET expires_at = ?, renewals = ? WHERE id = ?",
                    (micros(current.expires_at), current.renewals, lease.id),
                )
                renewed.append(current)
                continue
            at = micros(lease.expires_at)
            _end_lease(conn, lease, at, "expired", self.cooling_off)
            details = {"number": lease.number, "coolingOffUntil": at + self.cooling_off}
            _stamp(self.stamp).record(conn, lease.tenant, "lease.expire", lease.id, details)
            expired.append(cast(Lease, find_lease(conn, lease.id, None)))
        freed = [
            number
            for (number,) in conn.execute(
                "SELECT number FROM numbers WHERE state = 'cooling_off' AND cooling_off_until <= ?"
                " ORDER BY number",
                (now,),
            ).fetchall()
        ]
        for number in freed:
            conn.execute(
                "UPDATE numbers SET state = 'available', cooling_off_until = NULL, updated_at = ?"
                " WHERE number = ?",
                (now, number),
            )
            _stamp(self.stamp).record(conn, None, "number.available", number)
        conn.execute("DELETE FROM lease_quotes WHERE expires_at < ?", (now - _QUOTES_KEPT,))
        if renewed or expired or freed:
            _bump(conn)
        (next_lease,) = conn.execute(
            "SELECT min(expires_at) FROM leases WHERE ended_at IS NULL"
        ).fetchone()
        (next_free,) = conn.execute(
            "SELECT min(cooling_off_until) FROM numbers WHERE state = 'cooling_off'"
        ).fetchone()
        upcoming = [at for at in (next_lease, next_free) if at is not None]
        return SweepOutcome(
            renewed=tuple(renewed),
            expired=tuple(expired),
            freed=tuple(freed),
            charges=tuple(charged),
            next_due=from_micros(min(upcoming)) if upcoming else None,
        )


NumberOp = (
    AddNumber
    | UpdateNumber
    | RemoveNumber
    | CreateQuote
    | ConfirmQuote
    | RenewLease
    | SetAutoRenew
    | ReleaseLease
    | SweepNumbers
)
