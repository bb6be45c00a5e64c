"""What every store must do, whatever its database: run unchanged for each store kind.

The fixtures (``store``, ``open_test_store``, ``records``) come from ``conftest.py``,
parametrized by store kind.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, timedelta, timezone
from typing import Any

import msgspec
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineClosedError
from engine.model import Message
from engine.store import BatchWritten, MessageQuery, PartsAdded, Store, WholeSet, Written

OpenTestStore = Callable[..., AbstractAsyncContextManager[Store]]
"""The ``open_test_store`` fixture (see conftest.py)."""

pytestmark = pytest.mark.trio


# Messages ---------------------------------------------------------------------------


async def test_a_committed_message_reads_back_equal(store: Store, records: Any) -> None:
    sent_at = records.t0.astimezone(timezone(timedelta(hours=5, minutes=30)))
    message = records.message(otp=records.otp(), sent_at=sent_at, flags=("flash",))
    written = await store.commit_message(message, raw=b'{"carrier": "payload"}')
    assert written.outcome == "inserted"
    assert written.message == message
    stored = await store.get_message("acme", message.id)
    assert stored == message
    assert stored is not None
    assert stored.sent_at is not None
    assert stored.sent_at.utcoffset() == timedelta(hours=5, minutes=30)  # offset kept
    assert await store.raw_payload("acme", message.id) == b'{"carrier": "payload"}'
    found = await store.find_by_carrier_id("acme", "sandbox", message.carrier_message_id)
    assert found == message


async def test_unknown_ids_answer_none(store: Store) -> None:
    assert await store.get_message("acme", "msg_nope") is None
    assert await store.find_by_carrier_id("acme", "sandbox", "nope") is None
    assert await store.raw_payload("acme", "msg_nope") is None
    assert await store.status_reports("acme", "msg_nope") == []


async def test_a_message_without_raw_or_carrier_id(store: Store, records: Any) -> None:
    first = records.message(carrier_message_id=None)
    second = records.message(carrier_message_id=None)
    assert (await store.commit_message(first)).outcome == "inserted"
    assert (await store.commit_message(second)).outcome == "inserted"  # no id: no dedupe
    assert await store.raw_payload("acme", first.id) is None
    assert len(await store.list_messages(MessageQuery(tenant="acme"))) == 2


async def test_a_carrier_retry_is_a_duplicate_of_the_original(store: Store, records: Any) -> None:
    original = records.message(carrier_message_id="SM1")
    retry = records.message(carrier_message_id="SM1", content="retried")
    await store.commit_message(original, raw=b"first")
    written = await store.commit_message(retry, raw=b"second")
    assert written.outcome == "duplicate"
    assert written.message == original
    assert await store.get_message("acme", retry.id) is None
    assert await store.raw_payload("acme", original.id) == b"first"
    assert [m.id for m in await store.list_messages(MessageQuery(tenant="acme"))] == [original.id]


async def test_commit_messages_answers_each_in_order(store: Store, records: Any) -> None:
    stored = records.message(carrier_message_id="SM1")
    await store.commit_message(stored, raw=b"stored")
    fresh = [records.message() for _ in range(3)]
    retry = records.message(carrier_message_id="SM1", content="retried")
    inside = records.message(carrier_message_id="SM2")
    again = records.message(carrier_message_id="SM2", content="again")
    batch = [
        (fresh[0], b"raw 0"),
        (retry, b"retry"),
        (inside, None),
        (fresh[1], None),
        (again, b"again"),
        (fresh[2], b"raw 2"),
    ]
    written = await store.commit_messages(batch)
    assert [w.outcome for w in written] == [
        "inserted",
        "duplicate",
        "inserted",
        "inserted",
        "duplicate",
        "inserted",
    ]
    assert [w.message for w in written] == [fresh[0], stored, inside, fresh[1], inside, fresh[2]]
    assert await store.get_message("acme", retry.id) is None
    assert await store.get_message("acme", again.id) is None
    assert await store.raw_payload("acme", fresh[0].id) == b"raw 0"
    assert await store.raw_payload("acme", fresh[1].id) is None
    assert await store.raw_payload("acme", stored.id) == b"stored"
    found = await store.find_by_carrier_id("acme", "sandbox", "SM2")
    assert found == inside
    listed = await store.list_messages(MessageQuery(tenant="acme", limit=10))
    assert len(listed) == 5
    assert list(await store.commit_messages([])) == []


async def test_commit_messages_dedupes_against_buffered_parts_and_itself(
    store: Store, records: Any
) -> None:
    await store.add_part(records.part("set-1", 1, carrier_message_id="P1"))
    held = records.message(carrier_message_id="P1")
    same = records.message(carrier_message_id=None)
    twice = records.message(id=same.id, carrier_message_id=None, content="twice")
    written = await store.commit_messages([(held, None), (same, None), (twice, None)])
    # held by a part: the message is kept, the carrier id stays with the part
    assert [w.outcome for w in written] == ["inserted", "inserted", "duplicate"]
    assert written[2].message == same
    assert await store.get_message("acme", held.id) == held


async def test_committed_message_lists_survive_a_reopen(
    open_test_store: OpenTestStore, records: Any
) -> None:
    messages = [records.message() for _ in range(700)]
    async with open_test_store() as store:
        written = await store.commit_messages([(m, m.id.encode()) for m in messages])
        assert {w.outcome for w in written} == {"inserted"}
    async with open_test_store() as store:
        for m in messages[::50] + messages[-1:]:
            assert await store.get_message("acme", m.id) == m
            assert await store.raw_payload("acme", m.id) == m.id.encode()
        listed = await store.list_messages(MessageQuery(tenant="acme", limit=1000))
        assert len(listed) == 700
        again = await store.commit_messages(
            [(records.message(carrier_message_id=m.carrier_message_id), None) for m in messages[:3]]
        )
        assert [w.message for w in again] == messages[:3]


async def test_commit_messages_beside_single_commits(store: Store, records: Any) -> None:
    singles = [records.message() for _ in range(20)]
    lists = [[records.message() for _ in range(30)] for _ in range(5)]
    async with trio.open_nursery() as nursery:
        for message in singles:
            nursery.start_soon(store.commit_message, message)
        for batch in lists:
            nursery.start_soon(store.commit_messages, [(m, None) for m in batch])
    listed = await store.list_messages(MessageQuery(tenant="acme", limit=1000))
    assert len(listed) == 20 + 150


async def test_the_same_carrier_id_from_another_carrier_is_new(store: Store, records: Any) -> None:
    one = records.message(carrier="twilio", carrier_message_id="SM1")
    other = records.message(carrier="telnyx", carrier_message_id="SM1")
    assert (await store.commit_message(one)).outcome == "inserted"
    assert (await store.commit_message(other)).outcome == "inserted"


async def test_committing_the_same_message_id_again_is_a_duplicate(
    store: Store, records: Any
) -> None:
    message = records.message()
    await store.commit_message(message)
    again = msgspec.structs.replace(message, carrier_message_id="other")
    written = await store.commit_message(again)
    assert written.outcome == "duplicate"
    assert written.message == message


async def test_concurrent_writers_insert_each_message_exactly_once(
    store: Store, records: Any
) -> None:
    # 1,000 carrier ids, each sent twice at once by different tasks: 2,000 writes.
    messages = [records.message(carrier_message_id=f"c{i % 1000}") for i in range(2000)]
    outcomes: dict[str, list[str]] = {}

    async def commit(message: Message) -> None:
        written = await store.commit_message(message)
        outcomes.setdefault(message.carrier_message_id or "", []).append(written.outcome)

    async with trio.open_nursery() as nursery:
        for message in messages:
            nursery.start_soon(commit, message)
    assert all(sorted(o) == ["duplicate", "inserted"] for o in outcomes.values())
    assert len(outcomes) == 1000
    listed = await store.list_messages(MessageQuery(tenant="acme", limit=5000))
    assert len(listed) == 1000
    assert len({m.carrier_message_id for m in listed}) == 1000


# Parts ----------------------------------------------------------------------------


async def test_parts_are_stored_in_seq_order(store: Store, records: Any) -> None:
    third = await store.add_part(records.part("set-a", 3))
    first = await store.add_part(records.part("set-a", 1))
    assert third.outcome == first.outcome == "stored"
    assert [p.seq for p in first.parts] == [1, 3]
    assert first.parts[0] == records.part("set-a", 1)
    assert first.message_id is None


async def test_a_part_with_a_seq_already_stored_is_a_duplicate(store: Store, records: Any) -> None:
    await store.add_part(records.part("set-a", 1))
    added = await store.add_part(records.part("set-a", 1, carrier_message_id="different"))
    assert added.outcome == "duplicate"
    assert [p.carrier_message_id for p in added.parts] == ["set-a-part-1"]
    # The duplicate wrote nothing: its carrier id is still unknown.
    again = await store.add_part(records.part("set-a", 2, carrier_message_id="different"))
    assert again.outcome == "stored"


async def test_a_part_whose_carrier_id_was_seen_is_not_stored_again(
    store: Store, records: Any
) -> None:
    await store.add_part(records.part("set-a", 1, carrier_message_id="P1"))
    added = await store.add_part(records.part("set-a", 2, carrier_message_id="P1"))
    assert added.outcome == "seen"
    assert added.message_id is None
    assert [p.seq for p in added.parts] == [1]
    message = records.message(carrier_message_id="M1")
    await store.commit_message(message)
    as_part = await store.add_part(records.part("set-b", 1, carrier_message_id="M1"))
    assert as_part.outcome == "seen"
    assert as_part.message_id == message.id
    assert as_part.parts == ()


async def test_part_sets_lists_every_set_or_the_expired_ones(store: Store, records: Any) -> None:
    t0 = records.t0
    late = [records.part("late", s, expires_at=t0 + timedelta(hours=2)) for s in (2, 1)]
    soon = [records.part("soon", 1, expires_at=t0 + timedelta(minutes=5))]
    mixed = [
        records.part("mixed", 1, expires_at=t0 + timedelta(hours=3)),
        records.part("mixed", 2, expires_at=t0 + timedelta(minutes=30)),
    ]
    for part in [*late, *soon, *mixed]:
        await store.add_part(part)
    every = await store.part_sets()
    assert sorted((s[0].set_key, [p.seq for p in s]) for s in every) == [
        ("late", [1, 2]),
        ("mixed", [1, 2]),
        ("soon", [1]),
    ]
    expired = await store.part_sets(expired_before=t0 + timedelta(hours=1))
    # A set is due by its earliest expiry; the whole set comes back, parts in seq order.
    assert sorted((s[0].set_key, [p.seq for p in s]) for s in expired) == [
        ("mixed", [1, 2]),
        ("soon", [1]),
    ]
    assert await store.part_sets(expired_before=t0) == []


async def test_completing_a_set_replaces_its_parts_with_the_message(
    store: Store, records: Any
) -> None:
    for seq in (1, 2, 3):
        await store.add_part(records.part("set-a", seq))
    await store.add_part(records.part("set-b", 1))
    message = records.message(parts=3, carrier_message_id="set-a-part-1")
    written = await store.complete_part_set("set-a", message, raw=b"joined")
    assert written == msgspec.structs.replace(written, outcome="inserted", message=message)
    assert await store.get_message("acme", message.id) == message
    assert await store.raw_payload("acme", message.id) == b"joined"
    assert [s[0].set_key for s in await store.part_sets()] == ["set-b"]
    # Every part's carrier id now names the message, also after the set completed.
    for seq in (1, 2, 3):
        found = await store.find_by_carrier_id("acme", "sandbox", f"set-a-part-{seq}")
        assert found == message
        late = await store.add_part(records.part("set-a", seq))
        assert late.outcome == "seen"
        assert late.message_id == message.id
    retry = records.message(carrier_message_id="set-a-part-2")
    assert await store.commit_message(retry) == msgspec.structs.replace(
        written, outcome="duplicate"
    )


async def test_completing_a_set_again_is_a_duplicate(store: Store, records: Any) -> None:
    await store.add_part(records.part("set-a", 1, total=1))
    message = records.message(carrier_message_id=None)
    assert (await store.complete_part_set("set-a", message)).outcome == "inserted"
    again = await store.complete_part_set("set-a", message)
    assert again.outcome == "duplicate"
    assert again.message == message
    assert len(await store.list_messages(MessageQuery(tenant="acme"))) == 1


async def test_parts_added_together_that_are_the_whole_set_commit_its_message_at_once(
    store: Store, records: Any
) -> None:
    parts = [records.part("set-a", seq) for seq in (2, 1, 3)]
    message = records.message(parts=3, carrier_message_id="set-a-part-1")
    answer = await store.add_parts(parts, message=message, raw=b"joined")
    assert [a.outcome for a in answer.added] == ["stored", "stored", "stored"]
    assert [[p.seq for p in a.parts] for a in answer.added] == [[2], [1, 2], [1, 2, 3]]
    assert answer.written is not None
    assert answer.written.outcome == "inserted"
    assert answer.written.message == message
    assert await store.get_message("acme", message.id) == message
    assert await store.raw_payload("acme", message.id) == b"joined"
    assert await store.part_sets() == []  # the parts went with the completion
    for seq in (1, 2, 3):
        late = await store.add_part(records.part("set-a", seq))
        assert (late.outcome, late.message_id) == ("seen", message.id)


async def test_parts_added_together_answer_as_if_added_one_by_one(
    store: Store, records: Any
) -> None:
    await store.add_part(records.part("set-a", 1))
    added = await store.add_parts([records.part("set-a", seq) for seq in (2, 3)])
    assert [a.outcome for a in added.added] == ["stored", "stored"]
    assert [p.seq for p in added.added[-1].parts] == [1, 2, 3]
    assert added.written is None  # no message was given: the caller completes the set
    # Without the set's first part the message is not the one a completion would make.
    await store.add_part(records.part("set-b", 1))
    message = records.message(parts=3, carrier_message_id=None)
    answer = await store.add_parts([records.part("set-b", seq) for seq in (2, 3)], message=message)
    assert [a.outcome for a in answer.added] == ["stored", "stored"]
    assert answer.written is None
    assert await store.get_message("acme", message.id) is None


async def test_parts_added_together_stop_at_the_one_that_completes_the_set(
    store: Store, records: Any
) -> None:
    await store.add_part(records.part("set-a", 1))
    await store.add_part(records.part("set-a", 2))
    message = records.message(parts=3, carrier_message_id=None)
    # Part 3 completes the set: the copy of part 1 after it is left to the caller, who
    # adds it once the set is completed (then it is a late copy).
    answer = await store.add_parts(
        [records.part("set-a", 3), records.part("set-a", 1, carrier_message_id="copy")],
        message=message,
    )
    assert [a.outcome for a in answer.added] == ["stored"]
    assert [p.seq for p in answer.added[0].parts] == [1, 2, 3]
    assert answer.written is None
    assert await store.get_message("acme", message.id) is None
    assert [p.duplicates for p in (await store.part_sets())[0]] == [0, 0, 0]


async def test_parts_added_together_with_one_seen_complete_nothing(
    store: Store, records: Any
) -> None:
    earlier = records.message(carrier_message_id="P2")
    await store.commit_message(earlier)
    message = records.message(parts=2, carrier_message_id=None)
    answer = await store.add_parts(
        [
            records.part("set-a", 1, total=2),
            records.part("set-a", 2, total=2, carrier_message_id="P2"),
        ],
        message=message,
    )
    assert [a.outcome for a in answer.added] == ["stored", "seen"]
    assert answer.added[1].message_id == earlier.id
    assert answer.written is None
    assert await store.get_message("acme", message.id) is None
    assert [[p.seq for p in s] for s in await store.part_sets()] == [[1]]


async def test_a_whole_set_added_together_with_a_part_stored_before(
    store: Store, records: Any
) -> None:
    await store.add_part(records.part("set-a", 2, carrier_message_id="early"))
    message = records.message(parts=3, carrier_message_id="set-a-part-1")
    answer = await store.add_parts(
        [records.part("set-a", seq) for seq in (1, 2, 3)], message=message
    )
    # As if added one by one: the second part 2 is a repeat, so the set completes with
    # the earlier one, by the caller, and not with the message built from these.
    assert [a.outcome for a in answer.added] == ["stored", "duplicate", "stored"]
    assert answer.written is None
    assert await store.get_message("acme", message.id) is None
    [stored] = await store.part_sets()
    assert [(p.seq, p.carrier_message_id, p.duplicates) for p in stored] == [
        (1, "set-a-part-1", 0),
        (2, "early", 1),
        (3, "set-a-part-3", 0),
    ]


async def test_a_batch_answers_its_messages_and_sets_as_their_own_writes_would(
    store: Store, records: Any
) -> None:
    singles = [(records.message(), b"raw-1"), (records.message(), None)]
    set_a = [records.part("set-a", seq, total=2) for seq in (2, 1)]
    message_a = records.message(parts=2, carrier_message_id="set-a-part-1")
    set_b = [records.part("set-b", seq) for seq in (1, 2, 3)]
    message_b = records.message(parts=3, carrier_message_id="set-b-part-1")
    answer = await store.commit_batch(
        singles,
        sets=[
            WholeSet(parts=set_a, message=message_a, raw=b"joined a"),
            WholeSet(parts=set_b, message=message_b),
        ],
    )
    assert not isinstance(answer.messages, Exception)
    assert [(w.outcome, w.message) for w in answer.messages] == [
        ("inserted", message) for message, _ in singles
    ]
    first, second = answer.sets
    assert isinstance(first, PartsAdded)
    assert isinstance(second, PartsAdded)
    assert [[p.seq for p in a.parts] for a in first.added] == [[2], [1, 2]]
    assert first.written == Written(outcome="inserted", message=message_a)
    assert [a.outcome for a in second.added] == ["stored"] * 3
    assert second.written == Written(outcome="inserted", message=message_b)
    for message in (singles[0][0], singles[1][0], message_a, message_b):
        assert await store.get_message("acme", message.id) == message
    assert await store.raw_payload("acme", singles[0][0].id) == b"raw-1"
    assert await store.raw_payload("acme", message_a.id) == b"joined a"
    assert await store.part_sets() == []
    late = await store.add_part(records.part("set-b", 2))
    assert (late.outcome, late.message_id) == ("seen", message_b.id)


async def test_a_batch_of_one_set_alone_or_of_nothing(store: Store, records: Any) -> None:
    parts = [records.part("set-a", seq, total=2) for seq in (1, 2)]
    message = records.message(parts=2, carrier_message_id=None)
    answer = await store.commit_batch([], sets=[WholeSet(parts=parts, message=message)])
    assert answer.messages == []
    [added] = answer.sets
    assert isinstance(added, PartsAdded)
    assert added.written == Written(outcome="inserted", message=message)
    empty = await store.commit_batch([])
    assert (empty.messages, empty.sets) == ([], [])


async def test_a_batch_repeating_what_is_stored_answers_duplicates(
    store: Store, records: Any
) -> None:
    original = records.message(carrier_message_id="M1")
    await store.commit_message(original)
    await store.add_part(records.part("set-a", 2, carrier_message_id="early"))
    repeat = records.message(carrier_message_id="M1")
    fresh = records.message()
    message = records.message(parts=3, carrier_message_id="set-a-part-1")
    answer = await store.commit_batch(
        [(repeat, None), (fresh, None)],
        sets=[WholeSet(parts=[records.part("set-a", seq) for seq in (1, 2, 3)], message=message)],
    )
    assert not isinstance(answer.messages, Exception)
    assert [(w.outcome, w.message) for w in answer.messages] == [
        ("duplicate", original),
        ("inserted", fresh),
    ]
    # As add_parts answers: the set had a part 2 already, so these parts do not make
    # the message; the caller completes the set with the part it held.
    [added] = answer.sets
    assert isinstance(added, PartsAdded)
    assert [a.outcome for a in added.added] == ["stored", "duplicate", "stored"]
    assert added.written is None
    assert await store.get_message("acme", message.id) is None


async def test_a_batch_commits_with_the_single_writes_beside_it(store: Store, records: Any) -> None:
    # A batch and single writes submitted at once share the writer's commits; each is
    # answered with its own result.
    singles = [records.message() for _ in range(3)]
    batches: list[BatchWritten] = []

    async def batch(n: int) -> None:
        parts = [records.part(f"set-{n}", seq, total=2) for seq in (1, 2)]
        message = records.message(parts=2, carrier_message_id=None)
        batches.append(
            await store.commit_batch(
                [(records.message(), None)], sets=[WholeSet(parts=parts, message=message)]
            )
        )

    async with trio.open_nursery() as nursery:
        for message in singles:
            nursery.start_soon(store.commit_message, message)
        for n in range(3):
            nursery.start_soon(batch, n)
    listed = await store.list_messages(MessageQuery(tenant="acme", limit=100))
    assert len(listed) == 3 + 3 * 2
    for answer in batches:
        assert not isinstance(answer.messages, Exception)
        [added] = answer.sets
        assert isinstance(added, PartsAdded)
        assert added.written is not None


async def test_a_whole_set_links_the_status_reports_waiting_for_its_parts(
    store: Store, records: Any
) -> None:
    waiting = await store.commit_status(records.report(refers_to="set-a-part-2"))
    elsewhere = await store.commit_status(records.report(refers_to="set-a-part-3", tenant="other"))
    message = records.message(parts=3, carrier_message_id="set-a-part-1")
    answer = await store.add_parts(
        [records.part("set-a", seq) for seq in (1, 2, 3)], message=message
    )
    assert answer.written is not None
    assert answer.written.outcome == "inserted"
    linked = await store.status_reports("acme", message.id)
    assert linked == [msgspec.structs.replace(waiting, message_id=message.id)]
    # Tenants are walls: another tenant's report for the same carrier id stays unlinked.
    assert await store.status_reports("other", message.id) == []
    assert elsewhere.message_id is None


async def test_add_parts_refuses_parts_of_two_sets_or_a_seq_twice(
    store: Store, records: Any
) -> None:
    with pytest.raises(ValueError, match="one set"):
        await store.add_parts([records.part("set-a", 1), records.part("set-b", 2)])
    with pytest.raises(ValueError, match="one set"):
        await store.add_parts([records.part("set-a", 1), records.part("set-a", 1)])
    with pytest.raises(ValueError, match="at least one"):
        await store.add_parts([])
    assert await store.part_sets() == []


async def test_repeats_of_a_part_are_counted_and_kept(
    open_test_store: OpenTestStore, records: Any
) -> None:
    async with open_test_store() as store:
        # No carrier id (a modem's PDU): the repeat is known by its place in the set.
        await store.add_part(records.part("set-d", 1, carrier_message_id=None))
        again = await store.add_part(records.part("set-d", 1, carrier_message_id=None))
        assert again.outcome == "duplicate"
        assert [p.duplicates for p in again.parts] == [1]
        await store.add_part(records.part("set-d", 1, carrier_message_id=None))
    async with open_test_store() as store:  # the count survives a reopen
        [[stored]] = await store.part_sets()
        assert stored.duplicates == 2


# Status reports -------------------------------------------------------------------


async def test_a_status_report_links_to_its_message(store: Store, records: Any) -> None:
    message = records.message(carrier_message_id="SM9")
    await store.commit_message(message)
    report = records.report(refers_to="SM9")
    stored = await store.commit_status(report)
    assert stored == msgspec.structs.replace(report, message_id=message.id)
    later = await store.commit_status(records.report(refers_to="SM9", status="FAILED"))
    assert await store.status_reports("acme", message.id) == [stored, later]


async def test_a_status_report_for_an_unknown_message_is_kept_unlinked(
    store: Store, records: Any
) -> None:
    report = records.report(refers_to="unknown")
    assert await store.commit_status(report) == report


async def test_a_repeated_status_report_is_not_written_again(store: Store, records: Any) -> None:
    message = records.message(carrier_message_id="SM9")
    await store.commit_message(message)
    first = await store.commit_status(records.report(refers_to="SM9", carrier_message_id="D1"))
    again = await store.commit_status(
        records.report(refers_to="SM9", carrier_message_id="D1", status="other")
    )
    assert again == first
    assert await store.status_reports("acme", message.id) == [first]


async def test_a_status_report_links_only_within_its_tenant(store: Store, records: Any) -> None:
    message = records.message(tenant="other", carrier_message_id="SM9")
    await store.commit_message(message)
    stored = await store.commit_status(records.report(refers_to="SM9"))
    assert stored.message_id is None


async def test_a_status_report_that_came_first_is_linked_when_its_message_commits(
    store: Store, records: Any
) -> None:
    early = await store.commit_status(records.report(refers_to="SM7"))
    other_tenant = await store.commit_status(
        records.report(refers_to="SM7", tenant="rival", carrier_message_id="R1")
    )
    assert early.message_id is None
    message = records.message(carrier_message_id="SM7")
    await store.commit_messages([(message, None)])
    [linked] = await store.status_reports("acme", message.id)
    assert linked == msgspec.structs.replace(early, message_id=message.id)
    assert other_tenant.message_id is None  # another tenant's report is never linked
    assert await store.status_reports("rival", message.id) == []


async def test_a_status_report_for_a_part_is_linked_when_its_set_completes(
    store: Store, records: Any
) -> None:
    early = await store.commit_status(records.report(refers_to="P2"))
    await store.add_part(records.part("set-r", 1, total=2, carrier_message_id="P1"))
    await store.add_part(records.part("set-r", 2, total=2, carrier_message_id="P2"))
    message = records.message(carrier_message_id=None)
    await store.complete_part_set("set-r", message)
    [linked] = await store.status_reports("acme", message.id)
    assert linked.id == early.id
    assert linked.message_id == message.id


# Tenants --------------------------------------------------------------------------


async def test_tenants_are_walls_on_every_read(store: Store, records: Any) -> None:
    message = records.message(tenant="acme", carrier_message_id="SM1")
    await store.commit_message(message, raw=b"raw")
    await store.commit_status(records.report(refers_to="SM1"))
    assert await store.get_message("acme", message.id) == message
    assert await store.get_message("rival", message.id) is None
    assert await store.find_by_carrier_id("rival", "sandbox", "SM1") is None
    assert await store.raw_payload("rival", message.id) is None
    assert await store.status_reports("rival", message.id) == []
    assert len(await store.status_reports("acme", message.id)) == 1
    assert await store.list_messages(MessageQuery(tenant="rival")) == []


# Queries --------------------------------------------------------------------------


async def test_list_messages_filters(store: Store, records: Any) -> None:
    t0 = records.t0
    a = records.message(number_used="+1", sender_id="bank", received_at=t0, otp=records.otp())
    b = records.message(number_used="+1", sender_id="shop", received_at=t0 + timedelta(hours=1))
    c = records.message(number_used="+2", sender_id="bank", received_at=t0 + timedelta(hours=2))
    d = records.message(tenant="rival", number_used="+1", received_at=t0)
    for message in (a, b, c, d):
        await store.commit_message(message)

    async def ids(**query: Any) -> list[str]:
        return [m.id for m in await store.list_messages(MessageQuery(tenant="acme", **query))]

    assert await ids() == [c.id, b.id, a.id]  # newest first
    assert await ids(oldest_first=True) == [a.id, b.id, c.id]
    assert await ids(number="+1") == [b.id, a.id]
    assert await ids(sender="bank") == [c.id, a.id]
    assert await ids(number="+1", sender="bank") == [a.id]
    assert await ids(has_otp=True) == [a.id]
    assert await ids(has_otp=False) == [c.id, b.id]
    # since is inclusive, until exclusive; naive datetimes count as UTC.
    assert await ids(since=t0 + timedelta(hours=1)) == [c.id, b.id]
    assert await ids(until=t0 + timedelta(hours=1)) == [a.id]
    naive = (t0 + timedelta(hours=1)).astimezone(UTC).replace(tzinfo=None)
    assert await ids(since=naive, until=naive + timedelta(hours=1)) == [b.id]
    offset = (t0 + timedelta(hours=2)).astimezone(timezone(timedelta(hours=-7)))
    assert await ids(since=offset) == [c.id]
    assert await ids(after=a.id) == [c.id, b.id]
    assert await ids(before=c.id) == [b.id, a.id]
    assert await ids(after=a.id, before=c.id) == [b.id]
    assert await ids(limit=2) == [c.id, b.id]
    assert await ids(limit=0) == []


async def test_paging_walks_every_message_once(store: Store, records: Any) -> None:
    messages = [records.message() for _ in range(25)]
    for message in messages:
        await store.commit_message(message)
    seen: list[str] = []
    after = None
    while page := await store.list_messages(
        MessageQuery(tenant="acme", after=after, limit=7, oldest_first=True)
    ):
        seen += [m.id for m in page]
        after = page[-1].id
    assert seen == [m.id for m in messages]
    seen, before = [], None
    while page := await store.list_messages(MessageQuery(tenant="acme", before=before, limit=7)):
        seen += [m.id for m in page]
        before = page[-1].id
    assert seen == [m.id for m in reversed(messages)]


# Closing --------------------------------------------------------------------------


async def test_aclose_commits_the_writes_in_flight_first(
    open_test_store: OpenTestStore, records: Any
) -> None:
    messages = [records.message() for _ in range(300)]
    answers: list[str] = []
    async with open_test_store() as store:

        async def commit(message: Message) -> None:
            answers.append((await store.commit_message(message)).outcome)

        async with trio.open_nursery() as nursery:
            for message in messages:
                nursery.start_soon(commit, message)
            await trio.testing.wait_all_tasks_blocked()
            await store.aclose()
        await store.aclose()  # idempotent
        assert answers == ["inserted"] * 300
        with pytest.raises(EngineClosedError):
            await store.commit_message(records.message())
        with pytest.raises(EngineClosedError):
            await store.get_message("acme", messages[0].id)
    async with open_test_store() as reopened:
        listed = await reopened.list_messages(MessageQuery(tenant="acme", limit=1000))
        assert {m.id for m in listed} == {m.id for m in messages}


async def test_data_survives_closing_and_reopening(
    open_test_store: OpenTestStore, records: Any
) -> None:
    message = records.message(carrier_message_id="SM1")
    async with open_test_store() as store:
        await store.commit_message(message, raw=b"raw")
        await store.add_part(records.part("set-a", 1))
    async with open_test_store() as store:
        assert await store.get_message("acme", message.id) == message
        assert await store.raw_payload("acme", message.id) == b"raw"
        assert [s[0].set_key for s in await store.part_sets()] == ["set-a"]
        assert (await store.commit_message(records.message(carrier_message_id="SM1"))).outcome == (
            "duplicate"
        )


# Property: the store answers like a plain list of messages --------------------------

_TENANTS = ["acme", "rival"]
_NUMBERS = ["+1", "+2"]
_SENDERS = ["bank", "shop"]

_commits = st.tuples(
    st.sampled_from(_TENANTS),
    st.sampled_from(_NUMBERS),
    st.sampled_from(_SENDERS),
    st.sampled_from(["twilio", "smpp"]),
    st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])),
    st.integers(0, 5),  # received_at, in hours after t0
    st.booleans(),  # has an otp
)
_queries = st.fixed_dictionaries(
    {
        "tenant": st.sampled_from(_TENANTS),
        "number": st.one_of(st.none(), st.sampled_from(_NUMBERS)),
        "sender": st.one_of(st.none(), st.sampled_from(_SENDERS)),
        "since": st.one_of(st.none(), st.integers(0, 6)),
        "until": st.one_of(st.none(), st.integers(0, 6)),
        "after": st.one_of(st.none(), st.integers(0, 30)),
        "before": st.one_of(st.none(), st.integers(0, 30)),
        "has_otp": st.one_of(st.none(), st.booleans()),
        "limit": st.integers(0, 8),
        "oldest_first": st.booleans(),
    }
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.one_of(st.tuples(st.just("commit"), _commits), st.tuples(st.just("query"), _queries)),
        max_size=30,
    )
)
async def test_the_store_answers_like_a_list_of_messages(
    open_test_store: OpenTestStore, records: Any, steps: list[tuple[str, Any]]
) -> None:
    t0 = records.t0
    model: list[Message] = []  # the oracle: every inserted message, oldest first
    committed: list[Message] = []  # every message offered, for ids to page from
    async with open_test_store(f"property-{next(_examples)}") as store:
        for kind, step in steps:
            if kind == "commit":
                tenant, number, sender, carrier, carrier_id, hours, otp = step
                message = records.message(
                    tenant=tenant,
                    number_used=number,
                    sender_id=sender,
                    carrier=carrier,
                    carrier_message_id=carrier_id,
                    received_at=t0 + timedelta(hours=hours),
                    otp=records.otp() if otp else None,
                )
                committed.append(message)
                original = next(
                    (
                        m
                        for m in model
                        if carrier_id is not None
                        and (m.carrier, m.carrier_message_id) == (carrier, carrier_id)
                    ),
                    None,
                )
                written = await store.commit_message(message)
                if original is None:
                    model.append(message)
                    assert written.outcome == "inserted"
                else:
                    assert (written.outcome, written.message) == ("duplicate", original)
                assert await store.get_message(tenant, message.id) == (
                    message if original is None else None
                )
            else:
                query = dict(step)

                def hours(value: int | None) -> Any:
                    return None if value is None else t0 + timedelta(hours=value)

                def message_id(index: int | None) -> str | None:
                    return (
                        None
                        if index is None or not committed
                        else committed[index % len(committed)].id
                    )

                query.update(
                    since=hours(query["since"]),
                    until=hours(query["until"]),
                    after=message_id(query["after"]),
                    before=message_id(query["before"]),
                )
                mq = MessageQuery(**query)
                expected = [
                    m
                    for m in model
                    if m.tenant == mq.tenant
                    and mq.number in (None, m.number_used)
                    and mq.sender in (None, m.sender_id)
                    and (mq.since is None or m.received_at >= mq.since)
                    and (mq.until is None or m.received_at < mq.until)
                    and (mq.after is None or m.id > mq.after)
                    and (mq.before is None or m.id < mq.before)
                    and (mq.has_otp is None or (m.otp is not None) == mq.has_otp)
                ]
                expected.sort(key=lambda m: m.id, reverse=not mq.oldest_first)
                assert list(await store.list_messages(mq)) == expected[: max(mq.limit, 0)]


_examples = itertools.count()
