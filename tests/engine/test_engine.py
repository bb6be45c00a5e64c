"""The engine end to end, on the real SQLite store in a temporary directory."""

from __future__ import annotations

import gc
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import hypothesis.strategies as st
import pytest
import trio
import trio.testing
from denying import deny_messages
from hypothesis import HealthCheck, given, settings

import engine
from engine import codec
from engine.config import CarrierConfig, Config, ReassemblyConfig, RuntimeConfig
from engine.errors import EngineClosedError, PduError, StoreError
from engine.model import InboundPdu, InboundStatus, InboundText, Segment
from engine.store import BufferedPart, open_sqlite_store

pytestmark = pytest.mark.trio

NUMBER = "+447700900001"
SENDER = "+447700900123"
SENT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=2)))
LONG = "Your verification code is 482913. Do not share it with anyone. " * 4


def _config(path: Path | str, **changes: object) -> Config:
    settings: dict[str, object] = {"data_dir": str(path), **changes}
    return Config(**settings)  # type: ignore[arg-type]


def _pdus(text: str, *, reference: int = 7, sender: str = SENDER) -> list[bytes]:
    return codec.encode_deliver(text, sender=sender, sent_at=SENT, reference=reference)


def _text(text: str = "Your code is 123456", **changes: object) -> InboundText:
    fields: dict[str, object] = {
        "carrier": "acme",
        "number": NUMBER,
        "sender": SENDER,
        "text": text,
        **changes,
    }
    return InboundText(**fields)  # type: ignore[arg-type]


@asynccontextmanager
async def _engine(path: Path, **changes: object) -> AsyncIterator[engine.Septet]:
    async with engine.open(_config(path, **changes)) as septet:
        yield septet


async def test_a_text_is_normalized_committed_and_its_code_extracted(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        result = await septet.ingest(
            _text(number="+44 7700 900001", sender="07700900123", carrier_message_id="c1")
        )
        assert result.outcome == "committed"
        message = result.message
        assert message is not None
        assert message.number_used == NUMBER
        assert message.sender_id == SENDER  # national, read in the receiving number's country
        assert message.otp is not None
        assert message.otp.code == "123456"
        assert message.received_at.utcoffset() == timedelta(0)
        assert await septet.get(message.id) == message
        # an alphanumeric sender and a short code are kept as sent
        named = await septet.ingest(_text("hi", sender="Google"))
        short = await septet.ingest(_text("hi", sender="50131"))
        assert named.message is not None
        assert named.message.sender_id == "Google"
        assert short.message is not None
        assert short.message.sender_id == "50131"


async def test_national_receiving_numbers_use_the_default_region(tmp_path: Path) -> None:
    async with _engine(tmp_path, default_region="GB") as septet:
        result = await septet.ingest(_text(number="07700 900001", sender="07700 900123"))
        assert result.message is not None
        assert (result.message.number_used, result.message.sender_id) == (NUMBER, SENDER)
        found = await septet.messages(number="07700900001")
        assert [m.id for m in found] == [result.message.id]


async def test_a_pdu_keeps_its_sent_offset_and_raw_bytes(tmp_path: Path) -> None:
    pdu = _pdus("Your code is 654321")[0]
    received = datetime(2024, 5, 1, 12, 0, 9, tzinfo=timezone(timedelta(hours=2)))
    async with _engine(tmp_path) as septet:
        result = await septet.ingest(
            InboundPdu(carrier="modem", number=NUMBER, pdu=pdu, received_at=received)
        )
        message = result.message
        assert message is not None
        assert (message.content, message.encoding, message.parts) == (
            "Your code is 654321",
            "gsm7",
            1,
        )
        assert message.sent_at == SENT
        assert message.sent_at.utcoffset() == timedelta(hours=2)
        assert message.received_at == received
        assert message.received_at.tzinfo == UTC
        assert message.otp is not None
        assert message.otp.code == "654321"
        assert await septet.raw_payload(message.id) == pdu.hex().encode()


async def test_an_undecodable_pdu_raises_and_is_counted(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        with pytest.raises(PduError):
            await septet.ingest(InboundPdu(carrier="modem", number=NUMBER, pdu=b"\x04\x0b"))
        assert await septet.messages() == []
        assert b'septet_errors_total{kind="pdu"} 1.0' in septet.metrics.render()


async def test_parts_in_any_order_with_repeats_make_one_flagged_message(tmp_path: Path) -> None:
    pdus = _pdus(LONG)
    assert len(pdus) == 2
    async with _engine(tmp_path) as septet:
        first = await septet.ingest(InboundPdu(carrier="modem", number=NUMBER, pdu=pdus[1]))
        again = await septet.ingest(InboundPdu(carrier="modem", number=NUMBER, pdu=pdus[1]))
        assert (first.outcome, again.outcome) == ("buffered", "duplicate")
        assert b"septet_parts_buffered 1.0" in septet.metrics.render()
        last = await septet.ingest(InboundPdu(carrier="modem", number=NUMBER, pdu=pdus[0]))
        assert last.outcome == "committed"
        assert last.message is not None
        assert last.message.content == LONG
        assert last.message.parts == 2
        assert last.message.flags == ("duplicate_parts",)
        assert last.message.otp is not None
        assert last.message.otp.code == "482913"
        # a late copy of a part of a completed set is a duplicate, not a new set
        late = await septet.ingest(InboundPdu(carrier="modem", number=NUMBER, pdu=pdus[1]))
        assert late.outcome == "duplicate"
        assert late.message == last.message
        assert [m.id for m in await septet.messages()] == [last.message.id]
        rendered = septet.metrics.render()
        assert b"septet_parts_buffered 0.0" in rendered
        assert b'septet_duplicates_total{carrier="modem"} 2.0' in rendered


async def test_text_segments_are_reassembled(tmp_path: Path) -> None:
    def segment(seq: int, text: str) -> InboundText:
        return _text(
            text,
            carrier_message_id=f"s{seq}",
            segment=Segment(reference=300, reference_bits=16, total=3, seq=seq),
        )

    async with _engine(tmp_path) as septet:
        outcomes = [
            (await septet.ingest(segment(seq, text))).outcome
            for seq, text in ((2, "code "), (3, "is 777111"), (1, "Your "))
        ]
        assert outcomes == ["buffered", "buffered", "committed"]
        retry = await septet.ingest(segment(2, "code "))
        assert retry.outcome == "duplicate"
        assert retry.message is not None
        assert retry.message.content == "Your code is 777111"
        assert retry.message.carrier_message_id == "s1"


async def test_an_expired_set_is_committed_incomplete(tmp_path: Path) -> None:
    pdus = codec.encode_deliver(
        "A" * 153 + "B" * 153 + "C", sender=SENDER, sent_at=SENT, reference=9
    )
    # Long enough that both parts land before the first expires, even on a loaded machine.
    reassembly = ReassemblyConfig(ttl_seconds=1.0, sweep_seconds=0.05)
    async with _engine(tmp_path, reassembly=reassembly) as septet:
        with trio.fail_after(5):
            watch = septet.watch()
            for pdu in (pdus[0], pdus[2]):
                await septet.ingest(InboundPdu(carrier="modem", number=NUMBER, pdu=pdu))
            message = await anext(watch)
        assert message.flags == ("incomplete",)
        assert message.content == "A" * 153 + "C"
        assert message.parts == 2
        await watch.aclose()


async def test_buffered_parts_survive_a_restart(tmp_path: Path) -> None:
    pdus = _pdus(LONG, reference=11)
    async with _engine(tmp_path) as septet:
        assert (
            await septet.ingest(InboundPdu(carrier="m", number=NUMBER, pdu=pdus[0]))
        ).outcome == "buffered"
    async with _engine(tmp_path) as septet:
        result = await septet.ingest(InboundPdu(carrier="m", number=NUMBER, pdu=pdus[1]))
        assert result.outcome == "committed"
        assert result.message is not None
        assert result.message.content == LONG


async def test_a_complete_set_left_by_a_crash_is_committed_at_startup(tmp_path: Path) -> None:
    # The parts were stored but the process stopped before the set was completed.
    pdus = _pdus(LONG, reference=12)
    async with _engine(tmp_path) as septet:
        await septet.ingest(InboundPdu(carrier="m", number=NUMBER, pdu=pdus[0]))
    async with open_sqlite_store(tmp_path / "septet.db") as store:
        sets = await store.part_sets()
        (stored,) = sets
        now = datetime.now(UTC)
        second = InboundPdu(carrier="m", number=NUMBER, pdu=pdus[1], received_at=now)
        from engine.pipeline._reassembly import encode_part

        added = await store.add_part(
            BufferedPart(
                set_key=stored[0].set_key,
                seq=2,
                total=2,
                carrier="m",
                carrier_message_id=None,
                received_at=now,
                expires_at=now + timedelta(days=1),
                payload=encode_part(second),
            )
        )
        assert len(added.parts) == 2
    async with _engine(tmp_path) as septet:
        (message,) = await septet.messages()
        assert message.content == LONG
        assert message.flags == ()


async def test_a_carrier_retry_returns_the_original(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        first = await septet.ingest(_text(carrier_message_id="SM1"))
        retry = await septet.ingest(_text(carrier_message_id="SM1"))
        assert retry.outcome == "duplicate"
        assert retry.message == first.message
        assert len(await septet.messages()) == 1
        assert b'septet_duplicates_total{carrier="acme"} 1.0' in septet.metrics.render()


async def test_status_reports_link_to_their_message(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        early = await septet.ingest(
            InboundStatus(carrier="acme", number=NUMBER, refers_to="SM9", status="DELIVRD")
        )
        assert early.outcome == "status"
        assert early.status_report is not None
        assert early.status_report.message_id is None  # the message is not known yet
        sent = await septet.ingest(_text(carrier_message_id="SM9"))
        assert sent.message is not None
        report = await septet.ingest(
            InboundStatus(
                carrier="acme",
                number=NUMBER,
                refers_to="SM9",
                status="DELIVRD",
                carrier_message_id="DLR1",
            )
        )
        assert report.status_report is not None
        assert report.status_report.message_id == sent.message.id
        again = await septet.ingest(
            InboundStatus(
                carrier="acme",
                number=NUMBER,
                refers_to="SM9",
                status="DELIVRD",
                carrier_message_id="DLR1",
            )
        )
        assert again.outcome == "duplicate"
        linked = await septet.status_reports(sent.message.id)
        # The early report was linked when its message committed.
        assert [r.id for r in linked] == [early.status_report.id, report.status_report.id]
        assert {r.message_id for r in linked} == {sent.message.id}


async def test_a_status_report_pdu_is_stored(tmp_path: Path) -> None:
    pdu = bytes.fromhex("0791538375000075061805810531F1019082416500400190824165004000")
    async with _engine(tmp_path) as septet:
        result = await septet.ingest(InboundPdu(carrier="modem", number=NUMBER, pdu=pdu))
        assert result.outcome == "status"
        assert result.status_report is not None
        assert (result.status_report.refers_to, result.status_report.status) == ("24", "0x00")


async def test_watch_replays_after_an_id_then_goes_live_without_gaps(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        first = await septet.ingest(_text("one"))
        assert first.message is not None
        for text in ("two", "three"):
            await septet.ingest(_text(text))
        seen: list[str] = []
        async with trio.open_nursery() as nursery:

            async def read() -> None:
                async for message in septet.watch(after=first.message.id):  # type: ignore[union-attr]
                    seen.append(message.content)
                    if len(seen) == 4:
                        return

            nursery.start_soon(read)
            await trio.testing.wait_all_tasks_blocked()
            for text in ("four", "five"):
                await septet.ingest(_text(text))
        assert seen == ["two", "three", "four", "five"]


async def test_watch_filters_and_a_slow_watcher_catches_up(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        watch = septet.watch(sender="Bank")
        await septet.ingest(_text("ignored"))
        # Start the watch, then let it fall behind its buffer.
        first = await septet.ingest(_text("m0", sender="Bank"))
        assert (await anext(watch)).id == first.message.id  # type: ignore[union-attr]
        async with trio.open_nursery() as nursery:
            for i in range(1, 1300):
                nursery.start_soon(septet.ingest, _text(f"m{i}", sender="Bank"))
        got = set()
        with trio.fail_after(10):
            while len(got) < 1299:
                message = await anext(watch)
                assert message.id not in got
                got.add(message.id)
        assert len({m.content for m in await septet.messages(limit=2000)}) == 1301
        await watch.aclose()


async def test_wait_for_code(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        before = datetime.now(UTC)
        await septet.ingest(_text("Your code is 111222", sender="Bank"))
        # already arrived since `since`
        found = await septet.wait_for_code(NUMBER, timeout=2, since=before)
        assert found.otp is not None
        assert found.otp.code == "111222"
        # by default only codes arriving from now on count
        with pytest.raises(TimeoutError):
            await septet.wait_for_code(NUMBER, timeout=0.1)

        async def send_later() -> None:
            await trio.sleep(0.05)
            await septet.ingest(_text("no code here", sender="Other"))
            await septet.ingest(_text("Your code is 999888", sender="Other"))
            await septet.ingest(_text("Your code is 333444", sender="Bank"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_later)
            later = await septet.wait_for_code("+44 7700 900001", timeout=5, sender="Bank")
        assert later.otp is not None
        assert later.otp.code == "333444"


async def test_a_thousand_concurrent_ingests_commit_once_each(tmp_path: Path) -> None:
    results = []
    async with _engine(tmp_path) as septet:

        async def send(i: int) -> None:
            item = _text(f"Your code is {i:06d}", carrier_message_id=f"c{i}")
            results.append(await septet.ingest(item))

        async with trio.open_nursery() as nursery:
            for i in range(1000):
                nursery.start_soon(send, i)
        assert {r.outcome for r in results} == {"committed"}
        stored = await septet.messages(limit=5000)
        assert len(stored) == 1000
        assert {m.otp.code for m in stored if m.otp} == {f"{i:06d}" for i in range(1000)}
        assert septet._store.commits < 1000  # concurrent ingests shared commits


async def test_a_cancelled_caller_leaves_the_store_consistent(tmp_path: Path) -> None:
    pdus = _pdus(LONG, reference=21)
    async with _engine(tmp_path) as septet:
        await septet.ingest(InboundPdu(carrier="m", number=NUMBER, pdu=pdus[0]))
        with trio.CancelScope() as scope:
            scope.cancel()
            result = await septet.ingest(InboundPdu(carrier="m", number=NUMBER, pdu=pdus[1]))
            # An ingest that started finishes (the cancellation lands at the caller's next
            # checkpoint): the set was completed, not left half-done.
            assert result.outcome == "committed"
            await trio.sleep(0)
        assert scope.cancelled_caught
        (message,) = await septet.messages()
        assert message.content == LONG
        with trio.move_on_after(0) as late:
            await septet.ingest(_text(carrier_message_id="X"))
        # Cancelled before it reached the store: nothing stored, so the retry commits.
        assert late.cancelled_caught
        retry = await septet.ingest(_text(carrier_message_id="X"))
        assert retry.outcome == "committed"
        assert len(await septet.messages()) == 2


async def test_shutdown_drains_ingests_in_flight(tmp_path: Path) -> None:
    outcomes: list[str] = []

    async def send(septet: engine.Septet, i: int) -> None:
        try:
            result = await septet.ingest(_text(f"m{i}", carrier_message_id=f"d{i}"))
        except EngineClosedError:
            outcomes.append("closed")
        else:
            outcomes.append(result.outcome)

    async with trio.open_nursery() as nursery, _engine(tmp_path) as septet:
        for i in range(200):
            nursery.start_soon(send, septet, i)
        await trio.testing.wait_all_tasks_blocked()
        for i in range(200, 210):
            nursery.start_soon(send, septet, i)  # these start after shutdown began
    assert outcomes.count("committed") == 200
    assert outcomes.count("closed") == 10
    with pytest.raises(EngineClosedError):
        await septet.ingest(_text())
    async with _engine(tmp_path) as septet:
        assert len(await septet.messages(limit=500)) == 200


async def test_a_store_failure_reaches_the_caller(tmp_path: Path) -> None:
    async with (
        open_sqlite_store(tmp_path / "inbox.db", _writer_hook=deny_messages()) as store,
        engine.open(_config(tmp_path), store=store) as septet,
    ):
        with pytest.raises(StoreError):
            await septet.ingest(_text())
        assert await septet.messages() == []
        assert b'septet_errors_total{kind="store"} 1.0' in septet.metrics.render()


async def test_raw_payloads_are_bounded(tmp_path: Path) -> None:
    async with _engine(tmp_path, raw_limit_bytes=64) as septet:
        result = await septet.ingest(_text(raw=b"{" + b"x" * 1000 + b"}"))
        assert result.message is not None
        raw = await septet.raw_payload(result.message.id)
        assert raw is not None
        assert len(raw) == 64
        assert raw.startswith(b"{xxx")


async def test_the_metrics_are_exposed(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        await septet.ingest(_text())
        text = septet.metrics.render().decode()
    for name in (
        'septet_ingested_total{carrier="acme",outcome="committed"} 1.0',
        "septet_ingest_commit_seconds_bucket",
        "septet_parts_buffered",
        "septet_duplicates_total",
        "septet_errors_total",
    ):
        assert name in text


def _shuffled_parts(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    text = draw(st.text(alphabet=st.sampled_from("abcXYZ 0123€é"), min_size=161, max_size=600))
    pdus = codec.encode_deliver(
        text, sender=SENDER, sent_at=SENT, reference=draw(st.integers(0, 255))
    )
    sent = pdus + draw(st.lists(st.sampled_from(pdus), max_size=3))
    return text, draw(st.permutations(sent))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.composite(_shuffled_parts)())
async def test_any_order_and_repeats_make_one_message(
    case: tuple[str, list[bytes]],
) -> None:
    text, pdus = case
    with tempfile.TemporaryDirectory() as directory:
        async with _engine(Path(directory)) as septet:
            for pdu in pdus:
                await septet.ingest(InboundPdu(carrier="m", number=NUMBER, pdu=pdu))
            (message,) = await septet.messages()
    assert message.content == text
    assert message.parts == len(set(pdus))
    assert ("duplicate_parts" in message.flags) == _repeat_before_completion(pdus)


def _repeat_before_completion(pdus: list[bytes]) -> bool:
    """Whether a part came twice before the set was complete (later copies are absorbed)."""
    seen: set[bytes] = set()
    total = len(set(pdus))
    for pdu in pdus:
        if pdu in seen:
            return True
        seen.add(pdu)
        if len(seen) == total:
            return False
    return False


async def test_configured_carriers_run_and_their_messages_carry_the_instance_name(
    tmp_path: Path,
) -> None:
    carrier = CarrierConfig(name="sim1", adapter="sandbox", config={"auto_rate": 200, "seed": 1})
    async with _engine(tmp_path, carriers=(carrier,)) as septet:
        with trio.fail_after(10):
            async with septet.watch() as stream:
                message = await anext(stream)
        assert message.carrier == "sim1"


# ingest_many -------------------------------------------------------------------------


def _mixed_batch() -> list[engine.model.InboundItem]:
    status_pdu = bytes.fromhex("0791538375000075061805810531F1019082416500400190824165004000")
    parts = _pdus(LONG, reference=9)
    return [
        _text("Your code is 111111", carrier_message_id="T1"),
        InboundPdu(carrier="modem", number=NUMBER, pdu=_pdus("Code 222222")[0]),
        InboundPdu(carrier="modem", number=NUMBER, pdu=parts[1], carrier_message_id="P2"),
        _text("Your code is 111111", carrier_message_id="T1"),  # a carrier retry
        InboundStatus(
            carrier="acme", number=NUMBER, refers_to="T0", status="DELIVRD", carrier_message_id="D"
        ),
        InboundPdu(carrier="modem", number=NUMBER, pdu=status_pdu),
        _text("no code here", sender="Acme", carrier_message_id="T2"),
        InboundPdu(carrier="modem", number=NUMBER, pdu=parts[0], carrier_message_id="P1"),
        _text(
            "hello ",
            segment=Segment(reference=4, reference_bits=8, total=2, seq=1),
            carrier_message_id="S1",
        ),
        _text(
            "world",
            segment=Segment(reference=4, reference_bits=8, total=2, seq=2),
            carrier_message_id="S2",
        ),
    ]


def _shape(result: engine.model.IngestResult) -> tuple[object, ...]:
    message = result.message
    report = result.status_report
    return (
        result.outcome,
        None if message is None else (message.content, message.sender_id, message.otp),
        None if report is None else (report.status, report.refers_to, report.message_id is None),
    )


async def test_ingest_many_gives_what_ingesting_one_by_one_gives(tmp_path: Path) -> None:
    batch = _mixed_batch()
    async with _engine(tmp_path / "one") as septet:
        await septet.ingest(_text("sent", carrier_message_id="T0"))
        expected = [_shape(await septet.ingest(item)) for item in batch]
    async with _engine(tmp_path / "many") as septet:
        await septet.ingest(_text("sent", carrier_message_id="T0"))
        seen: list[str] = []
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                async for message in septet.watch():  # runs until cancelled
                    seen.append(message.id)  # noqa: PERF401

            nursery.start_soon(watch)
            await trio.testing.wait_all_tasks_blocked()
            results = await septet.ingest_many(batch)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        shapes = [_shape(r) for r in results]
        # Parts go in concurrently, as concurrent ingest calls would: either part of a
        # set may be the one that completes it.
        for one_set in ([2, 7], [8, 9]):
            assert sorted(map(repr, (shapes[i] for i in one_set))) == sorted(
                map(repr, (expected[i] for i in one_set))
            )
            for i in one_set:
                shapes[i] = expected[i] = None
        assert shapes == expected
        assert results[3].message == results[0].message
        committed = [r.message.id for r in results if r.outcome == "committed" and r.message]
        assert len(committed) == 5  # two texts, a PDU and two reassembled messages
        assert sorted(seen) == sorted(committed)
        stored = await septet.messages(limit=100)
        assert len(stored) == 1 + 5
        rendered = septet.metrics.render().decode()
        assert 'septet_ingested_total{carrier="acme",outcome="committed"} 4.0' in rendered
        assert 'septet_ingested_total{carrier="acme",outcome="buffered"} 1.0' in rendered
        assert 'septet_ingested_total{carrier="acme",outcome="duplicate"} 1.0' in rendered
        assert 'septet_ingested_total{carrier="modem",outcome="committed"} 2.0' in rendered
        assert 'septet_ingested_total{carrier="modem",outcome="buffered"} 1.0' in rendered
        assert 'septet_ingested_total{carrier="acme",outcome="status"} 1.0' in rendered
        assert 'septet_ingested_total{carrier="modem",outcome="status"} 1.0' in rendered


async def test_ingest_many_with_a_bad_pdu_raises_and_stores_nothing(tmp_path: Path) -> None:
    batch = [
        _text(carrier_message_id="A"),
        InboundPdu(carrier="modem", number=NUMBER, pdu=_pdus("fine")[0]),
        InboundPdu(carrier="modem", number=NUMBER, pdu=b"\x04\x0b"),
        _text("part", segment=Segment(reference=1, reference_bits=8, total=2, seq=1)),
    ]
    async with _engine(tmp_path) as septet:
        with pytest.raises(PduError) as raised:
            await septet.ingest_many(batch)
        assert raised.value.index == 2
        assert await septet.messages() == []
        assert b'septet_errors_total{kind="pdu"} 1.0' in septet.metrics.render()
        assert b"septet_parts_buffered 0.0" in septet.metrics.render()
        assert await septet.ingest_many([]) == []


async def test_ingest_many_commits_a_thousand_durably(tmp_path: Path) -> None:
    items = [
        _text(f"Your code is {n:06d}", carrier_message_id=f"K{n}", number=f"+1555000{n % 7:04d}")
        for n in range(1000)
    ]
    async with _engine(tmp_path) as septet:
        results = await septet.ingest_many(items)
        assert [r.outcome for r in results] == ["committed"] * 1000
        assert [r.message.otp.code for r in results if r.message and r.message.otp] == [
            f"{n:06d}" for n in range(1000)
        ]
    async with _engine(tmp_path) as septet:
        assert len(await septet.messages(limit=2000)) == 1000
        again = await septet.ingest_many(items[:10])
        assert [r.outcome for r in again] == ["duplicate"] * 10
        assert [r.message for r in again] == [r.message for r in results[:10]]


async def test_ingest_many_after_shutdown_began_is_refused(tmp_path: Path) -> None:
    async with _engine(tmp_path) as septet:
        pass
    with pytest.raises(EngineClosedError):
        await septet.ingest_many([_text()])


async def test_no_code_is_read_out_of_binary_data(tmp_path: Path) -> None:
    # A carrier hands 8-bit data over as hex: digits in it are bytes, not a code.
    data = b"Your code is 123456".hex()
    binary = {"encoding": "8bit", "flags": ("binary",)}
    async with _engine(tmp_path) as septet:
        one = await septet.ingest(_text(data, carrier_message_id="b1", **binary))
        [many] = await septet.ingest_many([_text(data, carrier_message_id="b2", **binary)])
        parts = [
            _text(
                data[half * 16 : half * 16 + 16] if half == 0 else data[16:],
                carrier_message_id=f"b3-{half}",
                segment=engine.model.Segment(reference=9, reference_bits=8, total=2, seq=half + 1),
                **binary,
            )
            for half in range(2)
        ]
        joined = [await septet.ingest(part) for part in parts][-1]
        plain = await septet.ingest(_text("Your code is 123456", carrier_message_id="t1"))
    for result in (one, many, joined):
        assert result.message is not None
        assert result.message.otp is None
        assert "binary" in result.message.flags
    assert plain.message is not None
    assert plain.message.otp is not None


async def test_a_repeated_part_is_remembered_across_a_restart(tmp_path: Path) -> None:
    def part(seq: int) -> InboundText:
        return _text(
            f"part {seq} ",
            sender="Bank",
            segment=engine.model.Segment(reference=77, reference_bits=8, total=2, seq=seq),
        )

    async with _engine(tmp_path) as septet:
        assert (await septet.ingest(part(1))).outcome == "buffered"
        assert (await septet.ingest(part(1))).outcome == "duplicate"  # a repeat, ignored
    async with _engine(tmp_path) as septet:
        result = await septet.ingest(part(2))
    assert result.outcome == "committed"
    assert result.message is not None
    assert result.message.content == "part 1 part 2 "
    assert "duplicate_parts" in result.message.flags


async def test_the_engine_tunes_the_garbage_collector_while_open(tmp_path: Path) -> None:
    before = gc.get_threshold()
    async with engine.open(Config(data_dir=str(tmp_path))):
        assert gc.get_threshold() == (10_000, 20, 1_000)
    assert gc.get_threshold() == before
    untouched = Config(data_dir=str(tmp_path), runtime=RuntimeConfig(tune_gc=False))
    async with engine.open(untouched):
        assert gc.get_threshold() == before
    with pytest.raises(ValueError, match="at least 1"):
        RuntimeConfig(gc_thresholds=(0, 10, 10))


async def test_thresholds_changed_by_the_application_meanwhile_are_kept(tmp_path: Path) -> None:
    before = gc.get_threshold()
    try:
        async with engine.open(Config(data_dir=str(tmp_path))):
            gc.set_threshold(5_000, 5, 5)
        assert gc.get_threshold() == (5_000, 5, 5)
    finally:
        gc.set_threshold(*before)


def _ucs2_part(data: bytes, seq: int, total: int, **changes: object) -> InboundText:
    """A UCS-2 segment whose text is what its bytes say alone (as a carrier decodes it)."""
    return _text(
        engine.codec.ucs2_decode(data, strict=False),
        encoding="ucs2",
        segment=Segment(reference=77, reference_bits=8, total=total, seq=seq),
        **changes,
    )


async def test_text_parts_with_user_data_are_decoded_joined(tmp_path: Path) -> None:
    data = "Код 5521 \U0001f510 ok".encode("utf-16-be")
    cut = data.index("\U0001f510".encode("utf-16-be")) + 2  # between the two surrogates
    parts = [data[:cut], data[cut:]]
    async with _engine(tmp_path) as septet:
        for seq in (2, 1):
            await septet.ingest(_ucs2_part(parts[seq - 1], seq, 2, user_data=parts[seq - 1]))
        [message] = await septet.messages()
    assert message.content == "Код 5521 \U0001f510 ok"
    assert message.flags == ()
    assert message.otp is not None
    assert message.otp.code == "5521"


async def test_without_every_parts_user_data_the_texts_are_joined(tmp_path: Path) -> None:
    data = "ab\U0001f510cd".encode("utf-16-be")
    parts = [data[:6], data[6:]]  # "ab" and a high surrogate | the low one and "cd"
    async with _engine(tmp_path) as septet:
        await septet.ingest(_ucs2_part(parts[0], 1, 2, user_data=parts[0]))
        await septet.ingest(_ucs2_part(parts[1], 2, 2))  # this carrier kept no user data
        [message] = await septet.messages()
    assert message.content == "ab\ufffd\ufffdcd"


async def test_an_incomplete_set_decodes_each_run_of_parts_alone(tmp_path: Path) -> None:
    data = "xy\U0001f510".encode("utf-16-be")  # 8 octets: 2 per part, the emoji split
    parts = [data[0:2], data[2:4], data[4:6], data[6:8]]
    reassembly = ReassemblyConfig(ttl_seconds=1.0, sweep_seconds=0.05)
    async with _engine(tmp_path, reassembly=reassembly) as septet:
        with trio.fail_after(5):
            watch = septet.watch()
            for seq in (1, 3):  # parts 2 and 4 never come
                await septet.ingest(_ucs2_part(parts[seq - 1], seq, 4, user_data=parts[seq - 1]))
            message = await anext(watch)
            await watch.aclose()
    # "x", then the high surrogate alone: never paired with a half from another run.
    assert message.content == "x\ufffd"
    assert set(message.flags) == {"incomplete", "lossy_text"}
