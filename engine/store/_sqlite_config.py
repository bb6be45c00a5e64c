"""Runtime-managed destinations and route tables in SQLite (``0003_destinations.sql``).

Writes are ops the batching writer runs (each op's :meth:`run` in the writer thread,
inside the batch's transaction, as the outbox's are); reads run on reader connections.
Every statement names the tenant. The conditions on ``expected_version`` are checked in
the write's own transaction, so two clients that read the same version cannot both
write (see :mod:`._definitions`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from ._definitions import StoredDestination, StoredRoutes
from ._sqlite_outbox import from_micros

__all__ = [
    "ConfigOp",
    "DeleteDestination",
    "PutDestination",
    "PutRouteTable",
    "destinations",
    "route_table",
]

_decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_SELECT_DESTINATION = (
    "SELECT name, adapter, config, policy, version, created_at, updated_at FROM destinations"
)


def _next_revision(conn: sqlite3.Connection, tenant: str) -> int:
    row = conn.execute(
        "INSERT INTO config_revisions (tenant, revision) VALUES (?, 1)"
        " ON CONFLICT (tenant) DO UPDATE SET revision = revision + 1 RETURNING revision",
        (tenant,),
    ).fetchone()
    return int(row[0])


def _version_holds(current: int | None, expected: int | None) -> bool:
    """Whether a write expecting ``expected`` may replace what is at ``current`` (None:
    nothing stored)."""
    if expected is None:
        return True
    return (current or 0) == expected


class PutDestination(msgspec.Struct, frozen=True, kw_only=True):
    """Create or replace a destination; answers it as stored, or None when
    ``expected_version`` does not hold."""

    tenant: str
    name: str
    adapter: str
    config: bytes
    """JSON object."""
    policy: bytes
    """JSON object."""
    now: int
    expected_version: int | None = None

    def run(self, conn: sqlite3.Connection) -> StoredDestination | None:
        row = conn.execute(
            "SELECT version, created_at FROM destinations WHERE tenant = ? AND name = ?",
            (self.tenant, self.name),
        ).fetchone()
        if not _version_holds(None if row is None else row[0], self.expected_version):
            return None
        version = _next_revision(conn, self.tenant)
        created = self.now if row is None else row[1]
        conn.execute(
            "INSERT INTO destinations (tenant, name, adapter, config, policy, version,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (tenant, name) DO UPDATE SET adapter = excluded.adapter,"
            " config = excluded.config, policy = excluded.policy, version = excluded.version,"
            " updated_at = excluded.updated_at",
            (
                self.tenant,
                self.name,
                self.adapter,
                self.config.decode(),
                self.policy.decode(),
                version,
                created,
                self.now,
            ),
        )
        return StoredDestination(
            tenant=self.tenant,
            name=self.name,
            adapter=self.adapter,
            config=_decode_object(self.config),
            policy=_decode_object(self.policy),
            version=version,
            created_at=from_micros(created),
            updated_at=from_micros(self.now),
        )


class DeleteDestination(msgspec.Struct, frozen=True, kw_only=True):
    """Delete a destination's definition (its deliveries stay as they are); answers
    whether one was deleted (False: none, or ``expected_version`` did not hold)."""

    tenant: str
    name: str
    expected_version: int | None = None

    def run(self, conn: sqlite3.Connection) -> bool:
        row = conn.execute(
            "SELECT version FROM destinations WHERE tenant = ? AND name = ?",
            (self.tenant, self.name),
        ).fetchone()
        if row is None or not _version_holds(row[0], self.expected_version):
            return False
        conn.execute(
            "DELETE FROM destinations WHERE tenant = ? AND name = ?", (self.tenant, self.name)
        )
        _next_revision(conn, self.tenant)
        return True


class PutRouteTable(msgspec.Struct, frozen=True, kw_only=True):
    """Set the tenant's route table (``table`` None: the config file's is in force
    again); answers it as stored, or None when ``expected_version`` does not hold (the
    version of a tenant that never set one is 0)."""

    tenant: str
    table: bytes | None
    """JSON object, or None."""
    now: int
    expected_version: int | None = None

    def run(self, conn: sqlite3.Connection) -> StoredRoutes | None:
        row = conn.execute(
            "SELECT version FROM route_tables WHERE tenant = ?", (self.tenant,)
        ).fetchone()
        if not _version_holds(None if row is None else row[0], self.expected_version):
            return None
        version = _next_revision(conn, self.tenant)
        text = None if self.table is None else self.table.decode()
        conn.execute(
            "INSERT INTO route_tables (tenant, routes, version, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (tenant) DO UPDATE SET routes = excluded.routes,"
            " version = excluded.version, updated_at = excluded.updated_at",
            (self.tenant, text, version, self.now),
        )
        return StoredRoutes(
            tenant=self.tenant,
            table=None if self.table is None else _decode_object(self.table),
            version=version,
            updated_at=from_micros(self.now),
        )


ConfigOp = PutDestination | DeleteDestination | PutRouteTable


# Reads ------------------------------------------------------------------------------


def destinations(conn: sqlite3.Connection, tenant: str) -> list[StoredDestination]:
    """The tenant's destinations, by name."""
    rows = conn.execute(f"{_SELECT_DESTINATION} WHERE tenant = ? ORDER BY name", (tenant,))
    return [
        StoredDestination(
            tenant=tenant,
            name=name,
            adapter=adapter,
            config=_decode_object(config),
            policy=_decode_object(policy),
            version=version,
            created_at=from_micros(created),
            updated_at=from_micros(updated),
        )
        for name, adapter, config, policy, version, created, updated in rows
    ]


def route_table(conn: sqlite3.Connection, tenant: str) -> StoredRoutes | None:
    """The tenant's route table as last set, or None if it never was."""
    row = conn.execute(
        "SELECT routes, version, updated_at FROM route_tables WHERE tenant = ?", (tenant,)
    ).fetchone()
    if row is None:
        return None
    routes, version, updated = row
    return StoredRoutes(
        tenant=tenant,
        table=None if routes is None else _decode_object(routes),
        version=version,
        updated_at=from_micros(updated),
    )
