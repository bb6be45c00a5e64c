"""The inbox: the `Store` protocol, its records, and the SQLite store."""

from __future__ import annotations

from ._definitions import StoredDestination, StoredRoutes
from ._open import open_store
from ._protocol import (
    ROLE_SCOPES,
    SCOPES,
    ApiKey,
    AuditEntry,
    BufferedPart,
    ClaimedDelivery,
    Member,
    MessageQuery,
    NewDelivery,
    PartAdded,
    Role,
    Store,
    Tenant,
    TenantDeleted,
    Written,
)
from ._sqlite import SqliteStore, open_sqlite_store

__all__ = [
    "ApiKey",
    "AuditEntry",
    "BufferedPart",
    "ClaimedDelivery",
    "Member",
    "MessageQuery",
    "NewDelivery",
    "PartAdded",
    "ROLE_SCOPES",
    "Role",
    "SCOPES",
    "SqliteStore",
    "Store",
    "StoredDestination",
    "StoredRoutes",
    "Tenant",
    "TenantDeleted",
    "Written",
    "open_sqlite_store",
    "open_store",
]
