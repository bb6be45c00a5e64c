"""SMS Gateway for Android (github.com/capcom6/android-sms-gateway): inbound SMS by webhook.

The app on a phone POSTs one JSON event per webhook registration and event::

    {"id": "Ey6ECgOkVVFjz3CL48B8C", "webhookId": "...", "deviceId": "ffff...",
     "event": "sms:received",
     "payload": {"messageId": "abc123", "message": "Your code is 123456",
                 "sender": "+16505551212", "phoneNumber": "+16505551212",
                 "recipient": "+16505550000", "simNumber": 1,
                 "receivedAt": "2024-06-22T15:46:11.000+07:00"}}

Read (the app's ``SmsEventPayload`` and the docs' "Webhooks" page):

* ``sms:received``: the text ``message`` from ``sender`` (app versions before it was
  added send only ``phoneNumber``, which is the same), received at ``receivedAt`` (the
  phone's time, with its offset);
* ``sms:data-received``: a data SMS, ``data`` in base64; its content is the hex of the
  bytes, flagged ``binary``;
* ``sms:batch:received`` and ``sms:batch:data-received``: ``payload.messages``, a list of
  the above, each emitted in order.

Every other event (``sms:sent``, ``sms:delivered``, ``system:ping``, MMS...) is answered
200 without emitting anything. The phone joins a long message's parts itself.

The receiving number is ``sim_numbers[str(simNumber)]`` when configured (slots count
from 1), else the ``recipient`` the app reports (the SIM's own number, which phones
often do not know), else ``number``. The app's ``messageId`` is a 32-bit hash of the
message and "not guaranteed to be unique", so the carrier's id is ``messageId`` joined
with ``receivedAt`` as sent: the same for the app's retries and re-exports of one
message, distinct for two messages that happen to hash alike.

Authenticity (the app's ``PayloadSingingPlugin`` and the docs' "Payload Signing"):
``X-Signature`` is the hex HMAC-SHA256, under the signing key from the app's Settings >
Webhooks, of the raw body followed by the ``X-Timestamp`` value (Unix seconds). A
missing or wrong signature is answered 401; a genuine one whose timestamp is more than
``tolerance`` seconds from now, 403. Nothing is emitted when a check fails.

The answer is 200 once every message is committed (or known already); the app retries
anything else with backoff. Messages the app sends end-to-end encrypted arrive as the
ciphertext: the adapter does not decrypt them.
"""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar, Literal

import msgspec

from engine.plugin_api import (
    InboundText,
    WebhookRequest,
    WebhookResponse,
    signing,
)

from ._webhook_common import (
    PayloadError,
    RedactedConfig,
    WebhookCarrierBase,
    decode_json,
    unauthorized,
)
from ._webhook_common2 import (
    check_tolerance,
    hex_signature_matches,
    parse_time,
    timestamp_refusal,
)

__all__ = ["AndroidGatewayCarrier", "AndroidGatewayConfig", "android_gateway_signature"]

_SIGNATURE_HEADER = "x-signature"
_TIMESTAMP_HEADER = "x-timestamp"
_TEXT_EVENTS = frozenset({"sms:received", "sms:batch:received"})
_DATA_EVENTS = frozenset({"sms:data-received", "sms:batch:data-received"})
_BATCH_EVENTS = frozenset({"sms:batch:received", "sms:batch:data-received"})


class AndroidGatewayConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one phone running SMS Gateway for Android."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"signing_key"})

    number: str
    """The phone's number: the receiving number when nothing better is known."""
    sim_numbers: dict[str, str] = msgspec.field(default_factory=dict)
    """SIM slot (``"1"``, ``"2"``) -> that SIM's number, for a dual-SIM phone."""
    signing_key: str | None = None
    """The signing key from the app's Settings > Webhooks."""
    tolerance: float = 300.0
    """How far, in seconds, ``X-Timestamp`` may be from now, either way."""
    verify: bool = True
    """Check signatures; turn off only behind something else that authenticates the phone."""

    def __post_init__(self) -> None:
        check_tolerance(self.tolerance)
        if not self.number:
            raise ValueError("number must not be empty")
        if self.signing_key == "":
            raise ValueError("signing_key must not be empty")
        if self.verify and self.signing_key is None:
            raise ValueError("signing_key is required unless verify is false")


def android_gateway_signature(signing_key: str, body: bytes, timestamp: str) -> str:
    """The ``X-Signature`` of a request (hex)."""
    return signing.hmac_digest("sha256", signing_key, body + timestamp.encode()).hex()


class _Event(msgspec.Struct, frozen=True):
    event: str
    payload: msgspec.Raw = msgspec.Raw(b"null")


class _Batch(msgspec.Struct, frozen=True):
    messages: list[msgspec.Raw]


class _Received(msgspec.Struct, frozen=True, rename="camel"):
    message_id: str
    received_at: str
    message: str | None = None
    data: str | None = None
    sender: str | None = None
    phone_number: str | None = None
    recipient: str | None = None
    sim_number: int | None = None


_event_decoder = msgspec.json.Decoder(_Event)
_batch_decoder = msgspec.json.Decoder(_Batch)
_received_decoder = msgspec.json.Decoder(_Received)


class AndroidGatewayCarrier(WebhookCarrierBase[AndroidGatewayConfig]):
    """A phone running SMS Gateway for Android; see the module docstring."""

    Config: ClassVar[type[AndroidGatewayConfig]] = AndroidGatewayConfig

    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """401 unless ``X-Signature`` matches; 403 for a stale timestamp."""
        key = self.config.signing_key
        assert key is not None  # the config requires it when verifying
        received = request.header(_SIGNATURE_HEADER)
        timestamp = request.header(_TIMESTAMP_HEADER)
        if not received or not timestamp:
            return unauthorized("missing X-Signature or X-Timestamp header")
        expected = android_gateway_signature(key, request.body, timestamp)
        if not hex_signature_matches(expected, received):
            return unauthorized("X-Signature does not match the request")
        return timestamp_refusal(timestamp, self.config.tolerance, "X-Timestamp")

    def inbound_items(self, request: WebhookRequest) -> list[InboundText]:
        """The event's messages, in order; none for an event that is not a message."""
        body = request.body
        event = decode_json(_event_decoder, body)
        if event.event not in _TEXT_EVENTS | _DATA_EVENTS:
            return []
        if event.event not in _BATCH_EVENTS:
            return [self._inbound_text(bytes(event.payload), event.event, body, "payload")]
        try:
            messages = decode_json(_batch_decoder, bytes(event.payload)).messages
        except PayloadError as exc:
            raise PayloadError(f"payload: {exc}") from None
        return [
            self._inbound_text(raw, event.event, raw, f"payload.messages[{index}]")
            for index, raw in enumerate(map(bytes, messages))
        ]

    def _inbound_text(self, payload: bytes, event: str, raw: bytes, where: str) -> InboundText:
        try:
            received = decode_json(_received_decoder, payload)
        except PayloadError as exc:
            raise PayloadError(f"{where}: {exc}") from None
        sender = received.sender or received.phone_number
        if not sender or not received.message_id:
            raise PayloadError(f"{where} has no sender (or phoneNumber) or no messageId")
        encoding: Literal["8bit", "text"] = "text"
        flags: tuple[Literal["binary"], ...] = ()
        if event in _DATA_EVENTS:
            encoding, flags = "8bit", ("binary",)
            text = _base64_hex(received.data, where)
        elif received.message is None:
            raise PayloadError(f"{where} has no message")
        else:
            text = received.message
        return InboundText(
            carrier=self.name,
            number=self._receiving_number(received),
            sender=sender,
            text=text,
            carrier_message_id=f"{received.message_id}@{received.received_at}",
            received_at=parse_time(received.received_at),
            encoding=encoding,
            flags=flags,
            raw=raw,
        )

    def _receiving_number(self, received: _Received) -> str:
        if received.sim_number is not None:
            configured = self.config.sim_numbers.get(str(received.sim_number))
            if configured:
                return configured
        return received.recipient or self.config.number


def _base64_hex(data: str | None, where: str) -> str:
    if data is None:
        raise PayloadError(f"{where} has no data")
    try:
        return base64.b64decode(data, validate=True).hex()
    except binascii.Error:
        raise PayloadError(f"{where}: data is not base64") from None
