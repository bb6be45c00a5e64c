"""The embedding API: ``async with engine.open(config) as septet``.

::

    async with engine.open(Config(data_dir="./data")) as septet:
        since = datetime.now(UTC)
        result = await septet.ingest(InboundText(...))  # durable when it returns
        message = await septet.wait_for_code("+447700900123", timeout=30, since=since)
        async for message in septet.watch(number="+447700900123"):
            ...

The engine runs its configured carriers, each handing items to :meth:`Septet.ingest`
(or lists to :meth:`Septet.ingest_each`), which returns only once the item is durable.
Leaving the block stops the carriers, lets the ingests in flight finish, stops the
sweeper, ends every ``watch`` and closes the store.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import msgspec
import trio

from ._destinations import DestinationInfo, DestinationSet, RoutesInfo, TestResult
from ._ids import id_digits, id_floor, new_id
from ._metrics import EngineMetrics
from ._numbers import QUARANTINE_TENANTS, NumberBook
from ._privacy import PrivacyMethods
from ._retention import run_purge
from ._runtime import gc_thresholds
from .config import Config
from .delivery import DestinationPolicy, DestinationWorker, RouteTable, report_outbox_depth
from .errors import (
    ConfigError,
    EngineClosedError,
    InvalidKeyError,
    ScopeError,
    StoreError,
    TenantConflictError,
)
from .model import (
    DeliveryAttempt,
    DeliveryRecord,
    DeliveryStatus,
    InboundItem,
    IngestResult,
    Message,
    StatusReport,
)
from .pipeline import MessageFilter, MessageStream, Pipeline, WatcherHub, run_sweeper
from .pipeline._normalize import normalize_number, normalize_sender, region_of
from .pipeline._pipeline import Outbox
from .pipeline._watchers import HORIZON
from .plugin_api import Carrier, Destination, Emit, WebhookCarrier
from .signing import constant_time_equal
from .store import (
    ROLE_SCOPES,
    ApiKey,
    AuditEntry,
    ClaimedDelivery,
    Member,
    MessageQuery,
    NewDelivery,
    Role,
    Store,
    Tenant,
)

__all__ = ["Septet", "open"]

_DELETED_REMEMBERED = 65_536
"""How many deleted message ids the engine remembers for its delivery workers."""

KEY_CACHE_SECONDS = 30.0
"""How long a key looked up is trusted without reading it again. A revocation or rotation
in this process takes effect at once; one made by another process, within this long."""
KEY_USE_SECONDS = 60.0
"""How often the keys' ``last_used_at`` are written, all those used since in one batch."""
EMBEDDER = "embedder"
"""The audit log's actor for changes made through the embedding API."""


class Septet(PrivacyMethods):
    """A running engine; get one from :func:`open`."""

    def __init__(
        self,
        config: Config,
        store: Store,
        destinations: Mapping[str, Destination] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self.api_url: str | None = None
        """Where the HTTP server listens (``http://127.0.0.1:8080``), when it runs."""
        self.metrics = EngineMetrics()
        """Prometheus metrics; ``metrics.registry``, ``metrics.render()``."""
        self._store = store
        self._hub = WatcherHub()
        self._deleted: OrderedDict[str, None] = OrderedDict()
        """The ids of the messages this engine deleted lately, so a delivery of one that
        a worker already holds is dropped (the store has no row for it any more)."""
        self._destinations = DestinationSet(
            config, store, self.metrics, destinations or {}, deleted=self._deleted.__contains__
        )
        self._routing = self._destinations.tenants
        # Routed always: a route table set at runtime applies to the next message.
        self._pipeline = Pipeline(
            config, store, self.metrics, self._committed, self._plan_outbox, self._abandoned
        )
        self.numbers = NumberBook(
            store, config.numbers, clock=clock, publish=self._pipeline.use_owners
        )
        """Numbers rented to tenants: the inventory, leases, statements, the quarantine."""
        self._keys: dict[str, tuple[ApiKey, bytes, float]] = {}
        """Keys looked up lately (key, secret hash, when), by id: see :meth:`authenticate`."""
        self._keys_generation = 0
        """Bumped by every revocation and rotation, so a lookup that raced one is not kept."""
        self._key_uses: dict[str, datetime] = {}
        self._key_uses_written = -KEY_USE_SECONDS

    def _plan_outbox(self, message: Message) -> Outbox:
        """The message's destinations; a delivery whose worker can attempt it at once is
        written already claimed by that worker, so it starts the moment the commit
        returns (no claim in between)."""
        # Each message goes by its own tenant's route table to that tenant's destinations:
        # a lessee's by the lessee's; the quarantine has none, so a message after a lease
        # ended reaches nobody (an expired lease stops delivery at once).
        own = self._routing.get(message.tenant)
        if own is None:
            return ()
        router = own.router
        if router is None:
            return ()
        names = router.resolve(message)
        if not names:
            return ()
        workers = own.workers
        planned: list[str | NewDelivery] = []
        now = datetime.now(UTC)
        for name in names:
            worker = workers.get(name)
            if worker is not None and worker.reserve():
                lease = timedelta(seconds=worker.lease_seconds)
                planned.append(
                    _Reserved(
                        id=new_id("dlv"),
                        destination=name,
                        created_at=now,
                        claimed_until=now + lease,
                        worker=worker,
                    )
                )
            else:
                planned.append(name)
        return tuple(planned)

    def _committed(self, message: Message, outbox: Outbox) -> None:
        self._hub.publish(message)
        own = self._routing.get(message.tenant) if outbox else None
        for entry in outbox:
            if isinstance(entry, str):
                worker = None if own is None else own.workers.get(entry)
                if worker is not None:
                    worker.wake()
            else:
                claimed = ClaimedDelivery(
                    id=entry.id,
                    message=message,
                    attempt=1,
                    retry_step=0,
                    created_at=entry.created_at,
                )
                cast(_Reserved, entry).worker.start(claimed)

    def _abandoned(self, outbox: Outbox) -> None:
        for entry in outbox:
            if not isinstance(entry, str):
                cast(_Reserved, entry).worker.release()

    async def ingest(self, item: InboundItem) -> IngestResult:
        """Make ``item`` durable and say what it became; only then may a carrier ack it.

        Raises :class:`~engine.errors.PduError` for a PDU that cannot be decoded,
        :class:`~engine.errors.StoreError` when the inbox cannot be written, and
        :class:`~engine.errors.EngineClosedError` once shutdown began: in each case
        nothing was stored, so the carrier must not acknowledge.
        """
        return await self._pipeline.ingest(item)

    async def ingest_many(self, items: Sequence[InboundItem]) -> list[IngestResult]:
        """:meth:`ingest` for each of ``items``, with the same guarantees for every one:
        returns only once all are durable, with their results in order.

        For carriers that receive bursts (an SMPP window, a webhook carrying several
        messages): the single-part texts and PDUs are decoded together and committed in
        one store write, the fastest way in. Every PDU is decoded before anything is
        stored: one that cannot be raises :class:`~engine.errors.PduError` (its
        ``index`` names the item) and nothing of the list is stored. When another
        failure hits one item (:class:`~engine.errors.StoreError`, ...), the others are
        still ingested and the first failure by index is raised once all are done; then
        some items may be stored, so the carrier must acknowledge none (its retry is
        deduplicated). Raises :class:`~engine.errors.EngineClosedError` once shutdown
        began, storing nothing.
        """
        return await self._pipeline.ingest_many(items)

    async def ingest_each(self, items: Sequence[InboundItem]) -> list[IngestResult | Exception]:
        """:meth:`ingest` for each of ``items``, answered one by one: a list in the same
        order holding each item's :class:`~engine.model.IngestResult` (it is durable: the
        carrier may acknowledge it) or the exception it met (nothing of it was stored:
        the carrier must not acknowledge it), such as
        :class:`~engine.errors.PduError` for a PDU that cannot be decoded (its ``index``
        names the item), :class:`~engine.errors.StoreError` when the inbox cannot be
        written, or :class:`~engine.errors.EngineClosedError` once shutdown began.

        The batched path for carriers that answer every item on its own (an SMPP window,
        where each deliver_sm gets its own deliver_sm_resp): the single-part texts and
        PDUs are decoded together and committed in one store write (if that write
        fails, each of them gets its own exception), and so are the sets whose parts
        all came in the list, each one's message made from them; the other parts and
        the status reports are then ingested concurrently, as :meth:`ingest` would. Every
        item is answered as if ingested alone, in order. A repeat within the list is a
        duplicate of its first occurrence. Returns once every item is answered; it
        raises only what the caller's own task meets, never an item's failure.
        """
        return await self._pipeline.ingest_each(items)

    def watch(
        self,
        *,
        number: str | None = None,
        sender: str | None = None,
        tenant: str | None = None,
        after: str | None = None,
    ) -> MessageStream:
        """Messages as they commit; with ``after`` (a message id), first those stored
        after it, then live ones, without gaps or repeats.

        A watcher that reads slower than messages arrive never slows ingest: its
        buffer fills, then it catches up from the store. The iteration ends when the
        engine stops.
        """
        message_filter = self._filter(tenant, number, sender)
        return MessageStream(self._hub, self._replay, message_filter, after=after)

    async def wait_for_code(
        self,
        number: str,
        *,
        timeout: float,
        sender: str | None = None,
        since: datetime | None = None,
        tenant: str | None = None,
    ) -> Message:
        """The first message to ``number`` carrying a one-time code, received at or
        after ``since`` (default: now, so an old code is never returned), from
        ``sender`` when given, of ``tenant`` (default: the number's lessee when it is
        leased, else ``config.tenant``). Raises :class:`TimeoutError` after ``timeout``
        seconds.
        """
        if tenant is None:
            tenant = self.numbers.owner_of(self._filter(None, number, None).number or number)
        return await self.wait_for_message(
            number=number,
            timeout=timeout,
            sender=sender,
            since=since,
            has_code=True,
            tenant=tenant,
        )

    async def wait_for_message(
        self,
        *,
        timeout: float,
        number: str | None = None,
        sender: str | None = None,
        since: datetime | None = None,
        has_code: bool | None = None,
        tenant: str | None = None,
    ) -> Message:
        """The first message matching the filters received at or after ``since``
        (default: now): at once if one is already stored, else as soon as one commits.
        Raises :class:`TimeoutError` after ``timeout`` seconds."""
        since = datetime.now(UTC) if since is None else since
        message_filter = self._filter(tenant or self.config.tenant, number, sender)
        message_filter.since = since
        message_filter.has_otp = has_code
        after = id_floor("msg", since.timestamp() - HORIZON)
        stream = MessageStream(self._hub, self._replay, message_filter, after=after)
        with trio.move_on_after(timeout):
            async with stream:
                async for message in stream:
                    if message_filter.matches(message):
                        return message
            raise EngineClosedError("the engine stopped while waiting for a message")
        raise TimeoutError(f"no matching message within {timeout:g} s")

    async def messages(
        self,
        *,
        number: str | None = None,
        sender: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
        before: str | None = None,
        has_otp: bool | None = None,
        text: str | None = None,
        limit: int = 100,
        oldest_first: bool = False,
        tenant: str | None = None,
    ) -> list[Message]:
        """Stored messages, newest first unless ``oldest_first``; ``after`` and
        ``before`` are message ids (exclusive), for paging. ``text`` keeps those whose
        content holds it, ignoring case in any script ("привет" finds "ПРИВЕТ"). Every
        read takes ``tenant`` (default: ``config.tenant``, where messages are filed)."""
        found = self._filter(None, number, sender)
        query = MessageQuery(
            tenant=tenant or self.config.tenant,
            number=found.number,
            sender=found.sender,
            since=since,
            until=until,
            after=after,
            before=before,
            has_otp=has_otp,
            text=text,
            limit=limit,
            oldest_first=oldest_first,
        )
        return list(await self._store.list_messages(query))

    async def delete_message(self, message_id: str, *, tenant: str | None = None) -> bool:
        """Delete a message with its raw payload and its deliveries (an open one is
        never attempted again); False when there is no such message. Its status reports
        stay, unlinked, and its carrier ids stay as a tombstone: a carrier's late retry
        of it is answered ``duplicate`` and nothing is stored."""
        deleted = await self._store.delete_message(tenant or self.config.tenant, message_id)
        if deleted:
            self._deleted[message_id] = None
            if len(self._deleted) > _DELETED_REMEMBERED:
                self._deleted.popitem(last=False)
        return deleted

    async def get(self, message_id: str, *, tenant: str | None = None) -> Message | None:
        """The message with this id, or None (also when it is another tenant's)."""
        return await self._store.get_message(tenant or self.config.tenant, message_id)

    async def status_reports(self, message_id: str) -> list[StatusReport]:
        """The status reports linked to a message, oldest first."""
        return list(await self._store.status_reports(self.config.tenant, message_id))

    async def raw_payload(self, message_id: str) -> bytes | None:
        """The carrier payload kept with a message for audit (cut to ``raw_limit_bytes``)."""
        return await self._store.raw_payload(self.config.tenant, message_id)

    # Deliveries ------------------------------------------------------------------

    async def deliveries(
        self,
        *,
        message_id: str | None = None,
        destination: str | None = None,
        status: DeliveryStatus | None = None,
        after: str | None = None,
        limit: int = 100,
        tenant: str | None = None,
    ) -> list[DeliveryRecord]:
        """The outbox: deliveries matching the filters, oldest first, after the delivery
        id ``after`` (for paging)."""
        found = await self._store.list_deliveries(
            tenant or self.config.tenant,
            message_id=message_id,
            destination=destination,
            status=status,
            after=after,
            limit=limit,
        )
        return list(found)

    async def delivery_attempts(
        self, delivery_id: str, *, tenant: str | None = None
    ) -> list[DeliveryAttempt]:
        """Every attempt of one delivery: when, how long, the outcome, status and error."""
        tenant = tenant or self.config.tenant
        return list(await self._store.delivery_attempts(tenant, delivery_id))

    async def replay(
        self,
        delivery_id: str | None = None,
        *,
        destination: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        tenant: str | None = None,
    ) -> int:
        """Send again: one delivery (whatever its state, unless under way), or every
        ``failed`` delivery of ``destination`` (optionally those created in ``[since,
        until)``). Each starts a fresh retry schedule; answers how many were replayed."""
        if delivery_id is None and destination is None:
            raise ValueError("name a delivery or a destination to replay")
        tenant = tenant or self.config.tenant
        count = await self._store.replay_deliveries(
            tenant,
            delivery_id=delivery_id,
            destination=destination,
            since=since,
            until=until,
        )
        for worker in self._destinations.workers_of(tenant).values():
            worker.wake()
        return count

    async def disable_destination(
        self, name: str, reason: str, *, tenant: str | None = None
    ) -> None:
        """Stop delivering to ``name`` (of ``tenant``, default ``config.tenant``): its
        deliveries wait until it is enabled."""
        tenant = tenant or self.config.tenant
        worker = self._worker(tenant, name)
        await self._store.set_destination_disabled(name, reason, tenant=self._hold_tenant(tenant))
        worker.disabled = reason

    async def enable_destination(self, name: str, *, tenant: str | None = None) -> None:
        """Deliver to ``name`` (of ``tenant``, default ``config.tenant``) again (after a
        ``410 Gone`` or :meth:`disable_destination`); what waited is due at once."""
        tenant = tenant or self.config.tenant
        worker = self._worker(tenant, name)
        await self._store.set_destination_disabled(name, None, tenant=self._hold_tenant(tenant))
        worker.disabled = None
        worker.wake()

    @property
    def destination_names(self) -> tuple[str, ...]:
        """The destinations of ``config.tenant`` delivering (or disabled), by instance
        name: the config file's and those created at runtime."""
        return self.destination_names_of(self.config.tenant)

    def destination_names_of(self, tenant: str) -> tuple[str, ...]:
        """The destinations of ``tenant`` delivering (or disabled), by instance name."""
        return tuple(self._destinations.workers_of(tenant))

    def _hold_tenant(self, tenant: str) -> str | None:
        """The tenant the store keeps a destination's disabled state under (None: the
        receiving tenant's, as it always was)."""
        return None if tenant == self.config.tenant else tenant

    # Destinations and routes at runtime (see engine._destinations) -----------------

    # Every method here acts on one tenant's destinations and routes: ``tenant``
    # (default ``config.tenant``, whose are the config file's too). Another tenant's
    # destination of the same name is a different one; the quarantine has none.

    async def destinations(self, *, tenant: str | None = None) -> list[DestinationInfo]:
        """Every destination of ``tenant``, the config file's first, secrets redacted."""
        return await self._destinations.infos(tenant or self.config.tenant)

    async def destination(self, name: str, *, tenant: str | None = None) -> DestinationInfo:
        """One destination of ``tenant``, secrets redacted; :class:`KeyError` if it has
        none of that name."""
        return await self._destinations.info(tenant or self.config.tenant, name)

    async def create_destination(
        self,
        name: str,
        adapter: str,
        *,
        config: Mapping[str, Any] | None = None,
        policy: DestinationPolicy | Mapping[str, Any] | None = None,
        tenant: str | None = None,
    ) -> DestinationInfo:
        """Create a destination of ``tenant`` and start delivering that tenant's
        messages routed to it; stored, so it survives a restart. Raises
        :class:`~engine.errors.ConfigError` (``key``: ``name``, ``adapter``,
        ``config.<field>``, ``policy.<field>``) for a bad definition and
        :class:`~engine.errors.DefinitionConflictError` when the tenant has one of
        that name (or ``tenant`` is the quarantine's), :class:`KeyError` when
        ``tenant`` does not exist."""
        info, _ = await self._destinations.put(
            tenant or self.config.tenant,
            name,
            adapter,
            config or {},
            _policy_settings(policy),
            create=True,
        )
        return info

    async def put_destination(
        self,
        name: str,
        adapter: str,
        *,
        config: Mapping[str, Any] | None = None,
        policy: DestinationPolicy | Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        tenant: str | None = None,
    ) -> DestinationInfo:
        """Create or replace a destination (not one of the config file's). A
        replacement takes over at once; the old adapter's attempts in flight finish.
        ``expected_version``: only if it is still at this version (0: only if it does
        not exist), else :class:`~engine.errors.StaleVersionError`. A config value sent
        back as it was read (``[redacted]``) keeps the stored secret."""
        info, _ = await self._destinations.put(
            tenant or self.config.tenant,
            name,
            adapter,
            config or {},
            _policy_settings(policy),
            expected_version=expected_version,
        )
        return info

    async def patch_destination(
        self,
        name: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        tenant: str | None = None,
    ) -> DestinationInfo:
        """Change a destination created at runtime by a JSON merge patch (RFC 7396) of
        its definition (``adapter``, ``config``, ``policy``): settings left out keep
        their stored values, secrets included. As :meth:`put_destination` otherwise."""
        return await self._destinations.patch(
            tenant or self.config.tenant, name, changes, expected_version=expected_version
        )

    async def delete_destination(
        self,
        name: str,
        *,
        expected_version: int | None = None,
        force: bool = False,
        tenant: str | None = None,
    ) -> int:
        """Delete a destination created at runtime and stop its worker (the attempts in
        flight finish); answers how many of its deliveries are still open: they stay,
        and go out if a destination of the name exists again. Refused
        (:class:`~engine.errors.DefinitionConflictError`) while the routes name it,
        unless ``force``, which takes it out of the routes first."""
        return await self._destinations.delete(
            tenant or self.config.tenant, name, expected_version=expected_version, force=force
        )

    def routes(self, *, tenant: str | None = None) -> RoutesInfo:
        """The route table of ``tenant`` in force, and where it comes from."""
        return self._destinations.routes(tenant or self.config.tenant)

    async def set_routes(
        self,
        table: RouteTable | None,
        *,
        expected_version: int | None = None,
        tenant: str | None = None,
    ) -> RoutesInfo:
        """Put ``table`` in force for the messages routed from now on (None: the
        config file's again); stored, so it survives a restart. Deliveries already
        committed keep their destinations. Raises
        :class:`~engine.errors.ConfigError` when it names a destination that does not
        exist, :class:`~engine.errors.StaleVersionError` when ``expected_version``
        does not hold."""
        return await self._destinations.set_routes(
            tenant or self.config.tenant, table, expected_version=expected_version
        )

    async def test_destination(
        self,
        name: str,
        *,
        content: str | None = None,
        sender: str | None = None,
        number: str | None = None,
        tenant: str | None = None,
    ) -> TestResult:
        """Deliver a sample message (flagged ``test``) to ``name`` once, now, outside
        the outbox: nothing is stored, retried or counted. Answers how it went."""
        return await self._destinations.test(
            tenant or self.config.tenant, name, content=content, sender=sender, number=number
        )

    async def delivery(
        self, delivery_id: str, *, tenant: str | None = None
    ) -> DeliveryRecord | None:
        """One delivery of the outbox, or None (also when it is another tenant's)."""
        return await self._store.get_delivery(tenant or self.config.tenant, delivery_id)

    async def disabled_destinations(self, *, tenant: str | None = None) -> dict[str, str]:
        """The disabled destinations of ``tenant`` (default ``config.tenant``) and why."""
        hold = self._hold_tenant(tenant or self.config.tenant)
        return dict(await self._store.disabled_destinations(hold))

    # Tenants and access --------------------------------------------------------------
    #
    # ``actor`` names who makes a change in the audit log: a key id, ``operator`` (the
    # config's admin key) or ``embedder``, the default here.

    async def create_tenant(
        self, name: str, *, tenant_id: str | None = None, actor: str = EMBEDDER
    ) -> Tenant:
        """Create a tenant (``tenant_id`` default: a new ``ten_...`` id). Raises
        :class:`~engine.errors.TenantConflictError` when the id is taken."""
        if tenant_id in QUARANTINE_TENANTS.values():
            raise TenantConflictError(f"{tenant_id!r} is the quarantine's, not a tenant's")
        tenant = Tenant(id=tenant_id or new_id("ten"), name=name, created_at=datetime.now(UTC))
        if not await self._store.create_tenant(tenant, actor=actor):
            raise TenantConflictError(f"a tenant {tenant.id!r} exists already")
        return tenant

    async def tenants(self) -> list[Tenant]:
        """Every tenant, by id."""
        return list(await self._store.tenants())

    async def tenant(self, tenant_id: str) -> Tenant | None:
        """One tenant, or None."""
        return await self._store.get_tenant(tenant_id)

    async def delete_tenant(self, tenant_id: str, *, actor: str = EMBEDDER) -> bool:
        """Delete a tenant with its members; its keys are revoked (at once in this
        process). False when there is none. Raises
        :class:`~engine.errors.TenantConflictError` for the tenant messages are filed
        under (``config.tenant``) and for one that still holds messages, leases a number
        or has destinations (delete them, release its leases, erase its messages first)."""
        if tenant_id == self.config.tenant:
            raise TenantConflictError(
                f"tenant {tenant_id!r} receives the carriers' messages (config.tenant)"
            )
        if self._destinations.workers_of(tenant_id):
            raise TenantConflictError(f"tenant {tenant_id!r} still has destinations")
        if await self.numbers.leases(tenant_id):
            raise TenantConflictError(f"tenant {tenant_id!r} still leases numbers")
        outcome = await self._store.delete_tenant(tenant_id, actor=actor)
        if outcome == "holds_messages":
            raise TenantConflictError(f"tenant {tenant_id!r} still holds messages")
        self._forget_keys(lambda key: key.tenant == tenant_id)
        return outcome == "deleted"

    async def create_key(
        self,
        tenant: str | None,
        *,
        name: str,
        role: Role,
        scopes: Collection[str] | None = None,
        expires_at: datetime | None = None,
        actor: str = EMBEDDER,
    ) -> tuple[ApiKey, str]:
        """A new API key of ``tenant`` (None: an operator key, whose role must be
        ``operator``) and the whole key, ``sk_<id digits>_<secret>``: it is not stored
        and cannot be shown again. ``scopes`` narrows the role's (default: all of them).

        Raises :class:`~engine.errors.ScopeError` for scopes the role does not grant,
        :class:`ValueError` for a role that does not fit ``tenant``, :class:`KeyError`
        when ``tenant`` does not exist."""
        if (role == "operator") != (tenant is None):
            raise ValueError("an operator key has no tenant, and only it has the operator role")
        granted = _granted_scopes(role, scopes)
        key_id = new_id("key")
        secret, digest = _new_secret()
        key = ApiKey(
            id=key_id,
            tenant=tenant,
            name=name,
            role=role,
            scopes=granted,
            prefix=_key_prefix(key_id, secret),
            created_at=datetime.now(UTC),
            expires_at=expires_at,
            rotated_at=None,
            revoked_at=None,
            last_used_at=None,
        )
        if not await self._store.create_key(key, digest, actor=actor):
            raise KeyError(f"no tenant is named {tenant!r}")
        return key, _whole_key(key_id, secret)

    async def api_keys(self, tenant: str | None) -> list[ApiKey]:
        """The keys of ``tenant`` (None: the operator keys), revoked ones too; never
        their secrets."""
        return list(await self._store.api_keys(tenant))

    async def rotate_key(
        self, key_id: str, *, tenant: str | None, actor: str = EMBEDDER
    ) -> tuple[ApiKey, str]:
        """Give a live key of ``tenant`` a new secret, answered once as the whole key;
        the old one fails from now on. :class:`KeyError` when there is no such live
        key."""
        secret, digest = _new_secret()
        rotated = await self._store.rotate_key(
            tenant, key_id, digest, _key_prefix(key_id, secret), actor=actor
        )
        self._forget_keys(lambda key: key.id == key_id)
        if rotated is None:
            raise KeyError(f"no live key {key_id!r}")
        return rotated, _whole_key(key_id, secret)

    async def revoke_key(self, key_id: str, *, tenant: str | None, actor: str = EMBEDDER) -> ApiKey:
        """Revoke a key of ``tenant``: it fails from now on (at once in this process).
        Revoking it again changes nothing. :class:`KeyError` when there is no such key."""
        revoked = await self._store.revoke_key(tenant, key_id, actor=actor)
        self._forget_keys(lambda key: key.id == key_id)
        if revoked is None:
            raise KeyError(f"no key {key_id!r}")
        return revoked

    async def authenticate(self, whole_key: str) -> ApiKey:
        """The key ``whole_key`` is, if it may act now; else
        :class:`~engine.errors.InvalidKeyError` saying why (never repeating the key).

        A key read from the store is trusted for :data:`KEY_CACHE_SECONDS`; the secret
        is checked on every call, in constant time. Its use is recorded in memory and
        written with the others' every :data:`KEY_USE_SECONDS`."""
        key_id, secret = _parse_key(whole_key)
        now = trio.current_time()
        cached = self._keys.get(key_id)
        if cached is not None and now - cached[2] < KEY_CACHE_SECONDS:
            key, digest = cached[0], cached[1]
        else:
            generation = self._keys_generation
            found = await self._store.api_key(key_id)
            if found is None:
                raise InvalidKeyError("the API key is not valid")
            key, digest = found
            if generation == self._keys_generation:
                self._keys[key_id] = (key, digest, now)
        if not constant_time_equal(hashlib.sha256(secret.encode()).digest(), digest):
            raise InvalidKeyError("the API key is not valid")
        if key.revoked_at is not None:
            raise InvalidKeyError("the API key was revoked")
        moment = datetime.now(UTC)
        if key.expires_at is not None and key.expires_at <= moment:
            raise InvalidKeyError("the API key has expired")
        await self._note_key_use(key_id, moment)
        return key

    async def add_member(
        self,
        tenant: str,
        *,
        email: str,
        role: Role,
        name: str | None = None,
        actor: str = EMBEDDER,
    ) -> Member:
        """Add a person to ``tenant`` with ``role``. Raises
        :class:`~engine.errors.TenantConflictError` when the email is in the tenant
        already, :class:`KeyError` when the tenant does not exist."""
        if role == "operator":
            raise ValueError("a member holds a tenant's role, not the operator's")
        if await self._store.get_tenant(tenant) is None:
            raise KeyError(f"no tenant is named {tenant!r}")
        member = Member(
            id=new_id("mem"),
            tenant=tenant,
            email=email,
            name=name,
            role=role,
            created_at=datetime.now(UTC),
        )
        if not await self._store.create_member(member, actor=actor):
            raise TenantConflictError(f"{email!r} is a member of {tenant!r} already")
        return member

    async def members(self, tenant: str) -> list[Member]:
        """The members of ``tenant``."""
        return list(await self._store.members(tenant))

    async def remove_member(self, tenant: str, member_id: str, *, actor: str = EMBEDDER) -> None:
        """Remove a member of ``tenant``; :class:`KeyError` when there is none."""
        if not await self._store.delete_member(tenant, member_id, actor=actor):
            raise KeyError(f"no member {member_id!r}")

    async def audit_log(
        self, tenant: str | None, *, before: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        """Every change to ``tenant``'s members and keys, and to the tenant itself (None:
        to operator keys), newest first, older than the entry ``before``."""
        return list(await self._store.audit_log(tenant, before=before, limit=limit))

    def _forget_keys(self, which: Any) -> None:
        self._keys_generation += 1
        for key_id in [k for k, (key, _, _) in self._keys.items() if which(key)]:
            del self._keys[key_id]

    async def _note_key_use(self, key_id: str, moment: datetime) -> None:
        self._key_uses[key_id] = moment
        now = trio.current_time()
        if now - self._key_uses_written < KEY_USE_SECONDS:
            return
        uses, self._key_uses = self._key_uses, {}
        self._key_uses_written = now
        try:
            await self._store.touch_keys(uses)
        except (StoreError, EngineClosedError):
            for used, at in uses.items():  # written with the next batch
                self._key_uses.setdefault(used, at)

    def _worker(self, tenant: str, name: str) -> DestinationWorker:
        worker = self._destinations.workers_of(tenant).get(name)
        if worker is None:
            raise KeyError(f"no destination is named {name!r}")
        return worker

    def _filter(self, tenant: str | None, number: str | None, sender: str | None) -> MessageFilter:
        region = self.config.default_region
        if number is not None:
            number = normalize_number(number, region)
            region = region_of(number) or region
        if sender is not None:
            sender, _ = normalize_sender(sender, region)
        return MessageFilter(tenant=tenant, number=number, sender=sender)

    async def _replay(
        self, message_filter: MessageFilter, after: str, limit: int
    ) -> Sequence[Message]:
        query = MessageQuery(
            tenant=message_filter.tenant or self.config.tenant,
            number=message_filter.number,
            sender=message_filter.sender,
            since=message_filter.since,
            has_otp=message_filter.has_otp,
            after=after,
            limit=limit,
            oldest_first=True,
        )
        return await self._store.list_messages(query)

    def _emit_as(self, name: str) -> Emit:
        """``ingest`` (and ``ingest_each`` as ``many``) for the carrier instance ``name``
        (items record it as their carrier)."""
        return _CarrierEmit(name, self._pipeline)


@asynccontextmanager
async def open(
    config: Config | None = None,
    *,
    store: Store | None = None,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[Septet]:
    """Run an engine: its store (``config.store`` under ``config.data_dir`` unless
    ``store`` is given), its reassembly sweeper, its rented numbers' sweeper and its
    configured carriers. ``clock`` is the time leases of numbers run by (default: the
    system clock, UTC): a simulation, or a test, may pass its own.

    Carrier and destination configs are validated before anything starts. Deliveries
    that a previous run left claimed are handed back and resume at once. On exit:
    carriers stop, the ingests in flight finish, delivery workers stop (an attempt cut
    short is retried on the next start), then the destinations and the store close.
    """
    config = Config() if config is None else config
    carriers: list[Carrier | WebhookCarrier] = []
    destinations: dict[str, Destination] = {}
    if config.carriers or config.destinations:
        from .plugins import load_carriers, load_destination

        carriers = load_carriers(config.carriers)
        hooks = [c for c in carriers if not isinstance(c, Carrier)]
        if hooks and config.api.port is None:
            raise ConfigError(
                f"carrier {hooks[0].name!r} receives webhooks: set api.port to serve them",
                key="api.port",
            )
        for destination in config.destinations:
            destinations[destination.name] = load_destination(
                destination.name, destination.adapter, destination.config
            )
    async with AsyncExitStack() as stack:
        if config.runtime.tune_gc:
            stack.enter_context(gc_thresholds(config.runtime.gc_thresholds))
        for adapter in destinations.values():
            stack.push_async_callback(adapter.aclose)
        if store is None:
            from .store import open_store

            store = await stack.enter_async_context(open_store(config.store, config.data_dir))
        septet = Septet(config, store, destinations, clock=clock)
        stack.push_async_callback(septet._destinations.aclose)
        await septet._destinations.load()
        # Before any carrier runs: what fell due while the engine was down, and the
        # snapshot every message is filed by.
        await septet.numbers.start()
        if septet._destinations.all_workers():
            await store.recover_claims()
            for tenant, own in septet._routing.items():
                if own.workers:
                    disabled = await store.disabled_destinations(septet._hold_tenant(tenant))
                    for name, worker in own.workers.items():
                        worker.disabled = disabled.get(name)
        body_error: BaseException | None = None
        try:
            async with trio.open_nursery() as workers:
                await workers.start(
                    run_sweeper,
                    septet._pipeline,
                    septet.metrics,
                    config.reassembly.sweep_seconds,
                )
                await workers.start(septet.numbers.run)
                for worker in septet._destinations.all_workers():
                    await workers.start(worker.run)
                septet._destinations.attach(workers)
                # The depth gauges are the receiving tenant's destinations' (labelled by
                # name, as always); another tenant's would multiply the series.
                await workers.start(
                    functools.partial(report_outbox_depth, tenant=config.tenant),
                    store,
                    septet.metrics,
                    septet._destinations.receiving.workers,
                )
                await workers.start(run_purge, store, config)
                async with trio.open_nursery() as carrier_tasks:
                    webhooks: dict[str, WebhookCarrier] = {}
                    for carrier in carriers:
                        if isinstance(carrier, Carrier):
                            await carrier_tasks.start(carrier.run, septet._emit_as(carrier.name))
                        else:
                            webhooks[carrier.name] = carrier
                    if config.api.port is not None:
                        from .api import serve_api

                        septet.api_url = await carrier_tasks.start(
                            serve_api, septet, config.api, webhooks
                        )
                    try:
                        yield septet
                    except BaseException as error:
                        body_error = error
                        raise
                    finally:
                        with trio.CancelScope(shield=True):
                            carrier_tasks.cancel_scope.cancel()
                            await septet._pipeline.drain()
                workers.cancel_scope.cancel()
            septet._hub.close()
        except BaseExceptionGroup as group:
            # The nurseries wrap what the body raised; the caller should see it as raised.
            if body_error is not None and _only(group, body_error):
                raise body_error from None
            raise


class _CarrierEmit:
    """The :class:`~engine.plugin_api.Emit` a carrier instance runs with."""

    __slots__ = ("_name", "_pipeline")

    def __init__(self, name: str, pipeline: Pipeline) -> None:
        self._name = name
        self._pipeline = pipeline

    async def __call__(self, item: InboundItem, /) -> IngestResult:
        if item.carrier != self._name:  # messages record the instance they came through
            item = msgspec.structs.replace(item, carrier=self._name)
        return await self._pipeline.ingest(item)

    async def many(self, items: Sequence[InboundItem], /) -> list[IngestResult | Exception]:
        name = self._name
        named = [
            item if item.carrier == name else msgspec.structs.replace(item, carrier=name)
            for item in items
        ]
        return await self._pipeline.ingest_each(named)


class _Reserved(NewDelivery, frozen=True, kw_only=True):
    """A delivery written claimed, with the worker that reserved its slot: that worker
    attempts it, even when another has taken over the destination meanwhile."""

    worker: DestinationWorker


def _granted_scopes(role: Role, scopes: Collection[str] | None) -> tuple[str, ...]:
    """The scopes a key of ``role`` gets: ``scopes`` if the role grants them all, in
    the canonical order; all the role's when None."""
    allowed = ROLE_SCOPES.get(role)
    if allowed is None:
        raise ValueError(f"no role is named {role!r}")
    if scopes is None:
        wanted = allowed
    else:
        wanted = frozenset(scopes)
        beyond = tuple(sorted(wanted - allowed))
        if beyond:
            raise ScopeError(f"the role {role!r} does not grant {list(beyond)}", scopes=beyond)
    return tuple(scope for scope in ROLE_SCOPES["operator"] if scope in wanted)


def _new_secret() -> tuple[str, bytes]:
    """A key's secret (256 random bits) and the SHA-256 digest kept in its place.

    A plain hash is enough: a slow one (bcrypt, scrypt) protects guessable passwords,
    and nobody can guess 256 random bits, hashed fast or slow."""
    secret = secrets.token_urlsafe(32)
    return secret, hashlib.sha256(secret.encode()).digest()


def _whole_key(key_id: str, secret: str) -> str:
    return f"sk_{key_id.removeprefix('key_')}_{secret}"


def _key_prefix(key_id: str, secret: str) -> str:
    """What identifies a key on a screen: its id digits and the first four characters
    of its secret (so a rotated key looks different), never enough to use it."""
    return _whole_key(key_id, secret[:4])


def _parse_key(whole_key: str) -> tuple[str, str]:
    scheme, _, rest = whole_key.partition("_")
    digits, _, secret = rest.partition("_")
    if scheme != "sk" or len(digits) != 32 or not secret:
        raise InvalidKeyError("the API key is not valid")
    key_id = f"key_{digits}"
    if id_digits(key_id, "key") is None:
        raise InvalidKeyError("the API key is not valid")
    return key_id, secret


def _policy_settings(policy: DestinationPolicy | Mapping[str, Any] | None) -> dict[str, Any]:
    if policy is None:
        return {}
    if isinstance(policy, DestinationPolicy):
        settings: dict[str, Any] = msgspec.to_builtins(policy)
        return settings
    return dict(policy)


def _only(group: BaseExceptionGroup[BaseException], error: BaseException) -> bool:
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        current = pending.pop()
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        else:
            leaves.append(current)
    return leaves == [error]
