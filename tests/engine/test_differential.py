"""Differential decoding against python-gsmmodem-new, a pure-Python peer.

On their common ground (single-part SMS-DELIVER, GSM-7 default alphabet and UCS-2 in
the Basic Multilingual Plane, PDUs that end where TP-UDL says) both decoders must agree
on the sender, the timestamp and the text. Outside it the peer has known bugs; each is
pinned by a test below that shows both answers, so a fixed peer (or a regressed Septet)
is noticed.

Known bugs of python-gsmmodem-new 0.13.0:

1. When the user data header leaves 0 fill bits (16-bit concatenation, EMS headers of
   13 octets) it drops the first character of the text.
2. It ignores TP-UDL and decodes every octet present: trailing octets become text.
3. It decodes UCS-2 one code unit at a time, so characters outside the BMP (emoji)
   come back as two lone surrogates.
4. It maps GSM 7-bit 0x5F to a backtick instead of ``§``.

Not a bug but a different choice: the peer reads SCTS years 69-99 as 1969-1999 (the
``strptime`` pivot) where Septet reads every year as 20YY, so the common ground stops
at 2068.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pdu_builder as build
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import codec

gsmmodem_pdu = pytest.importorskip("gsmmodem.pdu", reason="python-gsmmodem-new is a dev dependency")

# The default alphabet without 0x5F (bug 4) and without ESC; extension characters included.
DEFAULT_ALPHABET = "".join(
    c
    for c in codec.gsm7_decode(bytes(code for code in range(128) if code not in (0x1B, 0x5F)))
    + "^{}\\[~]|€"
)
BMP_TEXT = st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",))


def peer_decode(pdu: bytes) -> dict[str, object]:
    result: dict[str, object] = gsmmodem_pdu.decodeSmsPdu(pdu.hex().upper())
    return result


def when_strategy() -> st.SearchStrategy[datetime]:
    return st.builds(
        lambda naive, quarters: naive.replace(tzinfo=timezone(timedelta(minutes=15 * quarters))),
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2068, 12, 31)).map(
            lambda d: d.replace(microsecond=0)
        ),
        st.integers(-48, 56),
    )


numbers = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)


@settings(max_examples=300)
@given(text=st.text(alphabet=DEFAULT_ALPHABET, max_size=150), sender=numbers, when=when_strategy())
def test_gsm7_agrees_with_peer(text: str, sender: str, when: datetime) -> None:
    septets = codec.gsm7_encode(text)
    if len(septets) > 160:
        return
    pdu = build.deliver(sender=sender, sent_at=when, gsm7_septets=septets)
    ours = codec.decode_pdu(pdu)
    theirs = peer_decode(pdu)
    assert ours.text == text
    if len(septets) % 8 == 0 and septets.endswith(b"\x00"):
        # The peer's known bug 5 (below): a last '@' that fills an octet is lost.
        assert theirs["text"] == text[:-1]
    else:
        assert ours.text == theirs["text"]
    assert ours.sender is not None
    assert ours.sender.value == theirs["number"]
    assert ours.sent_at == theirs["time"]
    assert ours.smsc is not None
    assert ours.smsc.value == theirs["smsc"]


@settings(max_examples=300)
@given(text=st.text(alphabet=BMP_TEXT, max_size=70), sender=numbers, when=when_strategy())
def test_ucs2_bmp_agrees_with_peer(text: str, sender: str, when: datetime) -> None:
    pdu = build.deliver(sender=sender, sent_at=when, ucs2=text.encode("utf-16-be"))
    ours = codec.decode_pdu(pdu)
    theirs = peer_decode(pdu)
    assert ours.text == theirs["text"] == text
    assert ours.sent_at == theirs["time"]


WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_bug1_peer_drops_first_character_when_fill_bits_are_zero() -> None:
    septets = codec.gsm7_encode("Hello, world")
    pdu = build.deliver(
        sender="+15550001111",
        sent_at=WHEN,
        gsm7_septets=septets,
        ies=build.concat_ie(0x1234, 2, 1, bits=16),  # UDHL 6: 7 octets = 8 septets, no fill
    )
    assert codec.decode_pdu(pdu).text == "Hello, world"
    assert peer_decode(pdu)["text"] == "ello, world"


def test_bug2_peer_ignores_udl() -> None:
    # 7 septets leave 7 spare bits in the 7th octet; the sender filled them with CR
    # (TS 23.038 6.1.2.3.1). TP-UDL says 7, so the CR is padding, not text.
    tpdu_head = bytes([0x04]) + build.address("+15550001111") + bytes([0x00, 0x00])
    pdu = build.smsc_block("+31624000000") + tpdu_head + build.scts(WHEN) + bytes([7])
    pdu += bytes.fromhex("31D98C56B3DD1A")
    assert codec.decode_pdu(pdu).text == "1234567"
    assert peer_decode(pdu)["text"] == "1234567\r"


def test_bug3_peer_returns_lone_surrogates_for_emoji() -> None:
    text = "code 1234 \U0001f510"
    pdu = build.deliver(sender="+15550001111", sent_at=WHEN, ucs2=text.encode("utf-16-be"))
    assert codec.decode_pdu(pdu).text == text
    assert peer_decode(pdu)["text"] == "code 1234 \ud83d\udd10"


def test_bug5_peer_drops_a_final_at_sign_that_fills_the_last_octet() -> None:
    # 8 septets fill 7 octets exactly; the peer ignores TP-UDL (bug 2), so it cannot tell a
    # real '@' (septet 0x00) in the eighth place from zero fill bits, and drops it.
    text = "0000000@"
    pdu = build.deliver(sender="+15550001111", sent_at=WHEN, gsm7_septets=codec.gsm7_encode(text))
    assert codec.decode_pdu(pdu).text == text
    assert peer_decode(pdu)["text"] == "0000000"


def test_bug4_peer_maps_0x5f_to_backtick() -> None:
    pdu = build.deliver(sender="+15550001111", sent_at=WHEN, gsm7_septets=bytes([0x5F]))
    assert codec.decode_pdu(pdu).text == "§"
    assert peer_decode(pdu)["text"] == "`"
