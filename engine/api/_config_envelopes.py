"""The JSON bodies of the destination and route endpoints: what they take and answer.

The records themselves (:class:`~engine._destinations.DestinationInfo`,
:class:`~engine._destinations.RoutesInfo`, :class:`~engine._destinations.TestResult`)
are the embedding API's; these are the envelopes and request bodies around them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .._destinations import DestinationInfo

__all__ = [
    "DestinationBody",
    "DestinationDeleted",
    "DestinationList",
    "DestinationPatch",
    "TestRequest",
    "ValidationProblem",
]


class DestinationBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A destination's definition, as a config file's ``[[destinations]]`` table holds
    it. ``name`` is required when creating with POST; with PUT it is the path's (and may
    be left out)."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    adapter: str
    """The ``septet.destinations`` plugin, e.g. ``webhook``."""
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    """The adapter's settings; a value sent back as read (``[redacted]``) keeps the
    stored secret."""
    policy: dict[str, Any] = msgspec.field(default_factory=dict)
    """The outbox policy (``DestinationPolicy``); settings left out take their defaults."""


class DestinationPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A JSON merge patch (RFC 7396) of a destination's definition: the keys given
    replace the stored ones, ``null`` removes a setting, objects merge key by key."""

    adapter: str | msgspec.UnsetType = msgspec.UNSET
    config: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET
    policy: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET


class DestinationList(msgspec.Struct, frozen=True, kw_only=True):
    """Every destination of the caller's tenant: the config file's first (the receiving
    tenant's only), then those created at runtime."""

    data: list[DestinationInfo]


class DestinationDeleted(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The destination is gone; its deliveries are not."""

    destination: str
    open_deliveries: int
    """Its deliveries still pending: they stay in the outbox and go out if the tenant
    has a destination of this name again."""


class TestRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """What the sample message says; each field left out takes a sample value."""

    content: str | None = None
    sender_id: str | None = None
    number_used: str | None = None


class ValidationProblem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem document for a definition that cannot be used; ``key`` names
    the bad setting (``config.url``, ``policy.max_concurrency``,
    ``rules[2].sender_regex``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    key: str | None
