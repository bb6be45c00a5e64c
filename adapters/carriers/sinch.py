"""Sinch SMS (REST API): inbound messages by webhook (the service plan's callback URL).

Sinch POSTs one JSON object per inbound message, by ``type``:

* ``mo_text``: ``body`` is the text; Sinch joins a long text's segments itself.
* ``mo_binary``: ``body`` is base64 data and ``udh`` the hex user data header. The data
  is emitted as binary content (its hex, encoding ``8bit``, flagged ``binary``). When
  the header carries a concatenation element (IEI 0x00, or 0x08 with a 16-bit
  reference) the item is one :class:`Segment` of a message the engine reassembles.
* ``mo_media``: an MMS; ``body.message`` is the text (media URLs stay in ``raw``).

Sinch writes numbers (MSISDNs) in international format, with or without the ``+``; a
missing ``+`` is put back so the engine reads them as E.164 rather than as national
numbers (short codes and alphanumeric senders stay as sent).

Delivery reports (``delivery_report_*``, ``recipient_delivery_report_*``) sent to the
same URL are answered 200 and emit nothing; any other type is answered 400.

Authenticity: Sinch does not sign its callbacks. The account manager can have Sinch send
HTTP Basic credentials (``username``/``password``), and the callback URL can carry a
shared ``token`` in its query (``https://.../carriers/sinch?token=...``); configure one
or both, and every configured one must match (compared in constant time). Missing or
wrong credentials are answered 401 and nothing is emitted. A token in the URL can end up
in proxies' access logs: prefer Basic credentials when Sinch can send them.

The answer is a bare 200, sent once every item is committed (or known already: Sinch
retries 5xx and 429 answers, from 5 s and doubling, and the retry is deduplicated on
Sinch's message id).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import ClassVar

import msgspec

from engine.plugin_api import (
    InboundText,
    Segment,
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
from ._webhook_common2 import international_number

__all__ = ["SinchCarrier", "SinchConfig", "udh_concatenation"]

_REPORT_TYPES = ("delivery_report_", "recipient_delivery_report_")
_CHALLENGE = ("www-authenticate", 'Basic realm="septet", charset="UTF-8"')
_IEI_CONCAT_8, _IEI_CONCAT_16 = 0x00, 0x08


class SinchConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one Sinch carrier instance: at least one way to authenticate Sinch."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"password", "token"})

    username: str | None = None
    """The HTTP Basic user name Sinch sends (set with ``password``)."""
    password: str | None = None
    token: str | None = None
    """A shared secret the callback URL carries in its query."""
    token_parameter: str = "token"
    """The query field that holds ``token``."""
    verify: bool = True
    """Check credentials; turn off only behind something else that authenticates Sinch."""

    def __post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if "" in (self.username, self.password, self.token, self.token_parameter):
            raise ValueError("username, password, token and token_parameter must not be empty")
        if self.username is not None and ":" in self.username:
            raise ValueError("a Basic user name cannot contain ':'")
        if self.verify and self.username is None and self.token is None:
            raise ValueError("set username and password, or token, unless verify is false")


class _Kind(msgspec.Struct, frozen=True):
    type: str


class _Inbound(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    from_: str = msgspec.field(name="from")
    to: str
    received_at: datetime | None = None
    sent_at: datetime | None = None


class _Text(_Inbound, frozen=True, kw_only=True):
    body: str


class _Binary(_Inbound, frozen=True, kw_only=True):
    body: str
    udh: str = ""


class _MediaBody(msgspec.Struct, frozen=True):
    message: str | None = None


class _Media(_Inbound, frozen=True, kw_only=True):
    body: _MediaBody


# Two passes: the type says which shape to read the object as.
_kind_decoder = msgspec.json.Decoder(_Kind)
_text_decoder = msgspec.json.Decoder(_Text)
_binary_decoder = msgspec.json.Decoder(_Binary)
_media_decoder = msgspec.json.Decoder(_Media)


class SinchCarrier(WebhookCarrierBase[SinchConfig]):
    """Sinch's inbound SMS callback; see the module docstring."""

    Config: ClassVar[type[SinchConfig]] = SinchConfig

    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """401 naming what is wrong unless every configured credential matches."""
        config = self.config
        problems: list[str] = []
        if config.username is not None and config.password is not None:
            given = _basic_credentials(request.header("authorization"))
            if given is None:
                problems.append("no HTTP Basic credentials")
            else:
                # Both compared, always: how far a guess got must not show in the timing.
                same_user = signing.constant_time_equal(given[0], config.username)
                same_password = signing.constant_time_equal(given[1], config.password)
                if not (same_user & same_password):
                    problems.append("wrong HTTP Basic credentials")
        if config.token is not None:
            token = next((v for k, v in request.query if k == config.token_parameter), None)
            if token is None:
                problems.append(f"no {config.token_parameter!r} in the query")
            elif not signing.constant_time_equal(token, config.token):
                problems.append(f"wrong {config.token_parameter!r} in the query")
        if not problems:
            return None
        challenge = [_CHALLENGE] if config.username is not None else []
        return unauthorized("; ".join(problems), headers=challenge)

    def inbound_items(self, request: WebhookRequest) -> list[InboundText]:
        """The message (or segment); nothing for a delivery report."""
        item = self._inbound_text(request.body)
        return [item] if item is not None else []

    def _inbound_text(self, body: bytes) -> InboundText | None:
        kind = decode_json(_kind_decoder, body).type
        if kind == "mo_text":
            text = decode_json(_text_decoder, body)
            return self._make_text(text, text.body, body)
        if kind == "mo_media":
            media = decode_json(_media_decoder, body)
            return self._make_text(media, media.body.message or "", body)
        if kind == "mo_binary":
            binary = decode_json(_binary_decoder, body)
            data, segment = _binary_parts(binary)
            return self._make_text(binary, data.hex(), body, segment=segment, binary=True)
        if kind.startswith(_REPORT_TYPES):
            return None
        raise PayloadError(f"unsupported message type {kind!r}")

    def _make_text(
        self,
        mo: _Inbound,
        text: str,
        raw: bytes,
        *,
        segment: Segment | None = None,
        binary: bool = False,
    ) -> InboundText:
        if not mo.from_ or not mo.to or not mo.id:
            raise PayloadError("from, to and id must not be empty")
        return InboundText(
            carrier=self.name,
            number=international_number(mo.to),
            sender=international_number(mo.from_),
            text=text,
            carrier_message_id=mo.id,
            sent_at=mo.sent_at,
            received_at=mo.received_at,
            segment=segment,
            encoding="8bit" if binary else "text",
            flags=("binary",) if binary else (),
            raw=raw,
        )


def _binary_parts(mo: _Binary) -> tuple[bytes, Segment | None]:
    try:
        data = base64.b64decode(mo.body, validate=True)
    except ValueError:
        raise PayloadError("unexpected payload: `$.body` is not base64") from None
    try:
        header = bytes.fromhex(mo.udh)
    except ValueError:
        raise PayloadError("unexpected payload: `$.udh` is not hex") from None
    return data, udh_concatenation(header)


def udh_concatenation(udh: bytes) -> Segment | None:
    """Where a segment sits, from the concatenation element of a user data header.

    ``udh`` may start with its length octet (UDHL, TS 23.040 §9.2.3.24) or be the bare
    elements. An 8-bit (IEI 0x00) or 16-bit (0x08) reference element with total 0, seq 0
    or seq above total is ignored, and the last valid one wins, as the engine's own PDU
    decoder does. Raises :class:`PayloadError` for a header whose elements overrun it.
    """
    if not udh:
        return None
    elements = _udh_elements(udh[1:]) if udh[0] == len(udh) - 1 else None
    if elements is None:
        elements = _udh_elements(udh)
    if elements is None:
        raise PayloadError("unexpected payload: `$.udh` is not a user data header")
    segment: Segment | None = None
    for iei, data in elements:
        if iei == _IEI_CONCAT_8 and len(data) == 3 and 1 <= data[2] <= data[1]:
            segment = Segment(reference=data[0], reference_bits=8, total=data[1], seq=data[2])
        elif iei == _IEI_CONCAT_16 and len(data) == 4 and 1 <= data[3] <= data[2]:
            reference = int.from_bytes(data[:2], "big")
            segment = Segment(reference=reference, reference_bits=16, total=data[2], seq=data[3])
    return segment


def _udh_elements(octets: bytes) -> list[tuple[int, bytes]] | None:
    """``IEI, length, data`` elements in order; None when one overruns ``octets``."""
    elements: list[tuple[int, bytes]] = []
    at = 0
    while at < len(octets):
        if at + 1 >= len(octets):
            return None
        iei, length = octets[at], octets[at + 1]
        end = at + 2 + length
        if end > len(octets):
            return None
        elements.append((iei, octets[at + 2 : end]))
        at = end
    return elements


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """The user name and password of an ``Authorization: Basic`` header (RFC 7617)."""
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except ValueError:  # not base64, or not UTF-8
        return None
    return (user, password) if colon else None
