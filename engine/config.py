"""Septet's configuration: msgspec Structs, loaded from TOML with environment overrides.

Every setting has a default, so an empty file (or none) runs the engine on SQLite in
``./septet-data``. :func:`load_config` reads a TOML file, applies ``SEPTET_*``
environment overrides, validates everything and reports a bad setting by its dotted
path (``store.batch_rows: Expected `int`, got `str```).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "CarrierConfig",
    "Config",
    "LogConfig",
    "MetricsConfig",
    "ReassemblyConfig",
    "StoreConfig",
]


class StoreConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the inbox lives and how writes are batched."""

    kind: Literal["sqlite"] = "sqlite"
    path: str | None = None
    """The SQLite file; ``<data_dir>/septet.db`` when unset."""
    batch_rows: int = 512
    """A batch commits when it holds this many writes..."""
    batch_ms: float = 2.0
    """...or when its first write has waited this long, whichever comes first."""
    readers: int = 4
    """Read connections (and threads) for queries."""

    def __post_init__(self) -> None:
        if self.batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        if self.batch_ms < 0:
            raise ValueError("batch_ms must not be negative")
        if self.readers < 1:
            raise ValueError("readers must be at least 1")


class ReassemblyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How long the parts of a concatenated message wait for the rest."""

    ttl_seconds: float = 24 * 3600.0
    """After this, an incomplete set is committed as a message flagged ``incomplete``."""
    sweep_seconds: float = 30.0
    """How often expired sets are looked for."""

    def __post_init__(self) -> None:
        if self.ttl_seconds <= 0 or self.sweep_seconds <= 0:
            raise ValueError("ttl_seconds and sweep_seconds must be positive")


class CarrierConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One carrier instance: an adapter (entry-point name) and its own settings."""

    name: str
    """The instance name, unique in the config; messages record it as their carrier."""
    adapter: str
    """The ``septet.carriers`` entry-point name, e.g. ``sandbox``."""
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    """Settings validated by the adapter's own ``Config`` Struct."""


class LogConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Structured logs: JSON lines for machines, coloured key=value for people."""

    format: Literal["json", "console"] = "console"
    level: Literal["debug", "info", "warning", "error"] = "info"


class MetricsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Prometheus metrics, served over HTTP when ``port`` is set."""

    host: str = "127.0.0.1"
    port: int | None = None


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the engine needs; see the module docstring for loading."""

    data_dir: str = "./septet-data"
    tenant: str = "default"
    """The tenant messages belong to until numbers are leased to tenants."""
    default_region: str | None = None
    """ISO 3166 region for national numbers when the receiving number does not tell."""
    raw_limit_bytes: int = 16 * 1024
    """Raw carrier payloads longer than this are cut to it (and marked) before storing."""
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    reassembly: ReassemblyConfig = msgspec.field(default_factory=ReassemblyConfig)
    carriers: tuple[CarrierConfig, ...] = ()
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
