"""The benchmark's messages: which text message ``n`` carries, and how each path sends it.

Every message's text is a function of its index alone and ends with the tag ``#n``, so
the benchmark can tell, for whatever the inbox or the webhook sink holds, which message
it is and whether its text arrived exactly as sent (lost, garbled and duplicated
messages are counted that way). The mix is GSM 7-bit (with a character of the
extension table), UCS-2 (Cyrillic and an emoji, a surrogate pair) and multipart
(concatenated GSM 7-bit, or UCS-2 split where networks split it, through a surrogate
pair if it falls there), in the proportions the scenario asks for, spread evenly over
the run.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import msgspec

from ..model import InboundText, Segment

__all__ = [
    "Kind",
    "Mix",
    "embed_items",
    "kind_of",
    "message_sid",
    "message_text",
    "number_of",
    "sender_of",
    "smpp_frames",
    "tag_of",
    "twilio_fields",
]

Kind = Literal["gsm7", "ucs2", "multipart-gsm7", "multipart-ucs2"]

_GOLDEN: Final = (math.sqrt(5) - 1) / 2
_NUMBERS: Final = tuple(f"+1555000{n:04d}" for n in range(50))
_SENDERS: Final = (*(f"+1415555{n:04d}" for n in range(200)), "Acme", "VERIFY")
_EMBED_PART_CHARS: Final = 67


class Mix(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The share of each kind of message (relative weights, need not add up to 1)."""

    gsm7: float = 0.6
    ucs2: float = 0.25
    multipart: float = 0.15
    """Concatenated messages, half GSM 7-bit and half UCS-2."""

    def __post_init__(self) -> None:
        weights = (self.gsm7, self.ucs2, self.multipart)
        if any(not math.isfinite(w) or w < 0 for w in weights) or not sum(weights):
            raise ValueError("the weights must be finite, not negative, and not all 0")


def kind_of(index: int, mix: Mix) -> Kind:
    """The kind of message ``index``: a low-discrepancy sequence spreads each kind evenly."""
    total = mix.gsm7 + mix.ucs2 + mix.multipart
    point = (index * _GOLDEN) % 1.0 * total
    if point < mix.gsm7:
        return "gsm7"
    if point < mix.gsm7 + mix.ucs2:
        return "ucs2"
    return "multipart-gsm7" if (index // 3) % 2 else "multipart-ucs2"


def message_text(index: int, kind: Kind) -> str:
    """The text message ``index`` carries, ending with its tag ``#index``."""
    code = f"{(index * 7919) % 1_000_000:06d}"
    if kind == "gsm7":
        body = f"Your verification code is {code}. It expires in 10 minutes; fee €0"
    elif kind == "ucs2":
        body = f"Ваш код подтверждения: {code} 🔐 Никому не сообщайте его"  # noqa: RUF001
    elif kind == "multipart-gsm7":
        body = (
            f"Your order {code} has shipped and is on its way. Track it with the link in "
            "your account, or reply HELP for help. Delivery usually takes 2-4 working days; "
            "we will text you again when the courier is near. Thank you for shopping with us!"
        )
    else:
        body = (
            f"Ваш заказ {code} отправлен 📦 и уже в пути. Отслеживайте его в личном "  # noqa: RUF001
            "кабинете; доставка обычно занимает 2–4 рабочих дня 🚚 Спасибо за покупку!"  # noqa: RUF001
        )
    return f"{body} #{index}"


def tag_of(content: str) -> int | None:
    """The index a text says it is (its ``#n`` tag), or None if it has no readable tag."""
    _, hash_sign, digits = content.rpartition("#")
    if not hash_sign or not digits.isdigit() or not digits.isascii():
        return None
    return int(digits)


def message_sid(index: int) -> str:
    """The ``MessageSid`` Twilio would give message ``index``."""
    return f"SM{index:032x}"


def number_of(index: int) -> str:
    """The receiving number of message ``index``."""
    return _NUMBERS[index % len(_NUMBERS)]


def sender_of(index: int) -> str:
    """The sender of message ``index``: a number, or now and then an alphanumeric name."""
    return _SENDERS[(index * 7) % len(_SENDERS)]


def smpp_frames(index: int, mix: Mix) -> list[bytes]:
    """Message ``index`` as deliver_sm frames: one, or its parts with a 16-bit
    concatenation UDH (reference ``index``, so sets in flight never share one)."""
    from .._smsc_simulator import text_deliver_sms  # the simulator only where it is used

    kind = kind_of(index, mix)
    coding: Literal["gsm7", "ucs2"] = "ucs2" if kind.endswith("ucs2") else "gsm7"
    pdus = text_deliver_sms(
        message_text(index, kind),
        sender=sender_of(index),
        number=number_of(index),
        coding=coding,
        split="udh16" if kind.startswith("multipart") else None,
        reference=index & 0xFFFF,
    )
    return [pdu.encode() for pdu in pdus]


def twilio_fields(index: int, mix: Mix) -> dict[str, str]:
    """Message ``index`` as the form Twilio posts for an inbound SMS (Twilio joins a
    concatenated message before it posts it; ``NumSegments`` says it had parts)."""
    kind = kind_of(index, mix)
    sid = message_sid(index)
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": message_text(index, kind),
        "To": number_of(index),
        "NumSegments": "2" if kind.startswith("multipart") else "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender_of(index),
        "ApiVersion": "2010-04-01",
    }


def embed_items(index: int, mix: Mix, carrier: str) -> list[InboundText]:
    """Message ``index`` as the embedding API takes it: one text, or its segments (by
    characters, each with the set's 16-bit reference) for a multipart message."""
    kind = kind_of(index, mix)
    text = message_text(index, kind)
    number, sender = number_of(index), sender_of(index)
    if not kind.startswith("multipart"):
        return [
            InboundText(
                carrier=carrier,
                number=number,
                sender=sender,
                text=text,
                carrier_message_id=f"b{index}",
            )
        ]
    chunks = [text[i : i + _EMBED_PART_CHARS] for i in range(0, len(text), _EMBED_PART_CHARS)]
    return [
        InboundText(
            carrier=carrier,
            number=number,
            sender=sender,
            text=chunk,
            segment=Segment(
                reference=index & 0xFFFF, reference_bits=16, total=len(chunks), seq=seq
            ),
            carrier_message_id=f"b{index}.{seq}",
        )
        for seq, chunk in enumerate(chunks, start=1)
    ]
