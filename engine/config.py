"""Septet's configuration: msgspec Structs, loaded from TOML with environment overrides.

Every setting has a default, so an empty file (or none) runs the engine on SQLite in
``./septet-data``. :func:`load_config` reads a TOML file, applies ``SEPTET_*``
environment overrides, validates everything and reports a bad setting by its dotted
path (``store.batch_rows: Expected `int`, got `str```).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from .delivery import _policy, _routes
from .errors import ConfigError

__all__ = [
    "ApiConfig",
    "CarrierConfig",
    "Config",
    "DestinationConfig",
    "EncryptionKey",
    "LogConfig",
    "MetricsConfig",
    "NumbersConfig",
    "ReassemblyConfig",
    "RetentionConfig",
    "RuntimeConfig",
    "StoreConfig",
    "dump_default_config",
    "load_config",
]

_ENV_PREFIX = "SEPTET_"


class EncryptionKey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A key for encryption at rest: its id (written in every body it seals) and the
    key itself, the base64 of 32 random bytes (``openssl rand -base64 32``). Never
    shown: its ``repr`` names the id alone."""

    id: str
    key: str

    def __post_init__(self) -> None:
        from ._crypto import KEY_ID_PATTERN, decode_key

        if re.fullmatch(KEY_ID_PATTERN, self.id) is None:
            raise ConfigError("must be 1 to 32 letters, digits, '_', '.' or '-'", key="id")
        decode_key(self.key, key="key")

    def __repr__(self) -> str:
        return f"EncryptionKey(id={self.id!r}, key='[redacted]')"


class StoreConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the inbox lives and how writes are batched."""

    kind: Literal["sqlite"] = "sqlite"
    path: str | None = None
    """The SQLite file; ``<data_dir>/septet.db`` when unset."""
    batch_rows: int = 512
    """A batch commits when it holds this many writes..."""
    batch_ms: float = 0.0
    """...or when its first write has waited this long (milliseconds), whichever comes
    first. With 0 (group commit) the writer commits what is waiting as soon as it is
    free, and the writes that arrive during a commit make the next batch: batches grow
    with the load by themselves, and a lone write waits for nothing. A few milliseconds
    trade that much latency for fewer, larger commits at moderate rates; measured here,
    2 ms tripled the ingest-to-commit median at 1,000 messages a second and halved an
    SMPP bind's throughput, whose window waits on every commit."""
    linger_ms: float = 1.0
    """How long a small batch waits for a second write amid a steady trickle (its write
    came within twice this of the one before), committing the moment one comes, so that
    messages a millisecond apart (and their deliveries' outcomes) share commits. A
    lingering that brings no company spends a credit the others earn; with none left the
    writer stops lingering for 64 batches, so a producer that waits for each answer (an
    SMPP window of one) is not slowed. A lone write and a burst never wait; 0 turns it
    off. At 1,000 messages a second with a webhook delivery each, 1 ms cut the engine's
    CPU per message by about a sixth (``septet bench smpp-fanout``)."""
    readers: int = 4
    """Read connections (and threads) for queries."""
    encryption_keys: tuple[EncryptionKey, ...] = ()
    """Encryption at rest of message bodies, raw payloads and buffered parts (AES-GCM),
    off when empty. The first key seals new bodies; the others still open what they
    sealed, until ``septet store rotate-keys`` has rewritten it. Set them from the
    environment (``SEPTET_STORE__ENCRYPTION_KEYS='[{id = "k2", key = "..."}]'``)
    rather than in a file."""

    def __post_init__(self) -> None:
        if self.batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        if self.batch_ms < 0:
            raise ValueError("batch_ms must not be negative")
        if self.linger_ms < 0:
            raise ValueError("linger_ms must not be negative")
        if self.readers < 1:
            raise ValueError("readers must be at least 1")
        ids = [key.id for key in self.encryption_keys]
        for index, key_id in enumerate(ids):
            if key_id in ids[:index]:
                raise ConfigError(
                    f"the key id {key_id!r} is listed twice", key=f"encryption_keys[{index}].id"
                )


class RetentionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How long message bodies are kept, and how often the purge runs."""

    default_days: int | None = None
    """Days a message's body (its text, code and raw payload) is kept after it was
    stored, for a tenant that set no period of its own; None keeps bodies forever."""
    interval_seconds: float = 3600.0
    """How often the purge looks for bodies past their tenant's period."""
    batch_rows: int = 500
    """Messages purged per transaction, so the purge never holds the writer long."""

    def __post_init__(self) -> None:
        if self.default_days is not None and not 1 <= self.default_days <= 36_500:
            raise ConfigError("must be a number of days, 1 to 36500", key="default_days")
        if not 0 < self.interval_seconds < float("inf"):
            raise ConfigError("must be a positive number of seconds", key="interval_seconds")
        if self.batch_rows < 1:
            raise ConfigError("must be at least 1", key="batch_rows")


class ReassemblyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How long the parts of a concatenated message wait for the rest."""

    ttl_seconds: float = 24 * 3600.0
    """After this, an incomplete set is committed as a message flagged ``incomplete``."""
    sweep_seconds: float = 30.0
    """How often expired sets are looked for."""

    def __post_init__(self) -> None:
        if self.ttl_seconds <= 0 or self.sweep_seconds <= 0:
            raise ValueError("ttl_seconds and sweep_seconds must be positive")


class NumbersConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Numbers rented to tenants: how long a number rests between two tenants, how long
    a quoted price holds, how often the lifecycle is checked."""

    cooling_off_hours: float = 72.0
    """After a lease ends (released or expired) the number keeps receiving for this
    long, into the operators' quarantine, before anyone may lease it again: a code sent
    late to the previous tenant never reaches the next one."""
    quote_seconds: float = 300.0
    """How long a quoted price may be confirmed."""
    sweep_seconds: float = 60.0
    """The longest the sweeper waits between two looks (it wakes at each lease's expiry
    and each cooling-off's end by itself)."""
    watch_seconds: float = 1.0
    """How often the engine checks whether another process (``septet numbers``, another
    instance) changed a lease, to route that number's messages accordingly."""

    def __post_init__(self) -> None:
        if not 0 <= self.cooling_off_hours <= 24 * 366:
            raise ConfigError("must be 0 to 8784 hours", key="cooling_off_hours")
        for key in ("quote_seconds", "sweep_seconds", "watch_seconds"):
            if not 0 < getattr(self, key) < float("inf"):
                raise ConfigError("must be a positive number of seconds", key=key)


class CarrierConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One carrier instance: an adapter (entry-point name) and its own settings."""

    name: str
    """The instance name, unique in the config; messages record it as their carrier."""
    adapter: str
    """The ``septet.carriers`` entry-point name, e.g. ``sandbox``."""
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    """Settings validated by the adapter's own ``Config`` Struct."""


class DestinationConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One destination instance: an adapter, its own settings, and how the outbox treats it."""

    name: str
    """The instance name, unique in the config; routes name destinations by it."""
    adapter: str
    """The ``septet.destinations`` entry-point name, e.g. ``webhook``."""
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    """Settings validated by the adapter's own ``Config`` Struct."""
    policy: _policy.DestinationPolicy = msgspec.field(default_factory=_policy.DestinationPolicy)
    """Retries, concurrency, rate limit, ordering, timeout and circuit breaker."""


class LogConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Structured logs: JSON lines for machines, coloured key=value for people."""

    format: Literal["json", "console"] = "console"
    level: Literal["debug", "info", "warning", "error"] = "info"


class ApiConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The HTTP server: carriers' webhooks, health, metrics and the REST API."""

    host: str = "127.0.0.1"
    port: int | None = None
    """None: no HTTP server (webhook carriers then cannot be configured)."""
    public_url: str | None = None
    """The base URL providers are given (``https://sms.example.com``), in front of any
    proxy: carriers' signatures cover it. None: the address each request came to."""
    admin_key: str | None = None
    """The operator's Bearer key for the REST API (every scope, every tenant); set it
    from the environment (``SEPTET_API__ADMIN_KEY``), not in a file. Keys made over
    the API or the embedding API work beside it; with neither, the API answers 401."""
    max_body_bytes: int = 1024 * 1024
    """Request bodies larger than this are refused with 413."""
    key_rate_limit: float = 20.0
    """Requests a second each stored API key may make, on average (a token bucket per
    key, per process); beyond it, 429 with ``Retry-After``. 0: no limit. The admin key
    is never limited."""
    key_rate_burst: int = 40
    """Requests a key may make at once before the average applies."""

    def __post_init__(self) -> None:
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ConfigError("must be a TCP port, 0 to 65535", key="port")
        if not 0 <= self.key_rate_limit < float("inf"):
            raise ConfigError(
                "must be a number of requests a second, 0 or more", key="key_rate_limit"
            )
        if self.key_rate_burst < 1:
            raise ConfigError("must be at least 1", key="key_rate_burst")
        if self.max_body_bytes < 1024:
            raise ConfigError("must be at least 1024", key="max_body_bytes")
        if self.admin_key is not None and len(self.admin_key) < 16:
            raise ConfigError("must be at least 16 characters", key="admin_key")
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise ConfigError("must be an http:// or https:// URL", key="public_url")

    def __repr__(self) -> str:
        key = None if self.admin_key is None else "[redacted]"
        return (
            f"ApiConfig(host={self.host!r}, port={self.port!r}, public_url={self.public_url!r},"
            f" admin_key={key!r}, max_body_bytes={self.max_body_bytes!r},"
            f" key_rate_limit={self.key_rate_limit!r}, key_rate_burst={self.key_rate_burst!r})"
        )


class MetricsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Prometheus metrics, served over HTTP when ``port`` is set."""

    host: str = "127.0.0.1"
    port: int | None = None


class RuntimeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the engine tunes the Python process it runs in, while it runs."""

    tune_gc: bool = True
    """Whether to set the garbage collector's thresholds to :attr:`gc_thresholds` while
    the engine is open (the previous ones come back when it closes). Turn it off when
    the application manages the collector itself.

    Python's default (700, 10, 10) collects the young generation after every 700 new
    container objects and the whole heap every few seconds under load. Each message
    makes a few dozen short-lived objects, so at thousands of messages a second those
    full collections stop every task for tens of milliseconds, which is most of the
    engine's tail latency. With the engine's thresholds young collections are rarer
    (and still cheap: everything they look at is young) and full ones rarer still."""
    gc_thresholds: tuple[int, int, int] = (10_000, 20, 1_000)

    def __post_init__(self) -> None:
        if min(self.gc_thresholds) < 1:
            raise ValueError("gc_thresholds must all be at least 1")


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
    retention: RetentionConfig = msgspec.field(default_factory=RetentionConfig)
    carriers: tuple[CarrierConfig, ...] = ()
    destinations: tuple[DestinationConfig, ...] = ()
    routes: _routes.RouteTable = msgspec.field(default_factory=_routes.RouteTable)
    """Which destinations each message goes to (the tenant's route table)."""
    api: ApiConfig = msgspec.field(default_factory=ApiConfig)
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    runtime: RuntimeConfig = msgspec.field(default_factory=RuntimeConfig)
    numbers: NumbersConfig = msgspec.field(default_factory=NumbersConfig)
    """Numbers rented to tenants (see ``engine.NumberBook``)."""

    def __post_init__(self) -> None:
        for kind, names in (
            ("carriers", [c.name for c in self.carriers]),
            ("destinations", [d.name for d in self.destinations]),
        ):
            for index, name in enumerate(names):
                if name in names[:index]:
                    raise ConfigError(
                        f"the name {name!r} is used twice", key=f"{kind}[{index}].name"
                    )
        known = {d.name for d in self.destinations}
        _routes.check_route_destinations(self.routes, known, key="routes")


def load_config(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Read the TOML file at ``path`` (defaults only when None), apply environment overrides
    and validate everything.

    An override is ``SEPTET_<KEY>=value`` with ``__`` between nested keys:
    ``SEPTET_DATA_DIR=/srv/septet``, ``SEPTET_STORE__BATCH_ROWS=64``. The value is read as
    a TOML value when it is one (``64``, ``true``, ``[{name = "sb", adapter = "sandbox"}]``)
    and as a plain string otherwise; a string setting given a value that reads as another
    type (``SEPTET_TENANT=2024``) keeps the text. ``environ`` defaults to ``os.environ``.

    Raises :class:`ConfigError` whose ``key`` is the dotted path of the bad setting
    (``store.batch_rows``, ``carriers[0].adapter``) and whose message names the file or
    the environment variable it came from; a missing or unreadable file, or invalid
    TOML, is a ConfigError too.
    """
    source = "defaults"
    document: dict[str, Any] = {}
    if path is not None:
        source = os.fspath(path)
        try:
            with open(path, "rb") as file:
                document = tomllib.load(file)
        except FileNotFoundError:
            raise ConfigError(f"config file {source} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {source}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
    overrides = _environment_overrides(os.environ if environ is None else environ)
    for variable, (keys, value, _) in overrides.items():
        _set_nested(document, keys, value, variable)
    while True:
        try:
            return msgspec.convert(document, Config)
        except msgspec.ValidationError as exc:
            key, reason = _validation_error_key(exc)
            culprit = _override_for(key, overrides)
            if culprit is None:
                raise ConfigError(f"{reason} (in {source})", key=key) from None
            keys, value, text = overrides[culprit]
            if value != text:
                # The text read as TOML gave the wrong type: try it as the plain string.
                overrides[culprit] = (keys, text, text)
                _set_nested(document, keys, text, culprit)
                continue
            raise ConfigError(f"{reason} (from {culprit})", key=key) from None


def dump_default_config() -> str:
    """The default configuration as TOML, every setting spelled out (a starting point)."""
    lines = ["# Septet configuration: every setting at its default.", ""]
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in msgspec.to_builtins(Config()).items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None and not isinstance(value, list | tuple):
            lines.append(f"{key} = {_toml_scalar(value)}")
    for table, values in tables:
        lines += ["", f"[{table}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None]
    lines += [
        "",
        "# One table per carrier instance, for example:",
        "# [[carriers]]",
        '# name = "sandbox"',
        '# adapter = "sandbox"',
        '# config = { socket = "/run/septet/sandbox.sock", auto_rate = 0.5 }',
        "",
        "# One table per destination, and the routes that pick them, for example:",
        "# [[destinations]]",
        '# name = "ops"',
        '# adapter = "webhook"',
        '# config = { url = "https://hooks.example.com/sms", secrets = ["whsec_..."] }',
        "# policy = { max_concurrency = 16, timeout_seconds = 15.0 }",
        "# [[routes.rules]]",
        '# name = "codes"',
        "# has_code = true",
        '# destinations = ["ops"]',
    ]
    return "\n".join(lines) + "\n"


_PATH_SUFFIX = re.compile(r"(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?", re.DOTALL)
_FIELD_NAMED = re.compile(r"Object (?:contains unknown|missing required) field `(?P<field>[^`]+)`")


def _validation_error_key(error: msgspec.ValidationError) -> tuple[str | None, str]:
    """Split a msgspec validation error into the dotted key it is about and the reason.

    ``Expected `int`, got `str` - at `$.store.batch_rows``` gives ``store.batch_rows``;
    an unknown or missing field is named in the key (``store.bogus``). A Struct that
    checked itself raised a :class:`ConfigError` whose key is relative to it
    (``rules[2].sender_regex``); msgspec's path says where the Struct sits, and the two
    join (``routes.rules[2].sender_regex``).
    """
    match = _PATH_SUFFIX.fullmatch(str(error))
    assert match is not None  # the pattern matches any text
    reason, path = match["reason"], (match["path"] or "").lstrip(".")
    field = _FIELD_NAMED.match(reason)
    if field is not None:
        path = f"{path}.{field['field']}" if path else field["field"]
    cause = error.__cause__
    if isinstance(cause, ConfigError) and cause.key:
        inner = cause.key
        joiner = "" if inner.startswith("[") or not path else "."
        path = f"{path}{joiner}{inner}"
        reason = cause.reason
    return path or None, reason


def _environment_overrides(
    environ: Mapping[str, str],
) -> dict[str, tuple[tuple[str, ...], Any, str]]:
    """``{variable: (keys, value, text)}`` for every ``SEPTET_*`` variable."""
    overrides: dict[str, tuple[tuple[str, ...], Any, str]] = {}
    for variable, text in sorted(environ.items()):
        if not variable.startswith(_ENV_PREFIX) or variable == _ENV_PREFIX:
            continue
        keys = tuple(part.lower() for part in variable[len(_ENV_PREFIX) :].split("__"))
        if not all(keys):
            raise ConfigError(f"{variable} has an empty key between '__'", key=".".join(keys))
        try:
            value: Any = tomllib.loads(f"value = {text}")["value"]
        except tomllib.TOMLDecodeError:
            value = text
        overrides[variable] = (keys, value, text)
    return overrides


def _set_nested(document: dict[str, Any], keys: tuple[str, ...], value: Any, variable: str) -> None:
    table = document
    for depth, key in enumerate(keys[:-1]):
        inner = table.setdefault(key, {})
        if not isinstance(inner, dict):
            where = ".".join(keys[: depth + 1])
            message = f"{variable} sets a key inside a value that is not a table"
            raise ConfigError(message, key=where)
        table = inner
    table[keys[-1]] = value


def _override_for(
    key: str | None, overrides: Mapping[str, tuple[tuple[str, ...], Any, str]]
) -> str | None:
    """The environment variable that set ``key`` (or a table holding it), if any."""
    if key is None:
        return None
    for variable, (keys, _, _) in overrides.items():
        dotted = ".".join(keys)
        if key == dotted or key.startswith((f"{dotted}.", f"{dotted}[")):
            return variable
    return None


def _toml_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_scalar(item) for item in value) + "]"
    return _toml_scalar(value)


def _toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # JSON's string escapes are TOML's too
