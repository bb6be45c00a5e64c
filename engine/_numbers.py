"""Numbers rented to tenants: the lifecycle, the sweeper and who receives each number.

A number in the inventory is available, leased to one tenant, or cooling off after its
lease ended. Leasing is two steps: a quote holds a price for a term for a short while
(``[numbers] quote_seconds``); confirming it leases the number, if nobody got there
first. A lease renews from its current expiry, auto-renews at expiry when asked to, and
ends released (at once) or expired; either way the number cools off for ``[numbers]
cooling_off_hours`` and then is available again. Every lease and renewal is a charge
line of the ledger.

Which tenant a message belongs to follows its receiving number:

* leased: the lessee's;
* in the inventory but not leased: the quarantine's (:data:`QUARANTINE_TENANTS`, a
  tenant of its own per reason, ``unleased`` or ``cooling-off``), which only operators
  read, so a code sent late to the previous tenant reaches neither them nor the next;
* not in the inventory: ``Config.tenant``'s, as if numbers were never rented.

The pipeline asks this with one dict lookup per message, in :attr:`NumberBook.owners`:
a snapshot replaced whole whenever a lease changes, before the change is answered, so
nothing is read from the store per message. Changes made by another process (``septet
numbers``, another instance) show through the store's revision, checked every
``[numbers] watch_seconds``.

The sweeper is a task of the engine: it applies what fell due (expiry, auto-renewal,
the end of a cooling-off) at start, which covers what fell due while the engine was
down, and then at each moment something falls due, and at least every ``[numbers]
sweep_seconds``. All state is in the store, so a restart loses nothing.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec
import trio

from ._billing import Statement, month_bounds
from ._logging import get_logger
from .config import NumbersConfig
from .errors import (
    ConfigError,
    EngineClosedError,
    InvalidTermError,
    NumberConflictError,
    StoreError,
)
from .model import Message
from .store import (
    Capability,
    Charge,
    Lease,
    LeaseQuote,
    MessageQuery,
    NumberChange,
    NumberQuery,
    NumberState,
    Prices,
    RentalNumber,
    Store,
    SweepOutcome,
    Term,
    number_problem,
)

__all__ = [
    "EMBEDDER",
    "QUARANTINE_TENANTS",
    "SWEEPER",
    "InvalidTermError",
    "LeaseInfo",
    "NumberBook",
    "NumberConflictError",
    "QuarantineReason",
    "QuarantinedMessage",
]

_log = get_logger("septet.numbers")

QuarantineReason = Literal["unleased", "cooling-off"]
QUARANTINE_TENANTS: Mapping[QuarantineReason, str] = {
    "unleased": "quarantine:unleased",
    "cooling-off": "quarantine:cooling-off",
}
"""The tenant a message to an unleased number is filed under, by reason. No tenant can
take these ids (a tenant id has no colon), so only operators read them."""
_REASONS = {tenant: reason for reason, tenant in QUARANTINE_TENANTS.items()}
EMBEDDER = "embedder"
"""The audit log's actor for changes made through the embedding API."""
SWEEPER = "sweeper"
"""The audit log's actor for what the lifecycle does by itself (expiry, renewal)."""

Clock = Callable[[], datetime]


class LeaseInfo(Lease, frozen=True, kw_only=True, rename="camel"):
    """A lease as its tenant sees it: the record, and where it stands now."""

    state: Literal["active", "ended"]
    time_left_seconds: int
    """Whole seconds until it expires (0 once ended)."""


class QuarantinedMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message to a number nobody leased when it arrived, and why."""

    reason: QuarantineReason
    message: Message


def _system_clock() -> datetime:
    return datetime.now(UTC)


def _owner(state: NumberState, lessee: str | None) -> str:
    if state == "leased" and lessee is not None:
        return lessee
    return QUARANTINE_TENANTS["cooling-off" if state == "cooling_off" else "unleased"]


class NumberBook:
    """The numbers for rent of one store: the inventory (operators), quotes, leases and
    statements (tenants), the quarantine (operators) and the sweeper.

    ``publish`` hears each new snapshot of :attr:`owners`; ``clock`` is the time leases
    run by (default: the system's, UTC). Every change takes ``actor`` for the audit log.
    """

    def __init__(
        self,
        store: Store,
        config: NumbersConfig,
        *,
        clock: Clock | None = None,
        publish: Callable[[Mapping[str, str]], None] | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self._cooling_off = timedelta(hours=config.cooling_off_hours)
        self._clock = clock or _system_clock
        self._publish = publish
        self.owners: Mapping[str, str] = {}
        """Receiving number -> the tenant its messages are filed under, for every
        number in the inventory (replaced whole, never changed in place)."""
        self._revision = -1
        self._next_due: datetime | None = None
        self._lock = trio.Lock()
        self._wake = trio.Event()

    # The snapshot ----------------------------------------------------------------------

    def owner_of(self, number: str) -> str | None:
        """The lessee of ``number`` now, or None (not leased, or not in the inventory)."""
        owner = self.owners.get(number)
        return None if owner is None or owner in _REASONS else owner

    def _set_owners(self, owners: dict[str, str]) -> None:
        self.owners = owners
        if self._publish is not None:
            self._publish(owners)

    def _patch(self, number: RentalNumber | None, removed: str | None = None) -> None:
        owners = dict(self.owners)
        if number is not None:
            owners[number.number] = _owner(number.state, number.lessee)
        if removed is not None:
            owners.pop(removed, None)
        self._set_owners(owners)

    async def _reload(self) -> None:
        revision, rows = await self._store.number_owners()
        self._set_owners({number: _owner(state, lessee) for number, state, lessee in rows})
        self._revision = revision

    # The lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Apply what fell due while nothing ran, and take the first snapshot."""
        async with self._lock:
            await self._sweep_locked()
            await self._reload()

    async def sweep(self) -> SweepOutcome:
        """Apply now what fell due (the sweeper does this by itself at each due moment)."""
        async with self._lock:
            outcome = await self._sweep_locked()
            if outcome.renewed or outcome.expired or outcome.freed:
                await self._reload()
        self._wake.set()
        return outcome

    async def _sweep_locked(self) -> SweepOutcome:
        outcome = await self._store.sweep_numbers(
            now=self._clock(), cooling_off=self._cooling_off, actor=SWEEPER
        )
        self._next_due = outcome.next_due
        for lease in outcome.expired:
            _log.info("lease expired", lease=lease.id, tenant=lease.tenant, number=lease.number)
        for lease in outcome.renewed:
            _log.info("lease renewed", lease=lease.id, tenant=lease.tenant, until=lease.expires_at)
        for number in outcome.freed:
            _log.info("number available", number=number)
        return outcome

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The sweeper: sweep at each due moment (at least every ``sweep_seconds``) and
        follow other processes' changes every ``watch_seconds``. Run :meth:`start` first."""
        task_status.started()
        swept_at = trio.current_time()
        while True:
            wait = self._config.watch_seconds
            if self._next_due is not None:
                wait = min(wait, max(0.0, (self._next_due - self._clock()).total_seconds()))
            with trio.move_on_after(wait):
                await self._wake.wait()
            self._wake = trio.Event()
            try:
                due = self._next_due is not None and self._next_due <= self._clock()
                if due or trio.current_time() - swept_at >= self._config.sweep_seconds:
                    swept_at = trio.current_time()
                    await self.sweep()
                elif await self._store.number_revision() != self._revision:
                    async with self._lock:
                        await self._reload()
            except (StoreError, EngineClosedError) as error:
                _log.warning("numbers sweep failed; retrying", error=str(error))
                await trio.sleep(self._config.watch_seconds)

    def _changed(self, change: NumberChange) -> None:
        """Note a change's next due moment; the sweeper wakes to look again."""
        lease = change.lease
        number = change.number
        upcoming = [
            lease.expires_at if lease is not None and lease.ended_at is None else None,
            None if number is None else number.cooling_off_until,
            self._next_due,
        ]
        self._next_due = min((at for at in upcoming if at is not None), default=None)
        self._wake.set()

    # The inventory (operators) -----------------------------------------------------------

    async def add_number(
        self,
        number: str,
        *,
        country: str,
        carrier: str,
        prices: Prices,
        currency: str,
        region: str | None = None,
        capabilities: Sequence[Capability] = ("sms",),
        actor: str = EMBEDDER,
    ) -> RentalNumber:
        """Put ``number`` (E.164) in the inventory, available at ``prices`` (minor units
        of ``currency`` per hour, day and month). From now on its messages go to the
        quarantine until it is leased. :class:`~engine.errors.ConfigError` for a bad
        field, :class:`NumberConflictError` when it is in the inventory already."""
        now = self._clock()
        record = _record(
            number=number,
            country=country,
            region=region,
            capabilities=tuple(dict.fromkeys(capabilities)),
            carrier=carrier,
            prices=prices,
            currency=currency,
            created_at=now,
            updated_at=now,
        )
        async with self._lock:
            change = await self._store.add_number(record, actor=actor)
            if change.refused == "exists":
                raise NumberConflictError(f"{number} is in the inventory already")
            self._patch(change.number)
        assert change.number is not None
        return change.number

    async def update_number(
        self,
        number: str,
        *,
        country: str | None = None,
        carrier: str | None = None,
        prices: Prices | None = None,
        currency: str | None = None,
        region: str | msgspec.UnsetType | None = msgspec.UNSET,
        capabilities: Sequence[Capability] | None = None,
        actor: str = EMBEDDER,
    ) -> RentalNumber:
        """Change what ``number`` is (the fields given); a lease already made keeps the
        price it was charged. :class:`KeyError` when it is not in the inventory."""
        current = await self._store.get_number(number)
        if current is None:
            raise KeyError(f"{number} is not in the inventory")
        record = _record(
            number=number,
            country=current.country if country is None else country,
            region=current.region if isinstance(region, msgspec.UnsetType) else region,
            capabilities=current.capabilities
            if capabilities is None
            else tuple(dict.fromkeys(capabilities)),
            carrier=current.carrier if carrier is None else carrier,
            prices=current.prices if prices is None else prices,
            currency=current.currency if currency is None else currency,
            created_at=current.created_at,
            updated_at=self._clock(),
        )
        async with self._lock:
            change = await self._store.update_number(record, actor=actor)
        if change.number is None:
            raise KeyError(f"{number} is not in the inventory")
        return change.number

    async def remove_number(self, number: str, *, actor: str = EMBEDDER) -> None:
        """Take an available number out of the inventory: its messages go to
        ``Config.tenant`` again. :class:`KeyError` when it is not there,
        :class:`NumberConflictError` while it is leased or cooling off."""
        async with self._lock:
            change = await self._store.remove_number(number, actor=actor)
            if change.refused == "missing":
                raise KeyError(f"{number} is not in the inventory")
            if change.refused == "in_use":
                state = "leased" if change.number is None else change.number.state
                raise NumberConflictError(f"{number} is {state.replace('_', ' ')}; it stays")
            self._patch(None, removed=number)

    async def number(self, number: str) -> RentalNumber | None:
        """One number of the inventory, or None."""
        return await self._store.get_number(number)

    async def inventory(self, query: NumberQuery | None = None) -> list[RentalNumber]:
        """The inventory (operators): every number ``query`` keeps, by number."""
        return list(await self._store.list_numbers(query or NumberQuery()))

    async def search(
        self,
        *,
        country: str | None = None,
        capabilities: Sequence[Capability] = (),
        carrier: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> list[RentalNumber]:
        """The numbers available to lease, by number: in ``country`` (ISO 3166 alpha-2),
        with every one of ``capabilities``, arriving on ``carrier``."""
        query = NumberQuery(
            state="available",
            country=None if country is None else country.upper(),
            capabilities=tuple(capabilities),
            carrier=carrier,
            after=after,
            limit=limit,
        )
        return list(await self._store.list_numbers(query))

    # Leases (tenants) --------------------------------------------------------------------

    async def quote(
        self,
        tenant: str,
        number: str,
        term: Term,
        *,
        auto_renew: bool = False,
        actor: str = EMBEDDER,
    ) -> LeaseQuote:
        """The price of leasing ``number`` for ``term``, held for ``tenant`` for
        ``quote_seconds``: :meth:`lease` confirms it. :class:`KeyError` when the number
        is not in the inventory, :class:`NumberConflictError` when it is not available,
        :class:`InvalidTermError` when the term's unit has no price."""
        now = self._clock()
        change = await self._store.create_quote(
            tenant,
            number,
            term,
            auto_renew=auto_renew,
            now=now,
            expires_at=now + timedelta(seconds=self._config.quote_seconds),
            actor=actor,
        )
        _raise_refusal(change, number=number, term=term)
        assert change.quote is not None
        return change.quote

    async def lease(self, tenant: str, quote_id: str, *, actor: str = EMBEDDER) -> LeaseInfo:
        """Confirm a quote of ``tenant``: the number is theirs from now, charged the
        quoted price, and its messages are theirs from the moment this returns.
        Confirming a quote again answers the lease it made. :class:`KeyError` for no
        such quote of the tenant; :class:`NumberConflictError` when the quote expired or
        the number was leased (or released) meanwhile: of two tenants confirming at
        once, exactly one gets the number."""
        async with self._lock:
            now = self._clock()
            change = await self._store.confirm_quote(tenant, quote_id, now=now, actor=actor)
            if change.refused == "missing":
                raise KeyError(f"no quote {quote_id!r}")
            if change.refused == "quote_expired":
                raise NumberConflictError("the quote expired; ask for a new one")
            _raise_refusal(change)
            if not change.repeated:
                self._patch(change.number)
                self._changed(change)
        assert change.lease is not None
        if not change.repeated:
            lease = change.lease
            _log.info("number leased", lease=lease.id, tenant=tenant, number=lease.number)
        return self._info(change.lease, now)

    async def renew(
        self, tenant: str, lease_id: str, term: Term | None = None, *, actor: str = EMBEDDER
    ) -> LeaseInfo:
        """Extend a running lease from its current expiry by ``term`` (default: the term
        it was leased for), charged at the number's price now. :class:`KeyError` for no
        such lease of the tenant, :class:`NumberConflictError` when it has ended,
        :class:`InvalidTermError` when the term's unit has no price."""
        async with self._lock:
            now = self._clock()
            change = await self._store.renew_lease(tenant, lease_id, term, now=now, actor=actor)
            _raise_refusal(change, lease_id=lease_id, term=term)
            self._changed(change)
        assert change.lease is not None
        return self._info(change.lease, now)

    async def set_auto_renew(
        self, tenant: str, lease_id: str, auto_renew: bool, *, actor: str = EMBEDDER
    ) -> LeaseInfo:
        """Turn a running lease's auto-renewal on or off (as :meth:`renew` refuses)."""
        now = self._clock()
        change = await self._store.set_auto_renew(
            tenant, lease_id, auto_renew, now=now, actor=actor
        )
        _raise_refusal(change, lease_id=lease_id)
        assert change.lease is not None
        return self._info(change.lease, now)

    async def release(self, tenant: str, lease_id: str, *, actor: str = EMBEDDER) -> LeaseInfo:
        """End a running lease now (nothing is refunded): from the moment this returns
        the number's messages go to the quarantine, through its cooling-off.
        :class:`KeyError` for no such lease of the tenant, :class:`NumberConflictError`
        when it has ended."""
        async with self._lock:
            now = self._clock()
            change = await self._store.release_lease(
                tenant, lease_id, now=now, cooling_off=self._cooling_off, actor=actor
            )
            _raise_refusal(change, lease_id=lease_id)
            self._patch(change.number)
            self._changed(change)
        assert change.lease is not None
        lease = change.lease
        _log.info("lease released", lease=lease.id, tenant=tenant, number=lease.number)
        return self._info(lease, now)

    async def leases(self, tenant: str, *, active_only: bool = True) -> list[LeaseInfo]:
        """The tenant's leases (the running ones unless ``active_only`` is false), with
        the time each has left, oldest first."""
        now = self._clock()
        return [
            self._info(lease, now)
            for lease in await self._store.leases(tenant, active_only=active_only)
        ]

    async def lease_info(self, tenant: str, lease_id: str) -> LeaseInfo | None:
        """One lease of the tenant, or None."""
        lease = await self._store.get_lease(tenant, lease_id)
        return None if lease is None else self._info(lease, self._clock())

    def _info(self, lease: Lease, now: datetime) -> LeaseInfo:
        running = lease.ended_at is None and lease.expires_at > now
        left = (lease.expires_at - now) // timedelta(seconds=1) if running else 0
        return LeaseInfo(
            **msgspec.structs.asdict(lease),
            state="active" if running else "ended",
            time_left_seconds=max(0, left),
        )

    # The ledger --------------------------------------------------------------------------

    async def charges(
        self, tenant: str, *, month: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[Charge]:
        """The tenant's charge lines, oldest first (of ``month``, ``YYYY-MM``, when
        given), after the charge ``after``."""
        since, until = (None, None) if month is None else month_bounds(month)
        return list(
            await self._store.charges(tenant, since=since, until=until, after=after, limit=limit)
        )

    async def statement(self, tenant: str, month: str) -> Statement:
        """The tenant's statement of ``month`` (``YYYY-MM``, UTC): every charge line
        charged in it and the totals per currency."""
        since, until = month_bounds(month)
        lines: list[Charge] = []
        while True:
            page = await self._store.charges(
                tenant,
                since=since,
                until=until,
                after=lines[-1].id if lines else None,
                limit=1000,
            )
            lines.extend(page)
            if len(page) < 1000:
                return Statement.of(tenant, month, lines)

    # The quarantine (operators) ------------------------------------------------------------

    async def quarantined(
        self,
        *,
        reason: QuarantineReason | None = None,
        number: str | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> list[QuarantinedMessage]:
        """Messages to numbers nobody leased when they arrived, newest first; ``after``
        and ``before`` are message ids, for paging."""
        reasons = list(QUARANTINE_TENANTS) if reason is None else [reason]
        found: list[list[Message]] = []
        for each in reasons:
            query = MessageQuery(
                tenant=QUARANTINE_TENANTS[each],
                number=number,
                after=after,
                before=before,
                limit=limit,
            )
            found.append(list(await self._store.list_messages(query)))
        merged = heapq.merge(*found, key=lambda message: message.id, reverse=True)
        return [
            QuarantinedMessage(reason=_REASONS[message.tenant], message=message)
            for message, _ in zip(merged, range(limit), strict=False)
        ]


def _record(
    *,
    number: str,
    country: str,
    region: str | None,
    capabilities: tuple[Capability, ...],
    carrier: str,
    prices: Prices,
    currency: str,
    created_at: datetime,
    updated_at: datetime,
) -> RentalNumber:
    """An inventory record (its state left to the store), or the :class:`ConfigError`
    naming the field that cannot be."""
    problem = number_problem(
        number=number,
        country=country,
        region=region,
        capabilities=capabilities,
        carrier=carrier,
        currency=currency,
    )
    if problem is not None:
        raise ConfigError(problem[1], key=problem[0])
    return RentalNumber(
        number=number,
        country=country,
        region=region,
        capabilities=capabilities,
        carrier=carrier,
        prices=prices,
        currency=currency,
        state="available",
        lessee=None,
        lease_id=None,
        cooling_off_until=None,
        created_at=created_at,
        updated_at=updated_at,
    )


def _raise_refusal(
    change: NumberChange,
    *,
    number: str | None = None,
    lease_id: str | None = None,
    term: Term | None = None,
) -> None:
    refused = change.refused
    if refused is None:
        return
    if refused == "missing":
        raise KeyError(f"no lease {lease_id!r}" if lease_id else f"{number} is not for rent")
    if refused == "taken":
        state = None if change.number is None else change.number.state
        what = "cooling off" if state == "cooling_off" else "leased"
        raise NumberConflictError(f"{change.quote.number if change.quote else number} is {what}")
    if refused == "ended":
        raise NumberConflictError("the lease has ended")
    if refused == "not_offered":
        unit = term.unit if term is not None else "term"
        raise InvalidTermError(f"the number is not offered by the {unit}")
    raise NumberConflictError(f"refused: {refused}")
