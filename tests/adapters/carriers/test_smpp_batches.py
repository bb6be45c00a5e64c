"""The SMPP carrier's batches: PDUs that arrive together go to ``emit.many`` as one list
(up to half the window each), each answered from its own outcome, the window counting
every PDU in flight."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
import trio.testing
from denying import deny_messages
from test_smpp import CARRIER, LONG, NUMBER, SENDER, carrier_for, contents, deliver_sm, rig

import engine
from adapters.carriers._smpp_mapping import more_parts_follow
from engine.config import Config
from engine.errors import PduError, StoreError
from engine.model import InboundItem, InboundText, IngestResult
from engine.smpp import CommandStatus, DeliverSmResp
from engine.store import open_sqlite_store
from engine.testing import (
    CarrierHarness,
    EsmeResponse,
    EsmeSession,
    SmscSimulator,
    open_carrier_harness,
    open_smsc_simulator,
    receipt_deliver_sm,
    text_deliver_sms,
)

pytestmark = pytest.mark.trio

ROK = CommandStatus.ESME_ROK
TEMPORARY = CommandStatus.ESME_RX_T_APPN
PERMANENT = CommandStatus.ESME_RX_P_APPN


def numbered(frames: Sequence[bytes], first: int = 1001) -> list[bytes]:
    """The frames with the sequence numbers ``first``, ``first + 1``, ..."""
    return [f[:12] + (first + n).to_bytes(4, "big") + f[16:] for n, f in enumerate(frames)]


def text_frames(*bodies: str) -> list[bytes]:
    return [text_deliver_sms(body, sender=SENDER, number=NUMBER)[0].encode() for body in bodies]


async def send_together(
    session: EsmeSession, frames: Sequence[bytes], first: int = 1001
) -> list[int]:
    """Write ``frames`` (numbered from ``first``) in one write, so that they arrive
    together; their answers' statuses, in the order sent."""
    sent = numbered(frames, first)
    sequences = [int.from_bytes(f[12:16], "big") for f in sent]
    await session.send_raw(b"".join(sent))

    def answers() -> dict[int, int]:
        return {
            pdu.sequence_number: pdu.command_status
            for pdu in session.received
            if isinstance(pdu, DeliverSmResp)
        }

    await session.wait_until(lambda: all(s in answers() for s in sequences))
    found = answers()
    return [found[s] for s in sequences]


async def test_undecodable_content_is_refused_and_the_rest_of_its_batch_stored(
    tmp_path: Path,
) -> None:
    good_one, good_two = text_frames("first of three", "third of three")
    bad_gsm7 = deliver_sm(b"\x80\x81").encode()
    async with rig(tmp_path) as r, r.carrier() as harness:
        session = await r.smsc.wait_for_session()
        statuses = await send_together(session, [good_one, bad_gsm7, good_two])
        assert statuses == [ROK, PERMANENT, ROK]
        assert harness.batches == [2]  # the decodable two, in one list
        assert contents(await r.inbox()) == ["first of three", "third of three"]


async def test_parts_go_in_a_batch_of_their_own_beside_receipts_and_whole_messages(
    tmp_path: Path,
) -> None:
    parts = [p.encode() for p in text_deliver_sms(LONG, sender=SENDER, number=NUMBER, split="udh")]
    receipt = receipt_deliver_sm("38601fa", sender=SENDER, number=NUMBER).encode()
    [single] = text_frames("Your code is 771203")
    async with rig(tmp_path) as r:
        sent = InboundText(
            carrier=CARRIER, number=NUMBER, sender=SENDER, text="sent", carrier_message_id="38601fa"
        )
        original = (await r.septet.ingest(sent)).message
        assert original is not None
        async with r.carrier() as harness:
            session = await r.smsc.wait_for_session()
            statuses = await send_together(session, [parts[1], receipt, single, parts[0]])
            assert statuses == [ROK] * 4
            # The receipt and the whole message are answered at their commit; the two
            # parts, which take more writes, go in a batch of their own.
            assert sorted(harness.batches) == [2, 2]
        assert sorted(contents(await r.inbox())) == sorted([LONG, "Your code is 771203", "sent"])
        [report] = await r.septet.status_reports(original.id)
    assert report.status == "DELIVRD"


async def test_a_full_batch_is_not_cut_between_two_parts_of_a_set(tmp_path: Path) -> None:
    # Window 8, batches of 4: the three parts of a set that straddle the fourth place
    # stay in one batch (and make their message in one write), and the batch goes after
    # the set's last part.
    text = LONG + " " + LONG
    parts = [p.encode() for p in text_deliver_sms(text, sender=SENDER, number=NUMBER, split="udh")]
    assert len(parts) == 3
    singles = text_frames("one", "two", "three", "four")
    async with rig(tmp_path) as r, r.carrier(window=8) as harness:
        session = await r.smsc.wait_for_session()
        statuses = await send_together(session, [*singles[:3], *parts, singles[3]])
        assert statuses == [ROK] * 7
        # The first batch, its whole messages and its parts answered apart, then the rest.
        assert sorted(harness.batches) == [1, 3, 3]
        assert sorted(contents(await r.inbox())) == sorted([text, "one", "two", "three", "four"])


@pytest.mark.parametrize("split", ["udh", "udh16", "sar"])
async def test_more_parts_follow_every_part_but_the_last(split: str) -> None:
    text = LONG + " " + LONG
    parts = text_deliver_sms(text, sender=SENDER, number=NUMBER, split=split)  # type: ignore[arg-type]
    assert [more_parts_follow(pdu) for pdu in parts] == [True, True, False]
    [single] = text_deliver_sms("short", sender=SENDER, number=NUMBER)
    assert not more_parts_follow(single)


async def test_each_outcome_gives_its_own_answer(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:

        async def outcomes(items: Sequence[InboundItem]) -> list[IngestResult | Exception]:
            answers: list[IngestResult | Exception] = []
            for item in items:
                text = item.text if isinstance(item, InboundText) else ""
                if text == "undecodable":
                    answers.append(PduError("not a PDU", 0, index=0))
                elif text == "unavailable":
                    answers.append(StoreError("disk full"))
                elif text == "unexpected":
                    answers.append(RuntimeError("a bug"))
                else:
                    answers.append(await r.septet.ingest(item))
            return answers

        frames = text_frames("stored", "undecodable", "unavailable", "unexpected", "also stored")
        carrier = carrier_for(r.smsc.host, r.smsc.port)
        async with open_carrier_harness(carrier, respond_many=outcomes):
            session = await r.smsc.wait_for_session()
            statuses = await send_together(session, frames)
        assert statuses == [ROK, PERMANENT, TEMPORARY, TEMPORARY, ROK]
        assert contents(await r.inbox()) == ["stored", "also stored"]


@asynccontextmanager
async def denying_rig(
    tmp_path: Path,
) -> AsyncIterator[tuple[SmscSimulator, engine.Septet, list[bool]]]:
    """An SMSC and an engine whose store refuses to insert messages while ``deny[0]``."""
    deny = [True]
    hook = deny_messages(lambda: deny[0])
    async with (
        open_sqlite_store(tmp_path / "inbox.db", _writer_hook=hook) as store,
        engine.open(Config(data_dir=str(tmp_path)), store=store) as septet,
        open_smsc_simulator() as smsc,
    ):
        yield smsc, septet, deny


async def test_a_store_failure_answers_the_whole_batch_temporary(tmp_path: Path) -> None:
    frames = text_frames(*(f"Your code is {n:06d}" for n in range(5)))
    async with denying_rig(tmp_path) as (smsc, septet, deny):
        carrier = carrier_for(smsc.host, smsc.port)
        async with open_carrier_harness(
            carrier, respond=septet.ingest, respond_many=septet.ingest_each
        ) as harness:
            session = await smsc.wait_for_session()
            assert await send_together(session, frames) == [TEMPORARY] * 5
            assert harness.batches == [5]
            assert await septet.messages() == []  # nothing stored, nothing acknowledged
            deny[0] = False
            assert await send_together(session, frames, 2001) == [ROK] * 5  # the resend
        assert len(await septet.messages()) == 5


async def test_the_window_counts_every_pdu_of_every_batch(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        gate = trio.Event()
        in_flight = peak = 0

        async def commit_when_let(item: InboundItem) -> IngestResult:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await gate.wait()
                return await r.septet.ingest(item)
            finally:
                in_flight -= 1

        harness: CarrierHarness
        async with r.carrier(respond=commit_when_let, window=3) as harness:
            session = await r.smsc.wait_for_session()
            frames = text_frames(*(f"m{n}" for n in range(8)))
            async with trio.open_nursery() as nursery:

                async def send() -> None:
                    assert await send_together(session, frames) == [ROK] * 8

                nursery.start_soon(send)
                await harness.wait_for_items(3)
                await trio.testing.wait_all_tasks_blocked()
                # A full window, in batches of up to half of it (rounded up), so the SMSC
                # hears of the first half while the second commits; the other five wait.
                # (Each batch has its task, and trio may start either first.)
                assert sorted(harness.batches) == [1, 2]
                assert not any(isinstance(p, DeliverSmResp) for p in session.received)
                gate.set()
        assert peak == 3
        assert sum(harness.batches) == 8
        assert all(size <= 2 for size in harness.batches)
        assert sorted(contents(await r.inbox())) == [f"m{n}" for n in range(8)]


async def send_apart(session: EsmeSession, bodies: Sequence[str]) -> list[EsmeResponse]:
    """Send a text message for each of ``bodies``, each in a write of its own that the
    link has read before the next is written; their answers, to come."""
    sent = []
    for n, frame in enumerate(text_frames(*bodies)):
        sent.append(session.deliver_nowait(numbered([frame], 1001 + n)[0]))
        await trio.testing.wait_all_tasks_blocked(cushion=0.05)
    return sent


def held_until(
    gate: trio.Event, septet: engine.Septet
) -> Callable[[InboundItem], Awaitable[IngestResult]]:
    """A responder that ingests each item once ``gate`` is set."""

    async def commit_when_let(item: InboundItem) -> IngestResult:
        await gate.wait()
        return await septet.ingest(item)

    return commit_when_let


async def test_what_arrives_while_two_batches_are_answered_gathers_into_one(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        gate = trio.Event()
        async with r.carrier(respond=held_until(gate, r.septet)) as harness:
            session = await r.smsc.wait_for_session()
            sent = await send_apart(session, ["m0", "m1"])
            assert harness.batches == [1, 1]  # two reads, two batches
            sent += await send_apart(session, [f"m{n}" for n in range(2, 6)])
            # The handler is busy with two: the other four reads gathered, none handed over.
            assert harness.batches == [1, 1]
            assert all(response.answered_at is None for response in sent)
            gate.set()
            await session.wait_until(lambda: all(answer.answered_at for answer in sent))
            assert [response.command_status for response in sent] == [ROK] * 6
            assert harness.batches == [1, 1, 4]
        assert sorted(contents(await r.inbox())) == [f"m{n}" for n in range(6)]


async def test_an_idle_link_hands_each_read_over_at_once(tmp_path: Path) -> None:
    async with rig(tmp_path) as r, r.carrier() as harness:
        session = await r.smsc.wait_for_session()
        for n, frame in enumerate(text_frames(*(f"m{n}" for n in range(3)))):
            answer = await session.deliver(numbered([frame], 1001 + n)[0])
            assert answer.command_status == ROK
        assert harness.batches == [1, 1, 1]


async def test_a_gathered_batch_goes_when_it_fills_half_the_window(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        gate = trio.Event()
        async with r.carrier(respond=held_until(gate, r.septet), window=8) as harness:
            session = await r.smsc.wait_for_session()
            sent = await send_apart(session, [f"m{n}" for n in range(6)])
            # Two being answered, and the four gathered after them make half the window:
            # they go without waiting for either.
            assert harness.batches == [1, 1, 4]
            gate.set()
            await session.wait_until(lambda: all(answer.answered_at for answer in sent))
        assert sorted(contents(await r.inbox())) == [f"m{n}" for n in range(6)]
