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

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import msgspec
import trio

from ._destinations import DestinationInfo, DestinationSet, RoutesInfo, TestResult
from ._ids import id_floor, new_id
from ._metrics import EngineMetrics
from ._runtime import gc_thresholds
from .config import Config
from .delivery import DestinationPolicy, DestinationWorker, RouteTable, report_outbox_depth
from .errors import ConfigError, EngineClosedError
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
from .store import ClaimedDelivery, MessageQuery, NewDelivery, Store

__all__ = ["Septet", "open"]


class Septet:
    """A running engine; get one from :func:`open`."""

    def __init__(
        self, config: Config, store: Store, destinations: Mapping[str, Destination] | None = None
    ) -> None:
        self.config = config
        self.api_url: str | None = None
        """Where the HTTP server listens (``http://127.0.0.1:8080``), when it runs."""
        self.metrics = EngineMetrics()
        """Prometheus metrics; ``metrics.registry``, ``metrics.render()``."""
        self._store = store
        self._hub = WatcherHub()
        self._destinations = DestinationSet(config, store, self.metrics, destinations or {})
        self._workers = self._destinations.workers
        # Routed always: a route table set at runtime applies to the next message.
        self._pipeline = Pipeline(
            config, store, self.metrics, self._committed, self._plan_outbox, self._abandoned
        )

    def _plan_outbox(self, message: Message) -> Outbox:
        """The message's destinations; a delivery whose worker can attempt it at once is
        written already claimed by that worker, so it starts the moment the commit
        returns (no claim in between)."""
        router = self._destinations.router
        if router is None:
            return ()
        names = router.resolve(message)
        if not names:
            return ()
        planned: list[str | NewDelivery] = []
        now = datetime.now(UTC)
        for name in names:
            worker = self._workers.get(name)
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
        for entry in outbox:
            if isinstance(entry, str):
                worker = self._workers.get(entry)
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
        fails, each of them gets its own exception); parts and status reports are then
        ingested concurrently, as :meth:`ingest` would. A repeat within the list is a
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
    ) -> Message:
        """The first message to ``number`` carrying a one-time code, received at or
        after ``since`` (default: now, so an old code is never returned), from
        ``sender`` when given. Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        return await self.wait_for_message(
            number=number, timeout=timeout, sender=sender, since=since, has_code=True
        )

    async def wait_for_message(
        self,
        *,
        timeout: float,
        number: str | None = None,
        sender: str | None = None,
        since: datetime | None = None,
        has_code: bool | None = None,
    ) -> Message:
        """The first message matching the filters received at or after ``since``
        (default: now): at once if one is already stored, else as soon as one commits.
        Raises :class:`TimeoutError` after ``timeout`` seconds."""
        since = datetime.now(UTC) if since is None else since
        message_filter = self._filter(None, number, sender)
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
    ) -> list[Message]:
        """Stored messages, newest first unless ``oldest_first``; ``after`` and
        ``before`` are message ids (exclusive), for paging. ``text`` keeps those whose
        content holds it, ignoring case in any script ("привет" finds "ПРИВЕТ")."""
        found = self._filter(None, number, sender)
        query = MessageQuery(
            tenant=self.config.tenant,
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

    async def delete_message(self, message_id: str) -> bool:
        """Delete a message with its raw payload and its deliveries (an open one is
        never attempted again); False when there is no such message. Its status reports
        stay, unlinked, and its carrier ids stay as a tombstone: a carrier's late retry
        of it is answered ``duplicate`` and nothing is stored."""
        return await self._store.delete_message(self.config.tenant, message_id)

    async def get(self, message_id: str) -> Message | None:
        """The message with this id, or None."""
        return await self._store.get_message(self.config.tenant, message_id)

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
    ) -> list[DeliveryRecord]:
        """The outbox: deliveries matching the filters, oldest first, after the delivery
        id ``after`` (for paging)."""
        found = await self._store.list_deliveries(
            self.config.tenant,
            message_id=message_id,
            destination=destination,
            status=status,
            after=after,
            limit=limit,
        )
        return list(found)

    async def delivery_attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        """Every attempt of one delivery: when, how long, the outcome, status and error."""
        return list(await self._store.delivery_attempts(self.config.tenant, delivery_id))

    async def replay(
        self,
        delivery_id: str | None = None,
        *,
        destination: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Send again: one delivery (whatever its state, unless under way), or every
        ``failed`` delivery of ``destination`` (optionally those created in ``[since,
        until)``). Each starts a fresh retry schedule; answers how many were replayed."""
        if delivery_id is None and destination is None:
            raise ValueError("name a delivery or a destination to replay")
        count = await self._store.replay_deliveries(
            self.config.tenant,
            delivery_id=delivery_id,
            destination=destination,
            since=since,
            until=until,
        )
        for worker in self._workers.values():
            worker.wake()
        return count

    async def disable_destination(self, name: str, reason: str) -> None:
        """Stop delivering to ``name``: its deliveries wait until it is enabled."""
        await self._store.set_destination_disabled(self._worker(name).name, reason)
        self._worker(name).disabled = reason

    async def enable_destination(self, name: str) -> None:
        """Deliver to ``name`` again (after a ``410 Gone`` or :meth:`disable_destination`);
        what waited is due at once."""
        worker = self._worker(name)
        await self._store.set_destination_disabled(name, None)
        worker.disabled = None
        worker.wake()

    @property
    def destination_names(self) -> tuple[str, ...]:
        """The destinations delivering (or disabled), by instance name: the config
        file's and those created at runtime."""
        return tuple(self._workers)

    # Destinations and routes at runtime (see engine._destinations) -----------------

    async def destinations(self) -> list[DestinationInfo]:
        """Every destination, the config file's first, secrets redacted."""
        return await self._destinations.infos()

    async def destination(self, name: str) -> DestinationInfo:
        """One destination, secrets redacted; :class:`KeyError` if there is none."""
        return await self._destinations.info(name)

    async def create_destination(
        self,
        name: str,
        adapter: str,
        *,
        config: Mapping[str, Any] | None = None,
        policy: DestinationPolicy | Mapping[str, Any] | None = None,
    ) -> DestinationInfo:
        """Create a destination and start delivering to it; stored, so it survives a
        restart. Raises :class:`~engine.errors.ConfigError` (``key``: ``name``,
        ``adapter``, ``config.<field>``, ``policy.<field>``) for a bad definition and
        :class:`~engine.errors.DefinitionConflictError` when the name is taken."""
        info, _ = await self._destinations.put(
            name, adapter, config or {}, _policy_settings(policy), create=True
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
    ) -> DestinationInfo:
        """Create or replace a destination (not one of the config file's). A
        replacement takes over at once; the old adapter's attempts in flight finish.
        ``expected_version``: only if it is still at this version (0: only if it does
        not exist), else :class:`~engine.errors.StaleVersionError`. A config value sent
        back as it was read (``[redacted]``) keeps the stored secret."""
        info, _ = await self._destinations.put(
            name, adapter, config or {}, _policy_settings(policy), expected_version=expected_version
        )
        return info

    async def patch_destination(
        self, name: str, changes: Mapping[str, Any], *, expected_version: int | None = None
    ) -> DestinationInfo:
        """Change a destination created at runtime by a JSON merge patch (RFC 7396) of
        its definition (``adapter``, ``config``, ``policy``): settings left out keep
        their stored values, secrets included. As :meth:`put_destination` otherwise."""
        return await self._destinations.patch(name, changes, expected_version=expected_version)

    async def delete_destination(
        self, name: str, *, expected_version: int | None = None, force: bool = False
    ) -> int:
        """Delete a destination created at runtime and stop its worker (the attempts in
        flight finish); answers how many of its deliveries are still open: they stay,
        and go out if a destination of the name exists again. Refused
        (:class:`~engine.errors.DefinitionConflictError`) while the routes name it,
        unless ``force``, which takes it out of the routes first."""
        return await self._destinations.delete(name, expected_version=expected_version, force=force)

    def routes(self) -> RoutesInfo:
        """The route table in force, and where it comes from."""
        return self._destinations.routes()

    async def set_routes(
        self, table: RouteTable | None, *, expected_version: int | None = None
    ) -> RoutesInfo:
        """Put ``table`` in force for the messages routed from now on (None: the
        config file's again); stored, so it survives a restart. Deliveries already
        committed keep their destinations. Raises
        :class:`~engine.errors.ConfigError` when it names a destination that does not
        exist, :class:`~engine.errors.StaleVersionError` when ``expected_version``
        does not hold."""
        return await self._destinations.set_routes(table, expected_version=expected_version)

    async def test_destination(
        self,
        name: str,
        *,
        content: str | None = None,
        sender: str | None = None,
        number: str | None = None,
    ) -> TestResult:
        """Deliver a sample message (flagged ``test``) to ``name`` once, now, outside
        the outbox: nothing is stored, retried or counted. Answers how it went."""
        return await self._destinations.test(name, content=content, sender=sender, number=number)

    async def delivery(self, delivery_id: str) -> DeliveryRecord | None:
        """One delivery of the outbox, or None."""
        return await self._store.get_delivery(self.config.tenant, delivery_id)

    async def disabled_destinations(self) -> dict[str, str]:
        """The disabled destinations and why."""
        return dict(await self._store.disabled_destinations())

    def _worker(self, name: str) -> DestinationWorker:
        worker = self._workers.get(name)
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
    config: Config | None = None, *, store: Store | None = None
) -> AsyncIterator[Septet]:
    """Run an engine: its store (``config.store`` under ``config.data_dir`` unless
    ``store`` is given), its reassembly sweeper and its configured carriers.

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
        septet = Septet(config, store, destinations)
        stack.push_async_callback(septet._destinations.aclose)
        await septet._destinations.load()
        if septet._workers:
            await store.recover_claims()
            disabled = await store.disabled_destinations()
            for name, worker in septet._workers.items():
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
                for worker in septet._workers.values():
                    await workers.start(worker.run)
                septet._destinations.attach(workers)
                await workers.start(report_outbox_depth, store, septet.metrics, septet._workers)
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
