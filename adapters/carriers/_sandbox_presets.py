"""The sandbox carrier's presets: the inbound traffic a QA team needs to see handled.

PDU-level presets build real SMS-DELIVER TPDUs with :func:`engine.codec.encode_deliver`
so the engine's PDU decoder and reassembly run; text-level ones build the
:class:`InboundText` an HTTP carrier would hand over. Each builder returns the items
in the order the sandbox emits them.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone

import msgspec

from engine.codec import encode_deliver
from engine.plugin_api import InboundItem, InboundPdu, InboundStatus, InboundText

__all__ = ["PRESETS", "Preset", "PresetContext", "new_carrier_message_id"]


class PresetContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a preset builds its items from."""

    carrier: str
    """The sandbox instance name (each item's ``carrier``)."""
    number: str
    """The receiving number."""
    rng: random.Random
    """Content choices (codes, references, variants); seeded for repeatable traffic."""
    now: datetime
    """An aware 'now' for sent and reported times."""


class Preset(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    build: Callable[[PresetContext], list[InboundItem]]


def new_carrier_message_id() -> str:
    """A fresh id such as ``sbx-3f9a0c1b2d4e``; random even when content is seeded, so a
    restarted sandbox with a fixed seed does not look like a carrier retrying."""
    return f"sbx-{secrets.token_hex(6)}"


def _sent_at(ctx: PresetContext) -> datetime:
    # The SCTS carries seconds and a quarter-hour offset: show a non-UTC one.
    zone = ctx.rng.choice([UTC, timezone(timedelta(hours=5, minutes=30))])
    return ctx.now.astimezone(zone).replace(microsecond=0) - timedelta(seconds=3)


def _pdus(ctx: PresetContext, pdus: list[bytes]) -> list[InboundItem]:
    message_id = new_carrier_message_id()
    return [
        InboundPdu(
            carrier=ctx.carrier,
            number=ctx.number,
            pdu=pdu,
            smsc=False,
            carrier_message_id=message_id if len(pdus) == 1 else f"{message_id}-{index}",
        )
        for index, pdu in enumerate(pdus, 1)
    ]


def _text(ctx: PresetContext, sender: str, text: str) -> InboundText:
    return InboundText(
        carrier=ctx.carrier,
        number=ctx.number,
        sender=sender,
        text=text,
        carrier_message_id=new_carrier_message_id(),
        sent_at=ctx.now - timedelta(seconds=2),
    )


def _otp(ctx: PresetContext) -> list[InboundItem]:
    code = f"{ctx.rng.randrange(10**6):06d}"
    text = (
        f"{code} is your Acme verification code. It expires in 10 minutes. "
        f"Don't share it with anyone.\n\n@acme.example #{code}"
    )
    return [_text(ctx, ctx.rng.choice(["72975", "+14155550142", "Acme"]), text)]


_LONG_GSM7 = (
    "Your order #48213 has shipped! Items: 2x USB-C cable [1m], 1x charger {65W}, "
    "1x case ~ midnight blue. Total: 74.97 EUR (incl. €12.46 VAT). "
    "Track it at https://track.example/48213 - expected delivery Thursday between 9:00 and "
    "13:00. If nobody is home, the courier leaves it at your nearest pick-up point "
    "and sends you a code. Questions? Reply HELP, or write to support@shop.example. "
    "Thanks for shopping with us | ShopExample^"
)


def _multipart_out_of_order(ctx: PresetContext) -> list[InboundItem]:
    pdus = encode_deliver(
        _LONG_GSM7,
        sender="+447700900123",
        sent_at=_sent_at(ctx),
        reference=ctx.rng.randrange(256),
    )
    order = list(range(len(pdus)))
    while order == sorted(order):
        ctx.rng.shuffle(order)
    return _pdus(ctx, [pdus[index] for index in order])


# 66 UTF-16 units: a UCS-2 part with an 8-bit concatenation header holds 67, so the
# emoji's surrogate pair straddles the boundary.
_UCS2_HEAD = "Привет! Ваш заказ №48213 готов к выдаче. Код получения: 5170. Ура "  # noqa: RUF001
_UCS2_TAIL = "😀 Хорошего дня! 👩‍💻🇺🇦 Ответьте СТОП, чтобы отписаться."


def _split_surrogate_pair(pdus: list[bytes]) -> list[bytes]:
    """Move the first UTF-16 unit of part 2 to the end of part 1, as SMSCs that count
    units rather than characters do: the high surrogate ends part 1."""
    first, second = (bytearray(pdu) for pdu in pdus)
    udl_at = [12 + (pdu[1] + 1) // 2 for pdu in (first, second)]
    header = 1 + second[udl_at[1] + 1]  # UDHL octet and the header it counts
    text_at = udl_at[1] + 1 + header
    moved = second[text_at : text_at + 2]
    del second[text_at : text_at + 2]
    first += moved
    first[udl_at[0]] += 2
    second[udl_at[1]] -= 2
    return [bytes(first), bytes(second)]


def _unicode_emoji(ctx: PresetContext) -> list[InboundItem]:
    pdus = encode_deliver(
        _UCS2_HEAD + _UCS2_TAIL,
        sender="+79161234567",
        sent_at=_sent_at(ctx),
        reference=ctx.rng.randrange(256),
        ucs2=True,
    )
    return _pdus(ctx, _split_surrogate_pair(pdus))


def _flash(ctx: PresetContext) -> list[InboundItem]:
    text = "Your balance is low: 2.13 EUR. Top up now to stay connected: dial *100#."
    pdus = encode_deliver(text, sender="+4915112345678", sent_at=_sent_at(ctx), message_class=0)
    return _pdus(ctx, pdus)


def _alphanumeric(ctx: PresetContext) -> list[InboundItem]:
    text = (
        "AcmeBank: your card ending 4821 was charged 23.50 USD at COFFEE CO. "
        "Not you? Call the number on the back of your card."
    )
    return _pdus(ctx, encode_deliver(text, sender="AcmeBank", sent_at=_sent_at(ctx)))


SPOOFED_SENDERS = (
    "+1800555O199",  # a letter O among digits: alphanumeric, reads as a toll-free number
    "08005550199",  # national format, no country code: looks like the bank's helpline
    "Acme-Bank",  # one character off the real alphanumeric sender "AcmeBank"
)


def _spoofed(ctx: PresetContext) -> list[InboundItem]:
    text = (
        "AcmeBank: unusual sign-in detected. Verify your identity within 24h at "
        "http://acmebank.verify-login.example or your account will be locked."
    )
    return [_text(ctx, ctx.rng.choice(SPOOFED_SENDERS), text)]


def _duplicate_retry(ctx: PresetContext) -> list[InboundItem]:
    code = f"{ctx.rng.randrange(10**4):04d}"
    item = _text(ctx, "+15557654321", f"Your login code is {code}. It is valid for 5 minutes.")
    return [item, item]  # the carrier did not hear the first ack and delivers again


def _status_report(ctx: PresetContext) -> list[InboundItem]:
    return [
        InboundStatus(
            carrier=ctx.carrier,
            number=ctx.number,
            refers_to=new_carrier_message_id(),
            status="DELIVRD",
            carrier_message_id=new_carrier_message_id(),
            error_code="000",
            reported_at=ctx.now.replace(microsecond=0),
        )
    ]


PRESETS: Mapping[str, Preset] = {
    "otp": Preset(
        description="a verification code message (origin-bound '@acme.example #123456' form) "
        "from a short code, a number or an alphanumeric sender, as text",
        build=_otp,
    ),
    "multipart-out-of-order": Preset(
        description="a long GSM-7 message with extension characters (€ [ ] { } ~ | ^) as "
        "concatenated SMS-DELIVER PDUs, emitted shuffled",
        build=_multipart_out_of_order,
    ),
    "unicode-emoji": Preset(
        description="a Cyrillic UCS-2 message in two PDUs with an emoji's surrogate pair split "
        "across the parts, plus a ZWJ sequence and a flag",
        build=_unicode_emoji,
    ),
    "flash": Preset(
        description="a class 0 (flash) SMS-DELIVER PDU: shown at once, not stored by phones",
        build=_flash,
    ),
    "alphanumeric": Preset(
        description="an SMS-DELIVER PDU from the alphanumeric sender 'AcmeBank'",
        build=_alphanumeric,
    ),
    "spoofed": Preset(
        description="a phishing text from a lookalike sender: '+1800555O199' (letter O), "
        "'08005550199' (national format) or 'Acme-Bank'",
        build=_spoofed,
    ),
    "duplicate-retry": Preset(
        description="one text delivered twice with the same carrierMessageId, as a carrier "
        "retries when it missed the ack: the second comes back 'duplicate'",
        build=_duplicate_retry,
    ),
    "status-report": Preset(
        description="a delivery report (DELIVRD) about an earlier message",
        build=_status_report,
    ),
}
