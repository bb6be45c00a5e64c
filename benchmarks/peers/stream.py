"""The deliver_sm stream every system under comparison receives: built once, sent to each.

A stream is a list of :class:`StreamMessage`: each one text, as the handset typed it,
and the deliver_sm PDUs an SMSC sends for it. Ten kinds take turns, so any stretch of
the stream has the same mix:

* GSM 7-bit (``data_coding`` 0, one septet per octet): plain ASCII, the basic set's
  accented letters and symbols (``@ £ $ é Ñ ß ¿``...), and the extension table
  (``€ [ ] { } ~ ^ | \\``, two septets each);
* UCS-2 (``data_coding`` 8): Cyrillic, Chinese and emoji (surrogate pairs);
* multipart with an 8-bit concatenation UDH (``esm_class`` 0x40): GSM 7-bit in two and
  three parts (an extension character next to the part boundary), UCS-2 with emoji in
  two and three parts, one of them cut inside a surrogate pair, as networks do.

Every message has a tag of its own, which travels twice: in the text (``#P-NNNNNN``) and
in the sender's number, ``+1555`` then the phase digit and the six-digit index
(``+15552000042`` is message 42 of phase 2). Every system forwards the sender, so the
sink matches what arrived to what was sent even when a text comes out mangled; the
phase digit keeps the runs of one system apart (a system that remembers recent texts
to drop repeats sees no repeat).
"""

from __future__ import annotations

import re
from typing import Final, Literal

import msgspec

from engine.testing import text_deliver_sms

__all__ = [
    "KINDS",
    "NUMBER",
    "StreamMessage",
    "build_stream",
    "parse_sender",
    "sender_of",
]

NUMBER: Final = "+447700900001"
"""The receiving number every message is sent to."""

Coding = Literal["gsm7", "ucs2"]

# (kind, coding, split into parts, text before the tag). "{code}" is a six-digit number
# that differs per message. The multipart texts are long enough for two or three parts:
# 153 septets (GSM 7-bit) or 67 UTF-16 units (UCS-2) per part.
_GSM7_LONG: Final = (
    "Your parcel {code} is on its way. Track it online with the code above, or reply "
    "HELP for options. Delivery between 10:00 and 12:00; the driver will call first. "
    "Fee: 2€ [paid]. Thank you for choosing us, see you soon! @home ~ ok? "
)
_KINDS: Final[tuple[tuple[str, Coding, bool, str], ...]] = (
    ("gsm7-ascii", "gsm7", False, "Your verification code is {code}. Do not share it."),
    ("gsm7-accents", "gsm7", False, "Café à 10h: code {code} ¿Qué? ¡Ñu! Ü ß Å é @ £5 $"),
    ("gsm7-extension", "gsm7", False, "Price 5€ [promo] {{x}} ~50% ^ | \\ code {code}"),
    ("ucs2-emoji", "ucs2", False, "Код {code} 👋 🚀 не сообщайте никому"),
    ("ucs2-cjk", "ucs2", False, "验证码 {code}\uff0c请勿泄露 ✅"),
    ("gsm7-2-parts", "gsm7", True, _GSM7_LONG),
    ("ucs2-2-parts", "ucs2", True, "Привет! Ваш код {code} 🎉🎉 Он действует 10 минут. 😀 Удачи!"),
    ("gsm7-ascii-short", "gsm7", False, "OK {code}"),
    ("gsm7-3-parts", "gsm7", True, _GSM7_LONG + _GSM7_LONG[:150]),
    ("ucs2-3-parts", "ucs2", True, "🙂" * 40 + " code {code} " + "中文短信测试" * 9),
)
KINDS: Final = tuple(kind for kind, *_ in _KINDS)
"""The kinds of message, in the order they take turns."""

_MAX_INDEX: Final = 1_000_000
_SENDER: Final = re.compile(r"\+?1555(\d)(\d{6})")


class StreamMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message of the stream: the text sent and the PDUs that carry it."""

    phase: int
    index: int
    kind: str
    sender: str
    """``+1555`` + phase + six-digit index: the tag every system forwards."""
    text: str
    """What the handset sent: the text a consumer must get, exactly."""
    frames: tuple[bytes, ...]
    """The encoded deliver_sm PDUs (sequence number 0: the SMSC numbers them)."""


def sender_of(phase: int, index: int) -> str:
    """The sender's number that tags message ``index`` of ``phase``."""
    if not (0 <= phase <= 9 and 0 <= index < _MAX_INDEX):
        raise ValueError(f"phase must be 0-9 and index below {_MAX_INDEX:,}")
    return f"+1555{phase}{index:06d}"


def parse_sender(sender: str) -> tuple[int, int] | None:
    """(phase, index) of a sender as a system forwarded it, with or without its ``+``;
    None for a number that is no tag of ours."""
    match = _SENDER.fullmatch(sender.strip())
    return None if match is None else (int(match[1]), int(match[2]))


def build_stream(phase: int, count: int) -> list[StreamMessage]:
    """``count`` messages of ``phase``, the kinds taking turns (see the module docstring)."""
    messages = []
    for index in range(count):
        kind, coding, split, template = _KINDS[index % len(_KINDS)]
        code = f"{(index * 7919 + phase * 104_729) % 1_000_000:06d}"
        text = f"{template.format(code=code)} #{phase}-{index:06d}"
        sender = sender_of(phase, index)
        pdus = text_deliver_sms(
            text,
            sender=sender,
            number=NUMBER,
            coding=coding,
            split="udh" if split else None,
            reference=(index * 7919 + phase * 31) % 255 + 1,
        )
        if split and len(pdus) < 2:
            raise AssertionError(f"{kind} should be sent in parts, got {len(pdus)}")
        messages.append(
            StreamMessage(
                phase=phase,
                index=index,
                kind=kind,
                sender=sender,
                text=text,
                frames=tuple(pdu.encode() for pdu in pdus),
            )
        )
    return messages
