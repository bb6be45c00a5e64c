"""Numbers for rent: the records every store keeps about them, and the arithmetic of terms.

A number in the inventory is ``available``, ``leased`` (to one tenant, by one active
lease) or ``cooling_off`` (its lease ended; it receives, nobody sees, until
``cooling_off_until``). A lease runs for a :class:`Term` of hours, days or calendar
months, is renewed from its current expiry, and ends released or expired. Every lease
and renewal is a :class:`Charge`: integer amounts in the currency's minor units, never
floats.

These are plain records; the lifecycle (quotes, the sweeper, which tenant a number's
messages belong to) is :mod:`engine._numbers`.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta
from typing import Literal

import msgspec

__all__ = [
    "CAPABILITIES",
    "Capability",
    "Charge",
    "ChargeKind",
    "Lease",
    "LeaseEnd",
    "LeaseQuote",
    "NumberChange",
    "NumberQuery",
    "NumberRefusal",
    "NumberState",
    "Prices",
    "RentalNumber",
    "SweepOutcome",
    "Term",
    "TermUnit",
    "number_problem",
    "term_end",
]

TermUnit = Literal["hour", "day", "month"]
"""What a term counts: hours, days (24 hours each) or calendar months."""
Capability = Literal["sms", "mms", "voice"]
CAPABILITIES: tuple[Capability, ...] = ("sms", "mms", "voice")
"""Every capability, in the order records list them."""
NumberState = Literal["available", "leased", "cooling_off"]
LeaseEnd = Literal["released", "expired"]
ChargeKind = Literal["lease", "renewal", "auto_renewal"]

_MOST: dict[str, int] = {"hour": 24 * 366, "day": 3660, "month": 120}
"""The longest term of each unit (about a year of hours, ten years otherwise)."""
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")


class Term(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How long a lease or renewal runs: ``count`` hours, days or calendar months."""

    unit: TermUnit
    count: int

    def __post_init__(self) -> None:
        most = _MOST[self.unit]
        if not 1 <= self.count <= most:
            raise ValueError(f"a term counts 1 to {most} {self.unit}s")

    def __str__(self) -> str:
        return f"{self.count} {self.unit}{'' if self.count == 1 else 's'}"


def term_end(start: datetime, term: Term) -> datetime:
    """When a term begun at ``start`` (UTC) ends. A calendar month ends on the same day
    of a later month, or on that month's last day when it has no such day (January 31
    plus one month is February 28 or 29)."""
    if term.unit == "hour":
        return start + timedelta(hours=term.count)
    if term.unit == "day":
        return start + timedelta(days=term.count)
    years, month = divmod(start.month - 1 + term.count, 12)
    year = start.year + years
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)


class Prices(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The price of one hour, one day and one calendar month of a lease, in the
    currency's minor units (cents); a unit left null is not offered."""

    hour: int | None = None
    day: int | None = None
    month: int | None = None

    def __post_init__(self) -> None:
        for unit in ("hour", "day", "month"):
            price = getattr(self, unit)
            if price is not None and not 0 <= price <= 10**12:
                raise ValueError(f"the price of a {unit} is 0 or more minor units")
        if self.hour is None and self.day is None and self.month is None:
            raise ValueError("a number needs a price for at least one unit")

    def of(self, unit: TermUnit) -> int | None:
        """The price of one ``unit``, or None when it is not offered."""
        price: int | None = getattr(self, unit)
        return price


class RentalNumber(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A number in the inventory: where it is, what it can do, the carrier instance its
    messages arrive on, what it costs, and where it is in its lifecycle."""

    number: str
    """E.164."""
    country: str
    """ISO 3166-1 alpha-2, upper case."""
    region: str | None
    """A region within the country (a city, a state), free text."""
    capabilities: tuple[Capability, ...]
    carrier: str
    """The carrier instance (its name in the config) the number's messages arrive on."""
    prices: Prices
    currency: str
    """ISO 4217, upper case."""
    state: NumberState
    lessee: str | None
    """The tenant leasing it, while ``leased``."""
    lease_id: str | None
    """Its active lease, while ``leased``."""
    cooling_off_until: datetime | None
    """While ``cooling_off``: when it becomes available again."""
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        problem = number_problem(
            number=self.number,
            country=self.country,
            region=self.region,
            capabilities=self.capabilities,
            carrier=self.carrier,
            currency=self.currency,
        )
        if problem is not None:
            raise ValueError(problem[1])


def number_problem(
    *,
    number: str,
    country: str,
    region: str | None,
    capabilities: tuple[Capability, ...],
    carrier: str,
    currency: str,
) -> tuple[str, str] | None:
    """The first field of an inventory number that cannot be, and why; None when all
    can."""
    if _E164.fullmatch(number) is None:
        return "number", f"{number!r} is not an E.164 number (+ and digits)"
    if _COUNTRY.fullmatch(country) is None:
        return "country", "must be an ISO 3166-1 alpha-2 code (GB, US)"
    if _CURRENCY.fullmatch(currency) is None:
        return "currency", "must be an ISO 4217 code (GBP, USD)"
    if not carrier:
        return "carrier", "must name a carrier instance"
    if not capabilities:
        return "capabilities", "a number needs at least one capability"
    if region is not None and not region.strip():
        return "region", "must not be blank (leave it out instead)"
    return None


class Lease(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A tenant's hold on a number, from ``started_at`` until ``expires_at`` (renewals
    move it later), or until it ended (``ended_at``, released or expired)."""

    id: str
    tenant: str
    number: str
    term: Term
    """The term it was leased for; auto-renewal renews by it."""
    auto_renew: bool
    started_at: datetime
    expires_at: datetime
    renewals: int
    ended_at: datetime | None
    end_reason: LeaseEnd | None
    cooling_off_until: datetime | None
    """Once ended: until when the number stays in cooling-off."""


class LeaseQuote(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The price of leasing a number for a term, held for the tenant until
    ``expires_at``: confirming it leases the number at that price."""

    id: str
    tenant: str
    number: str
    term: Term
    auto_renew: bool
    unit_price: int
    amount: int
    """``unit_price`` times the term's count, in minor units."""
    currency: str
    created_at: datetime
    expires_at: datetime
    lease_id: str | None = None
    """The lease it was confirmed as, once confirmed."""


class Charge(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A line of the ledger: one lease or renewal, for the period it pays for."""

    id: str
    tenant: str
    lease_id: str
    number: str
    kind: ChargeKind
    term: Term
    unit_price: int
    amount: int
    currency: str
    period_start: datetime
    period_end: datetime
    charged_at: datetime


class NumberQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which inventory numbers to list, by number; ``after`` is the last number of the
    previous page. ``capabilities`` keeps the numbers that have every one given."""

    state: NumberState | None = None
    country: str | None = None
    capabilities: tuple[Capability, ...] = ()
    carrier: str | None = None
    after: str | None = None
    limit: int = 100


NumberRefusal = Literal[
    "missing", "exists", "taken", "in_use", "ended", "quote_expired", "not_offered"
]
"""Why a store refused a change to numbers or leases: no such number, lease or quote
(of that tenant); the number is in the inventory already; the number is not available
(leased or cooling off); it is leased or cooling off, so it stays; the lease has ended
(or expired, awaiting the sweep); the quote expired; the term's unit has no price."""


class NumberChange(msgspec.Struct, frozen=True, kw_only=True):
    """What a change to numbers or leases did: ``refused`` says why nothing was
    written; otherwise the records as they now are (those the change touched)."""

    refused: NumberRefusal | None = None
    number: RentalNumber | None = None
    lease: Lease | None = None
    quote: LeaseQuote | None = None
    charge: Charge | None = None
    repeated: bool = False
    """A quote confirmed again: ``lease`` is the one it was confirmed as, nothing new."""


class SweepOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a sweep did at its ``now``: leases renewed (each with its charge lines) and
    ended, numbers that became available, and when the next change falls due."""

    renewed: tuple[Lease, ...] = ()
    expired: tuple[Lease, ...] = ()
    freed: tuple[str, ...] = ()
    charges: tuple[Charge, ...] = ()
    next_due: datetime | None = None
