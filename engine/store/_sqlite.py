"""The SQLite store: the embedded default inbox, one file in WAL mode.

One writer commits every write, in batches (see :mod:`._sqlite_writer`); queries run on
a pool of reader connections, which WAL lets read while the writer writes. Every call
into SQLite runs in a worker thread through :func:`trio.to_thread.run_sync` with a
:class:`trio.CapacityLimiter`: 1 for the writer (whose thread lives as long as the
store, taking batch after batch), one per reader connection.

Durability: the writer runs ``synchronous = FULL``, so a write's coroutine returns only
after its batch is fsynced: neither ``kill -9`` nor a power loss loses an acknowledged
message. Batching pays for it: one fsync per batch, not per message. A background task
checkpoints the WAL into the database twice a second on a reader connection, so the
writer's commits never carry a checkpoint's stall; once the WAL is long, the writer
copies its last few frames itself between two batches, so SQLite starts it over.

After :meth:`SqliteStore.aclose` (or leaving :func:`open_sqlite_store`) every call raises
:class:`~engine.errors.EngineClosedError`; writes queued before it are committed first.

Deleted messages leave tombstones (see :mod:`._sqlite_manage`): the store keeps their
carrier ids in memory and answers a message commit that repeats one as a duplicate
before it reaches the writer, a set lookup that costs nothing while no message was ever
deleted.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar, cast

import msgspec
import trio

from .._crypto import BodyCipher
from .._ids import new_id
from ..errors import EngineClosedError, StoreError
from ..model import DeliveryAttempt, DeliveryRecord, DeliveryStatus, Message, StatusReport
from . import _sqlite_config as stored_config
from . import _sqlite_number_reads as rental_reads
from . import _sqlite_numbers as rental
from . import _sqlite_outbox as outbox
from . import _sqlite_reads as reads
from . import _sqlite_tenants as access
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
from ._protocol import (
    ApiKey,
    AuditEntry,
    BatchWritten,
    BufferedPart,
    ClaimedDelivery,
    Destinations,
    Member,
    MessageQuery,
    NewDelivery,
    PartAdded,
    PartsAdded,
    Tenant,
    TenantDeleted,
    WholeSet,
    Written,
)
from ._sqlite_manage import CarrierKey, DeleteMessage, load_tombstones
from ._sqlite_outbox import (
    ClaimDeliveries,
    FinishAttempt,
    RecoverClaims,
    ReplayDeliveries,
    SetDestinationDisabled,
)
from ._sqlite_privacy import SqlitePrivacy
from ._sqlite_rows import MessageRow, encode, message_key, message_row, micros, part_aad, seal_row
from ._sqlite_schema import (
    RESTART_FRAMES,
    ConnectHook,
    checkpoint,
    connect_reader,
    connect_writer,
    load_migrations,
    migrate,
)
from ._sqlite_writer import BatchWriter
from ._sqlite_writes import (
    AddPart,
    AddParts,
    CommitMessage,
    CommitMessages,
    CommitStatus,
    CompletePartSet,
    DeliveryRow,
    WriteOp,
    commit_message_op,
    prepared,
    sealed,
    whole_set_op,
)

__all__ = ["SqliteStore", "open_sqlite_store"]

T = TypeVar("T")

CHECKPOINT_SECONDS = 0.5
"""How often committed writes are checkpointed from the WAL into the database."""


class SqliteStore(SqlitePrivacy):
    """The :class:`~engine.store.Store` on one SQLite file; get one from
    :func:`open_sqlite_store`, which runs its writer."""

    def __init__(
        self,
        writer: BatchWriter,
        readers: Sequence[sqlite3.Connection],
        tombstones: set[CarrierKey] | None = None,
        cipher: BodyCipher | None = None,
    ) -> None:
        self._writer = writer
        self._cipher = cipher
        """Seals what messages say (encryption at rest); None stores it plain."""
        self._tombstones: set[CarrierKey] = set() if tombstones is None else tombstones
        """The carrier ids of the deleted messages (see :meth:`delete_message`)."""
        self._reader_count = len(readers)
        self._read_limiter = trio.CapacityLimiter(len(readers))
        self._pool_send, self._pool_receive = trio.open_memory_channel[sqlite3.Connection](
            len(readers)
        )
        for conn in readers:
            self._pool_send.send_nowait(conn)
        self._closed = False
        self._close_done = trio.Event()
        self._checkpoint_wait = trio.CancelScope()

    @property
    def commits(self) -> int:
        """Transactions the writer committed so far (fewer than writes: batching)."""
        return self._writer.commits

    # Writes ---------------------------------------------------------------------

    async def commit_message(
        self, message: Message, *, raw: bytes | None = None, destinations: Destinations = ()
    ) -> Written:
        row = message_row(message)
        if self._tombstones and self._buried(message):
            await trio.lowlevel.checkpoint()
            return Written(outcome="duplicate", message=message)
        outbox_rows = _outbox(row, message, destinations)
        if self._cipher is not None:
            row, raw = seal_row(self._cipher, row, raw)
        op = commit_message_op(message, raw, row, outbox_rows, self._cipher)
        return cast(Written, await self._writer.submit(op))

    async def commit_messages(
        self,
        messages: Sequence[tuple[Message, bytes | None]],
        *,
        destinations: Sequence[Destinations] | None = None,
    ) -> Sequence[Written]:
        """One submission to the writer: the messages commit in one batch, together."""
        written = (await self.commit_batch(messages, destinations=destinations)).messages
        if isinstance(written, Exception):
            raise written
        return written

    def _messages_op(
        self,
        messages: Sequence[tuple[Message, bytes | None]],
        destinations: Sequence[Destinations] | None,
    ) -> CommitMessages:
        if destinations is None:
            ops = [CommitMessage(message, raw, message_row(message)) for message, raw in messages]
        else:
            if len(destinations) != len(messages):
                raise ValueError("destinations must name one list per message")
            ops = []
            for (message, raw), names in zip(messages, destinations, strict=True):
                row = message_row(message)
                ops.append(CommitMessage(message, raw, row, _outbox(row, message, names)))
        if self._cipher is not None:
            ops = [sealed(op, self._cipher) for op in ops]
        return CommitMessages(ops, prepared(ops))

    async def commit_batch(
        self,
        messages: Sequence[tuple[Message, bytes | None]],
        *,
        destinations: Sequence[Destinations] | None = None,
        sets: Sequence[WholeSet] = (),
    ) -> BatchWritten:
        """One submission to the writer: the messages' write and each set's, answered
        each on its own."""
        if destinations is not None and len(destinations) != len(messages):
            raise ValueError("destinations must name one list per message")
        # A message repeating a deleted one's carrier id is a duplicate of nothing.
        buried = bool(self._tombstones) and any(self._buried(m) for m, _ in messages)
        keep: Sequence[int] = range(len(messages))
        if buried:
            keep = [i for i, (message, _) in enumerate(messages) if not self._buried(message)]
        ops: list[WriteOp] = []
        if keep:
            ops.append(
                self._messages_op(
                    [messages[i] for i in keep],
                    None if destinations is None else [destinations[i] for i in keep],
                )
            )
        ops += [self._parts_op(one.parts, one.message, one.raw, one.destinations) for one in sets]
        answers = await self._writer.submit_each(ops)
        written = cast(list[Written] | Exception, answers[0] if keep else [])
        if buried and not isinstance(written, Exception):
            answered = [Written(outcome="duplicate", message=message) for message, _ in messages]
            for i, answer in zip(keep, written, strict=True):
                answered[i] = answer
            written = answered
        set_answers = cast(list[PartsAdded | Exception], answers[len(ops) - len(sets) :])
        return BatchWritten(messages=written, sets=set_answers)

    def _any_buried(self, message: Message, parts: Sequence[BufferedPart]) -> bool:
        """Whether ``message`` or one of ``parts`` repeats a deleted message's carrier id."""
        return self._buried(message) or any(
            (part.carrier, part.carrier_message_id) in self._tombstones for part in parts
        )

    def _buried(self, message: Message) -> bool:
        """Whether ``message`` repeats the carrier id of a deleted message."""
        carrier_id = message.carrier_message_id
        return carrier_id is not None and (message.carrier, carrier_id) in self._tombstones

    async def add_part(self, part: BufferedPart) -> PartAdded:
        cipher = self._cipher
        if cipher is None:
            return cast(PartAdded, await self._writer.submit(AddPart(part)))
        body = cipher.seal(encode(part), part_aad(part.set_key, part.seq))
        return cast(PartAdded, await self._writer.submit(AddPart(part, body, cipher)))

    async def add_parts(
        self,
        parts: Sequence[BufferedPart],
        *,
        message: Message | None = None,
        raw: bytes | None = None,
        destinations: Destinations = (),
    ) -> PartsAdded:
        op = self._parts_op(parts, message, raw, destinations)
        return cast(PartsAdded, await self._writer.submit(op))

    def _parts_op(
        self,
        parts: Sequence[BufferedPart],
        message: Message | None,
        raw: bytes | None,
        destinations: Destinations,
    ) -> AddParts:
        if not parts:
            raise ValueError("add_parts needs at least one part")
        key = parts[0].set_key
        if any(part.set_key != key for part in parts) or len({p.seq for p in parts}) < len(parts):
            raise ValueError("add_parts takes parts of one set, each seq once")
        cipher = self._cipher
        ops = [
            AddPart(part)
            if cipher is None
            else AddPart(part, cipher.seal(encode(part), part_aad(key, part.seq)), cipher)
            for part in parts
        ]
        if message is None:
            return AddParts(ops)
        complete = self._completion(key, message, raw, destinations)
        op = AddParts(ops, complete)
        if not (self._tombstones and self._any_buried(message, parts)):
            op = whole_set_op(op, complete.row, message)
        return op

    async def complete_part_set(
        self,
        set_key: str,
        message: Message,
        *,
        raw: bytes | None = None,
        destinations: Destinations = (),
    ) -> Written:
        op = self._completion(set_key, message, raw, destinations)
        return cast(Written, await self._writer.submit(op))

    def _completion(
        self, set_key: str, message: Message, raw: bytes | None, destinations: Destinations
    ) -> CompletePartSet:
        row = message_row(message)
        outbox_rows = _outbox(row, message, destinations)
        if self._cipher is not None:
            row, raw = seal_row(self._cipher, row, raw)
        return CompletePartSet(set_key, message, raw, row, outbox_rows, self._cipher)

    async def commit_status(self, report: StatusReport) -> StatusReport:
        return cast(StatusReport, await self._writer.submit(CommitStatus(report)))

    async def delete_message(self, tenant: str, message_id: str) -> bool:
        """See :mod:`._sqlite_manage` for what goes and what stays."""
        message = await self.get_message(tenant, message_id)
        if message is None:
            return False
        carrier_id = message.carrier_message_id
        tombstone = None if carrier_id is None else (message.carrier, carrier_id)
        # Buried before the delete is queued: a retry queued behind the delete must not
        # be stored; one queued before it is a duplicate of the message, still there.
        fresh = tombstone is not None and tombstone not in self._tombstones
        if tombstone is not None:
            self._tombstones.add(tombstone)
        op = DeleteMessage(tenant, message_key(message_id), micros(_now()), self._cipher)
        try:
            # The writer runs any op's ``run(conn)`` in the batch's transaction.
            deleted = cast(bool, await self._writer.submit(cast(WriteOp, op)))
        except BaseException:
            if fresh and tombstone is not None:
                self._tombstones.discard(tombstone)  # nothing was deleted
            raise
        return deleted

    # The outbox -------------------------------------------------------------------

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
        at = micros(now)
        lease = at + int(lease_seconds * 1e6)
        op = ClaimDeliveries(destination, at, lease, limit, ordered, self._cipher, tenant)
        return cast(list[ClaimedDelivery], await self._writer.submit(op))

    async def finish_attempt(
        self,
        attempt: DeliveryAttempt,
        *,
        status: DeliveryStatus,
        due_at: datetime | None = None,
        retry_step: int | None = None,
        lazy: bool = False,
    ) -> None:
        due = None if due_at is None else micros(due_at)
        op = FinishAttempt(attempt=attempt, status=status, due_at=due, retry_step=retry_step)
        await self._writer.submit(op.prepared(), lazy=lazy)

    async def replay_deliveries(
        self,
        tenant: str,
        *,
        delivery_id: str | None = None,
        destination: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        op = ReplayDeliveries(
            tenant=tenant,
            now=micros(_now()),
            delivery_id=delivery_id,
            destination=destination,
            since=None if since is None else micros(since),
            until=None if until is None else micros(until),
        )
        return cast(int, await self._writer.submit(op))

    async def recover_claims(self) -> int:
        return cast(int, await self._writer.submit(RecoverClaims(micros(_now()))))

    async def set_destination_disabled(
        self, name: str, reason: str | None, *, tenant: str | None = None
    ) -> None:
        op = SetDestinationDisabled(name, reason, micros(_now()), tenant)
        await self._writer.submit(op)

    async def disabled_destinations(self, tenant: str | None = None) -> Mapping[str, str]:
        return await self._read(lambda conn: outbox.disabled_destinations(conn, tenant))

    async def outbox_depth(self, tenant: str | None = None) -> Mapping[str, tuple[int, datetime]]:
        depth = await self._read(lambda conn: outbox.outbox_depth(conn, tenant))
        return {
            name: (count, outbox.from_micros(oldest)) for name, (count, oldest) in depth.items()
        }

    async def next_due(self, destination: str, *, tenant: str | None = None) -> datetime | None:
        due = await self._read(lambda conn: outbox.next_due(conn, destination, tenant))
        return None if due is None else outbox.from_micros(due)

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
        return await self._read(
            lambda conn: outbox.list_deliveries(
                conn,
                tenant,
                message_id=message_id,
                destination=destination,
                status=status,
                after=after,
                limit=limit,
            )
        )

    async def get_delivery(self, tenant: str, delivery_id: str) -> DeliveryRecord | None:
        found = await self._read(
            lambda conn: outbox.list_deliveries(
                conn,
                tenant,
                message_id=None,
                destination=None,
                status=None,
                after=None,
                limit=1,
                delivery_id=delivery_id,
            )
        )
        return found[0] if found else None

    async def delivery_attempts(self, tenant: str, delivery_id: str) -> Sequence[DeliveryAttempt]:
        return await self._read(lambda conn: outbox.delivery_attempts(conn, tenant, delivery_id))

    # Destinations and routes set at runtime -------------------------------------------

    async def destinations(self, tenant: str) -> Sequence[StoredDestination]:
        return await self._read(lambda conn: stored_config.destinations(conn, tenant))

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
        op = stored_config.PutDestination(
            tenant=tenant,
            name=name,
            adapter=adapter,
            config=_json(config),
            policy=_json(policy),
            now=micros(_now()),
            expected_version=expected_version,
        )
        return cast("StoredDestination | None", await self._writer.submit(_op(op)))

    async def delete_destination(
        self, tenant: str, name: str, *, expected_version: int | None = None
    ) -> bool:
        op = stored_config.DeleteDestination(
            tenant=tenant, name=name, expected_version=expected_version
        )
        return cast(bool, await self._writer.submit(_op(op)))

    async def route_table(self, tenant: str) -> StoredRoutes | None:
        return await self._read(lambda conn: stored_config.route_table(conn, tenant))

    async def put_route_table(
        self,
        tenant: str,
        table: Mapping[str, object] | None,
        *,
        expected_version: int | None = None,
    ) -> StoredRoutes | None:
        op = stored_config.PutRouteTable(
            tenant=tenant,
            table=None if table is None else _json(table),
            now=micros(_now()),
            expected_version=expected_version,
        )
        return cast("StoredRoutes | None", await self._writer.submit(_op(op)))

    # Tenants and access (see :mod:`._sqlite_tenants`) ---------------------------------

    async def create_tenant(self, tenant: Tenant, *, actor: str) -> bool:
        op = access.CreateTenant(tenant=tenant, stamp=_stamp(actor))
        return cast(bool, await self._writer.submit(_op(op)))

    async def tenants(self) -> Sequence[Tenant]:
        return await self._read(access.tenants)

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        return await self._read(lambda conn: access.get_tenant(conn, tenant_id))

    async def delete_tenant(self, tenant_id: str, *, actor: str) -> TenantDeleted:
        op = access.DeleteTenant(tenant=tenant_id, stamp=_stamp(actor))
        return cast(TenantDeleted, await self._writer.submit(_op(op)))

    async def create_key(self, key: ApiKey, secret_hash: bytes, *, actor: str) -> bool:
        op = access.CreateKey(key=key, secret_hash=secret_hash, stamp=_stamp(actor))
        return cast(bool, await self._writer.submit(_op(op)))

    async def api_keys(self, tenant: str | None) -> Sequence[ApiKey]:
        return await self._read(lambda conn: access.api_keys(conn, tenant))

    async def api_key(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        return await self._read(lambda conn: access.api_key(conn, key_id))

    async def rotate_key(
        self, tenant: str | None, key_id: str, secret_hash: bytes, prefix: str, *, actor: str
    ) -> ApiKey | None:
        op = access.RotateKey(
            tenant=tenant,
            key_id=key_id,
            secret_hash=secret_hash,
            prefix=prefix,
            stamp=_stamp(actor),
        )
        return cast("ApiKey | None", await self._writer.submit(_op(op)))

    async def revoke_key(self, tenant: str | None, key_id: str, *, actor: str) -> ApiKey | None:
        op = access.RevokeKey(tenant=tenant, key_id=key_id, stamp=_stamp(actor))
        return cast("ApiKey | None", await self._writer.submit(_op(op)))

    async def touch_keys(self, uses: Mapping[str, datetime]) -> None:
        if not uses:
            await trio.lowlevel.checkpoint()
            return
        op = access.TouchKeys({key_id: micros(at) for key_id, at in uses.items()})
        await self._writer.submit(_op(op))

    async def create_member(self, member: Member, *, actor: str) -> bool:
        op = access.CreateMember(member=member, stamp=_stamp(actor))
        return cast(bool, await self._writer.submit(_op(op)))

    async def members(self, tenant: str) -> Sequence[Member]:
        return await self._read(lambda conn: access.members(conn, tenant))

    async def delete_member(self, tenant: str, member_id: str, *, actor: str) -> bool:
        op = access.DeleteMember(tenant=tenant, member_id=member_id, stamp=_stamp(actor))
        return cast(bool, await self._writer.submit(_op(op)))

    async def audit_log(
        self, tenant: str | None, *, before: str | None = None, limit: int = 50
    ) -> Sequence[AuditEntry]:
        return await self._read(lambda conn: access.audit_log(conn, tenant, before, limit))

    # Numbers for rent (see :mod:`._sqlite_numbers`) ---------------------------------------

    async def add_number(self, number: RentalNumber, *, actor: str) -> NumberChange:
        return await self._number_change(rental.AddNumber(number=number, stamp=_stamp(actor)))

    async def update_number(self, number: RentalNumber, *, actor: str) -> NumberChange:
        return await self._number_change(rental.UpdateNumber(number=number, stamp=_stamp(actor)))

    async def remove_number(self, number: str, *, actor: str) -> NumberChange:
        return await self._number_change(rental.RemoveNumber(number=number, stamp=_stamp(actor)))

    async def get_number(self, number: str) -> RentalNumber | None:
        return await self._read(lambda conn: rental_reads.get_number(conn, number))

    async def list_numbers(self, query: NumberQuery) -> Sequence[RentalNumber]:
        return await self._read(lambda conn: rental_reads.list_numbers(conn, query))

    async def number_owners(self) -> tuple[int, Sequence[tuple[str, NumberState, str | None]]]:
        return await self._read(rental_reads.number_owners)

    async def number_revision(self) -> int:
        return await self._read(rental_reads.number_revision)

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
        op = rental.CreateQuote(
            id=new_id("quo"),
            tenant=tenant,
            number=number,
            term=term,
            auto_renew=auto_renew,
            now=micros(now),
            expires_at=micros(expires_at),
            stamp=_stamp(actor),
        )
        return await self._number_change(op)

    async def confirm_quote(
        self, tenant: str, quote_id: str, *, now: datetime, actor: str
    ) -> NumberChange:
        op = rental.ConfirmQuote(
            tenant=tenant,
            quote_id=quote_id,
            lease_id=new_id("lse"),
            charge_id=new_id("chg"),
            now=micros(now),
            stamp=_stamp(actor),
        )
        return await self._number_change(op)

    async def renew_lease(
        self, tenant: str, lease_id: str, term: Term | None, *, now: datetime, actor: str
    ) -> NumberChange:
        op = rental.RenewLease(
            tenant=tenant,
            lease_id=lease_id,
            term=term,
            charge_id=new_id("chg"),
            now=micros(now),
            stamp=_stamp(actor),
        )
        return await self._number_change(op)

    async def set_auto_renew(
        self, tenant: str, lease_id: str, auto_renew: bool, *, now: datetime, actor: str
    ) -> NumberChange:
        op = rental.SetAutoRenew(
            tenant=tenant,
            lease_id=lease_id,
            auto_renew=auto_renew,
            now=micros(now),
            stamp=_stamp(actor),
        )
        return await self._number_change(op)

    async def release_lease(
        self, tenant: str, lease_id: str, *, now: datetime, cooling_off: timedelta, actor: str
    ) -> NumberChange:
        op = rental.ReleaseLease(
            tenant=tenant,
            lease_id=lease_id,
            now=micros(now),
            cooling_off=_span(cooling_off),
            stamp=_stamp(actor),
        )
        return await self._number_change(op)

    async def sweep_numbers(
        self, *, now: datetime, cooling_off: timedelta, actor: str
    ) -> SweepOutcome:
        op = rental.SweepNumbers(
            now=micros(now), cooling_off=_span(cooling_off), stamp=_stamp(actor)
        )
        return cast(SweepOutcome, await self._writer.submit(cast(WriteOp, op)))

    async def get_lease(self, tenant: str, lease_id: str) -> Lease | None:
        return await self._read(lambda conn: rental_reads.get_lease(conn, tenant, lease_id))

    async def leases(self, tenant: str, *, active_only: bool = True) -> Sequence[Lease]:
        return await self._read(
            lambda conn: rental_reads.leases(conn, tenant, active_only=active_only)
        )

    async def charges(
        self,
        tenant: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[Charge]:
        return await self._read(
            lambda conn: rental_reads.charges(
                conn, tenant, since=since, until=until, after=after, limit=limit
            )
        )

    async def _number_change(self, op: rental.NumberOp) -> NumberChange:
        # The writer runs any op that is not a message write as ``op.run(conn)``.
        return cast(NumberChange, await self._writer.submit(cast(WriteOp, op)))

    # Reads ----------------------------------------------------------------------

    async def part_sets(
        self, *, expired_before: datetime | None = None
    ) -> Sequence[tuple[BufferedPart, ...]]:
        return await self._read(lambda conn: reads.part_sets(conn, expired_before, self._cipher))

    async def get_message(self, tenant: str, message_id: str) -> Message | None:
        return await self._read(
            lambda conn: reads.get_message(conn, tenant, message_id, self._cipher)
        )

    async def find_by_carrier_id(
        self, tenant: str, carrier: str, carrier_message_id: str
    ) -> Message | None:
        return await self._read(
            lambda conn: reads.find_by_carrier_id(
                conn, tenant, carrier, carrier_message_id, self._cipher
            )
        )

    async def list_messages(self, query: MessageQuery) -> Sequence[Message]:
        """See :func:`._sqlite_reads.list_messages` for the bounds' exact meaning."""
        return await self._read(lambda conn: reads.list_messages(conn, query, self._cipher))

    async def status_reports(self, tenant: str, message_id: str) -> Sequence[StatusReport]:
        return await self._read(lambda conn: reads.status_reports(conn, tenant, message_id))

    async def raw_payload(self, tenant: str, message_id: str) -> bytes | None:
        return await self._read(
            lambda conn: reads.raw_payload(conn, tenant, message_id, self._cipher)
        )

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise EngineClosedError("the store is closed")
        try:
            conn = await self._pool_receive.receive()
        except trio.ClosedResourceError:
            raise EngineClosedError("the store is closed") from None
        try:
            return await trio.to_thread.run_sync(
                _run_query, query, conn, limiter=self._read_limiter
            )
        finally:
            self._pool_send.send_nowait(conn)

    async def checkpoint_periodically(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Checkpoint on a reader connection, beside the writer, while writes come in."""
        task_status.started()
        done = self._writer.commits
        while not self._closed:
            with trio.CancelScope() as self._checkpoint_wait:
                await trio.sleep(CHECKPOINT_SECONDS)
            if self._writer.commits != done and not self._closed:
                done = self._writer.commits
                # On failure the writer's own backstop checkpoint still bounds the WAL.
                with contextlib.suppress(StoreError, EngineClosedError):
                    if await self._read(checkpoint) >= RESTART_FRAMES:
                        self._writer.restart_wal_soon()

    # Closing --------------------------------------------------------------------

    async def aclose(self) -> None:
        """Commit the writes already queued, then close every connection. Idempotent."""
        if self._closed:
            await self._close_done.wait()
            return
        self._closed = True
        self._checkpoint_wait.cancel()
        try:
            await self._writer.aclose()
        finally:
            # Each reader connection comes back to the pool when its query is done.
            with trio.CancelScope(shield=True):
                for _ in range(self._reader_count):
                    conn = await self._pool_receive.receive()
                    await trio.to_thread.run_sync(conn.close, limiter=self._read_limiter)
            # Queries still waiting for a connection get EngineClosedError.
            await self._pool_receive.aclose()
            self._close_done.set()


def _run_query(query: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    try:
        return query(conn)
    except sqlite3.Error as exc:
        name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
        raise StoreError(f"the inbox could not be read: {exc} ({name})") from exc


def _open_connections(
    path: str, readers: int, hook: ConnectHook | None, cipher: BodyCipher | None
) -> tuple[sqlite3.Connection, list[sqlite3.Connection], set[CarrierKey]]:
    """Open the writer, migrate, read the tombstones, then open the readers; close them
    all on failure."""
    opened: list[sqlite3.Connection] = []
    try:
        writer = connect_writer(path, hook=hook)
        opened.append(writer)
        migrate(writer, load_migrations())
        tombstones = load_tombstones(writer)
        for _ in range(readers):
            opened.append(connect_reader(path))
            reads.prepare_reader(opened[-1], cipher)
    except sqlite3.Error as exc:
        for conn in opened:
            conn.close()
        raise StoreError(f"cannot open the inbox {path!r}: {exc}") from exc
    except BaseException:
        for conn in opened:
            conn.close()
        raise
    return opened[0], opened[1:], tombstones


@asynccontextmanager
async def open_sqlite_store(
    path: str | os.PathLike[str],
    *,
    batch_rows: int = 512,
    batch_ms: float = 0.0,
    linger_ms: float = 1.0,
    readers: int = 4,
    cipher: BodyCipher | None = None,
    _writer_hook: ConnectHook | None = None,
) -> AsyncIterator[SqliteStore]:
    """Open (creating and migrating if needed) the inbox at ``path`` and run its writer.

    A write commits when its batch holds ``batch_rows`` writes or its first write has
    waited ``batch_ms`` milliseconds (``linger_ms`` for a small batch amid a steady
    trickle of writes, see :mod:`._sqlite_writer`); ``readers`` connections serve
    queries. With a
    ``cipher`` (:mod:`engine._crypto`) message bodies, raw payloads and buffered parts
    are stored sealed. Leaving the block commits the writes already queued and closes
    the file. ``_writer_hook`` is for tests: it is called with every new writer
    connection.
    """
    if readers < 1:
        raise ValueError("readers must be at least 1")
    filename = os.fspath(path)
    writer_conn, reader_conns, tombstones = await trio.to_thread.run_sync(
        _open_connections, filename, readers, _writer_setup(_writer_hook), cipher
    )
    try:
        writer = BatchWriter(
            filename,
            writer_conn,
            batch_rows=batch_rows,
            batch_ms=batch_ms,
            linger_ms=linger_ms,
            hook=_writer_setup(_writer_hook),
        )
    except BaseException:
        for conn in (writer_conn, *reader_conns):
            conn.close()
        raise
    store = SqliteStore(writer, reader_conns, tombstones, cipher)
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            nursery.start_soon(store.checkpoint_periodically)
            try:
                yield store
            except BaseException as exc:
                body_error = exc
                raise
            finally:
                with trio.CancelScope(shield=True):
                    await store.aclose()
    except BaseExceptionGroup as group:
        # The nursery wraps what the body raised; the caller should see it as raised.
        if body_error is not None and list(group.exceptions) == [body_error]:
            raise body_error from None
        raise


def _writer_setup(hook: ConnectHook | None) -> ConnectHook:
    """What every new writer connection runs, then ``hook``: ``secure_delete``, so the
    text a purge or an erasure removes is overwritten in the file, not left in free
    space (it costs a little CPU on each change, no more I/O than a page being
    written anyway, except for pages freed whole)."""

    def setup(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA secure_delete = ON")
        if hook is not None:
            hook(conn)

    return setup


def _now() -> datetime:
    return datetime.now(UTC)


def _json(value: Mapping[str, object]) -> bytes:
    return msgspec.json.encode(value)


def _span(duration: timedelta) -> int:
    """A duration in whole microseconds."""
    return duration // timedelta(microseconds=1)


def _stamp(actor: str) -> access.AuditStamp:
    return access.AuditStamp(id=new_id("aud"), actor=actor, now=micros(_now()))


def _op(op: stored_config.ConfigOp | access.TenantOp) -> WriteOp:
    # The writer runs any op that is not a message write as ``op.run(conn)``, in the
    # batch's transaction, as it does the outbox's.
    return cast(WriteOp, op)


def _outbox(
    row: MessageRow, message: Message, destinations: Destinations
) -> list[DeliveryRow] | None:
    """The outbox rows of a new message: one delivery per destination, pending and due
    now, or claimed by the caller as a :class:`NewDelivery` says."""
    if not destinations:
        return None
    moment = _now()
    now = micros(moment)
    rows: list[DeliveryRow] = []
    seen: set[str] = set()
    for entry in destinations:
        if isinstance(entry, str):
            entry = NewDelivery(id=new_id("dlv"), destination=entry, created_at=moment)
        if entry.destination in seen:
            continue
        seen.add(entry.destination)
        created = micros(entry.created_at)
        status: DeliveryStatus
        if entry.claimed_until is None:
            status, due = "pending", created
        else:
            status, due = "delivering", micros(entry.claimed_until)
        rows.append(
            outbox.delivery_row(
                entry.id, row[0], message.tenant, entry.destination, status, due, created, now
            )
        )
    return rows
