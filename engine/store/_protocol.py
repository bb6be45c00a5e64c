"""What every store does: the `Store` protocol and the records it keeps.

A store is the source of truth. Every write is durable when its coroutine returns
(the SQLite store commits, in batches, before answering), and every write that must
be atomic is one call: a message with its carrier ids, a completed part set replaced
by its message, a status report linked to its message.

Stores are scoped by tenant on reads; ids are globally unique, time-sortable strings.

A write that has begun answers its caller even if the caller is cancelled meanwhile:
the cancellation lands after the answer (at the caller's next checkpoint), so a caller
always knows whether what it wrote was stored. A caller cancelled before a write began
gets :class:`trio.Cancelled` and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from ..model import DeliveryAttempt, DeliveryRecord, DeliveryStatus, Message, StatusReport
from ._definitions import StoredDestination, StoredRoutes
from ._numbers import (
    Charge,
    Lease,
    NumberChange,
    NumberQuery,
    NumberState,
    RentalNumber,
    SweepOutcome,
    Term,
)
from ._privacy import Erasure, ErasureSubject, KeyUsage, RetentionSetting

__all__ = [
    "ApiKey",
    "AuditEntry",
    "BatchWritten",
    "BufferedPart",
    "ClaimedDelivery",
    "Member",
    "MessageQuery",
    "NewDelivery",
    "PartAdded",
    "PartsAdded",
    "ROLE_SCOPES",
    "Role",
    "SCOPES",
    "Store",
    "Tenant",
    "TenantDeleted",
    "WholeSet",
    "Written",
]


class BufferedPart(msgspec.Struct, frozen=True, kw_only=True):
    """One part of a concatenated message, kept until its set completes or expires.

    ``set_key`` names the set (carrier, receiving number, sender with its type,
    reference and its width, total); ``payload`` is the inbound item as the pipeline
    encoded it, opaque to the store, so the set can be rebuilt after a restart.
    """

    set_key: str
    seq: int
    total: int
    carrier: str
    carrier_message_id: str | None
    received_at: datetime
    expires_at: datetime
    payload: bytes
    duplicates: int = 0
    """Repeats of this part that arrived since and were ignored (counted by the store)."""


class PartAdded(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to :meth:`Store.add_part`.

    ``stored``: the part is durable; ``duplicate``: a part with this seq is already in
    the set (nothing written); ``seen``: the carrier id was already stored, as a part or
    as a message (nothing written; ``message_id`` names the message when the set
    completed). ``parts`` are all parts of the set now stored, ordered by seq.
    """

    outcome: Literal["stored", "duplicate", "seen"]
    parts: tuple[BufferedPart, ...] = ()
    message_id: str | None = None


class PartsAdded(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to :meth:`Store.add_parts`: each part's :class:`PartAdded`, in order,
    and the completed set's message when the call completed it (else None)."""

    added: tuple[PartAdded, ...]
    written: Written | None = None


class ClaimedDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery a worker now holds: attempt it, then report with :class:`FinishAttempt`."""

    id: str
    message: Message
    attempt: int
    """The number of the attempt about to be made, from 1."""
    retry_step: int
    """How many retries of the schedule were used since the delivery (or its replay)."""
    created_at: datetime


class NewDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery to write with its message, named by the caller.

    With ``claimed_until`` the delivery is written already claimed (``delivering``) by
    the caller until then, so its first attempt can start the moment the message is
    committed; a plain destination name writes it ``pending`` and due at once.
    """

    id: str
    destination: str
    created_at: datetime
    claimed_until: datetime | None = None


Destinations = Sequence["str | NewDelivery"]
"""The outbox of one message: destination names and :class:`NewDelivery` s."""


class Written(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a message write: ``inserted``, or ``duplicate`` with the original."""

    outcome: Literal["inserted", "duplicate"]
    message: Message


class WholeSet(msgspec.Struct, frozen=True, kw_only=True):
    """Parts of one set (distinct seqs) that together are the whole set, and the message
    they make: one of the writes of :meth:`Store.commit_batch`, which adds them as
    :meth:`Store.add_parts` adds ``parts`` with ``message``."""

    parts: Sequence[BufferedPart]
    message: Message
    raw: bytes | None = None
    destinations: Destinations = ()


class BatchWritten(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to :meth:`Store.commit_batch`, each write's on its own."""

    messages: Sequence[Written] | Exception
    """The messages' answers in order, as :meth:`Store.commit_messages` gives them, or
    the error that kept every one of them from being stored."""
    sets: Sequence[PartsAdded | Exception]
    """Each set's answer, as :meth:`Store.add_parts` gives it, or the error that kept
    that set from being stored."""


class MessageQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which messages to list: always one tenant; newest first unless ``oldest_first``.

    ``after`` / ``before`` are message ids (exclusive bounds; ids sort by time), so a
    caller pages with the last id it saw and a watcher follows with ``after``; a bound
    that is not a message id raises :class:`ValueError`.

    ``text`` keeps the messages whose content holds it, ignoring case in every script
    (both sides compatibility-normalized and case-folded: "STRASSE" finds "Straße",
    "ПРИВЕТ" finds "привет"); it is matched row by row within the other filters, with
    no index of its own, until ``limit`` messages are found.
    """

    tenant: str
    number: str | None = None
    sender: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: str | None = None
    before: str | None = None
    has_otp: bool | None = None
    text: str | None = None
    limit: int = 100
    oldest_first: bool = False


# Tenants and access -------------------------------------------------------------------

Role = Literal["viewer", "developer", "admin", "owner", "operator"]
"""What a key (or a member) may do, each role granting all its predecessor's scopes."""

_VIEWER = (
    "messages:read",
    "deliveries:read",
    "destinations:read",
    "routes:read",
    "numbers:read",
)
_DEVELOPER = (*_VIEWER, "sandbox:write", "deliveries:write")
_ADMIN = (
    *_DEVELOPER,
    "destinations:write",
    "routes:write",
    "keys:read",
    "keys:write",
    "members:read",
    "members:write",
    "audit:read",
    "numbers:write",
    "billing:read",
    "retention:read",
    "retention:write",
)
_OWNER = (*_ADMIN, "messages:delete", "erasures:write")
_OPERATOR = (
    *_OWNER,
    "tenants:read",
    "tenants:write",
    "inventory:read",
    "inventory:write",
    "quarantine:read",
)

ROLE_SCOPES: Mapping[Role, frozenset[str]] = {
    "viewer": frozenset(_VIEWER),
    "developer": frozenset(_DEVELOPER),
    "admin": frozenset(_ADMIN),
    "owner": frozenset(_OWNER),
    "operator": frozenset(_OPERATOR),
}
"""The scopes each role grants; a key may hold fewer than its role's, never more."""

SCOPES: tuple[str, ...] = _OPERATOR
"""Every scope, in the order of the roles that first grant them."""


class Tenant(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """An account: it owns messages, deliveries, destinations, members and keys."""

    id: str
    name: str
    created_at: datetime


class Member(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A person in a tenant, with the role they hold there."""

    id: str
    tenant: str
    email: str
    name: str | None
    role: Role
    created_at: datetime


class ApiKey(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """An API key as it may be shown: never its secret, only ``prefix`` (the first
    characters of the full key). ``tenant`` is None for an operator key."""

    id: str
    tenant: str | None
    name: str
    role: Role
    scopes: tuple[str, ...]
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    rotated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One change to tenants, members or keys: who (``actor``: a key id, ``operator``
    or ``embedder``), what (``action`` on ``target``, with ``details``), when."""

    id: str
    tenant: str | None
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    at: datetime


TenantDeleted = Literal["deleted", "missing", "holds_messages"]
"""The answer to :meth:`Store.delete_tenant`."""


@runtime_checkable
class Store(Protocol):
    """The inbox. Every method is safe to call from many tasks at once."""

    async def commit_message(
        self, message: Message, *, raw: bytes | None = None, destinations: Destinations = ()
    ) -> Written:
        """Insert ``message`` (and ``raw``, the payload kept for audit) with one delivery
        per entry of ``destinations`` (the outbox), in one transaction. Nothing of the
        outbox is written when the message is a duplicate.

        If ``(message.carrier, message.carrier_message_id)`` is already stored (as a
        message or as a completed part), nothing is written and the original is returned
        with outcome ``duplicate``.
        """
        ...

    async def commit_messages(
        self,
        messages: Sequence[tuple[Message, bytes | None]],
        *,
        destinations: Sequence[Destinations] | None = None,
    ) -> Sequence[Written]:
        """:meth:`commit_message` for each ``(message, raw)`` (with the destinations at
        the same index), answered in order, all durable when this returns, written in one
        transaction (or one batch).

        A message whose carrier id an earlier one of the same list already holds is a
        ``duplicate`` of that earlier one, as if they had been committed one by one.
        Should the list fail, none of it is stored.
        """
        ...

    async def commit_batch(
        self,
        messages: Sequence[tuple[Message, bytes | None]],
        *,
        destinations: Sequence[Destinations] | None = None,
        sets: Sequence[WholeSet] = (),
    ) -> BatchWritten:
        """:meth:`commit_messages` for ``messages`` and :meth:`add_parts` for each of
        ``sets`` (with its message), as one submission: one transaction (or one batch),
        all durable when this returns, so that the messages and sets that arrived
        together cost one commit and one wait.

        Each write is answered on its own, as the call it stands for would answer: the
        messages stand or fall together, and a set refused on its own (its error in
        :attr:`BatchWritten.sets`) leaves the others stored. Raises
        :class:`~engine.errors.StoreError` when the transaction fails: nothing of it
        is stored then.
        """
        ...

    async def add_part(self, part: BufferedPart) -> PartAdded:
        """Store one part of a concatenated message durably (see :class:`PartAdded`)."""
        ...

    async def add_parts(
        self,
        parts: Sequence[BufferedPart],
        *,
        message: Message | None = None,
        raw: bytes | None = None,
        destinations: Destinations = (),
    ) -> PartsAdded:
        """:meth:`add_part` for each of ``parts`` (of one set, distinct seqs), in order,
        in one transaction: each answer is what :meth:`add_part` would have answered
        after the ones before it. Adding stops at the part whose answer holds the whole
        set (``total`` distinct seqs): the parts after it are not added and have no
        answer (the caller adds them once the set is completed).

        With ``message`` (the message the set makes, built from ``parts``): when every
        part was added and ``stored`` and the set then holds exactly ``parts``, the set
        is completed with it in the same transaction, as :meth:`complete_part_set`
        would, and ``written`` says how. Otherwise nothing of ``message`` is written and
        ``written`` is None. Should the call fail, none of it is stored.
        """
        ...

    async def complete_part_set(
        self,
        set_key: str,
        message: Message,
        *,
        raw: bytes | None = None,
        destinations: Destinations = (),
    ) -> Written:
        """In one transaction: insert ``message`` with its deliveries, map every part's
        carrier id to it, and delete the set's buffered parts."""
        ...

    async def part_sets(
        self, *, expired_before: datetime | None = None
    ) -> Sequence[tuple[BufferedPart, ...]]:
        """Every buffered set (parts ordered by seq), or only those whose earliest
        ``expires_at`` is before ``expired_before``."""
        ...

    async def commit_status(self, report: StatusReport) -> StatusReport:
        """Store a status report; ``message_id`` is filled in when ``refers_to`` names a
        stored message of that carrier. A report with the same carrier and
        ``carrier_message_id`` as a stored one is not written again; the stored one is
        returned."""
        ...

    async def get_message(self, tenant: str, message_id: str) -> Message | None:
        """The message with this id, if it belongs to ``tenant``."""
        ...

    async def find_by_carrier_id(
        self, tenant: str, carrier: str, carrier_message_id: str
    ) -> Message | None:
        """The message a carrier id (of the message or of one of its parts) maps to."""
        ...

    async def list_messages(self, query: MessageQuery) -> Sequence[Message]:
        """Messages matching ``query``, at most ``query.limit``."""
        ...

    async def status_reports(self, tenant: str, message_id: str) -> Sequence[StatusReport]:
        """The status reports linked to a message, oldest first."""
        ...

    async def raw_payload(self, tenant: str, message_id: str) -> bytes | None:
        """The raw payload kept with a message for audit."""
        ...

    async def delete_message(self, tenant: str, message_id: str) -> bool:
        """Delete a message of ``tenant``; False when there is no such message.

        In one transaction: the message, its raw payload, and its deliveries with their
        attempt logs go (whatever their state: an open one is never attempted again, and
        none is left to replay); its status reports stay, unlinked. An attempt already
        under way when the message is deleted is not recalled.

        Its carrier ids stay as a tombstone, so a carrier's late retry stores nothing: a
        commit of a message with the deleted one's carrier id answers ``duplicate`` with
        the message it was given (never stored), and a part with one of its parts'
        carrier ids is ``seen``, with ``message_id`` the deleted id.
        """
        ...

    # The outbox ------------------------------------------------------------------

    async def claim_deliveries(
        self,
        destination: str,
        *,
        now: datetime,
        lease_seconds: float,
        limit: int,
        ordered: bool = False,
        tenant: str | None = None,
    ) -> Sequence[ClaimedDelivery]:
        """Claim up to ``limit`` deliveries of ``destination`` due at ``now``, the most
        overdue first, for ``lease_seconds``: unreported by then, they are due again.
        ``ordered`` claims only the destination's oldest open delivery, when due.
        ``tenant``: only that tenant's deliveries (a destination is its tenant's, and
        two tenants may name theirs alike); None claims those of every tenant."""
        ...

    async def finish_attempt(
        self,
        attempt: DeliveryAttempt,
        *,
        status: DeliveryStatus,
        due_at: datetime | None = None,
        retry_step: int | None = None,
        lazy: bool = False,
    ) -> None:
        """Log ``attempt`` and set its delivery's status (and, when pending again, when
        it is due and how far into its retry schedule it is).

        ``lazy``: nothing waits on this write but its caller, so the store may hold it
        back a few milliseconds to commit it with other writes (durable all the same
        when this returns)."""
        ...

    async def replay_deliveries(
        self,
        tenant: str,
        *,
        delivery_id: str | None = None,
        destination: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Make deliveries due now with a fresh retry schedule: the one ``delivery_id``
        names (unless under way), or the ``failed`` ones of a destination, optionally
        those created within ``[since, until)``. Answers how many."""
        ...

    async def recover_claims(self) -> int:
        """Make every claimed delivery due now (at start, when no worker can hold one)."""
        ...

    async def set_destination_disabled(
        self, name: str, reason: str | None, *, tenant: str | None = None
    ) -> None:
        """Disable a destination of ``tenant`` (with why) or, with ``reason`` None,
        enable it again and make its pending deliveries due now. ``tenant`` None is the
        receiving tenant (``Config.tenant``), whose held deliveries are found by the
        destination's name alone."""
        ...

    async def disabled_destinations(self, tenant: str | None = None) -> Mapping[str, str]:
        """The disabled destinations of ``tenant`` (None: the receiving tenant's) and why."""
        ...

    async def outbox_depth(self, tenant: str | None = None) -> Mapping[str, tuple[int, datetime]]:
        """Per destination with open deliveries (of ``tenant``, or with None of every
        tenant): how many, and when the oldest was made."""
        ...

    async def next_due(self, destination: str, *, tenant: str | None = None) -> datetime | None:
        """When the destination's next open delivery (of ``tenant``, or with None of
        any tenant) falls due, if it has one."""
        ...

    async def list_deliveries(
        self,
        tenant: str,
        *,
        message_id: str | None = None,
        destination: str | None = None,
        status: DeliveryStatus | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[DeliveryRecord]:
        """Deliveries of ``tenant`` matching the filters, oldest first."""
        ...

    async def get_delivery(self, tenant: str, delivery_id: str) -> DeliveryRecord | None:
        """One delivery of ``tenant``, or None."""
        ...

    async def delivery_attempts(self, tenant: str, delivery_id: str) -> Sequence[DeliveryAttempt]:
        """The attempt log of one delivery of ``tenant``."""
        ...

    # Destinations and routes set at runtime (see :mod:`._definitions`) ---------------

    async def destinations(self, tenant: str) -> Sequence[StoredDestination]:
        """The destinations of ``tenant`` defined at runtime, by name."""
        ...

    async def put_destination(
        self,
        tenant: str,
        name: str,
        *,
        adapter: str,
        config: Mapping[str, object],
        policy: Mapping[str, object],
        expected_version: int | None = None,
    ) -> StoredDestination | None:
        """Create or replace a destination; None (nothing written) when
        ``expected_version`` does not hold."""
        ...

    async def delete_destination(
        self, tenant: str, name: str, *, expected_version: int | None = None
    ) -> bool:
        """Delete a destination's definition, not its deliveries; False when there was
        none or ``expected_version`` does not hold."""
        ...

    async def route_table(self, tenant: str) -> StoredRoutes | None:
        """The route table of ``tenant`` as last set, or None if it never was."""
        ...

    async def put_route_table(
        self,
        tenant: str,
        table: Mapping[str, object] | None,
        *,
        expected_version: int | None = None,
    ) -> StoredRoutes | None:
        """Set the route table of ``tenant`` (None: the config file's is in force again);
        None (nothing written) when ``expected_version`` does not hold."""
        ...

    # Tenants and access (see :mod:`._sqlite_tenants`) ---------------------------------
    #
    # Every change writes its audit row (``actor``) in the change's own transaction.

    async def create_tenant(self, tenant: Tenant, *, actor: str) -> bool:
        """Create ``tenant``; False (nothing written) when its id is taken."""
        ...

    async def tenants(self) -> Sequence[Tenant]:
        """Every tenant, by id."""
        ...

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        """One tenant, or None."""
        ...

    async def delete_tenant(self, tenant_id: str, *, actor: str) -> TenantDeleted:
        """Delete a tenant with its members, revoking its keys; refused
        (``holds_messages``) while it has messages."""
        ...

    async def create_key(self, key: ApiKey, secret_hash: bytes, *, actor: str) -> bool:
        """Store a new key (its secret only as ``secret_hash``); False (nothing written)
        when ``key.tenant`` names no tenant."""
        ...

    async def api_keys(self, tenant: str | None) -> Sequence[ApiKey]:
        """The keys of ``tenant`` (None: the operator keys), revoked ones too, by id."""
        ...

    async def api_key(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        """A key of any tenant with its secret's hash, to authenticate a request."""
        ...

    async def rotate_key(
        self, tenant: str | None, key_id: str, secret_hash: bytes, prefix: str, *, actor: str
    ) -> ApiKey | None:
        """Give a live key of ``tenant`` a new secret (the old one stops working); None
        when there is no such key, or it is revoked."""
        ...

    async def revoke_key(self, tenant: str | None, key_id: str, *, actor: str) -> ApiKey | None:
        """Revoke a key of ``tenant`` (a revoked key stays revoked, audited once); None
        when there is no such key."""
        ...

    async def touch_keys(self, uses: Mapping[str, datetime]) -> None:
        """Record when keys were last used (a batch, now and then: not audited)."""
        ...

    async def create_member(self, member: Member, *, actor: str) -> bool:
        """Add a member; False (nothing written) when the email is in the tenant
        already or the tenant does not exist."""
        ...

    async def members(self, tenant: str) -> Sequence[Member]:
        """The members of ``tenant``, by id."""
        ...

    async def delete_member(self, tenant: str, member_id: str, *, actor: str) -> bool:
        """Remove a member of ``tenant``; False when there is no such member."""
        ...

    async def audit_log(
        self, tenant: str | None, *, before: str | None = None, limit: int = 50
    ) -> Sequence[AuditEntry]:
        """The audit rows of ``tenant`` (None: those of operator keys), newest first,
        older than the entry ``before``."""
        ...

    # Numbers for rent (see :mod:`._numbers`) -------------------------------------------
    #
    # Every change writes its audit rows (``actor``) and its charge lines in its own
    # transaction, reads the state it depends on there and answers a refusal rather
    # than raise (:class:`NumberChange`). Times come from the caller's clock.

    async def add_number(self, number: RentalNumber, *, actor: str) -> NumberChange:
        """Put ``number`` in the inventory, available (its state fields are ignored);
        refused ``exists`` when it is there."""
        ...

    async def update_number(self, number: RentalNumber, *, actor: str) -> NumberChange:
        """Store what ``number`` now is (country, region, capabilities, carrier,
        prices, currency), never its state; refused ``missing``."""
        ...

    async def remove_number(self, number: str, *, actor: str) -> NumberChange:
        """Take an available number out of the inventory; refused ``missing``, or
        ``in_use`` while it is leased or cooling off."""
        ...

    async def get_number(self, number: str) -> RentalNumber | None:
        """One inventory number, or None."""
        ...

    async def list_numbers(self, query: NumberQuery) -> Sequence[RentalNumber]:
        """The inventory numbers ``query`` keeps, by number."""
        ...

    async def number_owners(self) -> tuple[int, Sequence[tuple[str, NumberState, str | None]]]:
        """The revision of numbers and leases, then every inventory number with its
        state and its lessee (when leased)."""
        ...

    async def number_revision(self) -> int:
        """A count every change to numbers or leases moves on, in any process."""
        ...

    async def create_quote(
        self,
        tenant: str,
        number: str,
        term: Term,
        *,
        auto_renew: bool,
        now: datetime,
        expires_at: datetime,
        actor: str,
    ) -> NumberChange:
        """Price a lease of ``number`` for ``term`` and hold the price for ``tenant``
        until ``expires_at``; refused ``missing``, ``taken`` (not available) or
        ``not_offered`` (no price for the term's unit)."""
        ...

    async def confirm_quote(
        self, tenant: str, quote_id: str, *, now: datetime, actor: str
    ) -> NumberChange:
        """Lease the quoted number to ``tenant`` from ``now`` at the quoted price, with
        its charge line; a quote confirmed before answers its lease (``repeated``).
        Refused ``missing`` (no such quote of the tenant), ``quote_expired`` or
        ``taken``. Of two tenants confirming quotes for one number, one wins."""
        ...

    async def renew_lease(
        self, tenant: str, lease_id: str, term: Term | None, *, now: datetime, actor: str
    ) -> NumberChange:
        """Extend a running lease of ``tenant`` from its expiry by ``term`` (None: its
        own term) at the number's current price, with its charge line; refused
        ``missing``, ``ended`` or ``not_offered``."""
        ...

    async def set_auto_renew(
        self, tenant: str, lease_id: str, auto_renew: bool, *, now: datetime, actor: str
    ) -> NumberChange:
        """Turn a running lease's auto-renewal on or off; refused ``missing``, ``ended``."""
        ...

    async def release_lease(
        self, tenant: str, lease_id: str, *, now: datetime, cooling_off: timedelta, actor: str
    ) -> NumberChange:
        """End a running lease at ``now``; its number cools off for ``cooling_off``.
        Refused ``missing`` or ``ended``."""
        ...

    async def sweep_numbers(
        self, *, now: datetime, cooling_off: timedelta, actor: str
    ) -> SweepOutcome:
        """Renew (auto-renewal) or expire the leases due by ``now``, free the numbers
        whose cooling-off is over, and say when the next change falls due."""
        ...

    async def get_lease(self, tenant: str, lease_id: str) -> Lease | None:
        """One lease of ``tenant``, or None."""
        ...

    async def leases(self, tenant: str, *, active_only: bool = True) -> Sequence[Lease]:
        """The leases of ``tenant``, oldest first; with ``active_only``, the running ones."""
        ...

    async def charges(
        self,
        tenant: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[Charge]:
        """The charge lines of ``tenant`` charged in ``[since, until)``, oldest first,
        after the charge ``after`` (:class:`ValueError` if it is none of the tenant's)."""
        ...

    # Retention and privacy (see :mod:`._privacy`) -------------------------------------

    async def retention_setting(self, tenant: str) -> RetentionSetting | None:
        """The tenant's own retention period, or None when it set none."""
        ...

    async def set_retention(
        self, tenant: str, days: int | None, *, inherit: bool = False, actor: str
    ) -> bool:
        """Set the tenant's retention period (``days`` None: keep bodies forever), or
        with ``inherit`` drop it so the default applies; audited. False (no audit row)
        when nothing changed."""
        ...

    async def purge_bodies(
        self, tenant: str, *, stored_before: datetime, days: int, batch: int, actor: str
    ) -> int:
        """Purge the bodies of the tenant's messages stored before ``stored_before``:
        their text and code go (the record keeps its metadata and says ``purgedAt``),
        their raw payloads go, their open deliveries fail. At most ``batch`` messages a
        transaction; one audit row (``retention.purge``, the count and ``days``) when
        anything was purged. Answers how many."""
        ...

    async def erase(
        self,
        tenants: Sequence[str],
        subject: ErasureSubject,
        value: str,
        *,
        parts_tenant: str | None,
        operator_wide: bool = False,
        actor: str,
    ) -> Erasure:
        """In one transaction, erase every message of ``tenants`` whose number (or
        sender) is ``value``, with its raw payload and its deliveries and their
        attempts; unlink its status reports (for a number: every report of the tenant
        on it loses the number). With ``parts_tenant`` (the tenant buffered parts are
        filed under), the subject's buffered parts too. Carrier ids stay as tombstones,
        as :meth:`delete_message` leaves them. Audited per tenant, never naming the
        subject's value nor what the messages said."""
        ...

    async def rotate_bodies(self, *, batch: int) -> int:
        """Reseal under the active key every stored body sealed under another key or
        not at all, ``batch`` rows a transaction; answers how many were rewritten.
        Raises :class:`ValueError` when no key is configured."""
        ...

    async def key_usage(self) -> KeyUsage:
        """How many stored bodies each key seals, and how many are plain."""
        ...

    async def aclose(self) -> None:
        """Finish the writes in flight, then close. Idempotent."""
        ...
