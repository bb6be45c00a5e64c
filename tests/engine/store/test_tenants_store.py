"""Tenants, members, API keys and the audit log in every store: each change with its
audit row, keys scoped by tenant, only a secret's hash kept, all of it surviving a
restart."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import OpenTestStore

from engine._ids import new_id
from engine.store import ApiKey, Member, Store, Tenant

pytestmark = pytest.mark.trio

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _tenant(tenant_id: str) -> Tenant:
    return Tenant(id=tenant_id, name=tenant_id.title(), created_at=NOW)


def _key(tenant: str | None, **fields: object) -> ApiKey:
    values: dict[str, object] = {
        "id": new_id("key"),
        "tenant": tenant,
        "name": "ci",
        "role": "viewer" if tenant is not None else "operator",
        "scopes": ("messages:read",),
        "prefix": "sk_0000_abcd",
        "created_at": NOW,
        "expires_at": None,
        "rotated_at": None,
        "revoked_at": None,
        "last_used_at": None,
        **fields,
    }
    return ApiKey(**values)  # type: ignore[arg-type]


def _member(tenant: str, email: str) -> Member:
    return Member(
        id=new_id("mem"), tenant=tenant, email=email, name=None, role="admin", created_at=NOW
    )


async def test_tenants_are_created_once_listed_and_deleted_with_an_audit_row(
    store: Store,
) -> None:
    assert [t.id for t in await store.tenants()] == ["default"]  # the receiving tenant
    assert await store.create_tenant(_tenant("acme"), actor="operator")
    assert not await store.create_tenant(_tenant("acme"), actor="operator")
    assert await store.get_tenant("acme") == _tenant("acme")
    assert [t.id for t in await store.tenants()] == ["acme", "default"]

    key = _key("acme")
    assert await store.create_key(key, b"h" * 32, actor="operator")
    assert await store.create_member(_member("acme", "ana@example.com"), actor="operator")
    assert await store.delete_tenant("acme", actor="operator") == "deleted"
    assert await store.delete_tenant("acme", actor="operator") == "missing"
    assert await store.get_tenant("acme") is None
    assert await store.members("acme") == []
    found = await store.api_key(key.id)
    assert found is not None
    assert found[0].revoked_at is not None

    actions = [(e.action, e.target, e.actor) for e in await store.audit_log("acme")]
    assert actions == [
        ("tenant.delete", "acme", "operator"),
        ("member.add", actions[1][1], "operator"),
        ("key.create", key.id, "operator"),
        ("tenant.create", "acme", "operator"),
    ]
    newest = (await store.audit_log("acme"))[0]
    assert newest.details == {"revokedKeys": 1, "removedMembers": 1}


async def test_a_tenant_holding_messages_is_not_deleted(store: Store, records: Any) -> None:
    message = records.message()
    await store.create_tenant(_tenant(message.tenant), actor="operator")
    await store.commit_message(message)
    assert await store.delete_tenant(message.tenant, actor="operator") == "holds_messages"
    assert await store.get_tenant(message.tenant) is not None


async def test_keys_are_scoped_by_tenant_and_keep_only_the_hash(store: Store) -> None:
    await store.create_tenant(_tenant("acme"), actor="operator")
    assert not await store.create_key(_key("nobody"), b"h" * 32, actor="operator")
    digest = hashlib.sha256(b"secret").digest()
    key = _key("acme")
    operator = _key(None)
    assert await store.create_key(key, digest, actor="operator")
    assert await store.create_key(operator, digest, actor="operator")
    assert await store.api_keys("acme") == [key]
    assert await store.api_keys(None) == [operator]
    assert await store.api_key(key.id) == (key, digest)

    # Another tenant's key is not found by id.
    assert await store.revoke_key("default", key.id, actor="operator") is None
    assert await store.rotate_key("default", key.id, b"n" * 32, "p", actor="operator") is None

    rotated = await store.rotate_key("acme", key.id, b"n" * 32, "sk_new", actor=key.id)
    assert rotated is not None
    assert rotated.prefix == "sk_new"
    assert rotated.rotated_at
    assert await store.api_key(key.id) == (rotated, b"n" * 32)
    revoked = await store.revoke_key("acme", key.id, actor=key.id)
    assert revoked is not None
    assert revoked.revoked_at is not None
    again = await store.revoke_key("acme", key.id, actor=key.id)
    assert again == revoked  # revoked once, audited once
    assert await store.rotate_key("acme", key.id, b"x" * 32, "p", actor=key.id) is None

    entries = await store.audit_log("acme")
    assert [e.action for e in entries] == [
        "key.revoke",
        "key.rotate",
        "key.create",
        "tenant.create",
    ]
    assert entries[0].actor == key.id
    assert all(e.at.tzinfo is not None for e in entries)
    assert [e.action for e in await store.audit_log(None)] == ["key.create"]


async def test_key_uses_are_written_in_a_batch(store: Store) -> None:
    first, second = _key(None), _key(None)
    await store.create_key(first, b"h" * 32, actor="operator")
    await store.create_key(second, b"h" * 32, actor="operator")
    await store.touch_keys({first.id: NOW, second.id: NOW})
    await store.touch_keys({first.id: datetime(2020, 1, 1, tzinfo=UTC)})  # never goes back
    for key in (first, second):
        found = await store.api_key(key.id)
        assert found is not None
        assert found[0].last_used_at == NOW


async def test_members_are_unique_by_email_within_a_tenant(store: Store) -> None:
    await store.create_tenant(_tenant("acme"), actor="operator")
    ana = _member("acme", "ana@example.com")
    assert await store.create_member(ana, actor="operator")
    assert not await store.create_member(_member("acme", "ana@example.com"), actor="operator")
    assert await store.create_member(_member("default", "ana@example.com"), actor="operator")
    assert not await store.create_member(_member("nobody", "bo@example.com"), actor="operator")
    assert await store.members("acme") == [ana]
    assert not await store.delete_member("default", ana.id, actor="operator")
    assert await store.delete_member("acme", ana.id, actor="operator")
    assert await store.members("acme") == []


async def test_the_audit_log_pages_newest_first_and_survives_a_restart(
    open_test_store: OpenTestStore,
) -> None:
    async with open_test_store() as store:
        for n in range(5):
            await store.create_tenant(_tenant(f"t{n}"), actor="operator")
            await store.create_member(_member(f"t{n}", "a@example.com"), actor="k")
        await store.create_member(_member("t0", "b@example.com"), actor="k")
    async with open_test_store() as store:
        first = await store.audit_log("t0", limit=2)
        assert [e.action for e in first] == ["member.add", "member.add"]
        rest = await store.audit_log("t0", before=first[-1].id, limit=2)
        assert [e.action for e in rest] == ["tenant.create"]
        assert len(await store.tenants()) == 6
