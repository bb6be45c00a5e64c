"""Decoding through the public face: round trips, batches, reassembly, bad input."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone

import pdu_builder as build
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import codec
from engine.errors import CodecError, HexError, PduError, ReassemblyError

SENT_AT = datetime(2024, 5, 17, 9, 30, 15, tzinfo=timezone(timedelta(hours=1)))
NLI = range(14)


@functools.cache
def alphabet(locking: int, single: int) -> str:
    """Every character that GSM-7 with these tables can encode (from the decoder's tables)."""
    chars: set[str] = set()
    for code in range(128):
        if code == build.ESC:
            continue
        chars.update(codec.gsm7_decode(bytes([code]), locking_shift=locking))
        chars.update(
            codec.gsm7_decode(bytes([build.ESC, code]), locking_shift=locking, single_shift=single)
        )
    return "".join(
        sorted(
            c
            for c in chars
            if codec.gsm7_septet_count(c, locking_shift=locking, single_shift=single)
            == len(codec.gsm7_encode(c, locking_shift=locking, single_shift=single))
        )
    )


def gsm7_texts(locking: int, single: int, *, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet(locking, single), max_size=max_size)


ucs2_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=200,
)

senders = st.one_of(
    st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
    st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,10}", fullmatch=True),
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), locking=st.sampled_from(NLI), single=st.sampled_from(NLI), sender=senders)
def test_gsm7_text_to_septets_to_pdu_and_back(
    data: st.DataObject, locking: int, single: int, sender: str
) -> None:
    text = data.draw(gsm7_texts(locking, single, max_size=140))
    septets = codec.gsm7_encode(text, locking_shift=locking, single_shift=single)
    ies = build.shift_ies(locking, single)
    if len(septets) + (8 if ies else 0) > 160:
        return
    pdu = build.deliver(sender=sender, sent_at=SENT_AT, gsm7_septets=septets, ies=ies)
    sms = codec.decode_pdu(pdu)
    assert sms.text == text
    assert sms.encoding == "gsm7"
    assert sms.sender is not None
    assert sms.sender.value == sender
    assert sms.sent_at == SENT_AT
    assert sms.locking_shift == locking
    assert sms.single_shift == single
    assert sms.user_data == septets
    # Hex in, either case, gives the same message.
    assert codec.decode_pdu(pdu.hex()) == sms
    assert codec.decode_pdu(pdu.hex().upper()) == sms


@settings(max_examples=200)
@given(text=ucs2_texts.filter(lambda t: len(t.encode("utf-16-be")) <= 140), sender=senders)
def test_ucs2_text_with_emoji_to_pdu_and_back(text: str, sender: str) -> None:
    pdu = build.deliver(sender=sender, sent_at=SENT_AT, ucs2=text.encode("utf-16-be"))
    sms = codec.decode_pdu(pdu)
    assert sms.text == text
    assert sms.encoding == "ucs2"
    assert not sms.flags


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    locking=st.sampled_from(NLI),
    single=st.sampled_from(NLI),
    bits=st.sampled_from([8, 16]),
    reference=st.integers(0, 255),
)
def test_concatenated_gsm7_reassembles_in_any_order(
    data: st.DataObject, locking: int, single: int, bits: int, reference: int
) -> None:
    text = data.draw(gsm7_texts(locking, single, max_size=400))
    septets = codec.gsm7_encode(text, locking_shift=locking, single_shift=single)
    header = len(build.concat_ie(reference, 1, 1, bits=bits) + build.shift_ies(locking, single)) + 1
    per_part = (140 - header) * 8 // 7
    chunks = build.split_septets(septets, per_part) or [b""]
    pdus = build.concatenated(
        sender="+447700900123",
        sent_at=SENT_AT,
        chunks=chunks,
        ucs2=False,
        reference=reference,
        bits=bits,
        locking=locking,
        single=single,
    )
    order = data.draw(st.permutations(range(len(pdus))))
    duplicates = data.draw(st.lists(st.sampled_from(range(len(pdus))), max_size=3))
    parts = codec.decode_pdus([pdus[i] for i in [*order, *duplicates]])
    joined = codec.reassemble(parts)
    assert joined.text == text
    assert joined.complete
    assert joined.total == len(pdus)
    assert joined.duplicates == len(duplicates)
    assert [p.concat.seq for p in joined.parts if p.concat] == list(range(1, len(pdus) + 1))


@settings(max_examples=150)
@given(
    data=st.data(),
    text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300),
)
def test_concatenated_ucs2_with_split_surrogates_reassembles_in_any_order(
    data: st.DataObject, text: str
) -> None:
    octets = text.encode("utf-16-be")
    size = data.draw(st.sampled_from([134, 132, 66, 6]))
    chunks = build.split_octets(octets, size)
    pdus = build.concatenated(sender="Bank", sent_at=SENT_AT, chunks=chunks, ucs2=True, reference=7)
    order = data.draw(st.permutations(range(len(pdus))))
    joined = codec.reassemble(codec.decode_pdus([pdus[i] for i in order]))
    assert joined.text == text
    assert joined.complete
    assert not joined.flags


def test_emoji_split_across_two_parts_survives() -> None:
    text = "Your code: 123456 " + "x" * 48 + "\U0001f510 done"
    octets = text.encode("utf-16-be")
    # 134 octets per part puts the high surrogate of the emoji at the end of part 1.
    cut = octets.index("\U0001f510".encode("utf-16-be")) + 2
    chunks = [octets[:cut], octets[cut:]]
    pdus = build.concatenated(sender="Bank", sent_at=SENT_AT, chunks=chunks, ucs2=True, reference=1)
    first, second = codec.decode_pdus(pdus)
    assert "ucs2_lone_surrogate" in first.flags  # on its own the part cannot show it
    assert codec.reassemble([second, first]).text == text


def test_mixed_gsm7_and_ucs2_parts() -> None:
    gsm = codec.gsm7_encode("Hello {world} ")
    pdus = [
        build.deliver(
            sender="+15550001111",
            sent_at=SENT_AT,
            gsm7_septets=gsm,
            ies=build.concat_ie(9, 2, 1),
        ),
        build.deliver(
            sender="+15550001111",
            sent_at=SENT_AT,
            ucs2="Привет 👋".encode("utf-16-be"),
            ies=build.concat_ie(9, 2, 2),
        ),
    ]
    joined = codec.reassemble(codec.decode_pdus(pdus[::-1]))
    assert joined.text == "Hello {world} Привет 👋"


def test_dangling_escape_is_carried_into_the_next_part() -> None:
    septets = codec.gsm7_encode("price 10€ today")
    at = septets.index(build.ESC) + 1  # split between ESC and its character
    pdus = build.concatenated(
        sender="+15550001111",
        sent_at=SENT_AT,
        chunks=[septets[:at], septets[at:]],
        ucs2=False,
        reference=3,
    )
    first, second = codec.decode_pdus(pdus)
    assert "trailing_escape" in first.flags
    assert first.text == "price 10"
    assert codec.reassemble([first, second]).text == "price 10€ today"


def test_missing_parts_are_reported_not_invented() -> None:
    pdus = build.concatenated(
        sender="+15550001111",
        sent_at=SENT_AT,
        chunks=[codec.gsm7_encode(s) for s in ("one ", "two ", "three")],
        ucs2=False,
        reference=5,
    )
    joined = codec.reassemble(codec.decode_pdus([pdus[0], pdus[2]]))
    assert not joined.complete
    assert joined.missing == [2]
    assert joined.present == [1, 3]
    assert joined.text is not None
    assert "one" in joined.text
    assert "three" in joined.text


def test_parts_of_different_messages_are_refused() -> None:
    a = build.concatenated(
        sender="+15550001111", sent_at=SENT_AT, chunks=[b"\x41", b"\x42"], ucs2=False, reference=1
    )
    b = build.concatenated(
        sender="+15550001111", sent_at=SENT_AT, chunks=[b"\x41", b"\x42"], ucs2=False, reference=2
    )
    with pytest.raises(ReassemblyError):
        codec.reassemble(codec.decode_pdus([a[0], b[1]]))


def test_decode_pdus_reports_bad_items_with_their_index() -> None:
    good = build.deliver(
        sender="+15550001111", sent_at=SENT_AT, gsm7_septets=codec.gsm7_encode("hi")
    )
    items: list[bytes | str] = [good, "07911326", good.hex(), "zz"]
    with pytest.raises(CodecError) as info:
        codec.decode_pdus(items)
    assert info.value.index == 1
    results = codec.decode_pdus(items, errors="return")
    assert [type(r).__name__ for r in results] == ["Sms", "PduError", "Sms", "HexError"]
    assert isinstance(results[1], PduError)
    assert results[1].index == 1
    assert isinstance(results[3], HexError)
    assert results[3].index == 3
    with pytest.raises(ValueError, match="errors must be"):
        codec.decode_pdus(items, errors="ignore")  # type: ignore[call-overload]


def test_batch_equals_one_by_one() -> None:
    pdus = [
        build.deliver(
            sender=f"+1555000{i:04d}", sent_at=SENT_AT, gsm7_septets=codec.gsm7_encode(f"m{i}")
        )
        for i in range(50)
    ]
    assert codec.decode_pdus(pdus) == [codec.decode_pdu(p) for p in pdus]
    assert codec.decode_pdus(bytearray(p) for p in pdus) == codec.decode_pdus(pdus)


def test_truncated_user_data_is_an_error_with_the_offset() -> None:
    pdu = build.deliver(
        sender="+15550001111", sent_at=SENT_AT, gsm7_septets=codec.gsm7_encode("hello world")
    )
    with pytest.raises(PduError) as info:
        codec.decode_pdu(pdu[:-3], smsc=True)
    assert info.value.offset >= len(pdu) - 4
    assert info.value.reason


def test_odd_hex_and_bad_digits_are_hex_errors() -> None:
    with pytest.raises(HexError) as info:
        codec.decode_pdu("0791132")
    assert info.value.offset == 7
    with pytest.raises(HexError) as info:
        codec.decode_pdu("07911G")
    assert info.value.offset == 5


def test_not_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        codec.decode_pdu(12345)  # type: ignore[arg-type]


def test_trailing_octets_beyond_udl_are_ignored_and_flagged() -> None:
    pdu = build.deliver(
        sender="+15550001111", sent_at=SENT_AT, gsm7_septets=codec.gsm7_encode("abc")
    )
    sms = codec.decode_pdu(pdu + b"\x00\x00", smsc=True)
    assert sms.text == "abc"
    assert "trailing_data" in sms.flags


def test_sent_at_is_aware_with_quarter_hour_offsets() -> None:
    for minutes in (-480, -420, -15, 0, 15, 330, 345, 525, 780):
        when = datetime(2031, 12, 31, 23, 59, 58, tzinfo=timezone(timedelta(minutes=minutes)))
        pdu = build.deliver(sender="+15550001111", sent_at=when, gsm7_septets=b"")
        sent = codec.decode_pdu(pdu).sent_at
        assert sent == when
        assert sent is not None
        assert sent.utcoffset() == timedelta(minutes=minutes)
    assert codec.decode_pdu(
        build.deliver(sender="+1555", sent_at=datetime(2000, 1, 1, tzinfo=UTC), gsm7_septets=b"")
    ).sent_at == datetime(2000, 1, 1, tzinfo=UTC)


@settings(max_examples=500)
@given(data=st.binary(max_size=200), smsc=st.sampled_from([None, True, False]))
def test_random_bytes_never_crash(data: bytes, smsc: bool | None) -> None:
    try:
        sms = codec.decode_pdu(data, smsc=smsc)
    except CodecError as exc:
        assert 0 <= exc.offset <= len(data)
        assert exc.reason
    else:
        # Everything a decoded PDU exposes is readable.
        for name in dir(sms):
            if not name.startswith("_"):
                getattr(sms, name)


@settings(max_examples=300)
@given(text=st.text(max_size=120))
def test_random_text_as_hex_never_crashes(text: str) -> None:
    try:
        codec.decode_pdu(text)
    except CodecError as exc:
        assert exc.offset >= 0


@settings(max_examples=200)
@given(items=st.lists(st.binary(max_size=60), max_size=20))
def test_random_batches_never_crash(items: list[bytes]) -> None:
    results = codec.decode_pdus(items, errors="return")
    assert len(results) == len(items)
    for index, result in enumerate(results):
        if isinstance(result, CodecError):
            assert result.index == index


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain ascii",
        "café ÿ",
        "Ωμέγα ā",
        "код 1234",
        "验证码 660143",
        "🔐 1234 é",
        "\x00\x7f\x80",
    ],
)
def test_text_of_every_width_comes_back_exactly(text: str) -> None:
    # Python stores str as 1-, 2- or 4-byte code units; each width is built separately.
    sms = codec.decode_pdu(
        build.deliver(sender="Bank", sent_at=SENT_AT, ucs2=text.encode("utf-16-be"))
    )
    assert sms.text == text
    assert type(sms.text) is str
    parts = build.concatenated(
        sender="Bank",
        sent_at=SENT_AT,
        chunks=[text.encode("utf-16-be")] * 2,
        ucs2=True,
        reference=1,
    )
    assert codec.reassemble(codec.decode_pdus(parts)).text == text * 2
