"""Septet's own inbound format: for gateways, scripts and custom integrations.

POST one message or a list of them as JSON, signed the `Standard Webhooks`_ way::

    {"id": "gw-8812",                      # the sender's id for the message (required)
     "from": "+15557654321",               # the sender: a number or alphanumeric (required)
     "to": "+15550100001",                 # the receiving number (required)
     "text": "Your code is 123456",        # the decoded text (required)
     "receivedAt": "2026-05-01T12:00:00Z", # when the gateway received it (optional)
     "sentAt": "2026-05-01T11:59:58+02:00",# when the sender's network stamped it (optional)
     "segment": {"reference": 42, "total": 3, "seq": 1}}   # one part of a long text (optional)

Times are RFC 3339 (a time without an offset is read as UTC). ``segment`` sends the
parts of a long message separately, in any order: ``reference`` (0-65535, the same for
every part of one message), ``total`` (1-255), ``seq`` (1..total) and optionally
``referenceBits`` (8 or 16; by default 16 when ``reference`` is above 255). The engine
joins the parts. An unknown key is refused (400): it is most likely a typo.

Authenticity: the headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under a ``whsec_`` secret;
any Standard Webhooks library produces them). Several configured ``secrets`` are all
accepted, for rotation. A missing or wrong signature is answered 401; a genuine one whose
timestamp is more than ``tolerance`` seconds from now, 403. Nothing is emitted then.

Once every message is committed (or known already: a retry is deduplicated on ``id``)
the answer is 200 with, for each message in order, what became of it::

    {"results": [{"outcome": "committed", "messageId": "msg_..."}]}

``outcome`` is ``committed``, ``buffered`` (a part waiting for the rest) or
``duplicate``; ``messageId`` is the inbox id when known, else null.

.. _Standard Webhooks: https://www.standardwebhooks.com/
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

import msgspec

from engine.plugin_api import (
    InboundText,
    IngestResult,
    Segment,
    SignatureError,
    TimestampToleranceError,
    WebhookRequest,
    WebhookResponse,
    signing,
)

from ._webhook_common import (
    PayloadError,
    RedactedConfig,
    WebhookCarrierBase,
    decode_json,
    stale_signature,
    unauthorized,
)
from ._webhook_common2 import check_tolerance

__all__ = ["GenericCarrier", "GenericConfig"]

_JSON = "application/json"


class GenericConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one generic JSON carrier instance."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"secrets"})

    secrets: tuple[str, ...] = ()
    """Standard Webhooks secrets (``whsec_`` + base64); any of them may sign a request."""
    tolerance: float = 300.0
    """How far, in seconds, ``webhook-timestamp`` may be from now, either way."""
    verify: bool = True
    """Check signatures; turn off only behind something else that authenticates senders."""

    def __post_init__(self) -> None:
        check_tolerance(self.tolerance)
        if self.verify and not self.secrets:
            raise ValueError("secrets must list at least one secret unless verify is false")
        if self.secrets:
            try:
                signing.sign(self.secrets, "check", 0, b"")
            except SignatureError:
                # Which secret is not said: the message lands in logs.
                raise ValueError("every secret must be whsec_ followed by base64") from None


class _Segment(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    reference: int
    total: int
    seq: int
    reference_bits: Literal[8, 16] | None = None


class _Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    id: str
    from_: str = msgspec.field(name="from")
    to: str
    text: str
    received_at: datetime | None = None
    sent_at: datetime | None = None
    segment: _Segment | None = None


class _Result(msgspec.Struct, frozen=True, rename="camel"):
    outcome: str
    message_id: str | None


class _Answer(msgspec.Struct, frozen=True):
    results: list[_Result]


_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_message_decoder = msgspec.json.Decoder(_Message)
_encode = msgspec.json.Encoder().encode


class GenericCarrier(WebhookCarrierBase[GenericConfig]):
    """Septet's generic JSON webhook; see the module docstring."""

    Config: ClassVar[type[GenericConfig]] = GenericConfig

    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """401 unless a configured secret signed the request; 403 for a stale timestamp."""
        try:
            signing.verify_headers(
                self.config.secrets, request.headers, request.body, tolerance=self.config.tolerance
            )
        except TimestampToleranceError:
            return stale_signature(
                f"webhook-timestamp is more than {self.config.tolerance:g} seconds from now"
            )
        except SignatureError as exc:
            return unauthorized(str(exc))
        return None

    def inbound_items(self, request: WebhookRequest) -> list[InboundText]:
        """The message, or each message of a list, in order."""
        body = request.body
        if body.lstrip().startswith(b"["):
            raws = decode_json(_list_decoder, body)
            return [self._inbound_text(bytes(raw), f"item {i}: ") for i, raw in enumerate(raws)]
        return [self._inbound_text(body, "")]

    def answer(self, results: list[IngestResult]) -> WebhookResponse:
        """200 with each message's outcome, in order."""
        answer = _Answer(results=[_result(result) for result in results])
        return WebhookResponse(content_type=_JSON, body=_encode(answer))

    def _inbound_text(self, raw: bytes, where: str) -> InboundText:
        try:
            message = decode_json(_message_decoder, raw)
        except PayloadError as exc:
            raise PayloadError(f"{where}{exc}") from None
        if not (message.id and message.from_ and message.to):
            raise PayloadError(f"{where}id, from and to must not be empty")
        return InboundText(
            carrier=self.name,
            number=message.to,
            sender=message.from_,
            text=message.text,
            carrier_message_id=message.id,
            sent_at=message.sent_at,
            received_at=message.received_at,
            segment=_segment(message.segment, where),
            raw=raw,
        )


def _segment(segment: _Segment | None, where: str) -> Segment | None:
    if segment is None:
        return None
    if not 0 <= segment.reference <= 0xFFFF:
        raise PayloadError(f"{where}segment.reference must be 0 to 65535")
    if not 1 <= segment.total <= 255:
        raise PayloadError(f"{where}segment.total must be 1 to 255")
    if not 1 <= segment.seq <= segment.total:
        raise PayloadError(f"{where}segment.seq must be 1 to segment.total")
    bits = segment.reference_bits or (16 if segment.reference > 0xFF else 8)
    if bits == 8 and segment.reference > 0xFF:
        raise PayloadError(f"{where}segment.reference does not fit in 8 bits")
    return Segment(
        reference=segment.reference, reference_bits=bits, total=segment.total, seq=segment.seq
    )


def _result(result: IngestResult) -> _Result:
    return _Result(
        outcome=result.outcome,
        message_id=result.message.id if result.message is not None else None,
    )
