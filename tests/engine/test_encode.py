"""`encode_deliver`: the PDUs a network would send, checked against the decoder and an
independent builder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pdu_builder as build
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import codec
from engine.errors import CodecError, PduError

SENT_AT = datetime(2025, 6, 30, 23, 59, 59, tzinfo=timezone(timedelta(hours=5, minutes=45)))


def test_single_gsm7_part_is_byte_for_byte_what_the_spec_builder_makes() -> None:
    text = "Your code is 482913 {valid} 5 min"
    (ours,) = codec.encode_deliver(text, sender="+447700900123", sent_at=SENT_AT)
    theirs = build.deliver(
        sender="+447700900123",
        sent_at=SENT_AT,
        gsm7_septets=codec.gsm7_encode(text),
        smsc=None,
    )
    # The builder writes no SMSC block as "00"; the encoder returns the bare TPDU.
    assert ours == theirs[1:]


def test_smsc_block_is_added_when_asked() -> None:
    (bare,) = codec.encode_deliver("hi", sender="+15550001111", sent_at=SENT_AT)
    (empty,) = codec.encode_deliver("hi", sender="+15550001111", sent_at=SENT_AT, smsc="")
    (full,) = codec.encode_deliver(
        "hi", sender="+15550001111", sent_at=SENT_AT, smsc="+31624000000"
    )
    assert empty == b"\x00" + bare
    assert full == build.smsc_block("+31624000000") + bare
    assert codec.decode_pdu(full).smsc == codec.Address("+31624000000")


@settings(max_examples=200)
@given(
    text=st.text(max_size=700),
    sender=st.one_of(
        st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
        st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}", fullmatch=True),
    ),
    reference=st.integers(0, 255),
    bits=st.sampled_from([8, 16]),
    data=st.data(),
)
def test_any_text_round_trips_through_parts_in_any_order(
    text: str, sender: str, reference: int, bits: int, data: st.DataObject
) -> None:
    text = "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)
    parts = codec.encode_deliver(
        text,
        sender=sender,
        sent_at=SENT_AT,
        reference=reference,
        reference_bits=bits,  # type: ignore[arg-type]
    )
    assert all(len(p) <= 1 + 12 + 1 + 1 + 7 + 1 + 140 for p in parts)
    order = data.draw(st.permutations(parts))
    decoded = codec.decode_pdus(order, smsc=False)
    for sms in decoded:
        assert sms.sender is not None
        assert sms.sender.value == sender
        assert sms.sent_at == SENT_AT
    if len(parts) == 1:
        assert decoded[0].text == text
        assert decoded[0].concat is None
    else:
        joined = codec.reassemble(decoded)
        assert joined.text == text
        assert joined.complete
        first = decoded[0].concat
        assert first is not None
        assert (first.reference, first.reference_bits) == (reference, bits)


def test_national_tables_are_used_and_named() -> None:
    text = "Doğrulama kodunuz: 482913. Şifrenizi kimseyle paylaşmay\u0131n."
    (plain,) = codec.encode_deliver(text, sender="Banka", sent_at=SENT_AT, ucs2=True)
    parts = codec.encode_deliver(
        text, sender="Banka", sent_at=SENT_AT, locking_shift=1, single_shift=1
    )
    sms = codec.decode_pdu(parts[0], smsc=False)
    assert (sms.encoding, sms.locking_shift, sms.single_shift) == ("gsm7", 1, 1)
    assert sms.text == text
    assert codec.decode_pdu(plain, smsc=False).encoding == "ucs2"


def test_text_gsm7_cannot_carry_goes_out_as_ucs2() -> None:
    (pdu,) = codec.encode_deliver("Код 1234 🔐", sender="+15550001111", sent_at=SENT_AT)
    sms = codec.decode_pdu(pdu, smsc=False)
    assert sms.encoding == "ucs2"
    assert sms.text == "Код 1234 🔐"


def test_escape_pairs_are_never_split_across_parts() -> None:
    text = "x" * 152 + "€" + "y" * 10  # the euro sign's ESC would be septet 153
    parts = codec.decode_pdus(
        codec.encode_deliver(text, sender="+15550001111", sent_at=SENT_AT, reference=1),
        smsc=False,
    )
    assert all("trailing_escape" not in p.flags for p in parts)
    assert codec.reassemble(parts).text == text


def test_bad_arguments_are_clear_errors() -> None:
    naive = datetime(2025, 1, 1)
    with pytest.raises(ValueError, match="aware"):
        codec.encode_deliver("hi", sender="+1555", sent_at=naive)
    with pytest.raises(ValueError, match="does not fit"):
        codec.encode_deliver("hi", sender="+1555", sent_at=SENT_AT, reference=300)
    with pytest.raises(PduError):
        codec.encode_deliver("hi", sender="+1555", sent_at=datetime(1999, 1, 1, tzinfo=UTC))
    with pytest.raises(PduError):
        codec.encode_deliver(
            "hi",
            sender="+1555",
            sent_at=datetime(2025, 1, 1, tzinfo=timezone(timedelta(minutes=10))),
        )
    with pytest.raises(CodecError):
        codec.encode_deliver("hi", sender="A sender name far too long", sent_at=SENT_AT)
    with pytest.raises(PduError):
        codec.encode_deliver("hi", sender="+1555", sent_at=SENT_AT, message_class=4)
