"""The stream every compared system receives: its mix, its tags, and PDUs that carry the text."""

from __future__ import annotations

import pytest
from stream import KINDS, NUMBER, build_stream, parse_sender, sender_of

from engine.codec import gsm7_decode, ucs2_decode
from engine.smpp import DeliverSm, decode_pdu


def reassemble(frames: tuple[bytes, ...]) -> str:
    """The text of a message's PDUs, parts joined by their UDH sequence number."""
    pdus = [decode_pdu(frame) for frame in frames]
    assert all(isinstance(pdu, DeliverSm) for pdu in pdus)
    parts: dict[int, bytes] = {}
    for pdu in pdus:
        assert isinstance(pdu, DeliverSm)
        data = pdu.short_message
        if pdu.esm_class & 0x40:
            assert data[:3] == b"\x05\x00\x03"
            assert data[4] == len(pdus)
            parts[data[5]] = data[6:]
        else:
            parts[1] = data
    joined = b"".join(parts[n] for n in sorted(parts))
    coding = pdus[0].data_coding
    return gsm7_decode(joined) if coding == 0 else ucs2_decode(joined)


def test_every_kind_takes_its_turn_and_every_text_survives_its_pdus() -> None:
    stream = build_stream(4, 2 * len(KINDS))
    assert [m.kind for m in stream] == [*KINDS, *KINDS]
    assert len({m.text for m in stream}) == len(stream)
    for message in stream:
        assert reassemble(message.frames) == message.text
        pdu = decode_pdu(message.frames[0])
        assert isinstance(pdu, DeliverSm)
        assert "+" + pdu.destination_addr == NUMBER
        assert "+" + pdu.source_addr == message.sender
        assert pdu.source_addr_ton == 1
        assert f"#4-{message.index:06d}" in message.text


def test_the_mix_has_gsm7_ucs2_and_multipart_with_a_surrogate_pair_cut() -> None:
    stream = {m.kind: m for m in build_stream(0, len(KINDS))}
    codings = {kind: decode_pdu(m.frames[0]).data_coding for kind, m in stream.items()}
    assert {kind for kind, coding in codings.items() if coding == 8} == {
        "ucs2-emoji",
        "ucs2-cjk",
        "ucs2-2-parts",
        "ucs2-3-parts",
    }
    assert [len(stream[k].frames) for k in ("gsm7-2-parts", "gsm7-3-parts")] == [2, 3]
    assert [len(stream[k].frames) for k in ("ucs2-2-parts", "ucs2-3-parts")] == [2, 3]
    assert any(ord(char) > 0xFFFF for char in stream["ucs2-emoji"].text)
    assert "€" in stream["gsm7-extension"].text
    first = decode_pdu(stream["ucs2-3-parts"].frames[0])
    assert isinstance(first, DeliverSm)
    last_unit = int.from_bytes(first.short_message[-2:], "big")
    assert 0xD800 <= last_unit <= 0xDBFF, "the first part should end inside a surrogate pair"


def test_a_sender_tags_its_message_with_or_without_the_plus() -> None:
    assert sender_of(3, 42) == "+15553000042"
    assert parse_sender("+15553000042") == (3, 42)
    assert parse_sender("15553000042") == (3, 42)
    assert parse_sender(" +15559999999 ") == (9, 999_999)
    for other in ("+447700900001", "Acme", "", "+155530000421", "+4915553000042"):
        assert parse_sender(other) is None
    with pytest.raises(ValueError, match="phase"):
        sender_of(10, 0)
    with pytest.raises(ValueError, match="index"):
        sender_of(0, 1_000_000)


def test_the_same_phase_builds_the_same_stream_and_phases_differ() -> None:
    assert build_stream(2, 30) == build_stream(2, 30)
    assert {m.sender for m in build_stream(1, 30)}.isdisjoint(m.sender for m in build_stream(2, 30))
