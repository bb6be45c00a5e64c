"""Set keys, part payloads and the messages a set of buffered parts makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from engine import codec
from engine.errors import PduError
from engine.model import InboundPdu, InboundText, Segment
from engine.pipeline._reassembly import (
    bound_raw,
    decode_inbound_pdus,
    decode_part,
    draft_from_set,
    encode_part,
    set_key,
)
from engine.store import BufferedPart

SENT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=2)))
NOW = datetime(2024, 5, 1, 10, 0, 5, tzinfo=UTC)
NUMBER = "+447700900001"


def _part(item: InboundPdu | InboundText, seq: int, total: int, offset: int = 0) -> BufferedPart:
    return BufferedPart(
        set_key="k",
        seq=seq,
        total=total,
        carrier=item.carrier,
        carrier_message_id=item.carrier_message_id,
        received_at=NOW + timedelta(seconds=offset),
        expires_at=NOW + timedelta(days=1),
        payload=encode_part(item),
    )


def _pdu_parts(text: str, reference: int = 7) -> list[BufferedPart]:
    pdus = codec.encode_deliver(text, sender="+447700900123", sent_at=SENT, reference=reference)
    return [
        _part(InboundPdu(carrier="m", number=NUMBER, pdu=pdu), seq, len(pdus), offset=seq)
        for seq, pdu in enumerate(pdus, 1)
    ]


def test_set_keys_tell_sender_types_references_and_widths_apart() -> None:
    keys = {
        set_key("pdu", "m", NUMBER, "+447700900123", "numeric", 7, 8, 2),
        set_key("pdu", "m", NUMBER, "+447700900123", "alphanumeric", 7, 8, 2),
        set_key("pdu", "m", NUMBER, "+447700900123", "numeric", 7, 16, 2),
        set_key("pdu", "m", NUMBER, "+447700900123", "numeric", 7, 8, 3),
        set_key("text", "m", NUMBER, "+447700900123", "numeric", 7, 8, 2),
    }
    assert len(keys) == 5


def test_part_payloads_round_trip() -> None:
    pdu = InboundPdu(carrier="m", number=NUMBER, pdu=b"\x01\x02", received_at=NOW)
    text = InboundText(
        carrier="t",
        number=NUMBER,
        sender="Bank",
        text="part",
        segment=Segment(reference=1, reference_bits=8, total=2, seq=1),
        raw=b"{}",
    )
    assert decode_part(encode_part(pdu)) == pdu
    assert decode_part(encode_part(text)) == text


def test_pdu_parts_in_any_order_make_the_whole_text() -> None:
    text = "Your verification code is 482913. " * 6
    parts = _pdu_parts(text)
    draft = draft_from_set(tuple(reversed(parts)), NUMBER, "GB", duplicates=0)
    assert draft.content == text
    assert draft.parts == len(parts)
    assert draft.flags == set()
    assert draft.sender_id == "+447700900123"
    assert draft.sent_at == SENT
    assert draft.received_at == NOW + timedelta(seconds=1)
    assert draft.raw is not None
    assert draft.raw.count(b"\n") == len(parts) - 1


def test_a_set_with_parts_missing_is_incomplete_with_what_arrived() -> None:
    text = "A" * 153 + "B" * 153 + "C" * 10
    parts = _pdu_parts(text)
    assert len(parts) == 3
    draft = draft_from_set((parts[0], parts[2]), NUMBER, "GB", duplicates=0)
    assert draft.content == "A" * 153 + "C" * 10
    assert "incomplete" in draft.flags
    assert draft.parts == 2


def test_repeated_parts_flag_the_message() -> None:
    parts = _pdu_parts("x" * 200)
    draft = draft_from_set(tuple(parts), NUMBER, "GB", duplicates=1)
    assert draft.flags == {"duplicate_parts"}


def test_text_segments_join_by_seq() -> None:
    def segment(seq: int, text: str) -> BufferedPart:
        item = InboundText(
            carrier="t",
            number=NUMBER,
            sender="Bank",
            text=text,
            carrier_message_id=f"id{seq}",
            segment=Segment(reference=3, reference_bits=8, total=3, seq=seq),
            raw=f"raw{seq}".encode(),
            flags=("flash",) if seq == 2 else (),
        )
        return _part(item, seq, 3, offset=seq)

    draft = draft_from_set((segment(3, "c"), segment(1, "a"), segment(2, "b")), NUMBER, None, 0)
    assert (draft.content, draft.parts, draft.sender_id) == ("abc", 3, "Bank")
    assert draft.flags == {"flash"}
    assert draft.raw == b"raw1\nraw2\nraw3"
    partial = draft_from_set((segment(1, "a"), segment(3, "c")), NUMBER, None, 0)
    assert (partial.content, partial.flags) == ("ac", {"incomplete"})


def test_batch_decoding_keeps_order_and_errors() -> None:
    good = codec.encode_deliver("hi", sender="Bank", sent_at=SENT)[0]
    items = [
        InboundPdu(carrier="m", number=NUMBER, pdu=good),
        InboundPdu(carrier="m", number=NUMBER, pdu=b"\x00\x01"),
        InboundPdu(carrier="m", number=NUMBER, pdu=b"\x00" + good, smsc=True),
        InboundPdu(carrier="m", number=NUMBER, pdu=b"\x00" + good, tpdu_length=len(good)),
    ]
    decoded = decode_inbound_pdus(items)
    assert [getattr(d, "text", None) for d in decoded] == ["hi", None, "hi", "hi"]
    assert isinstance(decoded[1], PduError)


def test_raw_payloads_are_cut_to_the_limit_with_a_note() -> None:
    assert bound_raw(None, 10) is None
    assert bound_raw(b"small", 10) == b"small"
    cut = bound_raw(b"x" * 1000, 100)
    assert cut is not None
    assert len(cut) == 100
    assert cut.endswith(b"1000 bytes received]")
    assert bound_raw(b"x" * 1000, 5) == b"xxxxx"
