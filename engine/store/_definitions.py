"""The records of runtime-managed delivery settings: destinations and route tables.

A store keeps them per tenant, as the client gave them (``config`` and ``policy`` are
the JSON objects a config file would hold), and the engine validates them: a stored
definition an adapter no longer accepts is reported on its own rather than failing
every read.

``version`` is the tenant's revision at the record's last change. Every change of a
tenant's destinations or routes takes the next revision, so a version is never reused,
and a write may be made conditional on it (``expected_version``):

* ``None``: write whatever is stored;
* ``0``: only if nothing is stored yet (create);
* ``n``: only if what is stored is at version ``n``.

A write whose condition does not hold changes nothing and answers None (or False).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

__all__ = ["StoredDestination", "StoredRoutes"]


class StoredDestination(msgspec.Struct, frozen=True, kw_only=True):
    """A destination defined at runtime."""

    tenant: str
    name: str
    adapter: str
    """The ``septet.destinations`` entry-point name."""
    config: dict[str, Any]
    """The adapter's settings."""
    policy: dict[str, Any]
    """The outbox policy's settings (:class:`~engine.delivery.DestinationPolicy`)."""
    version: int
    created_at: datetime
    updated_at: datetime


class StoredRoutes(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's route table as set at runtime."""

    tenant: str
    table: dict[str, Any] | None
    """``{"rules": [...], "default": [...]}`` (:class:`~engine.delivery.RouteTable`), or
    None when the config file's table is in force again."""
    version: int
    updated_at: datetime
