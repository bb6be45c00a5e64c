"""The plugin registry: carriers and destinations found through entry points.

Plugins are installed distributions that declare an entry point in the group
``septet.carriers`` or ``septet.destinations`` (Septet's built-in adapters are
registered the same way). The entry-point name is the ``adapter`` named in the config;
the engine never imports an adapter module by name, it asks this registry.

Loading a plugin checks, before anything runs, that it

* imports (an exception while importing names the distribution, its version and the
  original error);
* is a class declaring the :data:`~engine.plugin_api.API_VERSION` this engine speaks;
* has a msgspec ``Config`` Struct that the instance's settings validate against (a bad
  setting is a :class:`~engine.errors.ConfigError` naming its key, such as
  ``carriers.sms1.config.socket``);
* builds an object that has the shape of the Protocol.

Every failure to load is a :class:`~engine.errors.PluginError` naming the distribution,
its version and the reason, or a :class:`~engine.errors.ConfigError` for bad settings.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

import msgspec

from ._webhooks import WebhookCarrier as _WebhookCarrier
from .config import CarrierConfig, _validation_error_key
from .errors import ConfigError, PluginError
from .plugin_api import API_VERSION, Carrier, Destination

__all__ = [
    "CARRIER_GROUP",
    "DESTINATION_GROUP",
    "PluginInfo",
    "available_carriers",
    "available_destinations",
    "load_carrier",
    "load_carriers",
    "load_destination",
]

CARRIER_GROUP = "septet.carriers"
DESTINATION_GROUP = "septet.destinations"


class PluginInfo(msgspec.Struct, frozen=True, kw_only=True):
    """An installed plugin, as its distribution declares it (nothing imported yet)."""

    name: str
    """The entry-point name: the ``adapter`` in the config."""
    group: str
    """``septet.carriers`` or ``septet.destinations``."""
    distribution: str | None
    """The distribution that declares it; None when unknown."""
    version: str | None
    target: str
    """Where the class lives, ``module:attr``."""

    def describe(self) -> str:
        """``plugin 'sandbox' (septet 0.1.0, adapters.carriers.sandbox:SandboxCarrier)``."""
        origin = " ".join(part for part in (self.distribution, self.version) if part)
        return f"plugin {self.name!r} ({origin or 'unknown distribution'}, {self.target})"


def available_carriers() -> Mapping[str, PluginInfo]:
    """The installed carrier adapters, by entry-point name."""
    return {name: _info(point) for name, point in _entry_points(CARRIER_GROUP).items()}


def available_destinations() -> Mapping[str, PluginInfo]:
    """The installed destination adapters, by entry-point name."""
    return {name: _info(point) for name, point in _entry_points(DESTINATION_GROUP).items()}


def load_carrier(config: CarrierConfig) -> Carrier | _WebhookCarrier:
    """Build the carrier an instance of the config describes; nothing runs yet.

    Raises :class:`ConfigError` for an unknown adapter or bad settings (the key is
    ``carriers.<name>.adapter`` or ``carriers.<name>.config.<field>``) and
    :class:`PluginError` for a plugin that cannot be imported or used.
    """
    instance = _load(CARRIER_GROUP, config.name, config.adapter, config.config, "carriers")
    if not isinstance(instance, Carrier | _WebhookCarrier):
        raise PluginError(
            f"{_describe(CARRIER_GROUP, config.adapter)}: {_NOT_PROTOCOL} Carrier"
            " (or WebhookCarrier)"
        )
    return instance


def load_carriers(configs: Iterable[CarrierConfig]) -> list[Carrier | _WebhookCarrier]:
    """Build every configured carrier, validating them all before returning any.

    Instance names must be unique (:class:`ConfigError` naming the second one).
    """
    configs = tuple(configs)
    seen: set[str] = set()
    for index, config in enumerate(configs):
        if config.name in seen:
            raise ConfigError(
                f"two carriers are named {config.name!r}; names must be unique",
                key=f"carriers[{index}].name",
            )
        seen.add(config.name)
    return [load_carrier(config) for config in configs]


def load_destination(name: str, adapter: str, settings: Mapping[str, Any]) -> Destination:
    """Build the destination ``name`` with ``adapter``'s plugin and its ``settings``.

    Errors are those of :func:`load_carrier`; keys read ``destinations.<name>...``.
    """
    instance = _load(DESTINATION_GROUP, name, adapter, settings, "destinations")
    if not isinstance(instance, Destination):
        message = f"{_describe(DESTINATION_GROUP, adapter)}: {_NOT_PROTOCOL} Destination"
        raise PluginError(message)
    return instance


_NOT_PROTOCOL = "the object it builds lacks an attribute or method of"


def _entry_points(group: str) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=group):
        other = found.get(point.name)
        if other is not None and other.value != point.value:
            raise PluginError(
                f"{group} entry point {point.name!r} is declared twice: "
                f"by {_info(other).describe()} and by {_info(point).describe()}; "
                "uninstall one of them"
            )
        found[point.name] = point
    return found


def _info(point: EntryPoint) -> PluginInfo:
    dist = point.dist
    return PluginInfo(
        name=point.name,
        group=point.group,
        distribution=dist.name if dist is not None else None,
        version=dist.version if dist is not None else None,
        target=point.value,
    )


def _describe(group: str, adapter: str) -> str:
    point = _entry_points(group).get(adapter)
    return _info(point).describe() if point is not None else f"plugin {adapter!r}"


def _load(group: str, name: str, adapter: str, settings: Mapping[str, Any], section: str) -> Any:
    points = _entry_points(group)
    point = points.get(adapter)
    if point is None:
        installed = ", ".join(sorted(points)) or "none"
        raise ConfigError(
            f"no {group} plugin is named {adapter!r} (installed: {installed})",
            key=f"{section}.{name}.adapter",
        )
    plugin = _info(point).describe()
    try:
        cls: Any = point.load()
    except Exception as exc:
        raise PluginError(f"{plugin}: importing it failed: {exc!r}") from exc
    if not inspect.isclass(cls):
        raise PluginError(f"{plugin}: is not a class but {type(cls).__name__}")
    declared = getattr(cls, "api_version", None)
    if declared != API_VERSION:
        raise PluginError(
            f"{plugin}: declares api_version {declared!r}, "
            f"but this engine speaks plugin API version {API_VERSION}"
        )
    config_type = getattr(cls, "Config", None)
    if not (inspect.isclass(config_type) and issubclass(config_type, msgspec.Struct)):
        raise PluginError(f"{plugin}: its Config is not a msgspec Struct")
    key_prefix = f"{section}.{name}.config"
    try:
        parsed = msgspec.convert(dict(settings), config_type)
    except msgspec.ValidationError as exc:
        key, reason = _validation_error_key(exc)
        full_key = f"{key_prefix}.{key}" if key else key_prefix
        raise ConfigError(f"{reason} ({plugin})", key=full_key) from None
    try:
        return cast(Any, cls)(name, parsed)  # isclass() narrowed it to type[object]
    except ConfigError as exc:
        # The plugin judged a setting itself; place its key under this instance.
        full_key = f"{key_prefix}.{exc.key}" if exc.key else key_prefix
        reason = str(exc).removeprefix(f"{exc.key}: ") if exc.key else str(exc)
        raise ConfigError(reason, key=full_key) from exc
    except Exception as exc:
        raise PluginError(f"{plugin}: creating {name!r} failed: {exc!r}") from exc
