"""Benchmark scenarios: what ``septet bench`` runs, as a TOML file.

A scenario names the ingest path, whether messages fan out to a webhook, the pace and
bounds of the run and the mix of messages. The built-in ones (``embed``,
``embed-fanout``, ``http``, ``http-fanout``, ``smpp``, ``smpp-fanout``) are files of
this package (``engine/_bench/scenarios/``); any other file of the same shape can be
given by path. Every key is checked before anything starts, and a bad one is named::

    name = "smpp-fanout"
    path = "smpp"            # embed | http | smpp
    fanout = true            # deliver every message to a local webhook receiver
    rate = 1000.0            # messages per second, open loop
    count = 10000            # at most this many measured messages...
    duration = 10.0          # ...and at most this many seconds of them
    warm_up = 1.0            # seconds at the rate before, not counted
    drain = 10.0             # seconds to wait for the last answers and deliveries

    [mix]                    # relative shares of the kinds of message
    gsm7 = 0.6
    ucs2 = 0.25
    multipart = 0.15

    [smpp]
    window = 64              # deliver_sm unanswered at most, on the one bind
    [http]
    connections = 16         # kept-alive connections of the webhook generator
    [webhook]
    max_concurrency = 64     # the destination's deliveries in flight
    [store]
    batch_rows = 512
    batch_ms = 0.0
    linger_ms = 1.0
    [find_max]               # --find-max: raise the rate until a bound breaks
    start_rate = 250.0
    factor = 1.5
    max_rate = 50000.0
    step_seconds = 3.0
    p99_ms = 10.0
    max_steps = 12
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from ..config import _validation_error_key
from ..errors import ConfigError
from ._messages import Mix

__all__ = [
    "BUILT_IN",
    "FindMax",
    "HttpSettings",
    "Scenario",
    "SmppSettings",
    "StoreSettings",
    "WebhookSettings",
    "load_scenario",
    "override",
]

BUILT_IN = ("embed", "embed-fanout", "http", "http-fanout", "smpp", "smpp-fanout")
"""The scenarios that ship with Septet, by name."""

Positive = Annotated[float, msgspec.Meta(gt=0)]
NotNegative = Annotated[float, msgspec.Meta(ge=0)]
Count = Annotated[int, msgspec.Meta(ge=1)]


class _Table(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class SmppSettings(_Table, frozen=True, kw_only=True):
    window: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 64
    """deliver_sm unanswered at most, on both sides of the one bind."""


class HttpSettings(_Table, frozen=True, kw_only=True):
    connections: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 16
    """Kept-alive connections of the webhook generator; a due request waits for one."""


class WebhookSettings(_Table, frozen=True, kw_only=True):
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 64
    """The fan-out destination's deliveries in flight."""


class StoreSettings(_Table, frozen=True, kw_only=True):
    batch_rows: Count = 512
    batch_ms: NotNegative = 0.0
    linger_ms: NotNegative = 1.0


class FindMax(_Table, frozen=True, kw_only=True):
    """The search for the highest rate that keeps the bound: steps of ``step_seconds``
    from ``start_rate``, each ``factor`` times the last, until a step's p99 end to end
    exceeds ``p99_ms``, its messages are not all answered (and delivered) within the
    drain time, or ``max_rate`` or ``max_steps`` is reached."""

    start_rate: Positive = 250.0
    factor: Annotated[float, msgspec.Meta(gt=1)] = 1.5
    max_rate: Positive = 50_000.0
    step_seconds: Positive = 3.0
    p99_ms: Positive = 10.0
    max_steps: Annotated[int, msgspec.Meta(ge=1, le=100)] = 12


class Scenario(_Table, frozen=True, kw_only=True):
    """One benchmark (see the module docstring for each key)."""

    name: str
    description: str = ""
    path: Literal["embed", "http", "smpp"]
    fanout: bool = False
    rate: Positive = 1000.0
    count: Count = 10_000
    duration: Positive = 10.0
    warm_up: NotNegative = 1.0
    drain: Positive = 10.0
    mix: Mix = msgspec.field(default_factory=Mix)
    smpp: SmppSettings = msgspec.field(default_factory=SmppSettings)
    http: HttpSettings = msgspec.field(default_factory=HttpSettings)
    webhook: WebhookSettings = msgspec.field(default_factory=WebhookSettings)
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    find_max: FindMax = msgspec.field(default_factory=FindMax)

    @property
    def measured_count(self) -> int:
        """Messages measured at ``rate``: ``count``, or fewer if ``duration`` ends first."""
        return max(1, min(self.count, int(self.rate * self.duration)))


def _convert(document: dict[str, Any], source: str) -> Scenario:
    try:
        return msgspec.convert(document, Scenario)
    except msgspec.ValidationError as exc:
        key, reason = _validation_error_key(exc)
        raise ConfigError(f"{reason} (in {source})", key=key) from None


def load_scenario(name_or_path: str) -> Scenario:
    """The built-in scenario of that name, or the scenario file at that path.

    Raises :class:`~engine.errors.ConfigError` (naming the bad key) for a file that is
    missing, not TOML, or not a valid scenario.
    """
    if name_or_path in BUILT_IN:
        text = resources.files(__package__).joinpath(f"scenarios/{name_or_path}.toml")
        return _convert(tomllib.loads(text.read_text("utf-8")), f"built-in {name_or_path}")
    path = Path(name_or_path)
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no scenario file {name_or_path} (built-in scenarios: {', '.join(BUILT_IN)})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read scenario file {name_or_path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name_or_path} is not valid TOML: {exc}") from exc
    return _convert(document, name_or_path)


def override(scenario: Scenario, **changes: Any) -> Scenario:
    """``scenario`` with the top-level keys in ``changes`` (None: keep) replaced, checked
    again as a whole (an override is named like a key of the file)."""
    document = msgspec.to_builtins(scenario)
    document.update({key: value for key, value in changes.items() if value is not None})
    return _convert(document, "the command line")
