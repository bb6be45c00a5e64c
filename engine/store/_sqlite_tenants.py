"""Tenants, members, API keys and the audit log in SQLite (``0005_tenants.sql``).

Every change is an op the batching writer runs (its :meth:`run` in the writer thread,
inside the batch's transaction, as the outbox's are), and writes its audit row in that
same transaction: a change is never stored without its audit row, nor an audit row
without its change. Reads run on reader connections.

Only a key's secret hash is stored; nothing here ever sees a whole key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

import msgspec

from ._protocol import ApiKey, AuditEntry, Member, Role, Tenant, TenantDeleted
from ._sqlite_outbox import from_micros
from ._sqlite_rows import micros

__all__ = [
    "AuditStamp",
    "CreateKey",
    "CreateMember",
    "CreateTenant",
    "DeleteMember",
    "DeleteTenant",
    "RevokeKey",
    "RotateKey",
    "TenantOp",
    "TouchKeys",
    "api_key",
    "api_keys",
    "audit_log",
    "get_tenant",
    "members",
    "optional_time",
    "tenants",
]

_encode = msgspec.json.encode
_decode_scopes = msgspec.json.Decoder(tuple[str, ...]).decode
_decode_details = msgspec.json.Decoder(dict[str, Any]).decode
_KEY_COLUMNS = (
    "id, tenant, name, role, scopes, prefix, created_at, expires_at, rotated_at,"
    " revoked_at, last_used_at"
)


def optional_time(value: int | None) -> datetime | None:
    """A stored moment (microseconds) that may be missing, as a datetime or None."""
    return None if value is None else from_micros(value)


class AuditStamp(msgspec.Struct, frozen=True, kw_only=True):
    """Who makes a change and when; the id its audit row takes."""

    id: str
    actor: str
    now: int

    def record(
        self,
        conn: sqlite3.Connection,
        tenant: str | None,
        action: str,
        target: str,
        details: Mapping[str, object] | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO audit_log (id, tenant, actor, action, target, details, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                self.id,
                tenant,
                self.actor,
                action,
                target,
                _encode(details or {}).decode(),
                self.now,
            ),
        )


class CreateTenant(msgspec.Struct, frozen=True, kw_only=True):
    """Create a tenant; answers False when the id is taken."""

    tenant: Tenant
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> bool:
        tenant = self.tenant
        inserted = conn.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (tenant.id, tenant.name, micros(tenant.created_at)),
        ).rowcount
        if inserted:
            self.stamp.record(conn, tenant.id, "tenant.create", tenant.id, {"name": tenant.name})
        return bool(inserted)


class DeleteTenant(msgspec.Struct, frozen=True, kw_only=True):
    """Delete a tenant and its members, revoke its keys; refused while it holds
    messages (they are its data: they go first)."""

    tenant: str
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> TenantDeleted:
        if conn.execute("SELECT 1 FROM tenants WHERE id = ?", (self.tenant,)).fetchone() is None:
            return "missing"
        held = conn.execute(
            "SELECT 1 FROM messages WHERE tenant = ? LIMIT 1", (self.tenant,)
        ).fetchone()
        if held is not None:
            return "holds_messages"
        revoked = conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE tenant = ? AND revoked_at IS NULL",
            (self.stamp.now, self.tenant),
        ).rowcount
        removed = conn.execute("DELETE FROM members WHERE tenant = ?", (self.tenant,)).rowcount
        conn.execute("DELETE FROM tenants WHERE id = ?", (self.tenant,))
        details = {"revokedKeys": revoked, "removedMembers": removed}
        self.stamp.record(conn, self.tenant, "tenant.delete", self.tenant, details)
        return "deleted"


class CreateKey(msgspec.Struct, frozen=True, kw_only=True):
    """Store a new key; answers False when its tenant does not exist."""

    key: ApiKey
    secret_hash: bytes
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> bool:
        key = self.key
        if key.tenant is not None and not _tenant_exists(conn, key.tenant):
            return False
        conn.execute(
            "INSERT INTO api_keys (id, tenant, name, role, scopes, secret_hash, prefix,"
            " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.id,
                key.tenant,
                key.name,
                key.role,
                _encode(key.scopes).decode(),
                self.secret_hash,
                key.prefix,
                micros(key.created_at),
                None if key.expires_at is None else micros(key.expires_at),
            ),
        )
        details: dict[str, object] = {"name": key.name, "role": key.role, "scopes": key.scopes}
        if key.expires_at is not None:
            details["expiresAt"] = key.expires_at.isoformat()
        self.stamp.record(conn, key.tenant, "key.create", key.id, details)
        return True


class RotateKey(msgspec.Struct, frozen=True, kw_only=True):
    """Give a live key a new secret; answers the key, or None."""

    tenant: str | None
    key_id: str
    secret_hash: bytes
    prefix: str
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> ApiKey | None:
        changed = conn.execute(
            "UPDATE api_keys SET secret_hash = ?, prefix = ?, rotated_at = ?"
            " WHERE id = ? AND tenant IS ? AND revoked_at IS NULL",
            (self.secret_hash, self.prefix, self.stamp.now, self.key_id, self.tenant),
        ).rowcount
        if not changed:
            return None
        self.stamp.record(conn, self.tenant, "key.rotate", self.key_id, {"prefix": self.prefix})
        return _key(conn, self.key_id)


class RevokeKey(msgspec.Struct, frozen=True, kw_only=True):
    """Revoke a key (once: a revoked key keeps its first revocation); answers the key,
    or None."""

    tenant: str | None
    key_id: str
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> ApiKey | None:
        found = conn.execute(
            "SELECT revoked_at FROM api_keys WHERE id = ? AND tenant IS ?",
            (self.key_id, self.tenant),
        ).fetchone()
        if found is None:
            return None
        if found[0] is None:
            conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ?", (self.stamp.now, self.key_id)
            )
            self.stamp.record(conn, self.tenant, "key.revoke", self.key_id)
        return _key(conn, self.key_id)


class TouchKeys(msgspec.Struct, frozen=True):
    """Set when keys were last used (microseconds, by key id)."""

    uses: dict[str, int]

    def run(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?",
            [(at, key_id) for key_id, at in self.uses.items()],
        )


class CreateMember(msgspec.Struct, frozen=True, kw_only=True):
    """Add a member; answers False when the tenant is missing or the email taken."""

    member: Member
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> bool:
        member = self.member
        if not _tenant_exists(conn, member.tenant):
            return False
        inserted = conn.execute(
            "INSERT INTO members (id, tenant, email, name, role, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, email) DO NOTHING",
            (
                member.id,
                member.tenant,
                member.email,
                member.name,
                member.role,
                micros(member.created_at),
            ),
        ).rowcount
        if inserted:
            details = {"email": member.email, "role": member.role}
            self.stamp.record(conn, member.tenant, "member.add", member.id, details)
        return bool(inserted)


class DeleteMember(msgspec.Struct, frozen=True, kw_only=True):
    """Remove a member of a tenant; answers whether there was one."""

    tenant: str
    member_id: str
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> bool:
        found = conn.execute(
            "DELETE FROM members WHERE id = ? AND tenant = ? RETURNING email",
            (self.member_id, self.tenant),
        ).fetchone()
        if found is None:
            return False
        self.stamp.record(conn, self.tenant, "member.remove", self.member_id, {"email": found[0]})
        return True


TenantOp = (
    CreateTenant
    | DeleteTenant
    | CreateKey
    | RotateKey
    | RevokeKey
    | TouchKeys
    | CreateMember
    | DeleteMember
)


# Reads ------------------------------------------------------------------------------


def _tenant_exists(conn: sqlite3.Connection, tenant: str) -> bool:
    return conn.execute("SELECT 1 FROM tenants WHERE id = ?", (tenant,)).fetchone() is not None


def _tenant(row: tuple[Any, ...]) -> Tenant:
    return Tenant(id=row[0], name=row[1], created_at=from_micros(row[2]))


def tenants(conn: sqlite3.Connection) -> list[Tenant]:
    """Every tenant, by id."""
    return [_tenant(row) for row in conn.execute("SELECT * FROM tenants ORDER BY id")]


def get_tenant(conn: sqlite3.Connection, tenant_id: str) -> Tenant | None:
    row = conn.execute("SELECT * FROM tenants WHERE id = ?", (tenant_id,)).fetchone()
    return None if row is None else _tenant(row)


def _api_key(row: tuple[Any, ...]) -> ApiKey:
    key_id, tenant, name, role, scopes, prefix, created, expires, rotated, revoked, used = row
    return ApiKey(
        id=key_id,
        tenant=tenant,
        name=name,
        role=cast(Role, role),
        scopes=_decode_scopes(scopes),
        prefix=prefix,
        created_at=from_micros(created),
        expires_at=optional_time(expires),
        rotated_at=optional_time(rotated),
        revoked_at=optional_time(revoked),
        last_used_at=optional_time(used),
    )


def _key(conn: sqlite3.Connection, key_id: str) -> ApiKey:
    row = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
    return _api_key(row)


def api_keys(conn: sqlite3.Connection, tenant: str | None) -> list[ApiKey]:
    """The keys of ``tenant`` (None: operator keys), by id."""
    rows = conn.execute(
        f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE tenant IS ? ORDER BY id", (tenant,)
    )
    return [_api_key(row) for row in rows]


def api_key(conn: sqlite3.Connection, key_id: str) -> tuple[ApiKey, bytes] | None:
    """A key with its secret's hash."""
    row = conn.execute(
        f"SELECT {_KEY_COLUMNS}, secret_hash FROM api_keys WHERE id = ?", (key_id,)
    ).fetchone()
    return None if row is None else (_api_key(row[:-1]), bytes(row[-1]))


def members(conn: sqlite3.Connection, tenant: str) -> list[Member]:
    rows = conn.execute(
        "SELECT id, tenant, email, name, role, created_at FROM members WHERE tenant = ?"
        " ORDER BY id",
        (tenant,),
    )
    return [
        Member(
            id=member_id,
            tenant=owner,
            email=email,
            name=name,
            role=cast(Role, role),
            created_at=from_micros(created),
        )
        for member_id, owner, email, name, role, created in rows
    ]


def audit_log(
    conn: sqlite3.Connection, tenant: str | None, before: str | None, limit: int
) -> list[AuditEntry]:
    """The audit rows of ``tenant``, newest first, older than ``before`` (an id)."""
    sql = "SELECT id, tenant, actor, action, target, details, at FROM audit_log WHERE tenant IS ?"
    params: list[object] = [tenant]
    if before is not None:
        sql += " AND id < ?"
        params.append(before)
    rows = conn.execute(f"{sql} ORDER BY id DESC LIMIT ?", (*params, limit))
    return [
        AuditEntry(
            id=entry_id,
            tenant=owner,
            actor=actor,
            action=action,
            target=target,
            details=_decode_details(details),
            at=from_micros(at),
        )
        for entry_id, owner, actor, action, target, details, at in rows
    ]
