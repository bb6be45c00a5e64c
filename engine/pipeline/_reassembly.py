"""From decoded items and buffered parts to messages: set keys, part payloads, drafts.

A part of a concatenated message is stored as a :class:`~engine.store.BufferedPart`
whose payload is the inbound item itself (msgpack, behind a one-byte tag), so a set
can be rebuilt by any process, after a restart too. A set is keyed by carrier,
receiving number, sender with its type, reference with its width, and total; PDU parts
and text segments never share a set.

A :class:`Draft` is a message before its id and code: the pipeline extracts the codes
of many drafts in one native call, then turns each into a :class:`~engine.model.Message`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from .. import codec
from ..errors import CodecError
from ..model import Encoding, InboundPdu, InboundText, Message, MessageFlag, Otp
from ..store import BufferedPart
from ._normalize import SenderKind, normalize_sender, sent_time

__all__ = [
    "Draft",
    "bound_raw",
    "decode_inbound_pdus",
    "decode_part",
    "draft_from_pdu",
    "draft_from_set",
    "draft_from_text",
    "encode_part",
    "is_binary",
    "part_fingerprint",
    "set_key",
]

_FLAG_ORDER: tuple[MessageFlag, ...] = (
    "incomplete",
    "duplicate_parts",
    "flash",
    "binary",
    "replace",
    "silent",
    "invalid_timestamp",
    "lossy_text",
)
_LOSSY = frozenset({"ucs2_odd_length", "ucs2_lone_surrogate"})
_PDU_TAG, _TEXT_TAG = b"P", b"T"
_encoder = msgspec.msgpack.Encoder()
_pdu_decoder = msgspec.msgpack.Decoder(InboundPdu)
_text_decoder = msgspec.msgpack.Decoder(InboundText)
_TRUNCATED = b"\n[truncated by septet: %d bytes received]"


class Draft(msgspec.Struct, kw_only=True):
    """A message before its id and one-time code (internal, mutable)."""

    number_used: str
    sender_id: str
    content: str
    encoding: Encoding
    parts: int
    received_at: datetime
    sent_at: datetime | None
    carrier: str
    carrier_message_id: str | None
    flags: set[MessageFlag]
    raw: bytes | None
    otp_text: str | None
    """The text to look for a code in; None for binary content."""

    def finish(self, message_id: str, tenant: str, otp: Otp | None) -> Message:
        return Message(
            id=message_id,
            tenant=tenant,
            number_used=self.number_used,
            sender_id=self.sender_id,
            content=self.content,
            encoding=self.encoding,
            parts=self.parts,
            received_at=self.received_at,
            sent_at=self.sent_at,
            carrier=self.carrier,
            carrier_message_id=self.carrier_message_id,
            otp=otp,
            flags=tuple(f for f in _FLAG_ORDER if f in self.flags) if self.flags else (),
        )


def bound_raw(raw: bytes | None, limit: int) -> bytes | None:
    """``raw`` cut to at most ``limit`` bytes, ending with a note of its full size if cut."""
    if raw is None or len(raw) <= limit:
        return raw
    note = _TRUNCATED % len(raw)
    if len(note) >= limit:
        return raw[:limit]
    return raw[: limit - len(note)] + note


def set_key(
    source: str,
    carrier: str,
    number: str,
    sender: str,
    kind: SenderKind,
    reference: int,
    reference_bits: int,
    total: int,
) -> str:
    """The name of a concatenated set; ``source`` is ``pdu`` or ``text``."""
    return f"{source}|{carrier}|{number}|{kind}:{sender}|{reference}/{reference_bits}|{total}"


def encode_part(item: InboundPdu | InboundText) -> bytes:
    """The payload of a buffered part: the inbound item, tagged by its type."""
    return (_PDU_TAG if isinstance(item, InboundPdu) else _TEXT_TAG) + _encoder.encode(item)


def decode_part(payload: bytes) -> InboundPdu | InboundText:
    """The inbound item a buffered part was made from."""
    body = memoryview(payload)[1:]
    if payload[:1] == _PDU_TAG:
        return _pdu_decoder.decode(body)
    return _text_decoder.decode(body)


def part_fingerprint(item: InboundPdu | InboundText) -> bytes | str:
    """What makes two deliveries of a part the same part."""
    if isinstance(item, InboundPdu):
        return item.pdu
    return f"{item.segment.seq if item.segment else 0}\x00{item.text}"


def decode_inbound_pdus(items: Sequence[InboundPdu]) -> list[codec.Sms | CodecError]:
    """Decode many PDUs in as few native calls as their framing allows (one, usually)."""
    results: list[codec.Sms | CodecError | None] = [None] * len(items)
    groups: dict[bool | None, list[int]] = {}
    for index, item in enumerate(items):
        if item.tpdu_length is None:
            groups.setdefault(item.smsc, []).append(index)
        else:  # the length tells where the TPDU starts: one at a time
            try:
                results[index] = codec.decode_pdu(
                    item.pdu, smsc=item.smsc, tpdu_length=item.tpdu_length
                )
            except CodecError as error:
                results[index] = error
    for smsc, indices in groups.items():
        decoded = codec.decode_pdus([items[i].pdu for i in indices], smsc=smsc, errors="return")
        for index, result in zip(indices, decoded, strict=True):
            results[index] = result
    return [r for r in results if r is not None]


def _sms_flags(sms: codec.Sms, text_flags: Iterable[str]) -> set[MessageFlag]:
    flags: set[MessageFlag] = set()
    if sms.message_class == 0:
        flags.add("flash")
    if sms.pid == 0x40:
        flags.add("silent")
    elif 0x41 <= sms.pid <= 0x47:
        flags.add("replace")
    if "invalid_timestamp" in sms.flags:
        flags.add("invalid_timestamp")
    if not _LOSSY.isdisjoint(text_flags):
        flags.add("lossy_text")
    return flags


def pdu_sender(sms: codec.Sms, region: str | None) -> tuple[str, SenderKind]:
    """The normalized sender of a decoded PDU and its type."""
    address = sms.sender if sms.sender is not None else sms.address
    return normalize_sender(address.value, region, alphanumeric=address.kind == "alphanumeric")


def draft_from_pdu(
    item: InboundPdu, sms: codec.Sms, number: str, region: str | None, received_at: datetime
) -> Draft:
    """A draft of a single-part message decoded from a PDU."""
    sender, _ = pdu_sender(sms, region)
    flags = _sms_flags(sms, sms.flags)
    text = sms.text
    if text is None or sms.encoding == "8bit":
        flags.add("binary")
        content, otp_text = sms.user_data.hex(), None
    else:
        content = otp_text = text
    return Draft(
        number_used=number,
        sender_id=sender,
        content=content,
        encoding=sms.encoding,
        parts=1,
        received_at=received_at,
        sent_at=sms.sent_at,
        carrier=item.carrier,
        carrier_message_id=item.carrier_message_id,
        flags=flags,
        raw=item.pdu.hex().encode(),
        otp_text=otp_text,
    )


def is_binary(item: InboundText) -> bool:
    """Whether a carrier's text item holds data (hex of 8-bit content), not words: no
    code is looked for in it."""
    return item.encoding == "8bit" or "binary" in item.flags


def draft_from_text(item: InboundText, number: str, sender: str, received_at: datetime) -> Draft:
    """A draft of a message a carrier delivered as text, in one segment."""
    return Draft(
        number_used=number,
        sender_id=sender,
        content=item.text,
        encoding=item.encoding,
        parts=1,
        received_at=received_at,
        sent_at=sent_time(item.sent_at),
        carrier=item.carrier,
        carrier_message_id=item.carrier_message_id,
        flags=set(item.flags),
        raw=item.raw,
        otp_text=None if is_binary(item) else item.text,
    )


def draft_from_set(
    parts: Sequence[BufferedPart], number: str, region: str | None, duplicates: int
) -> Draft:
    """A draft of the message a set of buffered parts makes, complete or not.

    PDU parts are joined by :func:`engine.codec.reassemble`; text segments by seq. A
    set missing parts is flagged ``incomplete`` and holds what arrived.
    """
    items = [decode_part(part.payload) for part in parts]
    first = parts[0]
    if isinstance(items[0], InboundPdu):
        draft = _draft_from_pdu_parts(
            [i for i in items if isinstance(i, InboundPdu)], number, region
        )
    else:
        draft = _draft_from_text_parts([i for i in items if isinstance(i, InboundText)], number)
    draft.received_at = min(part.received_at for part in parts)
    draft.carrier_message_id = first.carrier_message_id
    draft.parts = len({part.seq for part in parts})
    if draft.parts < first.total:
        draft.flags.add("incomplete")
    if duplicates:
        draft.flags.add("duplicate_parts")
    return draft


def _joined_user_data(ordered: Sequence[InboundText]) -> tuple[str, bool] | None:
    """The text of the parts' user data decoded joined, and whether some of it could not
    be decoded; None when some part has none, or the parts disagree on the encoding.

    Parts that follow each other (seq n, n+1...) are decoded as one run; across a missing
    part each run is decoded alone, so half a character is never paired with the wrong
    other half.
    """
    head = ordered[0]
    if head.encoding not in ("gsm7", "ucs2") or any(
        item.user_data is None
        or item.encoding != head.encoding
        or (item.locking_shift, item.single_shift) != (head.locking_shift, head.single_shift)
        for item in ordered
    ):
        return None
    runs: list[bytearray] = []
    previous = None
    for item in ordered:
        seq = item.segment.seq if item.segment else 0
        if previous is None or seq != previous + 1:
            runs.append(bytearray())
        runs[-1] += item.user_data or b""
        previous = seq
    texts: list[str] = []
    lossy = False
    for run in runs:
        try:
            if head.encoding == "ucs2":
                texts.append(codec.ucs2_decode(run))
            else:
                locking, single = head.locking_shift, head.single_shift
                texts.append(codec.gsm7_decode(run, locking_shift=locking, single_shift=single))
        except CodecError:
            if head.encoding != "ucs2":
                return None  # septets the tables cannot read: keep what the parts said
            texts.append(codec.ucs2_decode(run, strict=False))
            lossy = True
    return "".join(texts), lossy


def _joined_raw(raws: Iterable[bytes | None]) -> bytes | None:
    present = [raw for raw in raws if raw is not None]
    return b"\n".join(present) if present else None


def _draft_from_pdu_parts(items: list[InboundPdu], number: str, region: str | None) -> Draft:
    decoded = decode_inbound_pdus(items)
    sms = [s for s in decoded if isinstance(s, codec.Sms)]
    if len(sms) != len(decoded):  # parts are decoded before they are stored
        raise next(e for e in decoded if isinstance(e, CodecError))
    whole = codec.reassemble(sms)
    head = min(sms, key=lambda s: s.concat.seq if s.concat else 0)
    sender, _ = pdu_sender(head, region)
    flags = _sms_flags(head, whole.flags)
    if whole.text is None or head.encoding == "8bit":
        flags.add("binary")
        content, otp_text = whole.user_data.hex(), None
    else:
        content = otp_text = whole.text
    if whole.duplicates:
        flags.add("duplicate_parts")
    return Draft(
        number_used=number,
        sender_id=sender,
        content=content,
        encoding=head.encoding,
        parts=len(sms),
        received_at=items[0].received_at or datetime.min,
        sent_at=head.sent_at,
        carrier=items[0].carrier,
        carrier_message_id=None,
        flags=flags,
        raw=_joined_raw(item.pdu.hex().encode() for item in items),
        otp_text=otp_text,
    )


def _draft_from_text_parts(items: list[InboundText], number: str) -> Draft:
    by_seq: dict[int, InboundText] = {}
    for item in items:
        by_seq.setdefault(item.segment.seq if item.segment else 0, item)
    ordered = [by_seq[seq] for seq in sorted(by_seq)]
    head = ordered[0]
    region_free_sender = head.sender  # already normalized when the part was stored
    flags: set[MessageFlag] = set()
    for item in ordered:
        flags.update(item.flags)
    joined = _joined_user_data(ordered)
    if joined is None:
        content = "".join(item.text for item in ordered)
    else:
        # Each part's own decoding may have stumbled on a character split at its end.
        content, lossy = joined
        flags.discard("lossy_text")
        if lossy:
            flags.add("lossy_text")
    return Draft(
        number_used=number,
        sender_id=region_free_sender,
        content=content,
        encoding=head.encoding,
        parts=len(ordered),
        received_at=head.received_at or datetime.min,
        sent_at=sent_time(head.sent_at),
        carrier=head.carrier,
        carrier_message_id=None,
        flags=flags,
        raw=_joined_raw(item.raw for item in ordered),
        otp_text=None if any(is_binary(item) for item in ordered) else content,
    )
