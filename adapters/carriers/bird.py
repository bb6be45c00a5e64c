"""Bird (formerly MessageBird) Channels API: inbound SMS by webhook.

Bird POSTs one JSON event per notification to a webhook subscription's URL::

    {"service": "channels", "event": "sms.inbound",
     "payload": {"id": "96a0b5fa-...", "channelId": "614208aa-...",
                 "sender": {"contact": {"identifierKey": "phonenumber",
                                        "identifierValue": "+31612345678"}},
                 "receiver": {"connector": {"id": "86cc4dc0-...",
                                            "identifierValue": "+3197010260150"}},
                 "body": {"type": "text", "text": {"text": "Your code is 123456"}},
                 "direction": "incoming", "createdAt": "2022-12-22T08:32:50.736Z", ...}}

Only ``sms.inbound`` events are messages; every other event (``sms.outbound``,
interactions, other channels) is answered 200 without emitting anything. Of an inbound
message, the adapter reads exactly:

* ``payload.id``: the carrier's message id (retries are deduplicated on it);
* ``payload.sender.contact.identifierValue``: the sender (required);
* the receiving number: ``channel_numbers[payload.channelId]`` when configured, else
  ``payload.receiver.connector.identifierValue``, else the first
  ``payload.receiver.contacts[].identifierValue``, else ``number``; a message none of
  these names is refused (400) rather than stored under a guessed number;
* ``payload.body.text.text`` when ``payload.body.type`` is ``text``; another body type
  (an image or a file: MMS) is refused with 400, naming it;
* ``payload.createdAt``: when Bird received it.

Unknown fields are ignored and the whole event is kept in ``raw``.

Authenticity: ``messagebird-signature`` is base64(HMAC-SHA256(signing key,
``{messagebird-request-timestamp}\\n{URL}\\n{SHA-256 of the body, raw 32 bytes}``)),
where the URL is the one Bird called (Bird's "verifying a webhook" guide). A missing or
wrong signature is answered 401; a genuine one whose timestamp is more than
``tolerance`` seconds from now, 403. Nothing is emitted when a check fails. The legacy
MessageBird ``MessageBird-Signature-JWT`` scheme is not accepted.

The answer is 200 once the message is committed (or known already).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import ClassVar

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
from ._webhook_common2 import check_tolerance, parse_time, timestamp_refusal

__all__ = ["BirdCarrier", "BirdConfig", "bird_signature"]

_SIGNATURE_HEADER = "messagebird-signature"
_TIMESTAMP_HEADER = "messagebird-request-timestamp"
_INBOUND_EVENT = "sms.inbound"


class BirdConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one Bird carrier instance."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"signing_key"})

    signing_key: str | None = None
    """The webhook subscription's signing key."""
    number: str | None = None
    """The receiving number when the event does not name one."""
    channel_numbers: dict[str, str] = msgspec.field(default_factory=dict)
    """Channel id -> its number, preferred over what the event says."""
    tolerance: float = 300.0
    """How far, in seconds, ``messagebird-request-timestamp`` may be from now, either way."""
    verify: bool = True
    """Check signatures; turn off only behind something else that authenticates Bird."""

    def __post_init__(self) -> None:
        check_tolerance(self.tolerance)
        if self.signing_key == "":
            raise ValueError("signing_key must not be empty")
        if self.verify and self.signing_key is None:
            raise ValueError("signing_key is required unless verify is false")


def bird_signature(signing_key: str, timestamp: str, url: str, body: bytes) -> str:
    """The ``messagebird-signature`` of a request (base64)."""
    # A plain SHA-256 of the body, not a MAC: hashlib is the standard library's own.
    signed = b"\n".join((timestamp.encode(), url.encode(), hashlib.sha256(body).digest()))
    return base64.b64encode(signing.hmac_digest("sha256", signing_key, signed)).decode("ascii")


class _Event(msgspec.Struct, frozen=True):
    event: str
    payload: msgspec.Raw = msgspec.Raw(b"null")


class _Identifier(msgspec.Struct, frozen=True, rename="camel"):
    identifier_value: str | None = None


class _Party(msgspec.Struct, frozen=True):
    contact: _Identifier | None = None
    connector: _Identifier | None = None
    contacts: list[_Identifier] = msgspec.field(default_factory=list)


class _Text(msgspec.Struct, frozen=True):
    text: str


class _Body(msgspec.Struct, frozen=True):
    type: str
    text: _Text | None = None


class _Message(msgspec.Struct, frozen=True, rename="camel"):
    id: str
    sender: _Party
    body: _Body
    channel_id: str | None = None
    receiver: _Party | None = None
    created_at: str | None = None


_event_decoder = msgspec.json.Decoder(_Event)
_message_decoder = msgspec.json.Decoder(_Message)


class BirdCarrier(WebhookCarrierBase[BirdConfig]):
    """Bird's channels webhook for SMS; see the module docstring."""

    Config: ClassVar[type[BirdConfig]] = BirdConfig

    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """401 unless ``messagebird-signature`` matches; 403 for a stale timestamp."""
        key = self.config.signing_key
        assert key is not None  # the config requires it when verifying
        received = request.header(_SIGNATURE_HEADER)
        timestamp = request.header(_TIMESTAMP_HEADER)
        if not received or not timestamp:
            return unauthorized(f"missing {_SIGNATURE_HEADER} or {_TIMESTAMP_HEADER} header")
        try:
            signature = base64.b64decode(received.strip(), validate=True)
        except binascii.Error:
            return unauthorized(f"{_SIGNATURE_HEADER} is not base64")
        expected = base64.b64decode(bird_signature(key, timestamp, request.url, request.body))
        if not signing.constant_time_equal(expected, signature):
            return unauthorized(f"{_SIGNATURE_HEADER} does not match the request")
        return timestamp_refusal(timestamp, self.config.tolerance, _TIMESTAMP_HEADER)

    def inbound_items(self, request: WebhookRequest) -> list[InboundText]:
        """An ``sms.inbound`` event's message; nothing for another event."""
        body = request.body
        event = decode_json(_event_decoder, body)
        if event.event != _INBOUND_EVENT:
            return []
        message = decode_json(_message_decoder, bytes(event.payload))
        sender = message.sender.contact.identifier_value if message.sender.contact else None
        if not sender:
            raise PayloadError("payload.sender.contact.identifierValue is missing")
        if message.body.type != "text" or message.body.text is None:
            raise PayloadError(f"payload.body.type {message.body.type!r} is not an SMS text")
        return [
            InboundText(
                carrier=self.name,
                number=self._receiving_number(message),
                sender=sender,
                text=message.body.text.text,
                carrier_message_id=message.id,
                received_at=parse_time(message.created_at),
                raw=body,
            )
        ]

    def _receiving_number(self, message: _Message) -> str:
        configured = self.config.channel_numbers.get(message.channel_id or "")
        receiver = message.receiver or _Party()
        candidates = [
            configured,
            receiver.connector.identifier_value if receiver.connector else None,
            *(contact.identifier_value for contact in receiver.contacts),
            self.config.number,
        ]
        number = next((candidate for candidate in candidates if candidate), None)
        if number is None:
            raise PayloadError(
                "the event names no receiving number; set number or channel_numbers "
                f"(channel {message.channel_id!r})"
            )
        return number
