"""``Septet.ingest_each`` and ``emit.many``: a list in, one outcome per item out."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import trio
from denying import deny_messages
from test_plugins import install_distribution

import engine
from engine import codec
from engine.config import CarrierConfig, Config
from engine.errors import EngineClosedError, PduError, StoreError
from engine.model import InboundItem, InboundPdu, InboundStatus, InboundText, IngestResult, Segment
from engine.store import open_sqlite_store

pytestmark = pytest.mark.trio

NUMBER = "+447700900001"
SENDER = "+447700900123"
SENT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=2)))
LONG = "Your verification code is 482913. Do not share it with anyone. " * 4
STATUS_PDU = bytes.fromhex("0791538375000075061805810531F1019082416500400190824165004000")
BAD_PDU = b"\x04\x0b"


def _pdus(text: str, *, reference: int = 7) -> list[bytes]:
    return codec.encode_deliver(text, sender=SENDER, sent_at=SENT, reference=reference)


def _text(text: str = "Your code is 123456", **changes: object) -> InboundText:
    fields: dict[str, object] = {
        "carrier": "acme",
        "number": NUMBER,
        "sender": SENDER,
        "text": text,
        **changes,
    }
    return InboundText(**fields)  # type: ignore[arg-type]


def _results(outcomes: list[IngestResult | Exception]) -> list[IngestResult]:
    assert all(isinstance(o, IngestResult) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, IngestResult)]


@asynccontextmanager
async def _engine(path: Path) -> AsyncIterator[engine.Septet]:
    async with engine.open(Config(data_dir=str(path))) as septet:
        yield septet


@asynccontextmanager
async def _engine_denying_messages(path: Path) -> AsyncIterator[tuple[engine.Septet, list[bool]]]:
    """An engine whose store refuses to insert messages while ``deny[0]`` holds."""
    deny = [True]
    async with (
        open_sqlite_store(path / "inbox.db", _writer_hook=deny_messages(lambda: deny[0])) as store,
        engine.open(Config(data_dir=str(path)), store=store) as septet,
    ):
        yield septet, deny


async def test_outcomes_come_in_the_order_of_the_items(tmp_path: Path) -> None:
    items = [_text(f"Your code is {n:06d}", carrier_message_id=f"K{n}") for n in range(50)]
    async with _engine(tmp_path) as septet:
        results = _results(await septet.ingest_each(items))
        stored = await septet.messages(limit=100, oldest_first=True)
    assert [r.outcome for r in results] == ["committed"] * 50
    assert [r.message.otp.code for r in results if r.message and r.message.otp] == [
        f"{n:06d}" for n in range(50)
    ]
    assert [m.id for m in stored] == [r.message.id for r in results if r.message]


async def test_a_bad_pdu_is_answered_alone_and_the_others_are_stored(tmp_path: Path) -> None:
    items: list[InboundItem] = [
        _text("Your code is 111111", carrier_message_id="A"),
        InboundPdu(carrier="modem", number=NUMBER, pdu=_pdus("Code 222222")[0]),
        InboundPdu(carrier="modem", number=NUMBER, pdu=BAD_PDU),
        _text("part", segment=Segment(reference=1, reference_bits=8, total=2, seq=1)),
        InboundPdu(carrier="modem", number=NUMBER, pdu=BAD_PDU, carrier_message_id="B2"),
    ]
    async with _engine(tmp_path) as septet:
        outcomes = await septet.ingest_each(items)
        stored = await septet.messages(oldest_first=True)
        metrics = septet.metrics.render()
    first, second, bad, part, other_bad = outcomes
    assert isinstance(bad, PduError)
    assert isinstance(other_bad, PduError)
    assert (bad.index, other_bad.index) == (2, 4)
    assert bad is not other_bad
    assert isinstance(first, IngestResult)
    assert isinstance(second, IngestResult)
    assert isinstance(part, IngestResult)
    assert (first.outcome, second.outcome, part.outcome) == ("committed", "committed", "buffered")
    assert [m.content for m in stored] == ["Your code is 111111", "Code 222222"]
    assert b'septet_errors_total{kind="pdu"} 2.0' in metrics
    assert b"septet_parts_buffered 1.0" in metrics


async def test_ingest_many_still_refuses_the_whole_list_for_a_bad_pdu(tmp_path: Path) -> None:
    items: list[InboundItem] = [
        _text(carrier_message_id="A"),
        InboundPdu(carrier="m", number=NUMBER, pdu=BAD_PDU),
    ]
    async with _engine(tmp_path) as septet:
        with pytest.raises(PduError) as raised:
            await septet.ingest_many(items)
        assert raised.value.index == 1
        assert await septet.messages() == []


async def test_a_failed_store_write_fails_each_of_its_items_alone(tmp_path: Path) -> None:
    items: list[InboundItem] = [
        _text("Your code is 111111", carrier_message_id="A"),
        InboundStatus(
            carrier="acme", number=NUMBER, refers_to="X1", status="DELIVRD", carrier_message_id="D"
        ),
        InboundPdu(carrier="modem", number=NUMBER, pdu=_pdus("Code 222222")[0]),
        _text("no code here", carrier_message_id="B"),
    ]
    async with _engine_denying_messages(tmp_path) as (septet, deny):
        text, status, pdu, other = await septet.ingest_each(items)
        failures = [text, pdu, other]
        assert all(isinstance(f, StoreError) for f in failures)
        assert len({id(f) for f in failures}) == 3  # one instance each
        assert isinstance(status, IngestResult)  # not in the failed write: stored
        assert status.outcome == "status"
        assert await septet.messages() == []
        assert b'septet_errors_total{kind="store"} 1.0' in septet.metrics.render()
        with pytest.raises(StoreError):
            await septet.ingest_many(items)
        deny[0] = False  # the disk has room again: the carrier's retry is stored
        again = _results(await septet.ingest_each(items))
        assert [r.outcome for r in again] == ["committed", "duplicate", "committed", "committed"]
        assert len(await septet.messages()) == 3


async def test_parts_and_status_reports_in_the_list(tmp_path: Path) -> None:
    parts = _pdus(LONG, reference=9)
    items: list[InboundItem] = [
        InboundPdu(carrier="modem", number=NUMBER, pdu=parts[1], carrier_message_id="P2"),
        _text("sent by us", carrier_message_id="T0"),
        InboundStatus(
            carrier="acme", number=NUMBER, refers_to="T0", status="DELIVRD", carrier_message_id="D"
        ),
        InboundPdu(carrier="modem", number=NUMBER, pdu=STATUS_PDU),
        _text("hello ", segment=Segment(reference=4, reference_bits=8, total=2, seq=1)),
        InboundPdu(carrier="modem", number=NUMBER, pdu=parts[0], carrier_message_id="P1"),
        _text("world", segment=Segment(reference=4, reference_bits=8, total=2, seq=2)),
    ]
    async with _engine(tmp_path) as septet:
        results = _results(await septet.ingest_each(items))
        stored = {m.content: m for m in await septet.messages()}
        sent = stored["sent by us"]
        [report] = await septet.status_reports(sent.id)
    outcomes = [r.outcome for r in results]
    # The parts of a set go in concurrently: either one may complete it.
    assert sorted([outcomes[0], outcomes[5]]) == ["buffered", "committed"]
    assert sorted([outcomes[4], outcomes[6]]) == ["buffered", "committed"]
    assert [outcomes[1], outcomes[2], outcomes[3]] == ["committed", "status", "status"]
    assert report.id == results[2].status_report.id  # type: ignore[union-attr]
    assert set(stored) == {"sent by us", LONG, "hello world"}
    assert stored[LONG].parts == 2
    assert stored[LONG].otp is not None


async def test_a_whole_set_in_the_list_is_committed_in_one_store_write(tmp_path: Path) -> None:
    # An SMSC sends a set's parts together: the message they make is committed at once,
    # beside the list's single messages, not after a write per part and one more for
    # the message. (A batch window makes "beside" one commit whatever the timing.)
    long = LONG + LONG[:120]
    parts = _pdus(long, reference=11)
    assert len(parts) == 3
    items: list[InboundItem] = [
        InboundPdu(carrier="modem", number=NUMBER, pdu=parts[seq - 1], carrier_message_id=f"P{seq}")
        for seq in (2, 3, 1)
    ]
    items.append(_text("alone", carrier_message_id="T1"))
    async with (
        open_sqlite_store(tmp_path / "inbox.db", batch_ms=50) as store,
        engine.open(Config(data_dir=str(tmp_path)), store=store) as septet,
    ):
        before = store.commits
        results = _results(await septet.ingest_each(items))
        assert store.commits - before == 1
        stored = {m.content: m for m in await septet.messages()}
        assert [r.outcome for r in results] == ["buffered", "buffered", "committed", "committed"]
        assert results[2].message == stored[long]
        assert stored[long].parts == 3
        assert stored[long].otp is not None
        metrics = septet.metrics.render()
        assert b"septet_parts_buffered 0.0" in metrics
        # A late copy of a part is a duplicate of the message, by its carrier id.
        [late] = _results(await septet.ingest_each([items[0]]))
        assert (late.outcome, late.message) == ("duplicate", stored[long])


class _Counting:
    """The SQLite store, counting the calls the pipeline makes of each write."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()
        self.sets: list[int] = []

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._store, name)
        if name in ("commit_message", "commit_messages", "add_part", "add_parts"):
            self.calls[name] += 1
        return found

    async def commit_batch(self, messages: Any, **kwargs: Any) -> Any:
        self.calls["commit_batch"] += 1
        self.sets.append(len(kwargs.get("sets", ())))
        return await self._store.commit_batch(messages, **kwargs)


async def test_whole_sets_go_in_the_write_of_the_lists_messages(tmp_path: Path) -> None:
    # Two sets whose parts all came in the list go in the one write of its single
    # messages; the lone part of a third set is added on its own, as before.
    long = LONG + LONG[:120]
    three = _pdus(long, reference=21)
    two = _pdus(LONG, reference=22)
    items: list[InboundItem] = [
        InboundPdu(carrier="modem", number=NUMBER, pdu=three[1], carrier_message_id="A2"),
        _text("alone", carrier_message_id="T1"),
        InboundPdu(carrier="modem", number=NUMBER, pdu=two[1], carrier_message_id="B2"),
        _text("hello ", segment=Segment(reference=4, reference_bits=8, total=2, seq=1)),
        InboundPdu(carrier="modem", number=NUMBER, pdu=three[2], carrier_message_id="A3"),
        InboundPdu(carrier="modem", number=NUMBER, pdu=two[0], carrier_message_id="B1"),
        InboundPdu(carrier="modem", number=NUMBER, pdu=three[0], carrier_message_id="A1"),
    ]
    async with (
        open_sqlite_store(tmp_path / "inbox.db") as sqlite,
        engine.open(Config(data_dir=str(tmp_path)), store=(store := _Counting(sqlite))) as septet,
    ):
        results = _results(await septet.ingest_each(items))
        stored = {m.content: m for m in await septet.messages()}
        metrics = septet.metrics.render()
    assert store.calls == {"commit_batch": 1, "add_part": 1}
    assert store.sets == [2]
    outcomes = [r.outcome for r in results]
    # Each set's parts are answered as if added one by one, in the list's order.
    assert outcomes[:5] == ["buffered", "committed", "buffered", "buffered", "buffered"]
    assert outcomes[5:] == ["committed", "committed"]
    assert set(stored) == {"alone", long, LONG}
    assert results[6].message == stored[long]
    assert results[5].message == stored[LONG]
    assert (stored[long].parts, stored[LONG].parts) == (3, 2)
    assert b"septet_parts_buffered 1.0" in metrics  # the lone part, waiting for its set
    assert b'septet_ingested_total{carrier="modem",outcome="committed"} 2.0' in metrics


async def test_a_failed_write_fails_the_whole_sets_in_it_and_a_retry_stores_them(
    tmp_path: Path,
) -> None:
    parts = _pdus(LONG, reference=23)
    items: list[InboundItem] = [
        _text("Your code is 111111", carrier_message_id="A"),
        *(
            InboundPdu(carrier="modem", number=NUMBER, pdu=pdu, carrier_message_id=f"P{n}")
            for n, pdu in enumerate(parts, 1)
        ),
    ]
    async with _engine_denying_messages(tmp_path) as (septet, deny):
        outcomes = await septet.ingest_each(items)
        assert all(isinstance(o, StoreError) for o in outcomes)
        assert len({id(o) for o in outcomes}) == 3  # one instance each
        assert await septet.messages() == []
        assert b"septet_parts_buffered 0.0" in septet.metrics.render()
        deny[0] = False
        again = _results(await septet.ingest_each(items))
        assert [r.outcome for r in again] == ["committed", "buffered", "committed"]
        assert {m.content for m in await septet.messages()} == {"Your code is 111111", LONG}
        # The set's parts went with its message: a late copy is a duplicate of it.
        [late] = _results(await septet.ingest_each(items[2:]))
        assert late.outcome == "duplicate"
        assert late.message == again[2].message


async def test_a_set_with_a_repeated_part_in_the_list_makes_one_message(tmp_path: Path) -> None:
    parts = _pdus(LONG, reference=12)
    first, second = (
        InboundPdu(carrier="modem", number=NUMBER, pdu=pdu, carrier_message_id=f"R{n}")
        for n, pdu in enumerate(parts, 1)
    )
    copy = InboundPdu(carrier="modem", number=NUMBER, pdu=parts[0])  # no carrier id
    async with _engine(tmp_path) as septet:
        results = _results(await septet.ingest_each([first, copy, second]))
        stored = await septet.messages()
    assert [m.content for m in stored] == [LONG]
    assert [r.outcome for r in results].count("committed") == 1
    assert {r.message.id for r in results if r.message is not None} <= {stored[0].id}


async def test_a_set_completed_by_the_list_with_a_part_stored_before(tmp_path: Path) -> None:
    long = LONG + LONG[:120]
    parts = [
        InboundPdu(carrier="modem", number=NUMBER, pdu=pdu, carrier_message_id=f"S{n}")
        for n, pdu in enumerate(_pdus(long, reference=13), 1)
    ]
    async with _engine(tmp_path) as septet:
        [early] = _results(await septet.ingest_each([parts[1]]))
        assert early.outcome == "buffered"
        results = _results(await septet.ingest_each([parts[2], parts[0]]))
        [message] = await septet.messages()
    assert [r.outcome for r in results] == ["buffered", "committed"]
    assert (message.content, message.parts) == (long, 3)
    assert results[1].message == message


async def test_duplicates_within_the_list_and_against_the_store(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        first = _results(
            await septet.ingest_each([_text(carrier_message_id="A"), _text(carrier_message_id="A")])
        )
        assert [r.outcome for r in first] == ["committed", "duplicate"]
        assert first[1].message == first[0].message
        second = _results(
            await septet.ingest_each(
                [_text(carrier_message_id="A"), _text("new", carrier_message_id="B")]
            )
        )
        assert [r.outcome for r in second] == ["duplicate", "committed"]
        assert second[0].message == first[0].message
        assert len(await septet.messages()) == 2
        assert await septet.ingest_each([]) == []


async def test_after_shutdown_every_item_is_refused(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        pass
    outcomes = await septet.ingest_each([_text(), _text("other")])
    assert [type(o) for o in outcomes] == [EngineClosedError, EngineClosedError]
    assert outcomes[0] is not outcomes[1]


async def test_a_cancelled_caller_still_gets_the_list_finished(tmp_path: Path) -> None:
    items = [_text(f"Your code is {n:06d}", carrier_message_id=f"K{n}") for n in range(20)]
    async with _engine(tmp_path) as septet:
        with trio.CancelScope() as scope:
            scope.cancel()
            await septet.ingest_each(items)  # shielded once begun
        assert len(await septet.messages()) == 20


# emit.many, as a carrier sees it -----------------------------------------------------

BATCH_CARRIER = """
import trio

from engine.plugin_api import InboundPdu, InboundText, IngestResult

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    pass


SEEN = []


class Batcher:
    api_version = 1
    Config = Settings

    def __init__(self, name, config):
        self.name = name
        self.config = config

    async def run(self, emit, *, task_status=trio.TASK_STATUS_IGNORED):
        items = [
            InboundText(carrier="any", number="+447700900001", sender="+447700900123",
                        text="Your code is 654321", carrier_message_id="m1"),
            InboundPdu(carrier="any", number="+447700900001", pdu=b"\\x04\\x0b"),
            InboundText(carrier="any", number="+447700900001", sender="+447700900123",
                        text="again", carrier_message_id="m1"),
        ]
        SEEN.append(await emit.many(items))
        SEEN.append(await emit(InboundText(carrier="any", number="+447700900001",
                                           sender="Acme", text="one by one")))
        task_status.started()
        await trio.sleep_forever()
"""


@pytest.fixture
def batcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[object]]:
    """A throwaway distribution whose carrier emits a list at start; answers what it saw."""
    entry_points = "[septet.carriers]\nbatcher = batch_carrier:Batcher\n"
    install_distribution(
        tmp_path / "site", "batch-carrier", "1.0", entry_points, {"batch_carrier": BATCH_CARRIER}
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "batch_carrier", raising=False)

    def seen() -> list[object]:
        seen: list[object] = sys.modules["batch_carrier"].SEEN
        return seen

    return seen


async def test_a_carrier_emits_a_list_with_emit_many(
    tmp_path: Path, batcher: Callable[[], list[object]]
) -> None:
    carriers = (CarrierConfig(name="batch1", adapter="batcher", config={}),)
    config = Config(data_dir=str(tmp_path / "data"), carriers=carriers)
    async with engine.open(config) as septet:
        many, one = batcher()
        stored = await septet.messages(oldest_first=True)
    assert isinstance(many, list)
    stored_text, bad, repeat = many
    assert isinstance(stored_text, IngestResult)
    assert isinstance(bad, PduError)
    assert bad.index == 1
    assert isinstance(repeat, IngestResult)
    assert (stored_text.outcome, repeat.outcome) == ("committed", "duplicate")
    assert isinstance(one, IngestResult)
    assert one.outcome == "committed"
    assert [(m.content, m.carrier) for m in stored] == [
        ("Your code is 654321", "batch1"),  # messages record the instance's name
        ("one by one", "batch1"),
    ]
