"""SMPP 3.4 for an ESME: framing, PDUs, TLVs and delivery receipts.

The work happens in Septet's native core; this module is its typed public face, used
by the SMPP carrier adapter and by plugin authors who speak SMPP themselves.

* :class:`FrameReader` splits the bytes of a connection into whole PDUs: ``feed`` it
  what the socket returned, then take frames with ``next_frame()`` or by iterating.
  Partial frames wait for more bytes; several frames in one read all come out.
* :func:`decode_pdu` decodes one frame into a PDU object: :class:`DeliverSm`,
  :class:`DataSm`, :class:`SubmitSm`, :class:`Bind`, the responses,
  :class:`EnquireLink`, :class:`Unbind`, :class:`GenericNack`. Every known TLV is
  checked and readable (:attr:`DeliverSm.sar`, :attr:`DeliverSm.receipted_message_id`,
  :attr:`DeliverSm.message_state`, ...); unknown and vendor TLVs are kept raw in
  ``.tlvs`` and re-encoded byte for byte.
* Every PDU class builds a PDU from keyword arguments and ``encode()`` returns its
  bytes, e.g. ``DeliverSmResp(sequence_number=n).encode()``.
* :func:`error_response` answers a PDU that failed to decode: the command's ``_resp``
  with the error status, or a ``generic_nack``.
* :func:`parse_delivery_receipt` reads the ``id:... stat:... err:... text:...`` text of
  an SMSC delivery receipt.

Malformed input raises :class:`engine.errors.SmppError`, whose ``command_status`` is
what the SMSC should get back. Sequence numbers are unsigned 32-bit integers. C-octet
strings (addresses, ids) are ``str`` with one character per octet (Latin-1), so any
octet survives a round trip; ``short_message`` and ``message_payload`` are ``bytes``,
to be decoded by ``data_coding`` with :mod:`engine.codec` (``data_coding`` 0 is
SMSC-specific: usually unpacked GSM 7-bit, sometimes ASCII or Latin-1).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TypeAlias

from . import _native
from ._native import (
    Bind,
    BindResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DeliveryReceipt,
    EnquireLink,
    EnquireLinkResp,
    FrameReader,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Unbind,
    UnbindResp,
)
from .errors import SmppError

__all__ = [
    "Bind",
    "BindResp",
    "CommandId",
    "CommandStatus",
    "DEFAULT_MAX_COMMAND_LENGTH",
    "DataSm",
    "DataSmResp",
    "DeliverSm",
    "DeliverSmResp",
    "DeliveryReceipt",
    "EnquireLink",
    "EnquireLinkResp",
    "FrameReader",
    "GenericNack",
    "MAX_SHORT_MESSAGE",
    "MessageState",
    "Pdu",
    "SubmitSm",
    "SubmitSmResp",
    "Tlv",
    "TlvTag",
    "Unbind",
    "UnbindResp",
    "decode_pdu",
    "error_response",
    "parse_delivery_receipt",
]

DEFAULT_MAX_COMMAND_LENGTH: int = _native.SMPP_DEFAULT_MAX_COMMAND_LENGTH
"""The largest ``command_length`` a :class:`FrameReader` accepts unless told otherwise:
a 64 KiB ``message_payload`` with room for the mandatory fields and other TLVs."""

MAX_SHORT_MESSAGE: int = _native.SMPP_MAX_SHORT_MESSAGE
"""The most octets ``short_message`` may hold (254); longer content goes in a
``message_payload`` TLV."""

Pdu: TypeAlias = (
    Bind
    | BindResp
    | SubmitSm
    | SubmitSmResp
    | DeliverSm
    | DeliverSmResp
    | DataSm
    | DataSmResp
    | EnquireLink
    | EnquireLinkResp
    | Unbind
    | UnbindResp
    | GenericNack
)
"""Any PDU :func:`decode_pdu` returns."""


class CommandId(IntEnum):
    """The ``command_id`` of each PDU this module knows."""

    GENERIC_NACK = 0x8000_0000
    BIND_RECEIVER = 0x0000_0001
    BIND_RECEIVER_RESP = 0x8000_0001
    BIND_TRANSMITTER = 0x0000_0002
    BIND_TRANSMITTER_RESP = 0x8000_0002
    SUBMIT_SM = 0x0000_0004
    SUBMIT_SM_RESP = 0x8000_0004
    DELIVER_SM = 0x0000_0005
    DELIVER_SM_RESP = 0x8000_0005
    UNBIND = 0x0000_0006
    UNBIND_RESP = 0x8000_0006
    BIND_TRANSCEIVER = 0x0000_0009
    BIND_TRANSCEIVER_RESP = 0x8000_0009
    ENQUIRE_LINK = 0x0000_0015
    ENQUIRE_LINK_RESP = 0x8000_0015
    DATA_SM = 0x0000_0103
    DATA_SM_RESP = 0x8000_0103


class CommandStatus(IntEnum):
    """``command_status`` values (SMPP 3.4 §5.1.3; the TLV errors under their SMPP 5.0 names)."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RINVSERTYP = 0x15
    ESME_RINVSYSTYP = 0x53
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RINVTLVSTREAM = 0xC0
    ESME_RTLVNOTALLWD = 0xC1
    ESME_RINVTLVLEN = 0xC2
    ESME_RMISSINGTLV = 0xC3
    ESME_RINVTLVVAL = 0xC4
    ESME_RUNKNOWNERR = 0xFF


class MessageState(IntEnum):
    """The ``message_state`` TLV of a delivery receipt."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


class TlvTag(IntEnum):
    """Tags of the TLVs an ESME reads most (every SMPP 3.4 tag has a :attr:`Tlv.name`)."""

    DEST_NETWORK_TYPE = 0x0006
    SOURCE_NETWORK_TYPE = 0x000E
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    USER_MESSAGE_REFERENCE = 0x0204
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427


def decode_pdu(frame: bytes) -> Pdu:
    """Decode one whole PDU, ``command_length`` first (as :class:`FrameReader` returns it).

    Raises :class:`~engine.errors.SmppError` for a malformed PDU; its
    ``command_status`` says why (``ESME_RINVCMDLEN`` for a length that does not add up,
    ``ESME_RINVCMDID`` for an unknown command, ``ESME_RINVSRCADR`` for an over-long
    ``source_addr``, ``ESME_RINVTLVLEN`` for a known TLV of the wrong length,
    ``ESME_RMISSINGTLV`` for an incomplete set of SAR TLVs, ...).
    """
    return _native.smpp_decode_pdu(frame)


def error_response(error: SmppError) -> bytes:
    """The PDU that answers a frame that failed to decode, encoded.

    It is the command's ``_resp`` carrying ``error.command_status`` when the frame was a
    request this module knows, otherwise a ``generic_nack`` (an unknown command, a
    malformed response, a header too short to read, which gets sequence number 0).
    After an error of :class:`FrameReader` the stream cannot be read on: send this, then
    unbind or close.
    """
    return _native.smpp_error_response(
        error.command_status, error.sequence_number, error.command_id
    )


def parse_delivery_receipt(data: bytes) -> DeliveryReceipt | None:
    """The fields of a delivery receipt's text, or None when it has none.

    Reads the SMPP 3.4 Appendix B form ``id:... sub:... dlvrd:... submit date:...
    done date:... stat:... err:... text:...`` as SMSCs write it: keys in any case,
    ``submit_date`` for ``submit date``, 10- or 12-digit dates, fields missing or
    reordered. ``text`` is the raw octets to the end of ``data`` (some SMSCs put
    UTF-16BE there). Pass the deliver_sm's :attr:`DeliverSm.payload`. The id in the
    text is often decimal where ``receipted_message_id`` has the same id in hex.
    """
    return _native.smpp_parse_delivery_receipt(data)
