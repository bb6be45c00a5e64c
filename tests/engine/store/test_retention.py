"""Retention and erasure, as every store must do them: the purge of bodies past a
period (per tenant, in bounded batches, resumable, audited) and the erasure of a number
or a sender. Run unchanged for each store kind (the fixtures come from ``conftest.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from statements import recording

from engine.model import DeliveryAttempt, Message
from engine.store import MessageQuery, Store, Tenant

OpenTestStore = Callable[..., AbstractAsyncContextManager[Store]]

pytestmark = pytest.mark.trio

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _id_at(moment: datetime) -> str:
    """A message id as the engine makes it at ``moment`` (48 bits of milliseconds,
    then random bits)."""
    millis = int(moment.timestamp() * 1000)
    return f"msg_{(millis << 80) | int.from_bytes(os.urandom(10), 'big') >> 1:032x}"


async def _stored(
    store: Store, records: Any, tenant: str, moment: datetime, **fields: Any
) -> Message:
    message = records.message(
        id=_id_at(moment), tenant=tenant, received_at=moment, otp=records.otp("4821"), **fields
    )
    written = await store.commit_message(
        message, raw=f"raw of {message.content}".encode(), destinations=["hook"]
    )
    assert written.outcome == "inserted"
    return message


async def _get(store: Store, message: Message) -> Message:
    found = await store.get_message(message.tenant, message.id)
    assert found is not None
    return found


async def _failed_once(store: Store, delivery_id: str, *, due_at: datetime) -> None:
    """Record a first attempt of the delivery that failed (HTTP 503), to retry at
    ``due_at``."""
    attempt = DeliveryAttempt(
        delivery_id=delivery_id,
        attempt=1,
        started_at=NOW,
        duration_ms=5.0,
        outcome="retry",
        status_code=503,
        error="busy",
        response=None,
    )
    await store.finish_attempt(attempt, status="pending", due_at=due_at, retry_step=1)


async def _purge(store: Store, tenant: str, days: int, *, batch: int = 2) -> int:
    return await store.purge_bodies(
        tenant,
        stored_before=NOW - timedelta(days=days),
        days=days,
        batch=batch,
        actor="retention",
    )


async def test_purge_removes_bodies_and_keeps_metadata_and_the_audit_trail(
    store: Store, records: Any
) -> None:
    await store.create_tenant(Tenant(id="acme", name="Acme", created_at=NOW), actor="operator")
    old = [
        await _stored(
            store, records, "acme", NOW - timedelta(days=40, minutes=i), content=f"old {i}"
        )
        for i in range(5)
    ]
    recent = await _stored(store, records, "acme", NOW - timedelta(days=10), content="recent")

    assert await _purge(store, "acme", 30) == 5

    for original in old:
        purged = await store.get_message("acme", original.id)
        assert purged is not None
        assert purged.content == ""
        assert purged.otp is None
        assert purged.purged_at is not None
        # Everything but the text and the code is as it was.
        kept = {"content", "otp", "purged_at"}
        for field in Message.__struct_fields__:
            if field not in kept:
                assert getattr(purged, field) == getattr(original, field), field
        assert await store.raw_payload("acme", original.id) is None
        [delivery] = await store.list_deliveries("acme", message_id=original.id)
        assert delivery.status == "failed"
        assert delivery.last_error is not None
        assert "purged" in delivery.last_error
    assert await store.get_message("acme", recent.id) == recent
    assert await store.raw_payload("acme", recent.id) == b"raw of recent"
    [open_delivery] = await store.list_deliveries("acme", message_id=recent.id)
    assert open_delivery.status == "pending"

    # Filters see what is left: no code, no text.
    coded = await store.list_messages(MessageQuery(tenant="acme", has_otp=True))
    assert [m.id for m in coded] == [recent.id]
    assert await store.list_messages(MessageQuery(tenant="acme", text="old")) == []

    audit = await store.audit_log("acme")
    assert [entry.action for entry in audit] == ["retention.purge", "tenant.create"]
    assert audit[0].actor == "retention"
    assert audit[0].details == {"messages": 5, "days": 30}


async def test_a_tenants_retention_touches_no_other_tenant(store: Store, records: Any) -> None:
    mine = await _stored(store, records, "acme", NOW - timedelta(days=40), content="acme's")
    theirs = await _stored(store, records, "beta", NOW - timedelta(days=40), content="beta's")
    assert await _purge(store, "acme", 30) == 1
    assert (await _get(store, mine)).content == ""
    assert await store.get_message("beta", theirs.id) == theirs
    assert await store.raw_payload("beta", theirs.id) == b"raw of beta's"
    assert await store.audit_log("beta") == []
    # Beta's own, longer period keeps it still; a shorter one purges it.
    assert await _purge(store, "beta", 60) == 0
    assert await _purge(store, "beta", 7) == 1


async def test_purge_resumes_and_never_purges_twice(store: Store, records: Any) -> None:
    for i in range(3):
        await _stored(store, records, "acme", NOW - timedelta(days=40, minutes=i))
    assert await _purge(store, "acme", 30, batch=1) == 3
    assert await _purge(store, "acme", 30, batch=1) == 0
    later = await _stored(store, records, "acme", NOW - timedelta(days=20), content="later")
    # Ten days on, the message stored since is past the period too.
    purged = await store.purge_bodies(
        "acme",
        stored_before=NOW + timedelta(days=10) - timedelta(days=25),
        days=25,
        batch=1,
        actor="retention",
    )
    assert purged == 1
    assert (await _get(store, later)).purged_at is not None
    runs = [e for e in await store.audit_log("acme") if e.action == "retention.purge"]
    assert [e.details["messages"] for e in runs] == [1, 3]


async def test_an_attempt_finishing_after_the_purge_does_not_fail(
    store: Store, records: Any
) -> None:
    message = await _stored(store, records, "acme", NOW - timedelta(days=40))
    now = datetime.now(UTC)  # deliveries are due when they were written
    [claimed] = await store.claim_deliveries("hook", now=now, lease_seconds=30, limit=5)
    assert await _purge(store, "acme", 30) == 1
    await _failed_once(store, claimed.id, due_at=now)
    # Delivered again later, the message is what is left of it.
    [again] = await store.claim_deliveries("hook", now=now, lease_seconds=30, limit=5)
    assert again.message.id == message.id
    assert again.message.content == ""
    assert again.message.purged_at is not None


# Erasure ------------------------------------------------------------------------------


async def test_erasure_by_number_takes_everything_and_keeps_dedupe(
    store: Store, records: Any
) -> None:
    target = "+15550100001"
    erased = [
        await _stored(store, records, "acme", NOW, number_used=target, content=f"to target {i}")
        for i in range(2)
    ]
    other = await _stored(store, records, "acme", NOW, content="elsewhere")
    foreign = await _stored(store, records, "beta", NOW, number_used=target, content="beta's")
    claimed = await store.claim_deliveries(
        "hook", now=datetime.now(UTC), lease_seconds=30, limit=10
    )
    assert len(claimed) == 4
    for delivery in claimed:
        if delivery.message.id in (erased[0].id, other.id):
            await _failed_once(store, delivery.id, due_at=NOW)
    report = await store.commit_status(
        records.report(tenant="acme", number_used=target, refers_to=erased[0].carrier_message_id)
    )
    assert report.message_id == erased[0].id
    await store.add_part(
        records.part(f"text|sandbox|{target}|numeric:+15550000002|7/8|2", 1, total=2)
    )
    await store.add_part(records.part("text|sandbox|+15550199999|numeric:+1555|7/8|2", 1, total=2))

    erasure = await store.erase(["acme"], "number", target, parts_tenant="acme", actor="key_test")

    totals = erasure.totals
    assert (totals.messages, totals.raw_payloads, totals.deliveries) == (2, 2, 2)
    assert totals.attempts == 1
    assert (totals.status_reports, totals.parts) == (1, 1)
    assert set(erasure.message_ids) == {m.id for m in erased}
    for message in erased:
        assert await store.get_message("acme", message.id) is None
        assert await store.raw_payload("acme", message.id) is None
        assert await store.list_deliveries("acme", message_id=message.id) == []
    assert await store.get_message("acme", other.id) == other
    [kept_delivery] = await store.list_deliveries("acme", message_id=other.id)
    assert len(await store.delivery_attempts("acme", kept_delivery.id)) == 1
    assert await store.get_message("beta", foreign.id) == foreign  # another tenant's
    assert await store.status_reports("acme", erased[0].id) == []
    [left] = await store.part_sets()
    assert left[0].set_key.startswith("text|sandbox|+15550199999|")

    # A carrier's retry of an erased message is not stored again, nor is its report.
    retry = records.message(
        tenant="acme", number_used=target, carrier_message_id=erased[0].carrier_message_id
    )
    assert (await store.commit_message(retry)).outcome == "duplicate"
    assert await store.get_message("acme", retry.id) is None
    again = await store.commit_status(
        records.report(tenant="acme", carrier_message_id=report.carrier_message_id)
    )
    assert again.id == report.id
    assert again.number_used == ""
    assert again.message_id is None

    # The audit row names the kind of subject and the counts, never the number.
    [entry] = await store.audit_log("acme")
    assert (entry.action, entry.target, entry.actor) == ("erasure", "number", "key_test")
    assert entry.details["messages"] == 2
    assert entry.details["parts"] == 1
    assert target not in repr(entry)


async def test_erasure_by_sender_across_tenants(store: Store, records: Any) -> None:
    spam = [
        await _stored(store, records, tenant, NOW, sender_id="ACME-SPAM", content="buy")
        for tenant in ("acme", "beta")
    ]
    kept = await _stored(store, records, "beta", NOW, sender_id="+15550000009")
    erasure = await store.erase(
        ["acme", "beta", "gamma"],
        "sender",
        "ACME-SPAM",
        parts_tenant=None,
        operator_wide=True,
        actor="operator",
    )
    assert erasure.totals.messages == 2
    assert erasure.tenants["acme"].messages == erasure.tenants["beta"].messages == 1
    assert erasure.tenants["gamma"].messages == 0
    for message in spam:
        assert await store.get_message(message.tenant, message.id) is None
    assert await store.get_message("beta", kept.id) == kept
    # One row where something was erased, and the operator's own with the totals.
    assert [e.action for e in await store.audit_log("acme")] == ["erasure"]
    assert await store.audit_log("gamma") == []
    [wide] = await store.audit_log(None)
    assert wide.details["messages"] == 2
    assert wide.details["tenants"] == 2


async def test_erased_text_is_gone_from_the_file(
    open_test_store: OpenTestStore, tmp_path: Path, records: Any
) -> None:
    async with open_test_store("inbox") as store:
        secret = "the launch code is PLUGH-7781"
        await _stored(store, records, "acme", NOW, sender_id="Whistle", content=secret)
        old = await _stored(
            store, records, "acme", NOW - timedelta(days=90), content="OLD-XYZZY-42"
        )
        await store.commit_message(records.message(tenant="acme", content="filler " * 50))
        await store.erase(["acme"], "sender", "Whistle", parts_tenant=None, actor="operator")
        assert await _purge(store, "acme", 30) == 1
        assert (await _get(store, old)).content == ""
    files = list(tmp_path.glob("inbox.db*"))
    assert files
    for path in files:
        data = path.read_bytes()
        assert b"PLUGH-7781" not in data, path.name
        assert b"OLD-XYZZY-42" not in data, path.name


async def test_sqlite_purge_reads_a_bounded_batch_per_transaction(
    tmp_path: Path, records: Any
) -> None:
    from engine.store import open_sqlite_store

    statements: list[str] = []
    async with open_sqlite_store(
        tmp_path / "inbox.db", _writer_hook=recording(statements)
    ) as store:
        for i in range(7):
            await _stored(store, records, "acme", NOW - timedelta(days=40, minutes=i))
        statements.clear()
        assert await _purge(store, "acme", 30, batch=3) == 7
    selects = [s for s in statements if "SELECT id, body, purged_at FROM messages" in s]
    assert len(selects) == 3  # 3 + 3 + 1 rows, each read in its own writer batch
