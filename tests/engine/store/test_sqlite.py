"""What only the SQLite store does: WAL, migrations, batching, and failing loudly when
the disk will not take a write, then recovering when it will."""

from __future__ import annotations

import functools
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from at_once import each_at_once
from statements import recording, writes

from engine.config import StoreConfig
from engine.errors import EngineClosedError, StoreError
from engine.model import DeliveryAttempt, Message
from engine.store import (
    ClaimedDelivery,
    MessageQuery,
    SqliteStore,
    Written,
    _sqlite_writer,
    open_sqlite_store,
    open_store,
)
from engine.store._sqlite_schema import checkpoint, connect_reader, connect_writer, load_migrations
from engine.store._sqlite_writer import BatchWriter
from engine.store._sqlite_writes import CommitStatus

pytestmark = pytest.mark.trio


def _query(path: Path, sql: str) -> list[Any]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


async def _commit_all(store: SqliteStore, messages: list[Message]) -> list[object]:
    """Commit ``messages`` from one task each, all at once; each one's answer or error."""
    answers = await each_at_once(store.commit_message, messages)
    return [a if isinstance(a, Exception) else a.outcome for a in answers]


async def test_the_inbox_is_in_wal_mode(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "inbox.db"):
        assert _query(tmp_path / "inbox.db", "PRAGMA journal_mode") == [("wal",)]


async def test_migrations_are_versioned_and_applied_once(tmp_path: Path, records: Any) -> None:
    path = tmp_path / "inbox.db"
    shipped = load_migrations()
    assert [m.version for m in shipped] == list(range(1, len(shipped) + 1))
    assert shipped[0].name == "initial"
    message = records.message()
    async with open_sqlite_store(path) as store:
        await store.commit_message(message)
    async with open_sqlite_store(path) as store:
        assert await store.get_message("acme", message.id) == message
    applied = _query(path, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert applied == [(m.version, m.name) for m in shipped]


async def test_a_database_from_a_newer_septet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    async with open_sqlite_store(path):
        pass
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'later')")
    with pytest.raises(StoreError, match="schema version 999, newer"):
        async with open_sqlite_store(path):
            pass  # pragma: no cover


async def test_open_store_puts_the_inbox_in_the_data_dir(tmp_path: Path, records: Any) -> None:
    data_dir = tmp_path / "data" / "dir"
    async with open_store(StoreConfig(batch_ms=0), str(data_dir)) as store:
        await store.commit_message(records.message())
    assert (data_dir / "septet.db").exists()


async def test_an_error_in_the_block_is_raised_as_itself(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        async with open_sqlite_store(tmp_path / "inbox.db"):
            raise KeyError("mine")


async def test_concurrent_writes_share_transactions(tmp_path: Path, records: Any) -> None:
    async with open_sqlite_store(tmp_path / "inbox.db", batch_rows=100, batch_ms=1000) as store:
        before = store.commits
        answers = await _commit_all(store, [records.message() for _ in range(1000)])
        assert answers == ["inserted"] * 1000
        assert store.commits - before == 10  # full batches of 100, no waiting for the timer
    async with open_sqlite_store(tmp_path / "one.db", batch_rows=1) as store:
        before = store.commits
        await _commit_all(store, [records.message() for _ in range(20)])
        assert store.commits - before == 20


async def _delivered_once(
    store: SqliteStore, records: Any
) -> tuple[Message, ClaimedDelivery, DeliveryAttempt]:
    """A message committed with a delivery to ``hook``, the delivery claimed, and the
    record of its first attempt, delivered (not yet finished in the store)."""
    message = records.message()
    await store.commit_message(message, destinations=["hook"])
    [claimed] = await store.claim_deliveries(
        "hook", now=datetime.now(UTC), lease_seconds=30, limit=1
    )
    attempt = DeliveryAttempt(
        delivery_id=claimed.id,
        attempt=1,
        started_at=datetime.now(UTC),
        duration_ms=3.25,
        outcome="delivered",
        status_code=204,
        error=None,
        response="",
    )
    return message, claimed, attempt


@asynccontextmanager
async def _recorded_store(
    tmp_path: Path, **options: Any
) -> AsyncIterator[tuple[SqliteStore, list[str]]]:
    """A SQLite store whose writer records each statement it runs (see ``statements``)."""
    statements: list[str] = []
    hook = recording(statements)
    async with open_sqlite_store(tmp_path / "inbox.db", _writer_hook=hook, **options) as store:
        yield store, statements


async def test_a_whole_set_commits_with_the_messages_in_one_statement(
    tmp_path: Path, records: Any
) -> None:
    # The parts of a set that came together never touch the parts table: the message,
    # its parts' carrier ids and the other messages of the batch are one INSERT.
    async with _recorded_store(tmp_path, batch_ms=50) as (store, statements):
        whole = records.message(parts=2, carrier_message_id="set-a-part-1")
        singles = [(records.message(), None) for _ in range(3)]
        statements.clear()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.commit_messages, singles)
            answer = await store.add_parts(
                [records.part("set-a", seq, total=2) for seq in (1, 2)], message=whole
            )
        assert store.commits == 1
        assert answer.written is not None
        assert answer.written.outcome == "inserted"
        [write] = writes(statements)
        assert write.startswith("INSERT INTO incoming")
        found = await store.find_by_carrier_id("acme", "sandbox", "set-a-part-2")
        assert found == whole
        assert await store.part_sets() == []
        listed = await store.list_messages(MessageQuery(tenant="acme"))
        assert len(listed) == 4


async def test_a_delivery_outcome_commits_with_new_messages_in_one_statement(
    tmp_path: Path, records: Any
) -> None:
    # At a steady trickle, a commit holds the next message and the last one's outcome.
    async with _recorded_store(tmp_path, batch_ms=50) as (store, statements):
        first, claimed, attempt = await _delivered_once(store, records)
        statements.clear()
        before = store.commits
        second = records.message()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(store.finish_attempt, attempt, status="delivered"))
            await store.commit_message(second, destinations=["hook"])
        assert store.commits - before == 1
        [write] = writes(statements)
        assert write.startswith("INSERT INTO incoming")
        assert await store.delivery_attempts("acme", claimed.id) == [attempt]
        [done] = await store.list_deliveries("acme", message_id=first.id)
        assert (done.status, done.attempts) == ("delivered", 1)
        [waiting] = await store.list_deliveries("acme", message_id=second.id)
        assert waiting.status == "pending"


async def test_beside_other_writes_the_new_messages_and_outcomes_still_go_in_one_statement(
    tmp_path: Path, records: Any
) -> None:
    # A status report takes the transaction path; the message and the outcome that came
    # with it in the batch are still written by one INSERT inside it.
    async with _recorded_store(tmp_path, batch_ms=50) as (store, statements):
        _, claimed, attempt = await _delivered_once(store, records)
        second = records.message()
        report = records.report(refers_to=second.carrier_message_id)
        statements.clear()
        before = store.commits
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(store.finish_attempt, attempt, status="delivered"))
            nursery.start_soon(store.commit_status, report)
            written = await store.commit_message(second)
        assert store.commits - before == 1
        assert written.outcome == "inserted"
        inserts = {s for s in statements if s.startswith("INSERT INTO incoming")}
        assert len(inserts) == 1
        assert any(s.startswith("BEGIN") for s in statements)
        # The outcome went with the message, not by statements of its own.
        assert not [s for s in statements if s.startswith("INSERT INTO delivery_attempts")]
        assert await store.delivery_attempts("acme", claimed.id) == [attempt]
        assert await store.get_message("acme", second.id) == second
        [linked] = await store.status_reports("acme", second.id)
        assert linked.id == report.id


async def test_parts_claims_and_reports_beside_new_messages_take_no_savepoints(
    tmp_path: Path, records: Any
) -> None:
    # Under load a batch often holds a part of a set split between batches, or a claim,
    # beside the new messages. Nothing in it is refused, so nothing needs a savepoint:
    # one transaction of the messages' INSERT and each other write's own statements.
    async with _recorded_store(tmp_path, batch_ms=50) as (store, statements):
        waiting = records.message()
        await store.commit_message(waiting, destinations=["hook"])
        later = records.message()
        report = records.report(refers_to=later.carrier_message_id)
        statements.clear()
        before = store.commits
        claimed: list[ClaimedDelivery] = []

        async def claim() -> None:
            claimed.extend(
                await store.claim_deliveries(
                    "hook", now=datetime.now(UTC), lease_seconds=30, limit=5
                )
            )

        async with trio.open_nursery() as nursery:
            nursery.start_soon(claim)
            nursery.start_soon(store.add_part, records.part("set-a", 1, total=2))
            nursery.start_soon(store.commit_status, report)
            written = await store.commit_message(later)
        assert store.commits - before == 1
        assert not [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))]
        assert written.outcome == "inserted"
        assert [c.message.id for c in claimed] == [waiting.id]
        assert [(p.set_key, p.seq) for [p] in await store.part_sets()] == [("set-a", 1)]
        [linked] = await store.status_reports("acme", later.id)
        assert linked.id == report.id


async def test_a_part_is_stored_by_one_query_and_its_inserts(tmp_path: Path, records: Any) -> None:
    # Seen? Taken? The set so far? One query answers all three; the part is then added
    # to the set it listed rather than read back.
    async with _recorded_store(tmp_path) as (store, statements):
        await store.add_part(records.part("set-a", 2, total=3, carrier_message_id="P2"))
        statements.clear()
        added = await store.add_part(records.part("set-a", 1, total=3, carrier_message_id="P1"))
        work = [
            s for s in statements if not s.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
        ]
        assert [s.split()[0] for s in work] == ["SELECT", "INSERT", "INSERT"]
        assert added.outcome == "stored"
        assert [p.seq for p in added.parts] == [1, 2]
        assert added.parts == tuple(sorted((await store.part_sets())[0], key=lambda p: p.seq))


async def test_a_set_completed_again_under_a_new_id_answers_its_first_message(
    tmp_path: Path, records: Any
) -> None:
    # Looked up by its id and by its carrier id in one query: the carrier id finds it.
    async with open_sqlite_store(tmp_path / "inbox.db") as store:
        for seq in (1, 2):
            await store.add_part(records.part("set-a", seq, total=2))
        first = records.message(parts=2, carrier_message_id="set-a-part-1")
        assert (await store.complete_part_set("set-a", first)).outcome == "inserted"
        again = records.message(parts=2, carrier_message_id="set-a-part-1")
        written = await store.complete_part_set("set-a", again)
        assert (written.outcome, written.message) == ("duplicate", first)
        assert _query(tmp_path / "inbox.db", "SELECT count(*) FROM messages") == [(1,)]


async def test_a_write_refused_beside_new_messages_fails_alone_and_nothing_is_doubled(
    tmp_path: Path, records: Any
) -> None:
    # The batch is first written without savepoints; the refused part rolls it all back
    # and it is written again one savepoint each: the refused one fails alone, and what
    # the first try wrote is there once.
    async with open_sqlite_store(tmp_path / "inbox.db", batch_ms=50) as store:
        message = records.message()
        first, second = records.part("set-a", 1, total=2), records.part("set-b", 2**70)
        errors: list[BaseException] = []

        async def refused() -> None:
            try:
                await store.add_part(second)
            except OverflowError as exc:
                errors.append(exc)

        before = store.commits
        async with trio.open_nursery() as nursery:
            nursery.start_soon(refused)
            nursery.start_soon(store.add_part, first)
            written = await store.commit_message(message, destinations=["hook"])
        assert store.commits - before == 1
        assert len(errors) == 1
        assert written.outcome == "inserted"
        [[stored]] = await store.part_sets()
        assert (stored.set_key, stored.seq, stored.duplicates) == ("set-a", 1, 0)
        assert [d.status for d in await store.list_deliveries("acme", message_id=message.id)] == [
            "pending"
        ]
        assert _query(tmp_path / "inbox.db", "SELECT count(*) FROM messages") == [(1,)]


async def test_a_write_that_fails_alone_does_not_fail_its_batch(
    tmp_path: Path, records: Any
) -> None:
    path = tmp_path / "inbox.db"
    async with open_sqlite_store(path):
        pass
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.sender_id = 'refused'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    async with open_sqlite_store(path, batch_rows=1000, batch_ms=1000) as store:
        messages = [records.message(sender_id="refused" if i == 7 else "ok") for i in range(50)]
        answers = await _commit_all(store, messages)
        assert store.commits == 1
        assert isinstance(answers.pop(7), StoreError)
        assert answers == ["inserted"] * 49
        listed = await store.list_messages(MessageQuery(tenant="acme", limit=100))
        assert {m.id for m in listed} == {m.id for m in messages} - {messages[7].id}
        # A part whose seq SQLite cannot store fails alone too (not as a StoreError).
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.add_part, records.part("set-a", 1))
            with pytest.raises(OverflowError):
                await store.add_part(records.part("set-b", 2**70))
        assert [s[0].set_key for s in await store.part_sets()] == ["set-a"]


async def test_a_cancelled_caller_still_hears_its_write_answered(
    tmp_path: Path, records: Any
) -> None:
    message = records.message()
    answers: list[Written] = []

    async def commit() -> None:
        answers.append(await store.commit_message(message))
        await trio.lowlevel.checkpoint()  # where the cancellation lands
        answers.append(Written(outcome="duplicate", message=message))  # never reached

    async with open_sqlite_store(tmp_path / "inbox.db", batch_ms=10_000, batch_rows=2) as store:
        async with trio.open_nursery() as outer:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(commit)
                    await trio.testing.wait_all_tasks_blocked()
                    scope.cancel()
                    # The caller keeps waiting for its queued write: the next write
                    # fills the batch and both commit.
                    outer.start_soon(store.commit_message, records.message())
        assert scope.cancelled_caught
        assert answers == [Written(outcome="inserted", message=message)]
        assert await store.get_message("acme", message.id) == message


async def test_a_lazy_write_waits_for_a_write_to_go_with(
    tmp_path: Path, records: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A delivery's outcome does not start a commit of its own: it goes with the next
    # message (or when the store closes). The lazy window is made an hour here, so
    # only company (or the end) can commit it.
    monkeypatch.setattr(_sqlite_writer, "LAZY_SECONDS", 3600.0)
    path = tmp_path / "inbox.db"
    async with open_sqlite_store(path):
        pass  # the schema
    writer = BatchWriter(str(path), None, batch_rows=1000, batch_ms=0)
    answered: list[object] = []

    async def lazy_write() -> None:
        answered.append(await writer.submit(CommitStatus(records.report()), lazy=True))

    with trio.fail_after(10):
        async with trio.open_nursery() as running:
            await running.start(writer.run)
            async with trio.open_nursery() as callers:
                callers.start_soon(lazy_write)
                await trio.testing.wait_all_tasks_blocked()
                await trio.sleep(0.1)  # time enough to commit, were it not waiting
                assert (answered, writer.commits) == ([], 0)
                await writer.submit(CommitStatus(records.report()))
            assert len(answered) == 1
            assert writer.commits == 1  # both in one commit
            # Alone at the end: committed as the store closes, not an hour later.
            running.start_soon(lazy_write)
            await trio.testing.wait_all_tasks_blocked()
            await writer.aclose()
    assert len(answered) == 2
    assert writer.commits == 2
    assert _query(path, "SELECT count(*) FROM status_reports") == [(3,)]


async def test_a_write_amid_a_trickle_lingers_for_company(tmp_path: Path, records: Any) -> None:
    # A second write within two linger windows of the first waits (here up to a minute)
    # for a third, and the two commit together the moment it comes.
    path = tmp_path / "inbox.db"
    async with open_sqlite_store(path):
        pass  # the schema
    writer = BatchWriter(str(path), None, batch_rows=1000, batch_ms=0, linger_ms=60_000)
    answered: list[object] = []

    async def write() -> None:
        answered.append(await writer.submit(CommitStatus(records.report())))

    with trio.fail_after(10):
        async with trio.open_nursery() as running:
            await running.start(writer.run)
            await write()  # nothing came just before it: committed at once
            assert (writer.commits, writer.lingers) == (1, 0)
            async with trio.open_nursery() as callers:
                callers.start_soon(write)
                await trio.testing.wait_all_tasks_blocked()
                await trio.sleep(0.1)  # time enough to commit, were it not waiting
                assert (len(answered), writer.commits) == (1, 1)
                await write()
            assert (len(answered), writer.commits) == (3, 2)
            assert (writer.lingers, writer.joined) == (1, 1)
            await writer.aclose()


async def test_a_producer_that_waits_for_each_answer_stops_the_lingering(
    tmp_path: Path, records: Any
) -> None:
    # One write at a time, each after the last one's answer (an SMPP window of one):
    # company never comes, so after one linger that came to nothing the writer stops.
    path = tmp_path / "inbox.db"
    async with open_sqlite_store(path):
        pass  # the schema
    writer = BatchWriter(str(path), None, batch_rows=1000, batch_ms=0, linger_ms=50)
    with trio.fail_after(10):
        async with trio.open_nursery() as running:
            await running.start(writer.run)
            for _ in range(20):
                await writer.submit(CommitStatus(records.report()))
            await writer.aclose()
    assert writer.commits == 20
    assert (writer.lingers, writer.joined) == (1, 0)
    assert _query(path, "SELECT count(*) FROM status_reports") == [(20,)]


async def test_a_writer_cancelled_answers_the_writes_it_had_not_taken(
    tmp_path: Path, records: Any
) -> None:
    path = tmp_path / "inbox.db"
    async with open_sqlite_store(path):
        pass  # the schema
    writer = BatchWriter(str(path), None, batch_rows=1000, batch_ms=60_000)
    answers: list[object] = []

    async def submit() -> None:
        try:
            answers.append(await writer.submit(CommitStatus(records.report())))
        except EngineClosedError as exc:
            answers.append(exc)

    with trio.fail_after(10):
        async with trio.open_nursery() as callers, trio.open_nursery() as running:
            await running.start(writer.run)
            for _ in range(3):
                callers.start_soon(submit)
            await trio.testing.wait_all_tasks_blocked()
            running.cancel_scope.cancel()  # the batch window is a minute away
    assert len(answers) == 3
    assert all(isinstance(a, EngineClosedError) for a in answers)
    assert writer.commits == 0
    assert _query(path, "SELECT count(*) FROM status_reports") == [(0,)]
    with pytest.raises(EngineClosedError):
        await writer.submit(CommitStatus(records.report()))
    await writer.aclose()


async def test_a_bug_in_a_write_fails_its_batch_not_the_writer(
    tmp_path: Path, records: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_sqlite_store(tmp_path / "inbox.db", batch_rows=3, batch_ms=1000) as store:
        apply_batch = _sqlite_writer.apply_batch

        def broken(conn: sqlite3.Connection, ops: Any) -> list[object]:
            monkeypatch.setattr(_sqlite_writer, "apply_batch", apply_batch)  # once
            raise RuntimeError("a bug")

        monkeypatch.setattr(_sqlite_writer, "apply_batch", broken)
        answers = await _commit_all(store, [records.message() for _ in range(3)])
        assert all(isinstance(a, StoreError) for a in answers)
        assert all("RuntimeError('a bug')" in str(a) for a in answers)
        assert len({id(a) for a in answers}) == 3  # each caller its own exception
        assert await _commit_all(store, [records.message() for _ in range(3)]) == ["inserted"] * 3


async def test_a_caller_cancelled_before_its_write_writes_nothing(
    tmp_path: Path, records: Any
) -> None:
    message = records.message()
    async with open_sqlite_store(tmp_path / "inbox.db") as store:
        with trio.CancelScope() as scope:
            scope.cancel()
            await store.commit_message(message)
        assert scope.cancelled_caught
        assert await store.get_message("acme", message.id) is None


async def test_a_full_database_fails_loudly_then_recovers(tmp_path: Path, records: Any) -> None:
    limit = {"pages": 80}  # the schema takes about 55

    def small_database(conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA max_page_count = {limit['pages']}")

    path = tmp_path / "inbox.db"
    async with open_sqlite_store(path, _writer_hook=small_database, batch_ms=50) as store:
        kept = records.message()
        await store.commit_message(kept)
        for seq in (1, 2):
            await store.add_part(records.part("set-a", seq, total=2))
        big = [records.message(content="x" * 100_000) for _ in range(3)]
        # The whole batch fails: its writes share the transaction that could not commit.
        answers = await _commit_all(store, big)
        assert all(isinstance(a, StoreError) for a in answers)
        assert all("full" in str(a) for a in answers)
        joined = records.message(parts=2)
        with pytest.raises(StoreError, match="full"):
            await store.complete_part_set("set-a", joined, raw=b"x" * 400_000)
        # Nothing of the failed writes is stored, and what was stored before is intact.
        for message in [*big, joined]:
            assert await store.get_message("acme", message.id) is None
        assert await store.get_message("acme", kept.id) == kept
        assert [len(s) for s in await store.part_sets()] == [2]
        assert await store.find_by_carrier_id("acme", "sandbox", "set-a-part-1") is None

        limit["pages"] = 1_000_000  # room again
        written = await store.complete_part_set("set-a", joined, raw=b"x" * 400_000)
        assert written.outcome == "inserted"
        assert await store.part_sets() == []
        assert await store.find_by_carrier_id("acme", "sandbox", "set-a-part-2") == joined
        assert await _commit_all(store, big) == ["inserted"] * 3
    assert _query(path, "PRAGMA integrity_check") == [("ok",)]


@contextmanager
def _immutable(*paths: Path) -> Iterator[None]:
    """Make files immutable (``chattr +i``): even root's writes to them fail."""
    subprocess.run(["chattr", "+i", *map(str, paths)], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True, capture_output=True)


def _can_make_immutable(directory: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    probe = directory / "probe"
    probe.write_bytes(b"")
    try:
        with _immutable(probe):
            try:
                probe.write_bytes(b"x")
            except PermissionError:
                return True
            return False
    except subprocess.CalledProcessError:
        return False
    finally:
        probe.unlink()


async def test_a_read_only_database_fails_loudly_then_recovers(
    tmp_path: Path, records: Any
) -> None:
    if not _can_make_immutable(tmp_path):
        pytest.skip("needs chattr +i (root, on a filesystem with the immutable flag)")
    path = tmp_path / "inbox.db"
    async with open_sqlite_store(path, batch_ms=0) as store:
        kept = records.message()
        await store.commit_message(kept)
        refused = records.message()
        # The database and its WAL refuse writes at the OS level; the shared-memory index
        # stays writable, as SQLite needs it even to read.
        with _immutable(path, path.with_name(path.name + "-wal")):
            for _ in range(2):  # the first on the open connection, then on a new one
                with pytest.raises(StoreError, match=r"read-only|refused a read or write"):
                    await store.commit_message(refused)
            assert await store.get_message("acme", kept.id) == kept  # reads go on
            assert await store.get_message("acme", refused.id) is None
        assert (await store.commit_message(refused)).outcome == "inserted"
        assert await store.get_message("acme", refused.id) == refused
    assert _query(path, "PRAGMA integrity_check") == [("ok",)]


async def test_a_long_wal_gets_the_writers_help_to_start_over(
    tmp_path: Path, records: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under steady writes a checkpoint beside the writer finishes while the writer is in
    # a transaction, so SQLite never starts the WAL over; once the WAL is long the store
    # asks the writer to copy the last frames itself, between two batches.
    monkeypatch.setattr("engine.store._sqlite.CHECKPOINT_SECONDS", 0.01)
    monkeypatch.setattr("engine.store._sqlite.RESTART_FRAMES", 1)
    async with open_sqlite_store(tmp_path / "inbox.db") as store:
        writer = store._writer
        restarts: list[int] = []
        restart = writer._restart

        def counted() -> None:
            restarts.append(1)
            restart()

        monkeypatch.setattr(writer, "_restart", counted)
        with trio.fail_after(10):
            while not restarts:
                await store.commit_messages([(records.message(), None) for _ in range(20)])
                await trio.sleep(0.005)
        await store.commit_message(records.message())

        def frames(conn: sqlite3.Connection) -> int:
            return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])

        # The write after the writer's checkpoint started the WAL over: it holds only
        # that write's pages.
        assert await store._read(frames) < 20


async def test_checkpoint_rounds_until_the_wal_is_copied(tmp_path: Path) -> None:
    path = str(tmp_path / "inbox.db")
    with closing(connect_writer(path)) as writer, closing(connect_reader(path)) as reader:
        writer.execute("CREATE TABLE t (x BLOB)")
        for _ in range(10):
            writer.execute("INSERT INTO t VALUES (randomblob(8000))")
        log = checkpoint(reader)
        assert log > 20
        busy, frames, copied = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, frames, copied) == (0, log, log)
        # Everything was copied: the next write starts the WAL over.
        writer.execute("INSERT INTO t VALUES (1)")
        assert reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] < log
