"""GSM 7-bit and UCS-2 text (3GPP TS 23.038), typed over the native core.

GSM 7-bit text is a run of septets (values 0 to 127) looked up in two tables:

* the **locking shift** table gives the character of every septet; the default is
  the GSM default alphabet;
* the **single shift** table gives the character of the septet after an ESC
  (``0x1B``); the default is the GSM extension table (``{``, ``}``, ``[``, ``€``...).

A message names other tables with a National Language Identifier (NLI) in its user
data header: IEI ``0x25`` for the locking shift, ``0x24`` for the single shift. The
NLIs are listed in :data:`NATIONAL_LANGUAGES`; 0 (and any unknown NLI) means the
default tables, and Spanish (2) has a single shift table only, so a locking shift
request for it gets the default alphabet.

Septets come **unpacked** (one per byte, as SMPP ``data_coding`` 0 usually sends
them) or **packed** (eight septets in seven octets, as in an SMS TPDU). Packed data
after a user data header starts after ``fill_bits`` (0 to 6) bits of padding.

Decoding follows the notes of TS 23.038: ESC followed by a code the single shift
table does not assign shows the locking shift table's character for that code;
ESC ESC shows a space; a position the locking shift table leaves unassigned shows a
space; an ESC as the very last septet shows nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import _native

__all__ = [
    "NATIONAL_LANGUAGES",
    "gsm7_decode",
    "gsm7_encode",
    "gsm7_septet_count",
    "ucs2_decode",
    "ucs2_encode",
]

NATIONAL_LANGUAGES: Mapping[int, str] = MappingProxyType(
    {
        1: "Turkish",
        2: "Spanish",
        3: "Portuguese",
        4: "Bengali",
        5: "Gujarati",
        6: "Hindi",
        7: "Kannada",
        8: "Malayalam",
        9: "Oriya",
        10: "Punjabi",
        11: "Tamil",
        12: "Telugu",
        13: "Urdu",
    }
)
"""The National Language Identifiers of TS 23.038 §6.2.1.2.4 and their languages."""


def _check_nli(name: str, value: int) -> None:
    # An NLI is one octet of a user data header; anything else is a caller's mistake.
    if not 0 <= value <= 255:
        raise ValueError(f"{name} must be an NLI from 0 to 255, got {value}")


def _check_fill_bits(fill_bits: int) -> None:
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0 to 6, got {fill_bits}")


def gsm7_encode(
    text: str,
    *,
    locking_shift: int = 0,
    single_shift: int = 0,
    packed: bool = False,
    fill_bits: int = 0,
) -> bytes:
    """Encode ``text`` as GSM 7-bit septets with the given tables.

    A character of the locking shift table takes one septet; otherwise one of the
    single shift table takes two (ESC and its code). ``locking_shift`` and
    ``single_shift`` are NLIs (see :data:`NATIONAL_LANGUAGES`; 0 is the default).

    Returns one septet per byte, or with ``packed=True`` the septets packed eight to
    seven octets after ``fill_bits`` zero bits (the spare bits at the end are zero,
    not CR). Raises :class:`~engine.errors.Gsm7Error` whose ``offset`` is the index of
    the first character that has no code in those tables, and :class:`ValueError`
    for an NLI outside 0 to 255 or ``fill_bits`` outside 0 to 6.
    """
    _check_nli("locking_shift", locking_shift)
    _check_nli("single_shift", single_shift)
    _check_fill_bits(fill_bits)
    return _native.gsm7_encode(
        text,
        locking_shift=locking_shift,
        single_shift=single_shift,
        packed=packed,
        fill_bits=fill_bits,
    )


def gsm7_decode(
    data: bytes | bytearray | memoryview,
    *,
    locking_shift: int = 0,
    single_shift: int = 0,
    packed: bool = False,
    septets: int | None = None,
    fill_bits: int = 0,
) -> str:
    """Decode GSM 7-bit septets with the given tables.

    Unpacked ``data`` (the default) holds one septet per byte; ``septets``, if
    given, decodes only the first that many. Packed ``data`` holds the septets
    after ``fill_bits`` bits of padding; ``septets`` should be the count the
    message states (UDL minus the header septets). Without it every whole septet
    is decoded, so a message whose last octet has seven spare bits gains a
    trailing ``@`` (septet 0) that only the count can tell from a real one.

    An ESC as the last septet decodes as nothing: in a concatenated message it
    belongs to the first septet of the next part, which a single call cannot see.

    Raises :class:`~engine.errors.Gsm7Error` for a byte above 127 in unpacked data
    (``offset``: its index) or for data shorter than ``septets`` (``offset``: the
    length of the data), and :class:`ValueError` for a bad NLI, ``fill_bits`` or
    a negative ``septets``.
    """
    _check_nli("locking_shift", locking_shift)
    _check_nli("single_shift", single_shift)
    _check_fill_bits(fill_bits)
    if septets is not None and septets < 0:
        raise ValueError(f"septets must not be negative, got {septets}")
    return _native.gsm7_decode(
        bytes(data),
        locking_shift=locking_shift,
        single_shift=single_shift,
        packed=packed,
        septets=septets,
        fill_bits=fill_bits,
    )


def gsm7_septet_count(text: str, *, locking_shift: int = 0, single_shift: int = 0) -> int | None:
    """The number of septets ``text`` takes with the given tables, ESCs included.

    Returns ``None`` if some character has no code in those tables. Raises
    :class:`ValueError` for an NLI outside 0 to 255.
    """
    _check_nli("locking_shift", locking_shift)
    _check_nli("single_shift", single_shift)
    return _native.gsm7_septet_count(text, locking_shift=locking_shift, single_shift=single_shift)


def ucs2_decode(data: bytes | bytearray | memoryview, *, strict: bool = True) -> str:
    """Decode SMS "UCS-2" text, which is UTF-16BE: surrogate pairs become one character.

    With ``strict=True`` (the default) raises :class:`~engine.errors.Ucs2Error` for
    a lone surrogate (``offset``: its byte offset) or an odd number of octets
    (``offset``: that of the last octet). With ``strict=False`` a lone surrogate
    becomes U+FFFD and a trailing odd octet is dropped.

    Decode the joined bytes of all the parts of a concatenated message, not each
    part: an emoji may be split between two parts.
    """
    return _native.ucs2_decode(bytes(data), strict=strict)


def ucs2_encode(text: str) -> bytes:
    """Encode ``text`` as UTF-16BE, characters beyond U+FFFF as surrogate pairs.

    Raises :class:`~engine.errors.Ucs2Error` if ``text`` holds a lone surrogate
    (``offset``: its character index), which UTF-16 cannot carry.
    """
    return _native.ucs2_encode(text)
