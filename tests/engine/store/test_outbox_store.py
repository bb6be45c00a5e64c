"""The outbox part of the store contract: deliveries written with their message, claims
as leases, the attempt log, replay, disabled destinations. Runs for every store kind.

The fixtures (``store``, ``open_test_store``, ``records``) come from ``conftest.py``,
parametrized by store kind. Claims are made at explicit times (``now`` and offsets from
it) so leases and due times are checked without sleeping.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trio

from engine.model import DeliveryAttempt, DeliveryRecord, Message
from engine.store import ClaimedDelivery, Store

OpenTestStore = Callable[..., AbstractAsyncContextManager[Store]]
"""The ``open_test_store`` fixture (see conftest.py)."""

pytestmark = pytest.mark.trio

LEASE = 30.0


def _now() -> datetime:
    return datetime.now(UTC)


def _later(seconds: float, since: datetime | None = None) -> datetime:
    return (since or _now()) + timedelta(seconds=seconds)


async def _commit(
    store: Store, records: Any, *destinations: str, **fields: Any
) -> tuple[Message, list[DeliveryRecord]]:
    """Commit a new message going to ``destinations``; it and its deliveries."""
    message: Message = records.message(**fields)
    written = await store.commit_message(message, destinations=destinations)
    assert written.outcome == "inserted"
    found = await store.list_deliveries(message.tenant, message_id=message.id)
    return message, list(found)


async def _claim(
    store: Store,
    destination: str = "hook",
    *,
    at: datetime | None = None,
    limit: int = 10,
    ordered: bool = False,
) -> list[ClaimedDelivery]:
    claimed = await store.claim_deliveries(
        destination, now=at or _now(), lease_seconds=LEASE, limit=limit, ordered=ordered
    )
    return list(claimed)


def _attempt(
    claimed: ClaimedDelivery,
    outcome: str,
    *,
    status_code: int | None = None,
    error: str | None = None,
    response: str | None = None,
) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=claimed.id,
        attempt=claimed.attempt,
        started_at=_now(),
        duration_ms=12.5,
        outcome=outcome,  # type: ignore[arg-type]
        status_code=status_code,
        error=error,
        response=response,
    )


async def _one(store: Store, delivery_id: str, tenant: str = "acme") -> DeliveryRecord:
    [found] = [d for d in await store.list_deliveries(tenant, limit=1_000) if d.id == delivery_id]
    return found


def _ids(found: Sequence[ClaimedDelivery | DeliveryRecord]) -> list[str]:
    return [d.id for d in found]


# Writing deliveries with their message ------------------------------------------------


async def test_a_message_commits_one_pending_delivery_per_destination(
    store: Store, records: Any
) -> None:
    message, deliveries = await _commit(store, records, "hook", "mail", "hook")
    assert [d.destination for d in deliveries] == ["hook", "mail"]
    for delivery in deliveries:
        assert (delivery.tenant, delivery.message_id) == ("acme", message.id)
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 0, None)
        assert delivery.next_attempt_at == delivery.created_at  # due at once
        assert delivery.created_at <= _now()
    hook, mail = deliveries
    assert await store.list_deliveries("acme", destination="mail") == [mail]
    assert await store.list_deliveries("acme", status="pending") == deliveries
    assert await store.list_deliveries("acme", status="delivered") == []
    assert await store.list_deliveries("acme", limit=1) == [hook]
    assert await store.list_deliveries("acme", after=hook.id) == [mail]
    _, none = await _commit(store, records)
    assert none == []


async def test_a_duplicate_message_commits_no_second_set_of_deliveries(
    store: Store, records: Any
) -> None:
    original, [delivery] = await _commit(store, records, "hook", carrier_message_id="SM1")
    retry = records.message(carrier_message_id="SM1", content="retried")
    written = await store.commit_message(retry, destinations=("hook", "mail"))
    assert (written.outcome, written.message) == ("duplicate", original)
    assert await store.list_deliveries("acme") == [delivery]


async def test_commit_messages_writes_each_messages_own_deliveries(
    store: Store, records: Any
) -> None:
    first = records.message(carrier_message_id="SM1")
    second = records.message()
    again = records.message(carrier_message_id="SM1", content="again")
    quiet = records.message()
    written = await store.commit_messages(
        [(first, None), (second, None), (again, None), (quiet, None)],
        destinations=[("hook",), ("hook", "mail"), ("mail",), ()],
    )
    assert [w.outcome for w in written] == ["inserted", "inserted", "duplicate", "inserted"]
    routed = {(d.message_id, d.destination) for d in await store.list_deliveries("acme", limit=100)}
    assert routed == {(first.id, "hook"), (second.id, "hook"), (second.id, "mail")}


async def test_a_completed_part_set_commits_its_deliveries_once(store: Store, records: Any) -> None:
    for seq in (1, 2):
        await store.add_part(records.part("set-a", seq, total=2))
    message = records.message(parts=2, carrier_message_id=None)
    written = await store.complete_part_set("set-a", message, destinations=("hook",))
    assert written.outcome == "inserted"
    again = await store.complete_part_set("set-a", message, destinations=("hook", "mail"))
    assert again.outcome == "duplicate"
    [delivery] = await store.list_deliveries("acme")
    assert (delivery.message_id, delivery.destination, delivery.status) == (
        message.id,
        "hook",
        "pending",
    )


# Claims ----------------------------------------------------------------------------------


async def test_a_claim_is_a_lease(store: Store, records: Any) -> None:
    message, [delivery] = await _commit(store, records, "hook", otp=records.otp())
    now = _now()
    [claimed] = await _claim(store, at=now)
    assert claimed == ClaimedDelivery(
        id=delivery.id,
        message=message,
        attempt=1,
        retry_step=0,
        created_at=delivery.created_at,
    )
    held = await _one(store, delivery.id)
    assert (held.status, held.next_attempt_at) == ("delivering", _later(LEASE, now))
    assert await _claim(store, at=_later(LEASE - 1, now)) == []  # still leased
    assert await _claim(store, "mail", at=_later(LEASE + 1, now)) == []  # not its destination
    # The lease ran out without a report: the delivery is claimed again, same attempt.
    [again] = await _claim(store, at=_later(LEASE + 1, now))
    assert again == claimed


async def test_claims_take_the_most_overdue_first_up_to_the_limit(
    store: Store, records: Any
) -> None:
    for _ in range(3):
        await _commit(store, records, "hook")
    first, second, third = await _claim(store)
    now = _now()
    for claimed, due_in in ((first, 3), (second, 1), (third, 2)):
        await store.finish_attempt(
            _attempt(claimed, "retry", status_code=503),
            status="pending",
            due_at=_later(due_in, now),
            retry_step=1,
        )
    assert await store.next_due("hook") == _later(1, now)
    assert await _claim(store, at=now) == []  # none due yet
    assert _ids(await _claim(store, at=_later(5, now), limit=2)) == [second.id, third.id]
    [last] = await _claim(store, at=_later(5, now))
    assert (last.id, last.attempt, last.retry_step) == (first.id, 2, 1)


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "in-one-batch"])
async def test_finish_attempt_delivers_reschedules_holds_or_fails(
    store: Store, records: Any, together: bool
) -> None:
    for _ in range(4):
        await _commit(store, records, "hook")
    delivered, retried, held, failed = await _claim(store)
    due = _later(60)
    ok = _attempt(delivered, "delivered", status_code=200, response="ok")
    refused = _attempt(failed, "failed", status_code=400, error="answered 400", response="bad")
    finishes: list[tuple[DeliveryAttempt, dict[str, Any]]] = [
        (ok, {"status": "delivered"}),
        (
            _attempt(retried, "retry", status_code=503, error="answered 503"),
            {"status": "pending", "due_at": due, "retry_step": 1},
        ),
        (
            _attempt(held, "held", status_code=410, error="answered 410"),
            {"status": "pending", "due_at": due},
        ),
        (refused, {"status": "failed"}),
    ]
    if together:  # submitted in one scheduling round: a store may write them at once
        async with trio.open_nursery() as nursery:
            for attempt, how in finishes:
                nursery.start_soon(functools.partial(store.finish_attempt, attempt, **how))
    else:
        for attempt, how in finishes:
            await store.finish_attempt(attempt, **how)

    record = await _one(store, delivered.id)
    assert (record.status, record.attempts, record.next_attempt_at) == ("delivered", 1, None)
    assert record.last_error is None
    assert record.updated_at >= ok.started_at
    assert await store.delivery_attempts("acme", delivered.id) == [ok]
    record = await _one(store, retried.id)
    assert (record.status, record.attempts, record.next_attempt_at) == ("pending", 1, due)
    assert record.last_error == "answered 503"
    record = await _one(store, held.id)
    assert (record.status, record.attempts, record.next_attempt_at) == ("pending", 1, due)
    record = await _one(store, failed.id)
    assert (record.status, record.attempts, record.next_attempt_at) == ("failed", 1, None)
    assert record.last_error == "answered 400"
    assert await store.delivery_attempts("acme", failed.id) == [refused]

    # Due again: the retry has used one step of its schedule, the held one none; the
    # delivered and the failed ones are never claimed again.
    again = {c.id: c for c in await _claim(store, at=_later(61))}
    assert again.keys() == {retried.id, held.id}
    assert (again[retried.id].attempt, again[retried.id].retry_step) == (2, 1)
    assert (again[held.id].attempt, again[held.id].retry_step) == (2, 0)


async def test_recover_claims_hands_every_claim_back(store: Store, records: Any) -> None:
    for _ in range(4):
        await _commit(store, records, "hook")
    _, _, waiting, done = await _claim(store)
    await store.finish_attempt(
        _attempt(waiting, "retry"), status="pending", due_at=_later(600), retry_step=1
    )
    await store.finish_attempt(_attempt(done, "delivered"), status="delivered")
    assert await store.recover_claims() == 2
    assert await store.recover_claims() == 0
    back = await _claim(store)
    assert len(back) == 2
    assert {c.attempt for c in back} == {1}
    assert waiting.id not in _ids(back)  # not claimed: it stays due when it was


async def test_claims_left_by_a_closed_store_are_recovered_after_reopening(
    open_test_store: OpenTestStore, records: Any
) -> None:
    async with open_test_store() as store:
        _, [delivery] = await _commit(store, records, "hook")
        await _claim(store)
    async with open_test_store() as store:
        assert (await _one(store, delivery.id)).status == "delivering"
        assert await store.recover_claims() == 1
        [claimed] = await _claim(store)
        assert (claimed.id, claimed.attempt) == (delivery.id, 1)


async def test_an_ordered_claim_takes_only_the_oldest_open_delivery_when_due(
    store: Store, records: Any
) -> None:
    deliveries = [(await _commit(store, records, "hook"))[1][0] for _ in range(3)]
    first, second, third = (d.id for d in deliveries)
    [head] = await _claim(store, ordered=True)
    assert head.id == first
    assert await _claim(store, ordered=True) == []  # the oldest is under way
    now = _now()
    await store.finish_attempt(
        _attempt(head, "retry", status_code=503),
        status="pending",
        due_at=_later(10, now),
        retry_step=1,
    )
    # The second is due, but waits behind the first.
    assert await _claim(store, at=_later(1, now), ordered=True) == []
    [head] = await _claim(store, at=_later(11, now), ordered=True)
    assert (head.id, head.attempt) == (first, 2)
    await store.finish_attempt(_attempt(head, "failed"), status="failed")
    [head] = await _claim(store, at=_later(11, now), ordered=True)
    assert head.id == second
    await store.finish_attempt(_attempt(head, "delivered"), status="delivered")
    assert _ids(await _claim(store, at=_later(11, now), ordered=True)) == [third]


# Replay ------------------------------------------------------------------------------------


async def test_replay_makes_failed_deliveries_due_with_a_fresh_schedule(
    store: Store, records: Any
) -> None:
    async def fail_all(destination: str) -> None:
        for claimed in await _claim(store, destination):
            await store.finish_attempt(_attempt(claimed, "failed"), status="failed")

    _, [old_hook, old_mail] = await _commit(store, records, "hook", "mail")
    await fail_all("hook")
    since = _now()
    _, [mid_hook, _] = await _commit(store, records, "hook", "mail")
    # The one in the window went through its schedule before failing.
    [claimed] = await _claim(store)
    await store.finish_attempt(
        _attempt(claimed, "retry"), status="pending", due_at=_now(), retry_step=2
    )
    await fail_all("hook")
    until = _now()
    _, [new_hook, _] = await _commit(store, records, "hook", "mail")
    await fail_all("hook")
    await fail_all("mail")
    _, [done] = await _commit(store, records, "hook")
    [claimed] = await _claim(store)
    await store.finish_attempt(_attempt(claimed, "delivered"), status="delivered")

    assert await store.replay_deliveries("zeta", destination="hook") == 0  # another tenant
    assert await store.replay_deliveries("acme", destination="hook", since=since, until=until) == 1
    [replayed] = await _claim(store)
    assert (replayed.id, replayed.attempt, replayed.retry_step) == (mid_hook.id, 3, 0)
    # Every failed one of the destination, not the one under way nor the delivered one.
    assert await store.replay_deliveries("acme", destination="hook") == 2
    assert set(_ids(await _claim(store))) == {old_hook.id, new_hook.id}
    statuses = {d.id: d.status for d in await store.list_deliveries("acme", limit=100)}
    assert statuses[old_mail.id] == "failed"
    assert list(statuses.values()).count("failed") == 3  # mail's are untouched
    assert statuses[done.id] == "delivered"


async def test_replaying_one_delivery_works_in_any_state_but_under_way(
    store: Store, records: Any
) -> None:
    _, [delivered] = await _commit(store, records, "hook")
    [claimed] = await _claim(store)
    await store.finish_attempt(_attempt(claimed, "delivered"), status="delivered")
    _, [under_way] = await _commit(store, records, "hook")
    await _claim(store)
    assert await store.replay_deliveries("zeta", delivery_id=delivered.id) == 0
    assert await store.replay_deliveries("acme", delivery_id=under_way.id) == 0
    assert await store.replay_deliveries("acme", delivery_id=delivered.id) == 1
    record = await _one(store, delivered.id)
    assert record.status == "pending"
    assert record.next_attempt_at is not None
    assert record.next_attempt_at <= _now()
    [again] = await _claim(store)
    assert (again.id, again.attempt) == (delivered.id, 2)


# Disabled destinations, depth, next due --------------------------------------------------


async def test_a_disabled_destination_is_remembered_and_enabling_makes_its_deliveries_due(
    store: Store, records: Any
) -> None:
    assert await store.disabled_destinations() == {}
    await store.set_destination_disabled("hook", "answered 410 Gone")
    await store.set_destination_disabled("hook", "by the operator")
    await store.set_destination_disabled("mail", "by the operator")
    assert await store.disabled_destinations() == {
        "hook": "by the operator",
        "mail": "by the operator",
    }
    _, [hook, mail] = await _commit(store, records, "hook", "mail")
    later = _later(3600)
    for destination in ("hook", "mail"):
        [claimed] = await _claim(store, destination)
        await store.finish_attempt(_attempt(claimed, "held"), status="pending", due_at=later)
    await store.set_destination_disabled("hook", None)
    assert await store.disabled_destinations() == {"mail": "by the operator"}
    due = (await _one(store, hook.id)).next_attempt_at
    assert due is not None
    assert due <= _now()
    assert (await _one(store, mail.id)).next_attempt_at == later
    assert _ids(await _claim(store)) == [hook.id]


async def test_outbox_depth_and_next_due_count_only_open_deliveries(
    store: Store, records: Any
) -> None:
    assert await store.outbox_depth() == {}
    assert await store.next_due("hook") is None
    _, [oldest] = await _commit(store, records, "hook")
    for _ in range(2):
        await _commit(store, records, "hook")
    await _commit(store, records, "mail")
    first, second, third = await _claim(store)
    await store.finish_attempt(_attempt(first, "delivered"), status="delivered")
    due = _later(LEASE / 2)
    await store.finish_attempt(
        _attempt(second, "retry"), status="pending", due_at=due, retry_step=1
    )
    [mail] = await _claim(store, "mail")
    await store.finish_attempt(_attempt(mail, "failed"), status="failed")
    # hook: one pending, one under way; mail: nothing open.
    assert (await _one(store, third.id)).status == "delivering"
    depth = await store.outbox_depth()
    assert depth.keys() == {"hook"}
    count, oldest_open = depth["hook"]
    assert count == 2
    assert oldest_open > oldest.created_at  # the oldest was delivered
    assert await store.next_due("hook") == due  # before the lease of the one under way ends
    assert await store.next_due("mail") is None


# Tenants -----------------------------------------------------------------------------------


async def test_tenants_are_walls_in_the_outbox(store: Store, records: Any) -> None:
    _, [ours] = await _commit(store, records, "hook")
    _, [theirs] = await _commit(store, records, "hook", tenant="zeta")
    for claimed in await _claim(store):
        await store.finish_attempt(_attempt(claimed, "failed"), status="failed")
    assert _ids(await store.list_deliveries("acme")) == [ours.id]
    assert _ids(await store.list_deliveries("zeta")) == [theirs.id]
    assert await store.list_deliveries("nobody") == []
    assert len(await store.delivery_attempts("acme", ours.id)) == 1
    assert await store.delivery_attempts("zeta", ours.id) == []
    assert await store.replay_deliveries("zeta", delivery_id=ours.id) == 0
    assert await store.replay_deliveries("zeta", destination="hook") == 1
    assert (await _one(store, ours.id)).status == "failed"
    assert (await _one(store, theirs.id, "zeta")).status == "pending"
