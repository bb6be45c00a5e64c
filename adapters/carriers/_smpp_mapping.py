"""From a deliver_sm or data_sm to what the engine takes: an InboundText or an InboundStatus.

* Text comes from ``short_message``, or from ``message_payload`` when the SMSC put it
  there, decoded by ``data_coding``: 0 as the link's ``data_coding_0`` says (unpacked
  GSM 7-bit, Latin-1 or ASCII), 1 ASCII, 3 Latin-1, 8 UCS-2 (UTF-16BE, surrogate pairs
  joined), 5/6/7/0x0A/0x0D/0x0E the Japanese, Cyrillic, Hebrew and Korean sets, 0xF0-0xFF
  the GSM message-class group; 2, 4, 9 and anything unknown are data, kept as hex with
  encoding ``8bit`` and the ``binary`` flag.
* With ``esm_class`` 0x40 the content starts with a user data header: its concatenation
  element (8- or 16-bit reference) becomes the item's :class:`Segment`, its national
  language shift elements choose the GSM 7-bit tables. Without one, the SAR TLVs give the
  segment (a 16-bit reference).
* A delivery receipt (``esm_class`` message type 0x04 or 0x20, the TLVs
  ``receipted_message_id`` and ``message_state``, or the ``id:... stat:...`` text) becomes
  an :class:`InboundStatus` about the message we sent: ``refers_to`` is
  ``receipted_message_id`` or else the text's id.

deliver_sm carries no id of its own, so a message gets no ``carrier_message_id``: a hash
of the content would merge two genuine messages with the same text from the same
sender, which is worse than storing a repeat the SMSC sends after a lost response. A
receipt does get one, ``dlr-`` and a hash of the PDU body without its sequence number,
since the SMSC sends the same receipt again byte for byte and two identical receipts
say nothing more than one.

Content that cannot be decoded raises :class:`ContentError`, carrying the status to
answer (``ESME_RX_P_APPN`` unless a more precise one fits).
"""

from __future__ import annotations

import hashlib
from typing import Literal

from engine.codec import gsm7_decode, ucs2_decode
from engine.errors import CodecError, Ucs2Error
from engine.model import Encoding, MessageFlag
from engine.plugin_api import InboundStatus, InboundText, Segment
from engine.smpp import CommandStatus, DataSm, DeliverSm, MessageState, parse_delivery_receipt

from ._smpp_config import SmscConfig

__all__ = ["ContentError", "inbound_item", "more_parts_follow", "sender_address"]

_TON_INTERNATIONAL = 1
_TON_ALPHANUMERIC = 5
_RECEIPT_TYPES = frozenset({0x04, 0x20})  # SMSC delivery receipt, intermediate notification
_HEADER_LENGTH = 16
# data_coding values whose text Python's codecs read (SMPP 3.4 §5.2.19).
_CHARSETS = {
    0x01: "ascii",
    0x03: "latin-1",
    0x05: "shift_jis",
    0x06: "iso8859_5",
    0x07: "iso8859_8",
    0x0A: "iso2022_jp",
    0x0D: "euc_jis_2004",
    0x0E: "euc_kr",
}
_ZERO_CHARSETS = {"latin1": "latin-1", "ascii": "ascii"}


class ContentError(Exception):
    """A deliver_sm whose content cannot be read; ``command_status`` is the answer."""

    def __init__(self, reason: str, command_status: int = CommandStatus.ESME_RX_P_APPN) -> None:
        super().__init__(reason)
        self.command_status = command_status


def sender_address(address: str, ton: int, smsc: SmscConfig) -> str:
    """An SMPP address as the engine should read it: ``+`` before an international number."""
    if (
        ton == _TON_INTERNATIONAL
        and smsc.international_plus
        and address.isascii()
        and address.isdigit()
    ):
        return "+" + address
    return address


def inbound_item(
    carrier: str, smsc: SmscConfig, pdu: DeliverSm | DataSm, frame: bytes
) -> InboundText | InboundStatus:
    """The item to emit for one deliver_sm or data_sm (``frame`` is the whole PDU)."""
    number = sender_address(pdu.destination_addr, pdu.dest_addr_ton, smsc) or smsc.number
    if not number:
        raise ContentError(
            "destination_addr is empty and no number is configured",
            CommandStatus.ESME_RINVDSTADR,
        )
    payload = pdu.payload
    if _is_receipt(pdu, payload):
        return _status(carrier, number, pdu, payload, frame)
    header = _UserDataHeader.read(payload) if pdu.udhi else _NO_HEADER
    body = payload[header.length :]
    text, encoding, flags = decode_text(pdu.data_coding, body, smsc, header)
    segment = header.segment
    if segment is None and (sar := pdu.sar) is not None:
        reference, total, seq = sar
        segment = _segment(reference, 16, total, seq)
    # A part's user data goes along, so the engine decodes the parts joined: SMSCs cut
    # UCS-2 parts between the two halves of an emoji, GSM 7-bit ones after an escape.
    joinable = segment is not None and encoding in ("gsm7", "ucs2")
    return InboundText(
        carrier=carrier,
        number=number,
        sender=sender_address(pdu.source_addr, pdu.source_addr_ton, smsc),
        sender_alphanumeric=pdu.source_addr_ton == _TON_ALPHANUMERIC,
        text=text,
        segment=segment,
        encoding=encoding,
        flags=flags,
        raw=frame,
        user_data=body if joinable else None,
        locking_shift=header.locking if joinable else 0,
        single_shift=header.single if joinable else 0,
    )


def decode_text(
    data_coding: int, body: bytes, smsc: SmscConfig, header: _UserDataHeader | None = None
) -> tuple[str, Encoding, tuple[MessageFlag, ...]]:
    """The text of ``body``, how it was encoded, and the flags it earns."""
    header = header or _NO_HEADER
    if data_coding == 0x00:
        if smsc.data_coding_0 == "gsm7":
            return _gsm7(body, header), "gsm7", ()
        return _charset(body, _ZERO_CHARSETS[smsc.data_coding_0])
    if data_coding == 0x08:
        try:
            return ucs2_decode(body), "ucs2", ()
        except Ucs2Error:
            return ucs2_decode(body, strict=False), "ucs2", ("lossy_text",)
    charset = _CHARSETS.get(data_coding)
    if charset is not None:
        return _charset(body, charset)
    if data_coding & 0xF0 == 0xF0 and not data_coding & 0x04:
        # The GSM message-class group: bit 2 clear is the default alphabet; class 0 is flash.
        flash: tuple[MessageFlag, ...] = ("flash",) if data_coding & 0x03 == 0 else ()
        return _gsm7(body, header), "gsm7", flash
    return body.hex(), "8bit", ("binary",)


def _gsm7(body: bytes, header: _UserDataHeader) -> str:
    try:
        return gsm7_decode(body, locking_shift=header.locking, single_shift=header.single)
    except CodecError as error:
        raise ContentError(f"not GSM 7-bit text: {error}") from None


def _charset(body: bytes, charset: str) -> tuple[str, Encoding, tuple[MessageFlag, ...]]:
    try:
        return body.decode(charset), "text", ()
    except UnicodeDecodeError:
        return body.decode(charset, errors="replace"), "text", ("lossy_text",)


def _segment(reference: int, bits: Literal[8, 16], total: int, seq: int) -> Segment | None:
    # A set of one is a whole message; an element that contradicts itself is ignored.
    if total <= 1 or seq == 0 or seq > total:
        return None
    return Segment(reference=reference, reference_bits=bits, total=total, seq=seq)


def more_parts_follow(pdu: DeliverSm | DataSm) -> bool:
    """Whether ``pdu`` is a part of a concatenated message other than the last of its
    set (by its SAR TLVs, else its user data header): an SMSC sends a set's parts one
    after the other, so the rest is likely to come next."""
    sar = pdu.sar
    if sar is not None:
        _, total, seq = sar
        return 0 < seq < total
    if not pdu.udhi:
        return False
    try:
        segment = _UserDataHeader.read(pdu.payload).segment
    except ContentError:
        return False
    return segment is not None and segment.seq < segment.total


class _UserDataHeader:
    """The parts of a user data header (3GPP TS 23.040 §9.2.3.24) that matter here."""

    __slots__ = ("length", "locking", "segment", "single")

    def __init__(self, length: int, segment: Segment | None, locking: int, single: int) -> None:
        self.length = length
        self.segment = segment
        self.locking = locking
        self.single = single

    @classmethod
    def read(cls, payload: bytes) -> _UserDataHeader:
        if not payload:
            raise ContentError("esm_class announces a user data header, but there is no content")
        end = 1 + payload[0]
        if end > len(payload):
            raise ContentError(f"the user data header ({end} octets) overruns the content")
        segment: Segment | None = None
        locking = single = 0
        at = 1
        while at < end:
            if at + 2 > end or at + 2 + payload[at + 1] > end:
                raise ContentError(f"a user data header element at octet {at} overruns it")
            iei, size = payload[at], payload[at + 1]
            data = payload[at + 2 : at + 2 + size]
            # A repeated element counts by its last occurrence.
            if iei == 0x00 and size == 3:
                segment = _segment(data[0], 8, data[1], data[2])
            elif iei == 0x08 and size == 4:
                segment = _segment(int.from_bytes(data[:2], "big"), 16, data[2], data[3])
            elif iei == 0x24 and size == 1:
                single = data[0]
            elif iei == 0x25 and size == 1:
                locking = data[0]
            at += 2 + size
        return cls(end, segment, locking, single)


_NO_HEADER = _UserDataHeader(0, None, 0, 0)


def _is_receipt(pdu: DeliverSm | DataSm, payload: bytes) -> bool:
    kind = pdu.esm_class & 0x3C
    if kind in _RECEIPT_TYPES:
        return True
    if kind or pdu.udhi:
        return False
    if pdu.receipted_message_id is not None and pdu.message_state is not None:
        return True
    # Some SMSCs send receipts as plain messages: only the full text form counts.
    receipt = parse_delivery_receipt(payload) if payload[:3].lower() == b"id:" else None
    return receipt is not None and receipt.stat is not None and receipt.done_date is not None


def _status(
    carrier: str, number: str, pdu: DeliverSm | DataSm, payload: bytes, frame: bytes
) -> InboundStatus:
    receipt = parse_delivery_receipt(payload) if payload else None
    refers_to = pdu.receipted_message_id or (receipt.id if receipt else None)
    state = pdu.message_state
    status = receipt.stat if receipt is not None else None
    if status is None and state is not None:
        status = _state_name(state)
    error_code = receipt.err if receipt is not None else None
    if error_code is None and (network := pdu.network_error_code) is not None:
        error_code = f"{network[0]}:{network[1]}"
    return InboundStatus(
        carrier=carrier,
        number=number,
        refers_to=refers_to or None,
        status=status or "UNKNOWN",
        carrier_message_id="dlr-" + hashlib.sha256(frame[_HEADER_LENGTH:]).hexdigest()[:32],
        error_code=error_code,
        reported_at=receipt.done_at if receipt is not None else None,
        raw=frame,
    )


def _state_name(state: int) -> str:
    try:
        return MessageState(state).name
    except ValueError:
        return str(state)
