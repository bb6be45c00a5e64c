"""Building SMS-DELIVER TPDUs, the inverse of decoding, over the native core."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from . import _native

__all__ = ["encode_deliver"]


def encode_deliver(
    text: str,
    *,
    sender: str,
    sent_at: datetime,
    reference: int = 0,
    reference_bits: Literal[8, 16] = 8,
    smsc: str | None = None,
    locking_shift: int = 0,
    single_shift: int = 0,
    ucs2: bool = False,
    pid: int = 0,
    message_class: int | None = None,
) -> list[bytes]:
    """Build the SMS-DELIVER TPDUs (3GPP TS 23.040) that carry ``text`` from ``sender``.

    This is what a network would hand a phone: useful to simulate a carrier, to
    replay traffic, or to test a decoder. The text goes out in GSM 7-bit with the
    given national language tables when they can carry it (the tables are named in
    the header), otherwise in UCS-2; ``ucs2=True`` forces UCS-2. Text that does not
    fit one message is split into concatenated parts that never cut an escape
    sequence or a surrogate pair; each part carries ``reference`` in an 8-bit
    element (IEI 0x00) when it is below 256 and ``reference_bits`` is 8, else a
    16-bit one (IEI 0x08).

    ``sender`` is ``+`` and digits (international), digits, or alphanumeric text of at
    most 11 GSM 7-bit characters. ``sent_at`` must be aware, in 2000-2099, with an
    offset of whole quarter hours. ``smsc`` puts an SMSC address block before each
    TPDU as a modem prints them (``""`` gives the empty block ``00``); by default the
    bare TPDUs are returned.

    Raises :class:`engine.errors.CodecError` (``PduError`` or ``Gsm7Error``) for a
    sender, timestamp or class that cannot be encoded, and ``ValueError`` for a
    naive ``sent_at`` or options out of range.
    """
    offset = sent_at.utcoffset()
    if offset is None:
        raise ValueError("sent_at must be an aware datetime (the SCTS carries its offset)")
    if offset % timedelta(minutes=1):
        raise ValueError(f"sent_at's offset must be whole minutes, got {offset}")
    if reference_bits not in (8, 16):
        raise ValueError(f"reference_bits must be 8 or 16, got {reference_bits}")
    if not 0 <= reference <= 0xFFFF or (reference_bits == 8 and reference > 0xFF):
        raise ValueError(f"reference {reference} does not fit {reference_bits} bits")
    for name, value in (("locking_shift", locking_shift), ("single_shift", single_shift)):
        if not 0 <= value <= 255:
            raise ValueError(f"{name} must be an NLI from 0 to 255, got {value}")
    if not 0 <= pid <= 255:
        raise ValueError(f"pid must be an octet, got {pid}")
    return _native.encode_deliver(
        text,
        sender=sender,
        sent_at=(
            sent_at.year,
            sent_at.month,
            sent_at.day,
            sent_at.hour,
            sent_at.minute,
            sent_at.second,
            int(offset / timedelta(minutes=1)),
        ),
        reference=reference,
        smsc=smsc,
        locking_shift=locking_shift,
        single_shift=single_shift,
        force_ucs2=ucs2,
        reference_16bit=reference_bits == 16,
        pid=pid,
        message_class=message_class,
    )
