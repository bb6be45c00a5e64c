"""Decoding SMS: TPDUs, GSM 7-bit and UCS-2 text, and concatenated messages.

The work happens in Septet's native core; this module is its typed public face.

* :func:`decode_pdu` decodes one SMS-DELIVER, SMS-STATUS-REPORT or stored SMS-SUBMIT
  (3GPP TS 23.040) from bytes or hex, with or without the SMSC address block that
  modems print in PDU mode (``+CMT``, ``+CMGR``, ``+CMGL``).
* :func:`decode_pdus` decodes a batch in one call, without holding the GIL.
* :func:`encode_deliver` builds the SMS-DELIVER TPDUs of a text, split into
  concatenated parts when it needs more than one: what a network hands a phone.
* :func:`reassemble` joins the parts of a concatenated message: any order, duplicates
  ignored, mixed GSM-7 and UCS-2 parts, emoji split across parts kept whole.
* :func:`gsm7_encode` / :func:`gsm7_decode` convert text to and from GSM 7-bit septets
  (TS 23.038), with every national language locking and single shift table.
* :func:`ucs2_encode` / :func:`ucs2_decode` convert UTF-16BE, surrogate pairs included.

Malformed input raises a subclass of :class:`engine.errors.CodecError` carrying the
byte ``offset`` and a ``reason``; problems that do not stop decoding (an invalid
timestamp, an odd UCS-2 length, trailing octets) are reported in :attr:`Sms.flags`.
"""

from __future__ import annotations

from ._encode import encode_deliver
from ._gsm7 import (
    NATIONAL_LANGUAGES,
    gsm7_decode,
    gsm7_encode,
    gsm7_septet_count,
    ucs2_decode,
    ucs2_encode,
)
from ._native import (
    Address,
    Concat,
    Indication,
    Mwi,
    Reassembled,
    Sms,
    UdhElement,
    decode_pdu,
    decode_pdus,
    reassemble,
)

__all__ = [
    "Address",
    "Concat",
    "Indication",
    "Mwi",
    "NATIONAL_LANGUAGES",
    "Reassembled",
    "Sms",
    "UdhElement",
    "decode_pdu",
    "decode_pdus",
    "encode_deliver",
    "gsm7_decode",
    "gsm7_encode",
    "gsm7_septet_count",
    "reassemble",
    "ucs2_decode",
    "ucs2_encode",
]
