"""The tenant's destinations and route table while the engine runs.

Two sources make them up:

* the **config file**: its ``destinations`` are read-only here (``source: "config"``;
  change them in the file and restart), and its ``routes`` are the table in force until
  one is set at runtime;
* the **store**: destinations created at runtime (``source: "api"``) and the route table
  last set at runtime, kept across restarts.

A name is used once: a runtime destination cannot take the name of one in the file. A
route table set at runtime replaces the file's whole table (rules and default) until it
is reset, which brings the file's back; either way, which one is in force is reported.

Changes take effect at once, without a restart. Creating a destination validates its
settings with the adapter's own ``Config``, builds the adapter and starts its outbox
worker. Replacing one starts the new worker and stops the old: the old one claims nothing
more and finishes the attempts in flight (each bounded by the policy's timeout), while
the new one picks up everything else from the store. Deleting one stops its worker the
same way and leaves its deliveries as they are (``pending`` ones wait, listed in the
outbox, for a destination of that name to exist again); it is refused while the route
table names it, unless the caller asks to take it out of the table too. A new route
table applies to messages routed after it is set; deliveries already committed keep the
destinations they were committed with.

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

__all__ = ["DestinationInfo", "DestinationSet", "RoutesInfo", "TestResult"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
"""The names a destination created at runtime may take (they appear in URLs and metrics)."""
_NAME = re.compile(NAME_PATTERN)

_log = structlog.get_logger("septet.delivery")

Source = Literal["config", "api"]


class DestinationInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A destination as the engine runs it, secrets redacted."""

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
    """The route table in force."""

    rules: tuple[RouteRule, ...]
    default: tuple[str, ...]
    source: Source
    """``config``: the config file's table; ``api``: the table set at runtime."""
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


class DestinationSet:
    """The destinations, their workers and the router of one engine; see the module
    docstring. Changes are made one at a time."""

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
        self._tenant = config.tenant
        self._store = store
        self._metrics = metrics
        self._config_routes = config.routes
        self.workers: dict[str, DestinationWorker] = {}
        """The running (or about to run) worker of each destination, by name."""
        self._entries: dict[str, _Entry] = {}
        for destination in config.destinations:
            adapter = adapters.get(destination.name)
            self._entries[destination.name] = _Entry("config", destination, adapter)
            if adapter is not None:
                self.workers[destination.name] = self._worker(destination, adapter)
        self._routes: StoredRoutes | None = None
        self._table = config.routes
        self.router = _router(config.routes)
        """The router of the table in force; None while it routes nowhere."""
        self._nursery: trio.Nursery | None = None
        self._lock = trio.Lock()
        self._retired: list[Destination] = []
        """Adapters whose worker is stopping; closed once it stopped (or at the end)."""

    # Lifecycle -------------------------------------------------------------------

    async def load(self) -> None:
        """Add what the store holds: the runtime destinations (built, their workers not
        yet running) and the route table. A stored destination that cannot be built is
        kept with its error, so the engine still starts and it can be fixed."""
        for stored in await self._store.destinations(self._tenant):
            if stored.name in self._entries:
                _log.warning(
                    "a stored destination has the name of one in the config file;"
                    " the config file's is used",
                    destination=stored.name,
                )
                continue
            self._entries[stored.name] = entry = _build(stored)
            if entry.definition is not None and entry.adapter is not None:
                self.workers[stored.name] = self._worker(entry.definition, entry.adapter)
        routes = await self._store.route_table(self._tenant)
        self._routes = routes
        if routes is None or routes.table is None:
            return
        try:
            table = msgspec.convert(routes.table, RouteTable)
        except msgspec.ValidationError as exc:
            key, reason = _validation_error_key(exc)
            _log.error(
                "the stored route table is not valid; the config file's is used",
                key=key,
                reason=reason,
            )
            return
        unknown = sorted(_named(table) - set(self._entries))
        if unknown:
            _log.warning(
                "the stored route table names destinations that do not exist;"
                " their deliveries wait until they do",
                destinations=unknown,
            )
        if self._config_routes.rules or self._config_routes.default:
            _log.info(
                "the route table set at runtime is in force, not the config file's",
                version=routes.version,
            )
        self._table = table
        self.router = _router(table)

    def attach(self, nursery: trio.Nursery) -> None:
        """Run the workers of destinations created from now on in ``nursery``."""
        self._nursery = nursery

    async def aclose(self) -> None:
        """Close the adapters of runtime destinations (the config file's are the
        engine's to close)."""
        self._nursery = None
        adapters = [e.adapter for e in self._entries.values() if e.source == "api"]
        adapters += self._retired
        self._retired = []
        for adapter in adapters:
            if adapter is not None:
                await _close(adapter)

    # Reading ---------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """Every destination's name, the config file's first."""
        return tuple(self._entries)

    async def infos(self) -> list[DestinationInfo]:
        disabled = await self._store.disabled_destinations()
        return [self._info(name, entry, disabled) for name, entry in self._entries.items()]

    async def info(self, name: str) -> DestinationInfo:
        entry = self._entry(name)
        return self._info(name, entry, await self._store.disabled_destinations())

    def routes(self) -> RoutesInfo:
        stored = self._routes
        source: Source = "api" if stored is not None and stored.table is not None else "config"
        return RoutesInfo(
            rules=self._table.rules,
            default=self._table.default,
            source=source,
            version=0 if stored is None else stored.version,
            updated_at=None if stored is None else stored.updated_at,
        )

    # Changing ----------------------------------------------------------------------

    async def put(
        self,
        name: str,
        adapter: str,
        config: Mapping[str, Any],
        policy: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        create: bool = False,
    ) -> tuple[DestinationInfo, bool]:
        """Create or replace the runtime destination ``name``; answers it and whether it
        was created. ``expected_version`` 0 means "only if it does not exist"."""
        async with self._lock:
            return await self._put(
                name, adapter, config, policy, expected_version=expected_version, create=create
            )

    async def patch(
        self, name: str, changes: Mapping[str, Any], *, expected_version: int | None = None
    ) -> DestinationInfo:
        """Change the runtime destination ``name`` by a JSON merge patch (RFC 7396) of
        its definition (``adapter``, ``config``, ``policy``)."""
        async with self._lock:
            entry = self._entry(name)
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
        name: str,
        adapter: str,
        config: Mapping[str, Any],
        policy: Mapping[str, Any],
        *,
        expected_version: int | None,
        create: bool,
    ) -> tuple[DestinationInfo, bool]:
        nursery = self._running()
        entry = self._entries.get(name)
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
        disabled = (await self._store.disabled_destinations()).get(name)
        settings = dict(config)
        if entry is not None and entry.stored is not None and entry.stored.adapter == adapter:
            settings = restore_redacted(settings, entry.stored.config, entry.config_type)
        built = _load(name, adapter, settings)
        try:
            stored = await self._store.put_destination(
                self._tenant,
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
        worker = self._worker(definition, built)
        worker.disabled = disabled
        await nursery.start(worker.run)
        old_worker = self.workers.get(name)
        self.workers[name] = worker
        self._entries[name] = created = _Entry("api", definition, built, stored=stored)
        self._retire(nursery, old_worker, None if entry is None else entry.adapter)
        _log.info(
            "destination created" if entry is None else "destination replaced",
            destination=name,
            adapter=adapter,
            version=stored.version,
        )
        shown = self._info(name, created, {} if disabled is None else {name: disabled})
        return shown, entry is None

    async def delete(
        self, name: str, *, expected_version: int | None = None, force: bool = False
    ) -> int:
        """Delete the runtime destination ``name``; answers how many of its deliveries
        are still open (they wait, untouched). With ``force``, a route table naming it
        is changed first to name it no more (rules left with no destination go)."""
        async with self._lock:
            nursery = self._running()
            entry = self._entry(name)
            if entry.source == "config":
                raise DefinitionConflictError(
                    f"the destination {name!r} is defined in the config file; remove it there"
                )
            if expected_version is not None and expected_version != entry.version:
                raise _stale(name, entry.version)
            naming = _naming(self._table, name)
            if naming and not force:
                raise DefinitionConflictError(
                    f"the routes name {name!r} ({', '.join(naming)}); change the routes"
                    " first, or delete with force to take it out of them"
                )
            if naming:
                await self._set_routes(_without(self._table, name), self._routes_version())
            if not await self._store.delete_destination(
                self._tenant, name, expected_version=entry.version
            ):
                raise _stale(name, None)
            del self._entries[name]
            self._retire(nursery, self.workers.pop(name, None), entry.adapter)
            for gauge in (self._metrics.outbox_depth, self._metrics.outbox_oldest):
                with contextlib.suppress(KeyError):
                    gauge.remove(name)
            _log.info("destination deleted", destination=name, version=entry.version)
        count, _ = (await self._store.outbox_depth()).get(name, (0, None))
        return count

    async def set_routes(
        self, table: RouteTable | None, *, expected_version: int | None = None
    ) -> RoutesInfo:
        """Put ``table`` in force (None: the config file's again)."""
        async with self._lock:
            self._running()
            current = self._routes_version()
            if expected_version is not None and expected_version != current:
                raise StaleVersionError(
                    f"the routes are at version {current}, not {expected_version}"
                )
            if table is not None:
                try:
                    _check_route_destinations(table, self._entries, key="routes")
                except ConfigError as exc:
                    key = (exc.key or "").removeprefix("routes.")
                    raise ConfigError(exc.reason, key=key) from None
            await self._set_routes(table, current)
            return self.routes()

    async def _set_routes(self, table: RouteTable | None, expected_version: int) -> None:
        router = _router(self._config_routes if table is None else table)
        stored = await self._store.put_route_table(
            self._tenant,
            None if table is None else msgspec.to_builtins(table),
            expected_version=expected_version,
        )
        if stored is None:
            raise StaleVersionError("the routes were changed meanwhile; read them again")
        self._routes = stored
        self._table = self._config_routes if table is None else table
        self.router = router
        _log.info(
            "route table set", source="config" if table is None else "api", version=stored.version
        )

    # Test-fire ---------------------------------------------------------------------

    async def test(
        self,
        name: str,
        *,
        content: str | None = None,
        sender: str | None = None,
        number: str | None = None,
    ) -> TestResult:
        """Deliver a sample message to ``name`` once, now, outside the outbox: no
        delivery row, no retry, no attempt log, no breaker or rate limit."""
        entry = self._entry(name)
        if entry.adapter is None or entry.definition is None:
            raise DefinitionConflictError(
                f"the destination {name!r} is not running: {entry.error or 'not started'}"
            )
        return await fire_test(
            entry.adapter,
            name,
            self._tenant,
            entry.definition.policy.timeout_seconds,
            content=content,
            sender=sender,
            number=number,
        )

    # Internals ---------------------------------------------------------------------

    def _worker(self, definition: DestinationConfig, adapter: Destination) -> DestinationWorker:
        return DestinationWorker(
            definition.name,
            adapter,
            definition.policy,
            self._store,
            self._metrics,
            deleted=self._deleted,
        )

    def _running(self) -> trio.Nursery:
        if self._nursery is None:
            raise EngineClosedError("the engine is not running")
        return self._nursery

    def _entry(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is None:
            raise KeyError(f"no destination is named {name!r}")
        return entry

    def _routes_version(self) -> int:
        return 0 if self._routes is None else self._routes.version

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


def _build(stored: StoredDestination) -> _Entry:
    """The entry of a stored destination, its adapter built (or the reason it was not)."""
    try:
        policy = _parse_policy(stored.policy)
        adapter = _load(stored.name, stored.adapter, stored.config)
    except (ConfigError, PluginError) as exc:
        _log.error(
            "a stored destination cannot be started; its deliveries wait",
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
