"""Single ingests that start in the same scheduling round share one batch and one commit,
and each caller still gets its own answer (see ``engine/pipeline/_pipeline.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trio
from at_once import each_at_once
from denying import deny_messages

import engine
from engine import codec
from engine.config import Config
from engine.errors import PduError, StoreError
from engine.model import InboundPdu, InboundStatus, InboundText, IngestResult
from engine.store import open_sqlite_store

pytestmark = pytest.mark.trio

NUMBER = "+447700900001"
SENDER = "+447700900123"
SENT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LONG = "Your verification code is 482913. Do not share it with anyone. " * 4


def _text(text: str, carrier_message_id: str) -> InboundText:
    return InboundText(
        carrier="acme",
        number=NUMBER,
        sender=SENDER,
        text=text,
        carrier_message_id=carrier_message_id,
    )


class _Recording:
    """The SQLite store, noting how many messages each new-message write carried."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.writes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def commit_message(self, *args: Any, **kwargs: Any) -> Any:
        self.writes.append(1)
        return await self._store.commit_message(*args, **kwargs)

    async def commit_messages(self, batch: Sequence[Any], **kwargs: Any) -> Any:
        self.writes.append(len(batch))
        return await self._store.commit_messages(batch, **kwargs)


async def test_concurrent_ingests_share_one_write(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "inbox.db") as sqlite_store:
        store = _Recording(sqlite_store)
        async with engine.open(Config(data_dir=str(tmp_path)), store=store) as septet:
            items = [_text(f"Your code is {i:06d}", f"c{i}") for i in range(50)]
            answers = await each_at_once(septet.ingest, items)
            assert store.writes == [50]
            assert all(isinstance(a, IngestResult) for a in answers)
            results = [a for a in answers if isinstance(a, IngestResult)]
            assert [r.outcome for r in results] == ["committed"] * 50
            codes = [r.message.otp.code for r in results if r.message and r.message.otp]
            assert codes == [f"{i:06d}" for i in range(50)]  # each caller its own message
            assert len(await septet.messages(limit=100)) == 50
            # Alone in its round, an ingest takes the direct path.
            lone = await septet.ingest(_text("Your code is 777777", "lone"))
            assert lone.outcome == "committed"
            assert store.writes == [50, 1]


async def test_each_caller_gets_its_own_answer(tmp_path: Path) -> None:
    parts = codec.encode_deliver(LONG, sender=SENDER, sent_at=SENT, reference=9)
    bad = bytes.fromhex("0791448720003023240DD0")  # cut short inside the sender
    async with engine.open(Config(data_dir=str(tmp_path))) as septet:
        first = await septet.ingest(_text("Your code is 111111", "seen"))
        assert first.message is not None
        items: list[object] = [
            _text("Your code is 222222", "new"),
            _text("Your code is 111111", "seen"),  # a carrier's retry
            InboundPdu(carrier="modem", number=NUMBER, pdu=bad),
            InboundStatus(
                carrier="acme",
                number=NUMBER,
                refers_to="seen",
                status="delivered",
                carrier_message_id="sr1",
            ),
            *(InboundPdu(carrier="modem", number=NUMBER, pdu=pdu) for pdu in parts),
            _text("Your code is 333333", "new"),  # a repeat within the round
        ]
        answers = await each_at_once(septet.ingest, items)
        new, retry, broken, status, *part_answers, repeat = answers
        # The two items with one carrier id: whichever the round took first is stored,
        # the other is its duplicate.
        assert isinstance(new, IngestResult)
        assert isinstance(repeat, IngestResult)
        assert sorted([new.outcome, repeat.outcome]) == ["committed", "duplicate"]
        assert isinstance(retry, IngestResult)
        assert retry.outcome == "duplicate"
        assert retry.message is not None
        assert retry.message.id == first.message.id
        # A single ingest's codec error names no index: its caller gave one item.
        assert isinstance(broken, PduError)
        assert broken.index is None
        assert broken.offset is not None
        assert isinstance(status, IngestResult)
        assert status.outcome == "status"
        outcomes = [a.outcome for a in part_answers if isinstance(a, IngestResult)]
        assert sorted(outcomes) == ["buffered"] * (len(parts) - 1) + ["committed"]
        assert new.message is not None
        assert repeat.message is not None
        assert repeat.message.id == new.message.id
        contents = {m.content for m in await septet.messages(limit=10)}
        stored = "Your code is 222222" if new.outcome == "committed" else "Your code is 333333"
        assert contents == {LONG, "Your code is 111111", stored}


async def test_a_caller_cancelled_while_waiting_to_join_stores_nothing(tmp_path: Path) -> None:
    # Two ingests start in one round; the one that finds the round gathering joins it
    # under a scope already cancelled, and is withdrawn before the leader takes it.
    async with engine.open(Config(data_dir=str(tmp_path))) as septet:
        items = [_text("Your code is 111111", "a"), _text("Your code is 222222", "b")]
        answers: dict[int, IngestResult] = {}
        joined: dict[int, trio.CancelScope] = {}

        async def one(i: int) -> None:
            with trio.CancelScope() as scope:
                if septet._pipeline._gathering is not None:
                    joined[i] = scope
                    scope.cancel()
                answers[i] = await septet.ingest(items[i])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(one, 0)
            nursery.start_soon(one, 1)
        ((withdrawn, scope),) = joined.items()
        assert scope.cancelled_caught
        assert list(answers) == [1 - withdrawn]
        assert answers[1 - withdrawn].outcome == "committed"
        stored = [m.carrier_message_id for m in await septet.messages()]
        assert stored == [items[1 - withdrawn].carrier_message_id]
        # Nothing of the withdrawn item was stored: its retry is new.
        retry = await septet.ingest(items[withdrawn])
        assert retry.outcome == "committed"


async def test_a_failed_write_fails_each_caller_with_its_own_error(tmp_path: Path) -> None:
    async with (
        open_sqlite_store(tmp_path / "inbox.db", _writer_hook=deny_messages()) as store,
        engine.open(Config(data_dir=str(tmp_path)), store=store) as septet,
    ):
        items = [_text(f"Your code is {i:06d}", f"c{i}") for i in range(5)]
        answers = await each_at_once(septet.ingest, items)
        assert all(isinstance(a, StoreError) for a in answers)
        assert len({id(a) for a in answers}) == 5
        assert await septet.messages() == []
