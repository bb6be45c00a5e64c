"""Text search and deleting a message, as every store must do them: run unchanged for
each store kind (the fixtures come from ``conftest.py``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model import DeliveryAttempt, Message
from engine.store import MessageQuery, Store

OpenTestStore = Callable[..., AbstractAsyncContextManager[Store]]
"""The ``open_test_store`` fixture (see conftest.py)."""

pytestmark = pytest.mark.trio


async def _search(store: Store, text: str, **query: Any) -> list[str]:
    found = await store.list_messages(MessageQuery(tenant="acme", text=text, **query))
    return [m.content for m in found]


# Text search ------------------------------------------------------------------------


async def test_search_ignores_case_in_every_script(store: Store, records: Any) -> None:
    for content in (
        "Your Code is 4821",
        "Ваш КОД подтверждения: 5170",
        "Straße gesperrt",
        "ΣΊΣΥΦΟΣ",
        "Party tonight 🎉🥳 bring snacks",
        "nothing to see",
    ):
        await store.commit_message(records.message(content=content))
    assert await _search(store, "code") == ["Your Code is 4821"]
    assert await _search(store, "CODE IS") == ["Your Code is 4821"]
    assert await _search(store, "код") == ["Ваш КОД подтверждения: 5170"]
    assert await _search(store, "ПОДТВЕРЖДЕНИЯ") == ["Ваш КОД подтверждения: 5170"]
    assert await _search(store, "STRASSE") == ["Straße gesperrt"]
    assert await _search(store, "σίσυφος") == ["ΣΊΣΥΦΟΣ"]  # final sigma folds too
    assert await _search(store, "🥳 BRING") == ["Party tonight 🎉🥳 bring snacks"]
    assert await _search(store, "ｃｏｄｅ") == ["Your Code is 4821"]  # noqa: RUF001 (full width)
    assert await _search(store, "absent") == []


async def test_search_wildcards_and_quotes_are_plain_characters(store: Store, records: Any) -> None:
    for content in ("50% off today", "5000 points", "a_b", "axb", 'say "hi" \\ bye'):
        await store.commit_message(records.message(content=content))
    assert await _search(store, "50%") == ["50% off today"]
    assert await _search(store, "%") == ["50% off today"]
    assert await _search(store, "a_b") == ["a_b"]
    assert await _search(store, '"hi" \\') == ['say "hi" \\ bye']


async def test_search_combines_with_the_filters_and_pages(store: Store, records: Any) -> None:
    t0 = records.t0
    wanted = []
    for n in range(12):
        message = records.message(
            content=f"{'Alert' if n % 3 else 'note'} {n}",
            sender_id="Bank" if n % 2 else "Shop",
            received_at=t0 + timedelta(minutes=n),
            otp=records.otp() if n % 4 == 1 else None,
        )
        await store.commit_message(message)
        if n % 3 and n % 2:
            wanted.append(message)
    await store.commit_message(records.message(tenant="other", content="ALERT elsewhere"))
    pages: list[list[Message]] = []
    before = None
    while True:
        query = MessageQuery(tenant="acme", text="alert", sender="Bank", before=before, limit=2)
        page = list(await store.list_messages(query))
        if not page:
            break
        pages.append(page)
        before = page[-1].id
    assert [m.id for page in pages for m in page] == [m.id for m in reversed(wanted)]
    assert all(len(page) == 2 for page in pages[:-1])
    coded = await _search(store, "ALERT", has_otp=True, oldest_first=True)
    assert coded == ["Alert 1", "Alert 5"]
    window = await _search(
        store, "alert", since=t0 + timedelta(minutes=4), until=t0 + timedelta(minutes=8)
    )
    assert window == ["Alert 7", "Alert 5", "Alert 4"]
    everything = await store.list_messages(MessageQuery(tenant="acme"))
    assert await _search(store, "") == [m.content for m in everything]


_ALPHABET = "aAbBßẞпПрР😀 %_"  # noqa: RUF001


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    contents=st.lists(st.text(_ALPHABET, max_size=8), min_size=1, max_size=8),
    needle=st.text(_ALPHABET, max_size=3),
)
async def test_search_matches_what_casefold_matches(
    open_test_store: OpenTestStore, records: Any, contents: list[str], needle: str
) -> None:
    async with open_test_store(f"search-{next(_examples)}") as store:
        for content in contents:
            await store.commit_message(records.message(content=content))
        found = await _search(store, needle, oldest_first=True, limit=100)
    assert found == [c for c in contents if needle.casefold() in c.casefold()]


_examples = itertools.count()


# Deleting a message ---------------------------------------------------------------


async def test_a_deleted_message_is_gone_from_every_read(store: Store, records: Any) -> None:
    kept = records.message()
    gone = records.message(carrier_message_id="SM-gone")
    await store.commit_message(kept, raw=b"kept")
    await store.commit_message(gone, raw=b"gone")
    assert await store.delete_message("acme", gone.id) is True
    assert await store.get_message("acme", gone.id) is None
    assert await store.raw_payload("acme", gone.id) is None
    assert await store.find_by_carrier_id("acme", "sandbox", "SM-gone") is None
    assert [m.id for m in await store.list_messages(MessageQuery(tenant="acme"))] == [kept.id]
    assert await store.raw_payload("acme", kept.id) == b"kept"
    assert await store.delete_message("acme", gone.id) is False  # already gone


async def test_only_a_message_of_the_tenant_is_deleted(store: Store, records: Any) -> None:
    theirs = records.message(tenant="other")
    await store.commit_message(theirs)
    assert await store.delete_message("acme", theirs.id) is False
    assert await store.get_message("other", theirs.id) == theirs
    assert await store.delete_message("acme", "msg_" + "0" * 32) is False
    assert await store.delete_message("acme", "not-an-id") is False


async def test_a_retry_of_a_deleted_message_is_a_duplicate_and_stores_nothing(
    open_test_store: OpenTestStore, records: Any
) -> None:
    original = records.message(carrier_message_id="SM-retried")
    async with open_test_store() as store:
        await store.commit_message(original)
        assert await store.delete_message("acme", original.id)
        retry = records.message(carrier_message_id="SM-retried", content="again")
        written = await store.commit_message(retry, destinations=["hook"])
        assert (written.outcome, written.message) == ("duplicate", retry)
        fresh = records.message()
        answers = await store.commit_messages(
            [(records.message(carrier_message_id="SM-retried"), None), (fresh, None)],
            destinations=[["hook"], ["hook"]],
        )
        assert [a.outcome for a in answers] == ["duplicate", "inserted"]
        assert [m.id for m in await store.list_messages(MessageQuery(tenant="acme"))] == [fresh.id]
        assert [d.message_id for d in await store.list_deliveries("acme")] == [fresh.id]
    async with open_test_store() as reopened:  # the tombstone is durable
        later = records.message(carrier_message_id="SM-retried")
        assert (await reopened.commit_message(later)).outcome == "duplicate"
        assert await reopened.get_message("acme", later.id) is None


async def test_a_retried_part_of_a_deleted_message_is_seen_and_not_buffered(
    store: Store, records: Any
) -> None:
    parts = [records.part("set-d", seq, total=2) for seq in (1, 2)]
    for part in parts:
        await store.add_part(part)
    message = records.message(parts=2, carrier_message_id=parts[0].carrier_message_id)
    await store.complete_part_set("set-d", message)
    assert await store.delete_message("acme", message.id)
    again = await store.add_part(parts[1])
    assert (again.outcome, again.message_id) == ("seen", message.id)
    assert await store.part_sets() == []
    assert await store.get_message("acme", message.id) is None


async def test_its_deliveries_go_and_can_never_be_claimed(store: Store, records: Any) -> None:
    gone = records.message()
    kept = records.message()
    await store.commit_message(gone, destinations=["hook", "pager"])
    await store.commit_message(kept, destinations=["hook"])
    t0 = datetime.now(UTC)  # new deliveries are due from when they were written
    claimed = await store.claim_deliveries("pager", now=t0, lease_seconds=60, limit=10)
    (attempt_of,) = claimed
    await store.finish_attempt(
        DeliveryAttempt(
            delivery_id=attempt_of.id,
            attempt=1,
            started_at=t0,
            duration_ms=3.0,
            outcome="retry",
            status_code=503,
            error="down",
            response=None,
        ),
        status="pending",
        due_at=t0 + timedelta(hours=1),
        retry_step=1,
    )
    assert await store.delete_message("acme", gone.id)
    assert await store.list_deliveries("acme", message_id=gone.id) == []
    assert await store.get_delivery("acme", attempt_of.id) is None
    assert await store.delivery_attempts("acme", attempt_of.id) == []
    later = t0 + timedelta(days=1)
    for name in ("hook", "pager"):
        found = await store.claim_deliveries(name, now=later, lease_seconds=60, limit=10)
        assert [c.message.id for c in found] == ([kept.id] if name == "hook" else [])
    assert await store.next_due("pager") is None
    assert await store.replay_deliveries("acme", destination="pager") == 0
    assert set(await store.outbox_depth()) == {"hook"}


async def test_its_status_reports_stay_unlinked(store: Store, records: Any) -> None:
    message = records.message(carrier_message_id="SM-reported")
    early = records.report(refers_to="SM-reported")
    await store.commit_status(early)  # before its message: linked when it commits
    await store.commit_message(message)
    late = await store.commit_status(records.report(refers_to="SM-reported"))
    assert late.message_id == message.id
    assert len(await store.status_reports("acme", message.id)) == 2
    assert await store.delete_message("acme", message.id)
    assert await store.status_reports("acme", message.id) == []
    for report in (early, late):
        kept = await store.commit_status(report)  # a repeat answers the stored report
        assert kept.id == report.id
        assert kept.message_id is None
