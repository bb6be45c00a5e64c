"""The shapes Septet stores, emits and accepts: msgspec Structs.

Everything here is frozen and keyword-only. On the wire (JSON, webhooks, the API) keys
are camelCase (``numberUsed``, ``receivedAt``); in Python they are snake_case.

Inbound, from carriers (what a carrier adapter hands to ``emit``):

* :class:`InboundPdu`: an SMS TPDU as a modem or an SMSC delivers it (bytes).
* :class:`InboundText`: text a carrier already decoded (HTTP webhooks, SMPP), possibly one
  segment of a concatenated message (``segment``).
* :class:`InboundStatus`: a delivery or status report about a message sent earlier.

Stored and emitted:

* :class:`Message`: one whole message in the inbox (the public message shape).
* :class:`StatusReport`: a stored status report, linked to the message it reports on.
* :class:`IngestResult`: what ``ingest`` answers once the item is durable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

__all__ = [
    "Delivery",
    "DeliveryAttempt",
    "DeliveryReceipt",
    "DeliveryRecord",
    "DeliveryStatus",
    "Encoding",
    "InboundItem",
    "InboundPdu",
    "InboundStatus",
    "InboundText",
    "IngestResult",
    "Message",
    "MessageFlag",
    "Otp",
    "Segment",
    "StatusReport",
]

Encoding = Literal["gsm7", "ucs2", "8bit", "text"]
"""How the content arrived: GSM 7-bit, UCS-2, 8-bit data, or text a carrier decoded."""

MessageFlag = Literal[
    "incomplete",  # a multipart set committed after its TTL with parts missing
    "flash",  # message class 0: shown at once, not stored by phones
    "binary",  # 8-bit or compressed payload: content is the hex of the data
    "replace",  # TP-PID "replace short message" type 1-7
    "silent",  # TP-PID 0x40, short message type 0
    "invalid_timestamp",  # the SCTS could not be read; sentAt is null
    "lossy_text",  # odd UCS-2 length or lone surrogates: some characters are U+FFFD
    "duplicate_parts",  # at least one part arrived more than once
    "test",  # a sample sent by a destination's test-fire, never stored in the inbox
]
"""Flags a message can carry; each says something a consumer may need to act on."""


class Otp(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The one-time code found in a message."""

    code: str
    confidence: float
    origin: str | None = None


class Segment(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Where a segment sits in a concatenated message (from UDH or SMPP SAR TLVs)."""

    reference: int
    reference_bits: Literal[8, 16]
    total: int
    seq: int


class InboundPdu(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """An SMS TPDU from a modem (``+CMT``/``+CMGL``) or another PDU-level source."""

    carrier: str
    number: str
    """The receiving number (the SIM's or the leased number), E.164 or national."""
    pdu: bytes
    smsc: bool | None = None
    """Whether ``pdu`` starts with the SMSC block; None to detect it."""
    tpdu_length: int | None = None
    carrier_message_id: str | None = None
    received_at: datetime | None = None
    """When the carrier received it; the engine's clock when None."""


class InboundText(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A message (or one segment of one) that a carrier delivered as text."""

    carrier: str
    number: str
    sender: str
    text: str
    carrier_message_id: str | None = None
    sent_at: datetime | None = None
    received_at: datetime | None = None
    segment: Segment | None = None
    encoding: Encoding = "text"
    flags: tuple[MessageFlag, ...] = ()
    raw: bytes | None = None
    """The carrier's payload as received, kept for audit (size-bounded by the engine)."""
    sender_alphanumeric: bool = False
    """The network marked the sender as text (SMPP or TP-OA type of number 5): kept as
    sent even when it is all digits, not read as a phone number."""
    user_data: bytes | None = None
    """For one segment of a concatenated message in GSM 7-bit (unpacked: one septet a
    byte) or UCS-2 (UTF-16BE): the segment's user data as received, without its header.
    When every part of a set has it, the engine decodes the parts' user data joined, so
    a character split between two parts (an emoji's surrogate pair, a GSM 7-bit escape
    and the character it escapes) comes out whole; ``text`` stays what the segment says
    alone."""
    locking_shift: int = 0
    """The GSM 7-bit national language locking shift table of ``user_data`` (0: none)."""
    single_shift: int = 0
    """The GSM 7-bit national language single shift table of ``user_data`` (0: none)."""


class InboundStatus(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A delivery or status report about a message (SMS-STATUS-REPORT, SMPP DLR, webhook)."""

    carrier: str
    number: str
    refers_to: str | None
    """The carrier's id (or TP-MR as a string) of the message the report is about."""
    status: str
    """The carrier's status word (``DELIVRD``, ``delivered``, ``0x00``...)."""
    carrier_message_id: str | None = None
    error_code: str | None = None
    reported_at: datetime | None = None
    received_at: datetime | None = None
    raw: bytes | None = None


InboundItem = InboundPdu | InboundText | InboundStatus
"""Anything a carrier adapter can emit."""


class Message(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One message in the inbox: the public message shape of the API and webhooks."""

    id: str
    tenant: str
    number_used: str
    """The receiving number, E.164."""
    sender_id: str
    """E.164 for numeric senders, the text as sent for alphanumeric ones."""
    content: str
    encoding: Encoding
    parts: int
    received_at: datetime
    """When the engine received it (the first part), UTC."""
    sent_at: datetime | None
    """When the sender's network stamped it (SCTS or the carrier's time), with its offset."""
    carrier: str
    carrier_message_id: str | None
    otp: Otp | None
    routing_tag: str | None = None
    flags: tuple[MessageFlag, ...] = ()
    purged_at: datetime | None = None
    """When the tenant's retention period purged the message's body: its ``content``
    is then empty and ``otp`` null; the metadata stays. Null while the body is kept."""


class StatusReport(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A stored status report; ``message_id`` is set when the reported message is known."""

    id: str
    tenant: str
    carrier: str
    number_used: str
    refers_to: str | None
    status: str
    message_id: str | None
    carrier_message_id: str | None
    error_code: str | None
    reported_at: datetime | None
    received_at: datetime


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    """What ``ingest`` answers, only once the item is durably committed.

    ``committed``: a new message (``message``) is in the inbox. ``buffered``: a part of a
    concatenated message is stored until its set completes or expires. ``duplicate``: a
    carrier's retry of something already stored; ``message`` is the original when known.
    ``status``: a status report was stored (``status_report``).
    """

    outcome: Literal["committed", "buffered", "duplicate", "status"]
    message: Message | None = None
    status_report: StatusReport | None = None


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One message on its way to one destination, as the destination adapter sees it.

    ``id`` is the same on every attempt (a webhook's ``webhook-id``, an email's
    ``Message-ID``), so a receiver can drop a repeat; ``attempt`` counts from 1.
    """

    id: str
    destination: str
    """The destination's instance name from the config."""
    message: Message
    attempt: int
    created_at: datetime
    """When the delivery was committed with its message, UTC."""


class DeliveryReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """What a destination answered when it took a message, for the attempt log."""

    status_code: int | None = None
    response: str | None = None
    """An excerpt of the answer's body, already truncated by the adapter."""


DeliveryStatus = Literal["pending", "delivering", "delivered", "failed"]
"""``pending``: waiting for its next attempt; ``delivering``: an attempt is under way;
``delivered``; ``failed``: retries exhausted or refused for good (kept for replay)."""


class DeliveryRecord(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A delivery as the outbox keeps it: one message to one destination."""

    id: str
    tenant: str
    message_id: str
    destination: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    """When the next attempt is due (``pending``) or the current one's lease ends."""
    created_at: datetime
    updated_at: datetime
    last_error: str | None


class DeliveryAttempt(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One attempt of a delivery, as the attempt log keeps it."""

    delivery_id: str
    attempt: int
    started_at: datetime
    duration_ms: float
    outcome: Literal["delivered", "retry", "failed", "held"]
    """``retry``: failed, another attempt is scheduled; ``failed``: no more attempts;
    ``held``: the destination was disabled by this answer and the delivery waits."""
    status_code: int | None
    error: str | None
    response: str | None
