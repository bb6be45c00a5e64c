"""A small, independent SMS-DELIVER builder for tests, written from 3GPP TS 23.040.

It shares nothing with the native decoder except :func:`engine.codec.gsm7_encode` for
the septets of the text, so decoding what it builds checks the decoder's framing:
addresses, SCTS, UDH, fill bits and UDL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from engine import codec

_DIGITS = {**{str(d): d for d in range(10)}, "*": 0xA, "#": 0xB, "a": 0xC, "b": 0xD, "c": 0xE}
ESC = 0x1B


def semi_octets(digits: str) -> bytes:
    """BCD digits, nibble-swapped, padded with F."""
    nibbles = [_DIGITS[d] for d in digits]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(lo | (hi << 4) for lo, hi in zip(nibbles[::2], nibbles[1::2], strict=True))


def address(value: str) -> bytes:
    """TP-OA for ``+digits`` (international), ``digits`` (unknown) or alphanumeric text."""
    if value.startswith("+"):
        digits = value[1:]
        return bytes([len(digits), 0x91]) + semi_octets(digits)
    if all(c in _DIGITS for c in value):
        return bytes([len(value), 0x81]) + semi_octets(value)
    septets = codec.gsm7_encode(value)
    packed = codec.gsm7_encode(value, packed=True)
    semi = (len(septets) * 7 + 3) // 4
    return bytes([semi, 0xD0]) + packed


def smsc_block(value: str | None) -> bytes:
    if value is None:
        return b"\x00"
    digits = value.lstrip("+")
    body = bytes([0x91]) + semi_octets(digits)
    return bytes([len(body)]) + body


def scts(when: datetime) -> bytes:
    """Seven swapped-BCD octets; the zone in quarter hours with its sign in bit 3."""
    offset = when.utcoffset() or timedelta(0)
    quarters = int(offset.total_seconds()) // 900
    negative = quarters < 0
    quarters = abs(quarters)

    def swap(n: int) -> int:
        return (n % 10) << 4 | (n // 10)

    tz = swap(quarters) | (0x08 if negative else 0)
    fields = (when.year % 100, when.month, when.day, when.hour, when.minute, when.second)
    return bytes(swap(n) for n in fields) + bytes([tz])


def concat_ie(reference: int, total: int, seq: int, *, bits: int = 8) -> bytes:
    if bits == 8:
        return bytes([0x00, 3, reference, total, seq])
    return bytes([0x08, 4, reference >> 8, reference & 0xFF, total, seq])


def shift_ies(locking: int, single: int) -> bytes:
    out = b""
    if locking:
        out += bytes([0x25, 1, locking])
    if single:
        out += bytes([0x24, 1, single])
    return out


def deliver(
    *,
    sender: str,
    sent_at: datetime,
    gsm7_septets: bytes | None = None,
    ucs2: bytes | None = None,
    ies: bytes = b"",
    smsc: str | None = "+31624000000",
    dcs: int | None = None,
) -> bytes:
    """One SMS-DELIVER with the SMSC block; exactly one of ``gsm7_septets`` / ``ucs2``."""
    first_octet = 0x04 | (0x40 if ies else 0)  # TP-MMS set: no more messages
    udh = bytes([len(ies)]) + ies if ies else b""
    if gsm7_septets is not None:
        header_bits = len(udh) * 8
        fill = (7 - header_bits % 7) % 7 if udh else 0
        header_septets = (header_bits + fill) // 7
        udl = header_septets + len(gsm7_septets)
        ud = udh + _pack(gsm7_septets, fill)
        coding = 0x00 if dcs is None else dcs
    else:
        assert ucs2 is not None
        udl = len(udh) + len(ucs2)
        ud = udh + ucs2
        coding = 0x08 if dcs is None else dcs
    tpdu = (
        bytes([first_octet])
        + address(sender)
        + bytes([0x00, coding])
        + scts(sent_at)
        + bytes([udl])
        + ud
    )
    return smsc_block(smsc) + tpdu


def _pack(septets: bytes, fill: int) -> bytes:
    """LSB-first septet packing after ``fill`` zero bits (written here, not the native pack)."""
    acc = 0
    bits = fill
    out = bytearray()
    for s in septets:
        acc |= (s & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def split_septets(septets: bytes, size: int) -> list[bytes]:
    """Split into chunks of at most ``size`` septets, never between ESC and its character."""
    parts: list[bytes] = []
    start = 0
    while start < len(septets):
        end = min(start + size, len(septets))
        if end < len(septets) and _ends_inside_escape(septets[start:end]):
            end -= 1
        parts.append(septets[start:end])
        start = end
    return parts


def _ends_inside_escape(chunk: bytes) -> bool:
    # A chunk ends inside an escape when it ends with an odd run of ESC septets.
    run = len(chunk) - len(chunk.rstrip(bytes([ESC])))
    return run % 2 == 1


def split_octets(data: bytes, size: int) -> list[bytes]:
    """Split UCS-2 octets into even-sized chunks (surrogate pairs may be split, as carriers do)."""
    size -= size % 2
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def concatenated(
    *,
    sender: str,
    sent_at: datetime,
    chunks: Sequence[bytes],
    ucs2: bool,
    reference: int,
    bits: int = 8,
    locking: int = 0,
    single: int = 0,
) -> list[bytes]:
    """All parts of one concatenated message, in order."""
    total = len(chunks)
    return [
        deliver(
            sender=sender,
            sent_at=sent_at,
            gsm7_septets=None if ucs2 else chunk,
            ucs2=chunk if ucs2 else None,
            ies=concat_ie(reference, total, seq, bits=bits) + shift_ies(locking, single),
        )
        for seq, chunk in enumerate(chunks, start=1)
    ]
