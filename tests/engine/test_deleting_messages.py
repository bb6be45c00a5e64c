"""Deleting and searching messages through the embedding API, on the real SQLite store:
a carrier's late retry of a deleted message stores nothing, before and after a restart,
and no watcher sees it again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import trio

import engine
from engine import codec
from engine.config import Config
from engine.model import InboundPdu, InboundText, Message

pytestmark = pytest.mark.trio

NUMBER = "+447700900001"
SENDER = "+447700900123"
SENT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=2)))
LONG = "Ваш код подтверждения 482913. Никому его не сообщайте. 😀 " * 2  # noqa: RUF001


def _text(text: str, cid: str, *, sender: str = SENDER) -> InboundText:
    return InboundText(
        carrier="acme", number=NUMBER, sender=sender, text=text, carrier_message_id=cid
    )


def _parts(reference: int) -> list[InboundPdu]:
    pdus = codec.encode_deliver(LONG, sender=SENDER, sent_at=SENT, reference=reference, ucs2=True)
    assert len(pdus) > 1
    return [
        InboundPdu(carrier="modem", number=NUMBER, pdu=pdu, carrier_message_id=f"p{reference}-{i}")
        for i, pdu in enumerate(pdus)
    ]


async def _committed(septet: engine.Septet, item: InboundText) -> Message:
    result = await septet.ingest(item)
    assert result.outcome == "committed"
    assert result.message is not None
    return result.message


async def test_a_retry_after_the_delete_is_a_duplicate_even_after_a_restart(
    tmp_path: Path,
) -> None:
    config = Config(data_dir=str(tmp_path))
    async with engine.open(config) as septet:
        gone = await _committed(septet, _text("Your code is 111222", "SM-1"))
        assert await septet.delete_message(gone.id) is True
        assert await septet.delete_message(gone.id) is False
        retry = await septet.ingest(_text("Your code is 111222", "SM-1"))
        assert retry.outcome == "duplicate"
        assert retry.message is not None
        assert await septet.get(retry.message.id) is None
        (batched, fresh) = await septet.ingest_many(
            [_text("Your code is 111222", "SM-1"), _text("hello", "SM-2")]
        )
        assert (batched.outcome, fresh.outcome) == ("duplicate", "committed")
        assert [m.content for m in await septet.messages()] == ["hello"]
    async with engine.open(config) as septet:
        again = await septet.ingest(_text("Your code is 111222", "SM-1"))
        assert again.outcome == "duplicate"
        assert [m.content for m in await septet.messages()] == ["hello"]


async def test_late_parts_of_a_deleted_multipart_message_store_nothing(tmp_path: Path) -> None:
    config = Config(data_dir=str(tmp_path))
    parts = _parts(reference=42)
    async with engine.open(config) as septet:
        results = [await septet.ingest(part) for part in parts]
        message = results[-1].message
        assert message is not None
        assert message.content == LONG
        assert await septet.delete_message(message.id)
        for part in reversed(parts):  # while the engine still remembers the set
            assert (await septet.ingest(part)).outcome == "duplicate"
        assert await septet.messages() == []
    async with engine.open(config) as septet:  # and when only the store does
        for part in parts:
            late = await septet.ingest(part)
            assert (late.outcome, late.message) == ("duplicate", None)
        assert await septet.messages() == []


async def test_watchers_never_see_a_deleted_message_again(tmp_path: Path) -> None:
    async with engine.open(Config(data_dir=str(tmp_path))) as septet:
        first = await _committed(septet, _text("first", "w1"))
        gone = await _committed(septet, _text("gone", "w2"))
        assert await septet.delete_message(gone.id)
        seen: list[str] = []
        with trio.fail_after(5):
            async with septet.watch(after=first.id) as stream:
                await septet.ingest(_text("gone", "w2"))  # the carrier's retry
                last = await _committed(septet, _text("last", "w3"))
                async for message in stream:
                    seen.append(message.id)
                    if message.id == last.id:
                        break
        assert seen == [last.id]
        since = datetime.now(UTC) - timedelta(minutes=1)
        found = await septet.wait_for_message(timeout=1, since=since, sender=SENDER)
        assert found.id == first.id


async def test_messages_can_be_searched_with_the_other_filters(tmp_path: Path) -> None:
    async with engine.open(Config(data_dir=str(tmp_path))) as septet:
        await _committed(septet, _text("ВАШ КОД 5170", "s1", sender="Bank"))
        await _committed(septet, _text("ваш код 9090", "s2", sender="Shop"))
        await _committed(septet, _text("no match", "s3", sender="Bank"))
        found = await septet.messages(text="Ваш Код", number="+44 7700 900001", sender="Bank")
        assert [m.content for m in found] == ["ВАШ КОД 5170"]
        both = await septet.messages(text="код", oldest_first=True)
        assert [m.content for m in both] == ["ВАШ КОД 5170", "ваш код 9090"]
        assert await septet.messages(text="код", has_otp=False) == []
