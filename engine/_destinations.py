"""Every tenant's destinations and route table while the engine runs.

Each tenant has its own: a destination is named within its tenant (two tenants may both
have one called ``hooks``), and each committed message is routed by its own tenant's
table (:attr:`DestinationSet.tenants`, one dict lookup on the ingest path) to its own
tenant's destinations only. The quarantine has none, so its messages are delivered
nowhere. A tenant that never had a destination or a route table costs nothing: it is
absent from that dict and has no worker.

Two sources make them up:

* the **config file**: its ``destinations`` and ``routes`` are the receiving tenant's
  (``Config.tenant``, the one messages are filed under by default); its destinations
  are read-only here (``source: "config"``; change them in the file and restart), and
  its ``routes`` are the table in force until one is set at runtime;
* the **store**: destinations created at runtime (``source: "api"``) and the route table
  last set at runtime, per tenant, kept across restarts.

A name is used once within a tenant: a runtime destination of the receiving tenant
cannot take the name of one in the file. A route table set at runtime replaces the
file's whole table (rules and default) until it is reset, which brings the file's back
(for another tenant, an empty table: its messages stay in its inbox); either way, which
one is in force is reported.

Changes take effect at once, without a restart. Creating a destination validates its
settings with the adapter's own ``Config``, builds the adapter and starts its outbox
worker, which claims that tenant's deliveries to that name only. Replacing one starts
the new worker and stops the old: the old one claims nothing more and finishes the
attempts in flight (each bounded by the policy's timeout), while the new one picks up
everything else from the store. Deleting one stops its worker the same way and leaves
its deliveries as they are (``pending`` ones wait, listed in the outbox, for a
destination of that name to exist again in that tenant); it is refused while the
tenant's route table names it, unless the caller asks to take it out of the table too.
A new route table applies to messages routed after it is set; deliveries already
committed keep the destinations they were committed with.

Secrets never leave through :class:`DestinationInfo`: the fields an adapter's ``Config``
lists in ``redacted_fields``, fields whose names say they hold one (``password``,
``secret``, ``token``, ...) and the path and query of URLs (where Slack and Discord keep
their tokens) read ``[redacted]``. Sending such a value back unchanged keeps the stored
one, so a client may edit what it read.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

import msgspec
import structlog
import trio

from ._metrics import EngineMetrics
from ._numbers import QUARANTINE_TENANTS
from ._redaction import merge_patch, redact_settings, restore_redacted
from ._test_fire import TestResult, fire_test
from .config import Config, DestinationConfig, _validation_error_key
from .delivery import DestinationPolicy, DestinationWorker, Router, RouteRule, RouteTable
from .delivery import check_route_destinations as _check_route_destinations
from .errors import (
    ConfigError,
    DefinitionConflictError,
    EngineClosedError,
    PluginError,
    StaleVersionError,
)
from .plugin_api import Destination
from .store import Store, StoredDestination, StoredRoutes

__all__ = ["DestinationInfo", "DestinationSet", "RoutesInfo", "TenantRouting", "TestResult"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
"""The names a destination created at runtime may take (they appear in URLs and metrics)."""
_NAME = re.compile(NAME_PATTERN)

_log = structlog.get_logger("septet.delivery")

Source = Literal["config", "api"]


class DestinationInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A tenant's destination as the engine runs it, secrets redacted."""

    name: str
    adapter: str
    config: dict[str, Any]
    """The adapter's settings, secrets reading ``[redacted]``."""
    policy: DestinationPolicy
    source: Source
    """``config``: from the config file (read-only here); ``api``: created at runtime."""
    version: int
    """The stored version (the ETag); 0 for the config file's."""
    created_at: datetime | None
    updated_at: datetime | None
    disabled: str | None
    """Why deliveries to it are held, or null while it delivers."""
    error: str | None
    """Why it could not be started (its deliveries wait), or null."""


class RoutesInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A tenant's route table in force."""

    rules: tuple[RouteRule, ...]
    default: tuple[str, ...]
    source: Source
    """``config``: the config file's table (for a tenant other than the receiving one,
    an empty table routing nowhere); ``api``: the table set at runtime."""
    version: int
    """The stored version (the ETag); 0 while nothing was ever set at runtime."""
    updated_at: datetime | None


class _Entry:
    """One destination: its definition and, once started, its adapter."""

    __slots__ = ("adapter", "config_type", "definition", "error", "source", "stored")

    def __init__(
        self,
        source: Source,
        definition: DestinationConfig | None,
        adapter: Destination | None,
        *,
        stored: StoredDestination | None = None,
        error: str | None = None,
    ) -> None:
        self.source = source
        self.definition = definition
        self.adapter = adapter
        self.stored = stored
        self.error = error
        config_type = getattr(type(adapter), "Config", None) if adapter is not None else None
        self.config_type: type | None = config_type if isinstance(config_type, type) else None

    @property
    def version(self) -> int:
        return 0 if self.stored is None else self.stored.version


class TenantRouting:
    """One tenant's destinations, their workers and its route table.

    The ingest path reads :attr:`router` and :attr:`workers` for every message of the
    tenant; a change replaces the router whole, never edits it in place.
    """

    __slots__ = (
        "config_table",
        "entries",
        "receiving",
        "router",
        "stored_routes",
        "table",
        "workers",
    )

    def __init__(self, config_table: RouteTable, *, receiving: bool) -> None:
        self.receiving = receiving
        """Whether this is the receiving tenant (``Config.tenant``), whose destinations
        and routes the config file may define."""
        self.entries: dict[str, _Entry] = {}
        self.workers: dict[str, DestinationWorker] = {}
        """The running (or about to run) worker of each destination, by name."""
        self.config_table = config_table
        """The table in force while none is set at runtime: the config file's for the
        receiving tenant, an empty one (routing nowhere) for the others."""
        self.stored_routes: StoredRoutes | None = None
        self.table = config_table
        self.router = _router(config_table)
        """The router of the table in force; None while it routes nowhere."""

    @property
    def routes_version(self) -> int:
        return 0 if self.stored_routes is None else self.stored_routes.version


_NO_ROUTES = RouteTable()


class DestinationSet:
    """The destinations, workers and routers of every tenant of one engine; see the
    module docstring. Changes are made one at a time."""

    def __init__(
        self,
        config: Config,
        store: Store,
        metrics: EngineMetrics,
        adapters: Mapping[str, Destination],
        deleted: Callable[[str], bool] = lambda message_id: False,
    ) -> None:
        self._deleted = deleted
        """Whether a message was deleted (its claimed deliveries are dropped)."""
        self._receiving = config.tenant
        self._store = store
        self._metrics = metrics
        receiving = TenantRouting(config.routes, receiving=True)
        for destination in config.destinations:
            adapter = adapters.get(destination.name)
            receiving.entries[destination.name] = _Entry("config", destination, adapter)
            if adapter is not None:
                receiving.workers[destination.name] = self._worker(
                    receiving, config.tenant, destination, adapter
                )
        self.tenants: dict[str, TenantRouting] = {config.tenant: receiving}
        """Each tenant that has destinations or routes, by id: what the ingest path
        routes a message by (a tenant absent here routes nowhere)."""
        self._nursery: trio.Nursery | None = None
        self._lock = trio.Lock()
        self._retired: list[Destination] = []
        """Adapters whose worker is stopping; closed once it stopped (or at the end)."""

    @property
    def receiving(self) -> TenantRouting:
        """The receiving tenant's (``Config.tenant``): the config file's destinations."""
        return self.tenants[self._receiving]

    # Lifecycle -------------------------------------------------------------------

    async def load(self) -> None:
        """Add what the store holds: every tenant's runtime destinations (built, their
        workers not yet running) and route table. A stored destination that cannot be
        built is kept with its error, so the engine still starts and it can be fixed.
        A tenant with neither is not kept: it costs the ingest path nothing."""
        await self._load(self._receiving)
        for tenant in await self._store.tenants():
            if tenant.id != self._receiving:
                await self._load(tenant.id)

    async def _load(self, tenant: str) -> TenantRouting:
        """The tenant's destinations and routes as stored; kept (in :attr:`tenants`)
        when there are any, or when it is the receiving tenant."""
        own = self.tenants.get(tenant)
        if own is None:
            own = TenantRouting(_NO_ROUTES, receiving=False)
        for stored in await self._store.destinations(tenant):
            if stored.name in own.entries:
                _log.warning(
                    "a stored destination has the name of one in the config file;"
                    " the config file's is used",
                    destination=stored.name,
                )
                continue
            own.entries[stored.name] = entry = _build(stored, tenant)
            if entry.definition is not None and entry.adapter is not None:
                own.workers[stored.name] = self._worker(
                    own, tenant, entry.definition, entry.adapter
                )
        own.stored_routes = routes = await self._store.route_table(tenant)
        if own.entries or routes is not None or own.receiving:
            self.tenants[tenant] = own
        if routes is None or routes.table is None:
            return own
        try:
            table = msgspec.convert(routes.table, RouteTable)
        except msgspec.ValidationError as exc:
            key, reason = _validation_error_key(exc)
            _log.error(
                "the stored route table is not valid; the config file's is used",
                tenant=tenant,
                key=key,
                reason=reason,
            )
            return own
        unknown = sorted(_named(table) - set(own.entries))
        if unknown:
            _log.warning(
                "the stored route table names destinations that do not exist;"
                " their deliveries wait until they do",
                tenant=tenant,
                destinations=unknown,
            )
        if own.config_table.rules or own.config_table.default:
            _log.info(
                "the route table set at runtime is in force, not the config file's",
                version=routes.version,
            )
        own.table = table
        own.router = _router(table)
        return own

    def attach(self, nursery: trio.Nursery) -> None:
        """Run the workers of destinations created from now on in ``nursery``."""
        self._nursery = nursery

    def all_workers(self) -> list[DestinationWorker]:
        """The worker of every destination of every tenant."""
        return [worker for own in self.tenants.values() for worker in own.workers.values()]

    def workers_of(self, tenant: str) -> Mapping[str, DestinationWorker]:
        """The workers of ``tenant``'s destinations, by name (empty when it has none)."""
        own = self.tenants.get(tenant)
        return {} if own is None else own.workers

    async def aclose(self) -> None:
        """Close the adapters of runtime destinations (the config file's are the
        engine's to close)."""
        self._nursery = None
        adapters = [
            entry.adapter
            for own in self.tenants.values()
            for entry in own.entries.values()
            if entry.source == "api"
        ]
        adapters += self._retired
        self._retired = []
        for adapter in adapters:
            if adapter is not None:
                await _close(adapter)

    # Reading ---------------------------------------------------------------------

    def names(self, tenant: str) -> tuple[str, ...]:
        """Every destination's name of ``tenant``, the config file's first."""
        own = self.tenants.get(tenant)
        return () if own is None else tuple(own.entries)

    async def infos(self, tenant: str) -> list[DestinationInfo]:
        own = self.tenants.get(tenant)
        if own is None or not own.entries:
            return []
        disabled = await self._disabled(own, tenant)
        return [self._info(name, entry, disabled) for name, entry in own.entries.items()]

    async def info(self, tenant: str, name: str) -> DestinationInfo:
        own, entry = self._entry(tenant, name)
        return self._info(name, entry, await self._disabled(own, tenant))

    def routes(self, tenant: str) -> RoutesInfo:
        own = self.tenants.get(tenant)
        if own is None:
            return RoutesInfo(rules=(), default=(), source="config", version=0, updated_at=None)
        stored = own.stored_routes
        source: Source = "api" if stored is not None and stored.table is not None else "config"
        return RoutesInfo(
            rules=own.table.rules,
            default=own.table.default,
            source=source,
            version=0 if stored is None else stored.version,
            updated_at=None if stored is None else stored.updated_at,
        )

    # Changing ----------------------------------------------------------------------

    async def put(
        self,
        tenant: str,
        name: str,
        adapter: str,
        config: Mapping[str, Any],
        policy: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        create: bool = False,
    ) -> tuple[DestinationInfo, bool]:
        """Create or replace the runtime destination ``name`` of ``tenant``; answers it
        and whether it was created. ``expected_version`` 0 means "only if it does not
        exist"."""
        async with self._lock:
            own = await self._own(tenant)
            return await self._put(
                own,
                tenant,
                name,
                adapter,
                config,
                policy,
                expected_version=expected_version,
                create=create,
            )

    async def patch(
        self,
        tenant: str,
        name: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> DestinationInfo:
        """Change the runtime destination ``name`` of ``tenant`` by a JSON merge patch
        (RFC 7396) of its definition (``adapter``, ``config``, ``policy``)."""
        async with self._lock:
            own, entry = self._entry(tenant, name)
            if entry.stored is None:
                raise DefinitionConflictError(
                    f"the destination {name!r} is defined in the config file; change it there"
                )
            if expected_version is not None and expected_version != entry.version:
                raise _stale(name, entry.version)
            stored = entry.stored
            current = {"adapter": stored.adapter, "config": stored.config, "policy": stored.policy}
            merged = merge_patch(current, dict(changes))
            adapter = merged.get("adapter")
            if not isinstance(adapter, str):
                raise ConfigError("a destination needs an adapter (a string)", key="adapter")
            info, _ = await self._put(
                own,
                tenant,
                name,
                adapter,
                _object(merged.get("config"), "config"),
                _object(merged.get("policy"), "policy"),
                expected_version=entry.version,
                create=False,
            )
            return info

    async def _put(
        self,
        own: TenantRouting,
        tenant: str,
        name: str,
        adapter: str,
        config: Mapping[str, Any],
        policy: Mapping[str, Any],
        *,
        expected_version: int | None,
        create: bool,
    ) -> tuple[DestinationInfo, bool]:
        nursery = self._running()
        entry = own.entries.get(name)
        if entry is not None and entry.source == "config":
            raise DefinitionConflictError(
                f"the destination {name!r} is defined in the config file; change it there"
            )
        if create and entry is not None:
            raise DefinitionConflictError(f"a destination named {name!r} exists")
        current = 0 if entry is None else entry.version
        if expected_version is not None and expected_version != current:
            raise _stale(name, current)
        if _NAME.fullmatch(name) is None:
            raise ConfigError(
                "must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
                key="name",
            )
        parsed_policy = _parse_policy(policy)
        disabled = (await self._disabled(own, tenant)).get(name)
        settings = dict(config)
        if entry is not None and entry.stored is not None and entry.stored.adapter == adapter:
            settings = restore_redacted(settings, entry.stored.config, entry.config_type)
        built = _load(name, adapter, settings)
        try:
            stored = await self._store.put_destination(
                tenant,
                name,
                adapter=adapter,
                config=settings,
                policy=dict(policy),
                expected_version=current,
            )
        except BaseException:
            with trio.CancelScope(shield=True):
                await _close(built)
            raise
        if stored is None:
            with trio.CancelScope(shield=True):
                await _close(built)
            raise _stale(name, None)
        definition = DestinationConfig(
            name=name, adapter=adapter, config=settings, policy=parsed_policy
        )
        worker = self._worker(own, tenant, definition, built)
        worker.disabled = disabled
        await nursery.start(worker.run)
        old_worker = own.workers.get(name)
        own.workers[name] = worker
        own.entries[name] = created = _Entry("api", definition, built, stored=stored)
        self.tenants.setdefault(tenant, own)  # the ingest path routes by it from now on
        self._retire(nursery, old_worker, None if entry is None else entry.adapter)
        _log.info(
            "destination created" if entry is None else "destination replaced",
            tenant=tenant,
            destination=name,
            adapter=adapter,
            version=stored.version,
        )
        shown = self._info(name, created, {} if disabled is None else {name: disabled})
        return shown, entry is None

    async def delete(
        self,
        tenant: str,
        name: str,
        *,
        expected_version: int | None = None,
        force: bool = False,
    ) -> int:
        """Delete the runtime destination ``name`` of ``tenant``; answers how many of its
        deliveries are still open (they wait, untouched). With ``force``, a route table
        naming it is changed first to name it no more (rules left with no destination
        go)."""
        async with self._lock:
            nursery = self._running()
            own, entry = self._entry(tenant, name)
            if entry.source == "config":
                raise DefinitionConflictError(
                    f"the destination {name!r} is defined in the config file; remove it there"
                )
            if expected_version is not None and expected_version != entry.version:
                raise _stale(name, entry.version)
            naming = _naming(own.table, name)
            if naming and not force:
                raise DefinitionConflictError(
                    f"the routes name {name!r} ({', '.join(naming)}); change the routes"
                    " first, or delete with force to take it out of them"
                )
            if naming:
                await self._set_routes(own, tenant, _without(own.table, name), own.routes_version)
            if not await self._store.delete_destination(
                tenant, name, expected_version=entry.version
            ):
                raise _stale(name, None)
            del own.entries[name]
            worker = own.workers.pop(name, None)
            self._retire(nursery, worker, entry.adapter)
            if worker is not None and own.receiving:
                for gauge in (self._metrics.outbox_depth, self._metrics.outbox_oldest):
                    with contextlib.suppress(KeyError):
                        gauge.remove(worker.label)
            _log.info("destination deleted", tenant=tenant, destination=name, version=entry.version)
        count, _ = (await self._store.outbox_depth(tenant)).get(name, (0, None))
        return count

    async def set_routes(
        self, tenant: str, table: RouteTable | None, *, expected_version: int | None = None
    ) -> RoutesInfo:
        """Put ``table`` in force for ``tenant`` (None: the config file's again, which
        routes nowhere for a tenant other than the receiving one)."""
        async with self._lock:
            self._running()
            own = await self._own(tenant)
            current = own.routes_version
            if expected_version is not None and expected_version != current:
                raise StaleVersionError(
                    f"the routes are at version {current}, not {expected_version}"
                )
            if table is not None:
                try:
                    _check_route_destinations(table, own.entries, key="routes")
                except ConfigError as exc:
                    key = (exc.key or "").removeprefix("routes.")
                    raise ConfigError(exc.reason, key=key) from None
            await self._set_routes(own, tenant, table, current)
            self.tenants.setdefault(tenant, own)
            return self.routes(tenant)

    async def _set_routes(
        self,
        own: TenantRouting,
        tenant: str,
        table: RouteTable | None,
        expected_version: int,
    ) -> None:
        router = _router(own.config_table if table is None else table)
        stored = await self._store.put_route_table(
            tenant,
            None if table is None else msgspec.to_builtins(table),
            expected_version=expected_version,
        )
        if stored is None:
            raise StaleVersionError("the routes were changed meanwhile; read them again")
        own.stored_routes = stored
        own.table = own.config_table if table is None else table
        own.router = router
        _log.info(
            "route table set",
            tenant=tenant,
            source="config" if table is None else "api",
            version=stored.version,
        )

    # Test-fire ---------------------------------------------------------------------

    async def test(
        self,
        tenant: str,
        name: str,
        *,
        content: str | None = None,
        sender: str | None = None,
        number: str | None = None,
    ) -> TestResult:
        """Deliver a sample message to ``name`` of ``tenant`` once, now, outside the
        outbox: no delivery row, no retry, no attempt log, no breaker or rate limit."""
        _, entry = self._entry(tenant, name)
        if entry.adapter is None or entry.definition is None:
            raise DefinitionConflictError(
                f"the destination {name!r} is not running: {entry.error or 'not started'}"
            )
        return await fire_test(
            entry.adapter,
            name,
            tenant,
            entry.definition.policy.timeout_seconds,
            content=content,
            sender=sender,
            number=number,
        )

    # Internals ---------------------------------------------------------------------

    def _worker(
        self,
        own: TenantRouting,
        tenant: str,
        definition: DestinationConfig,
        adapter: Destination,
    ) -> DestinationWorker:
        return DestinationWorker(
            definition.name,
            adapter,
            definition.policy,
            self._store,
            self._metrics,
            deleted=self._deleted,
            tenant=tenant,
            receiving=own.receiving,
        )

    async def _own(self, tenant: str) -> TenantRouting:
        """The tenant's destinations and routes, to change them: read from the store
        the first time (kept in :attr:`tenants` once something is set)."""
        if tenant in QUARANTINE_TENANTS.values():
            raise DefinitionConflictError(
                "the quarantine has no destinations: its messages are delivered nowhere"
            )
        own = self.tenants.get(tenant)
        if own is None:
            # Only a tenant that exists may have destinations: at start they are found
            # through the tenants (see :meth:`load`).
            if await self._store.get_tenant(tenant) is None:
                raise KeyError(f"no tenant is named {tenant!r}")
            own = await self._load(tenant)
            nursery = self._running()
            disabled = await self._disabled(own, tenant) if own.workers else {}
            for name, worker in own.workers.items():  # stored ones, unseen until now
                worker.disabled = disabled.get(name)
                await nursery.start(worker.run)
        return own

    async def _disabled(self, own: TenantRouting, tenant: str) -> Mapping[str, str]:
        """The tenant's disabled destinations (the receiving tenant's are kept as such)."""
        return await self._store.disabled_destinations(None if own.receiving else tenant)

    def _running(self) -> trio.Nursery:
        if self._nursery is None:
            raise EngineClosedError("the engine is not running")
        return self._nursery

    def _entry(self, tenant: str, name: str) -> tuple[TenantRouting, _Entry]:
        own = self.tenants.get(tenant)
        entry = None if own is None else own.entries.get(name)
        if own is None or entry is None:
            raise KeyError(f"no destination is named {name!r}")
        return own, entry

    def _retire(
        self,
        nursery: trio.Nursery,
        worker: DestinationWorker | None,
        adapter: Destination | None,
    ) -> None:
        """Stop ``worker`` (its attempts in flight finish), then close ``adapter``."""
        if worker is not None:
            worker.stop()
        if adapter is None:
            return
        self._retired.append(adapter)

        async def close_when_stopped() -> None:
            if worker is not None:
                await worker.stopped.wait()
            if adapter in self._retired:
                self._retired.remove(adapter)
                await _close(adapter)

        nursery.start_soon(close_when_stopped)

    def _info(self, name: str, entry: _Entry, disabled: Mapping[str, str]) -> DestinationInfo:
        definition = entry.definition
        stored = entry.stored
        if definition is not None:
            adapter, settings, policy = (
                definition.adapter,
                definition.config,
                definition.policy,
            )
        else:
            assert stored is not None  # only a stored one can fail to be built
            adapter, settings = stored.adapter, stored.config
            policy = _policy_or_default(stored.policy)
        return DestinationInfo(
            name=name,
            adapter=adapter,
            config=redact_settings(settings, entry.config_type),
            policy=policy,
            source=entry.source,
            version=entry.version,
            created_at=None if stored is None else stored.created_at,
            updated_at=None if stored is None else stored.updated_at,
            disabled=disabled.get(name),
            error=entry.error,
        )


# Helpers -----------------------------------------------------------------------------


def _object(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("must be an object", key=key)
    return value


def _build(stored: StoredDestination, tenant: str) -> _Entry:
    """The entry of a stored destination, its adapter built (or the reason it was not)."""
    try:
        policy = _parse_policy(stored.policy)
        adapter = _load(stored.name, stored.adapter, stored.config)
    except (ConfigError, PluginError) as exc:
        _log.error(
            "a stored destination cannot be started; its deliveries wait",
            tenant=tenant,
            destination=stored.name,
            error=str(exc),
        )
        return _Entry("api", None, None, stored=stored, error=str(exc))
    definition = DestinationConfig(
        name=stored.name, adapter=stored.adapter, config=stored.config, policy=policy
    )
    return _Entry("api", definition, adapter, stored=stored)


def _load(name: str, adapter: str, settings: Mapping[str, Any]) -> Destination:
    """Build the adapter; a bad setting's key is relative to the definition
    (``config.url``, ``adapter``)."""
    from .plugins import load_destination

    try:
        return load_destination(name, adapter, settings)
    except ConfigError as exc:
        key = (exc.key or "").removeprefix(f"destinations.{name}.")
        raise ConfigError(exc.reason, key=key or None) from None
    except PluginError as exc:
        raise ConfigError(str(exc), key="adapter") from None


def _parse_policy(policy: Mapping[str, Any]) -> DestinationPolicy:
    try:
        return msgspec.convert(dict(policy), DestinationPolicy)
    except msgspec.ValidationError as exc:
        key, reason = _validation_error_key(exc)
        raise ConfigError(reason, key=f"policy.{key}" if key else "policy") from None


def _policy_or_default(policy: Mapping[str, Any]) -> DestinationPolicy:
    try:
        return _parse_policy(policy)
    except ConfigError:
        return DestinationPolicy()


def _router(table: RouteTable) -> Router | None:
    return Router(table) if table.rules or table.default else None


def _named(table: RouteTable) -> set[str]:
    return {*table.default, *(d for rule in table.rules for d in rule.destinations)}


def _naming(table: RouteTable, name: str) -> list[str]:
    """Where ``table`` names ``name``: ``rule 'codes'``, ``the default``."""
    found = [f"rule {rule.name!r}" for rule in table.rules if name in rule.destinations]
    if name in table.default:
        found.append("the default")
    return found


def _without(table: RouteTable, name: str) -> RouteTable:
    rules = []
    for rule in table.rules:
        kept = tuple(d for d in rule.destinations if d != name)
        if kept:
            rules.append(msgspec.structs.replace(rule, destinations=kept))
    return RouteTable(rules=tuple(rules), default=tuple(d for d in table.default if d != name))


def _stale(name: str, current: int | None) -> StaleVersionError:
    if current is None:
        return StaleVersionError(f"the destination {name!r} was changed meanwhile; read it again")
    if current == 0:
        return StaleVersionError(f"no destination named {name!r} is stored")
    return StaleVersionError(f"the destination {name!r} is at version {current}")


async def _close(adapter: Destination) -> None:
    with trio.CancelScope(shield=True):
        try:
            await adapter.aclose()
        except Exception:
            _log.exception("closing a destination adapter failed", destination=adapter.name)
