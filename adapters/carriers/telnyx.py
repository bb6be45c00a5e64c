"""Telnyx Messaging: inbound SMS and MMS by webhook (API v2 events).

Telnyx POSTs a JSON event for everything that happens to a messaging profile::

    {"data": {"event_type": "message.received", "id": "...", "occurred_at": "...",
              "payload": {"id": "<message id>", "from": {"phone_number": "+1..."},
                          "to": [{"phone_number": "+1..."}], "text": "...",
                          "encoding": "GSM-7", "parts": 1, "received_at": "..."}}}

Only ``message.received`` events are messages: each is emitted as one
:class:`InboundText` (Telnyx joins a long message's segments itself; ``parts`` is
information only). Every other event type (``message.sent``, ``message.finalized``...)
is answered 200 without emitting anything, so Telnyx does not retry it.

Authenticity: ``telnyx-signature-ed25519`` is the base64 Ed25519 signature of
``"{telnyx-timestamp}|{raw body}"`` under the account's public key (Mission Control,
Keys & Credentials). The signature is checked first (missing or wrong: 401), then the
timestamp: a genuine request more than ``tolerance`` seconds from now either way (a
replay, or a clock that is off) is answered 403. Nothing is emitted when a check fails.

Telnyx wants an answer within 2 seconds; it is a bare 200, sent once the message is
committed (or known already: a retry).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import ClassVar, Literal

import msgspec

from engine.plugin_api import (
    InboundText,
    SignatureError,
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
from ._webhook_common2 import check_tolerance, timestamp_refusal

__all__ = ["TelnyxCarrier", "TelnyxConfig"]

_SIGNATURE_HEADER = "telnyx-signature-ed25519"
_TIMESTAMP_HEADER = "telnyx-timestamp"
_MESSAGE_EVENT = "message.received"
_ENCODINGS: dict[str, Literal["gsm7", "ucs2"]] = {"GSM-7": "gsm7", "UCS-2": "ucs2"}


def _public_key_bytes(public_key: str) -> bytes:
    try:
        key = base64.b64decode(public_key, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise ValueError("public_key is not base64") from None
    if len(key) != 32:
        raise ValueError(f"public_key is {len(key)} bytes once decoded, not 32")
    try:
        signing.ed25519_verify(key, b"", bytes(64))  # refuses a key that is no usable point
    except SignatureError:
        raise ValueError("public_key is not a usable Ed25519 public key") from None
    return key


class TelnyxConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one Telnyx carrier instance."""

    public_key: str | None = None
    """The account's Ed25519 public key, base64 (32 bytes), as Mission Control shows it."""
    tolerance: float = 300.0
    """How far, in seconds, ``telnyx-timestamp`` may be from now, either way."""
    verify: bool = True
    """Check signatures; turn off only behind something else that authenticates Telnyx."""

    def __post_init__(self) -> None:
        if self.public_key is not None:
            _public_key_bytes(self.public_key)
        elif self.verify:
            raise ValueError("public_key is required unless verify is false")
        check_tolerance(self.tolerance)


class _EventKind(msgspec.Struct, frozen=True):
    event_type: str


class _Envelope(msgspec.Struct, frozen=True):
    data: _EventKind


class _Endpoint(msgspec.Struct, frozen=True):
    phone_number: str


class _Message(msgspec.Struct, frozen=True):
    id: str
    from_: _Endpoint = msgspec.field(name="from")
    to: list[_Endpoint]
    text: str | None = None
    encoding: str | None = None
    received_at: datetime | None = None


class _MessageEvent(msgspec.Struct, frozen=True):
    payload: _Message


class _MessageEnvelope(msgspec.Struct, frozen=True):
    data: _MessageEvent


# Two passes: the event type says whether to read the payload as a message at all.
_envelope_decoder = msgspec.json.Decoder(_Envelope)
_message_decoder = msgspec.json.Decoder(_MessageEnvelope)


class TelnyxCarrier(WebhookCarrierBase[TelnyxConfig]):
    """Telnyx's messaging webhook; see the module docstring."""

    Config: ClassVar[type[TelnyxConfig]] = TelnyxConfig

    def __init__(self, name: str, config: TelnyxConfig) -> None:
        super().__init__(name, config)
        self._public_key = (
            _public_key_bytes(config.public_key) if config.public_key is not None else None
        )

    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """401 unless ``telnyx-signature-ed25519`` matches; 403 for a stale timestamp."""
        assert self._public_key is not None  # the config requires it when verifying
        signature_text = request.header(_SIGNATURE_HEADER)
        timestamp = request.header(_TIMESTAMP_HEADER)
        if not signature_text or not timestamp:
            return unauthorized("missing telnyx-signature-ed25519 or telnyx-timestamp header")
        try:
            signature = base64.b64decode(signature_text.strip(), validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text
            signature = b""
        # Unix seconds in ASCII digits: int() alone would take "1_700" or other scripts' digits.
        if not signature or not (timestamp.isascii() and timestamp.isdigit()):
            return unauthorized("telnyx-timestamp or telnyx-signature-ed25519 is malformed")
        signed = timestamp.encode("ascii") + b"|" + request.body
        try:
            genuine = signing.ed25519_verify(self._public_key, signed, signature)
        except SignatureError:
            genuine = False  # a signature that is not 64 bytes
        if not genuine:
            return unauthorized("telnyx-signature-ed25519 does not match the request")
        # Checked after the signature, so a 403 always means an authentic but stale request.
        return timestamp_refusal(timestamp, self.config.tolerance, _TIMESTAMP_HEADER)

    def inbound_items(self, request: WebhookRequest) -> list[InboundText]:
        """A ``message.received`` event's message; nothing for another event."""
        body = request.body
        if decode_json(_envelope_decoder, body).data.event_type != _MESSAGE_EVENT:
            return []
        message = decode_json(_message_decoder, body).data.payload
        if not message.to:
            raise PayloadError("unexpected payload: `$.data.payload.to` is empty")
        if not message.id or not message.from_.phone_number or not message.to[0].phone_number:
            raise PayloadError("the message id and the phone numbers must not be empty")
        return [
            InboundText(
                carrier=self.name,
                number=message.to[0].phone_number,
                sender=message.from_.phone_number,
                text=message.text or "",
                carrier_message_id=message.id,
                received_at=message.received_at,
                encoding=_ENCODINGS.get(message.encoding or "", "text"),
                raw=body,
            )
        ]
