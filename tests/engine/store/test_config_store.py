"""Destinations and route tables kept by the store: round trips, versions that are never
reused, conditional writes, tenants kept apart, and what survives reopening. Runs for
every store kind (fixtures from ``conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio

from engine.store import Store

OpenTestStore = Callable[..., AbstractAsyncContextManager[Store]]

pytestmark = pytest.mark.trio

HOOK = {"url": "https://hooks.example.com/sms", "secrets": ["whsec_c2VjcmV0LXNlY3JldA=="]}


async def _put(store: Store, name: str = "ops", tenant: str = "acme", **options: Any) -> Any:
    return await store.put_destination(
        tenant,
        name,
        adapter=options.pop("adapter", "webhook"),
        config=options.pop("config", HOOK),
        policy=options.pop("policy", {"max_concurrency": 2}),
        **options,
    )


async def test_a_destination_round_trips_with_its_settings(store: Store) -> None:
    stored = await _put(store)
    assert stored is not None
    assert (stored.name, stored.adapter, stored.config, stored.policy) == (
        "ops",
        "webhook",
        HOOK,
        {"max_concurrency": 2},
    )
    assert stored.version >= 1
    assert stored.created_at == stored.updated_at
    assert await store.destinations("acme") == [stored]


async def test_a_replacement_keeps_its_creation_time_and_takes_a_new_version(
    store: Store,
) -> None:
    first = await _put(store)
    await trio.sleep(0.002)
    second = await _put(store, config={**HOOK, "url": "https://other.example.com/"})
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert second.version > first.version
    assert [d.config["url"] for d in await store.destinations("acme")] == [
        "https://other.example.com/"
    ]


async def test_conditional_writes_change_nothing_when_the_version_moved_on(
    store: Store,
) -> None:
    assert await _put(store, expected_version=3) is None  # nothing stored: version 0
    created = await _put(store, expected_version=0)
    assert created is not None
    assert await _put(store, expected_version=0) is None  # exists already
    assert await _put(store, expected_version=created.version + 1, config={}) is None
    changed = await _put(store, expected_version=created.version, config={"url": "x"})
    assert changed is not None
    assert not await store.delete_destination("acme", "ops", expected_version=created.version)
    assert [d.config for d in await store.destinations("acme")] == [{"url": "x"}]
    assert await store.delete_destination("acme", "ops", expected_version=changed.version)
    assert await store.destinations("acme") == []
    assert not await store.delete_destination("acme", "ops")


async def test_a_version_is_never_reused_by_a_name_created_again(store: Store) -> None:
    first = await _put(store)
    assert await store.delete_destination("acme", "ops")
    again = await _put(store)
    assert again.version > first.version
    # A client still holding the first version cannot change the new destination.
    assert await _put(store, expected_version=first.version) is None


async def test_tenants_are_walls(store: Store) -> None:
    await _put(store, "ops", tenant="acme")
    await _put(store, "ops", tenant="globex", config={"url": "https://globex.example.com/"})
    await store.put_route_table("acme", {"rules": [], "default": ["ops"]})
    assert [d.tenant for d in await store.destinations("globex")] == ["globex"]
    assert (await store.destinations("globex"))[0].config == {"url": "https://globex.example.com/"}
    assert await store.route_table("globex") is None
    assert await store.delete_destination("globex", "ops")
    assert [d.name for d in await store.destinations("acme")] == ["ops"]


async def test_destinations_are_listed_by_name(store: Store) -> None:
    for name in ("zulu", "alpha", "mike"):
        await _put(store, name)
    assert [d.name for d in await store.destinations("acme")] == ["alpha", "mike", "zulu"]


async def test_a_route_table_is_set_conditionally_and_reset(store: Store) -> None:
    assert await store.route_table("acme") is None
    table = {"rules": [{"name": "codes", "has_code": True, "destinations": ["ops"]}]}
    assert await store.put_route_table("acme", table, expected_version=5) is None
    first = await store.put_route_table("acme", table, expected_version=0)
    assert first is not None
    assert first.table == table
    assert await store.put_route_table("acme", {"default": []}, expected_version=0) is None
    reset = await store.put_route_table("acme", None, expected_version=first.version)
    assert reset is not None
    assert reset.table is None
    assert reset.version > first.version
    found = await store.route_table("acme")
    assert found == reset


async def test_definitions_survive_reopening(open_test_store: OpenTestStore) -> None:
    async with open_test_store() as store:
        stored = await _put(store)
        routes = await store.put_route_table("acme", {"default": ["ops"]})
    async with open_test_store() as store:
        assert await store.destinations("acme") == [stored]
        assert await store.route_table("acme") == routes
        # The revision carries on after reopening, too.
        again = await _put(store)
        assert again.version > max(stored.version, routes.version)
