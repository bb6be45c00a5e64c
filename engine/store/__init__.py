"""The inbox: the `Store` protocol, its records, and the SQLite store."""

from __future__ import annotations

from ._definitions import StoredDestination, StoredRoutes
from ._open import open_store
from ._protocol import (
    BufferedPart,
    ClaimedDelivery,
    MessageQuery,
    NewDelivery,
    PartAdded,
    Store,
    Written,
)
from ._sqlite import SqliteStore, open_sqlite_store

__all__ = [
    "BufferedPart",
    "ClaimedDelivery",
    "MessageQuery",
    "NewDelivery",
    "PartAdded",
    "SqliteStore",
    "Store",
    "StoredDestination",
    "StoredRoutes",
    "Written",
    "open_sqlite_store",
    "open_store",
]
