"""Vonage SMS API: inbound SMS (and delivery receipts) by webhook.

Vonage calls the inbound URL with GET (query parameters), POST form, or POST JSON (a
flat object), whichever the account is set to. The parameters read:

``msisdn`` (sender) and ``to`` (receiving number), both international without ``+``;
``messageId``; ``type`` (``text``, ``unicode`` or ``binary``); ``text``;
``message-timestamp`` (when Vonage first pushed it, UTC); for ``binary``, ``data`` and
``udh`` (hex). ``keyword``, ``nonce``, ``api-key`` and the rest stay only in ``raw``.

Vonage does **not** join the parts of a long message: each part arrives in its own
request with ``concat=true``, ``concat-ref``, ``concat-total`` and ``concat-part``. Each
is emitted as an :class:`InboundText` whose :class:`Segment` carries them, and the engine
joins the parts (in any order) into one message. A binary part without the ``concat``
parameters is placed by the concatenation element of its ``udh``, if it has one. A
binary message's content is the hex of ``data``, flagged ``binary``.

A delivery receipt sent to the same URL (``status`` and ``err-code``, no ``type`` or
``text``) is emitted as an :class:`InboundStatus` about ``messageId``. A request with no
parameters at all (Vonage's dashboard checking that the URL answers) is answered at
once and emits nothing.

Authenticity (Vonage "signed webhooks"): the ``sig`` parameter is the hex signature of
the other parameters sorted by name, each ``&`` and ``=`` in a value replaced by ``_``,
joined as ``&name=value...``; with the default ``md5hash`` method it is MD5(that string
+ signature secret), otherwise HMAC-MD5/SHA1/SHA256/SHA512 of it under the signature
secret (``signature_method`` must match the account's setting). A missing or wrong
``sig`` is answered 401; then the signed ``timestamp`` must be within ``tolerance``
seconds of now, or the answer is 403. Nothing is emitted when a check fails.

The answer is ``204 No Content`` once the item is committed (or known already: Vonage
resends for 24 hours until it gets a 200 or 204, and the engine drops the repeat).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Literal, TypeAlias
from urllib.parse import urlencode

import msgspec

from engine.plugin_api import (
    InboundStatus,
    InboundText,
    IngestResult,
    Segment,
    WebhookRequest,
    WebhookResponse,
    parse_form,
    signing,
)

from ._webhook_common import (
    PayloadError,
    RedactedConfig,
    WebhookCarrierBase,
    required,
    unauthorized,
)
from ._webhook_common2 import (
    check_tolerance,
    hex_signature_matches,
    international_number,
    parse_time,
    timestamp_refusal,
)

__all__ = ["SignatureMethod", "VonageCarrier", "VonageConfig", "vonage_signature"]

SignatureMethod: TypeAlias = Literal["md5hash", "md5", "sha1", "sha256", "sha512"]
"""``md5hash``: MD5 of the parameters and the secret (Vonage's legacy default); the
others: HMAC with that hash function, keyed with the signature secret."""

_NO_CONTENT = WebhookResponse(status=204)
_ENCODINGS: dict[str, Literal["gsm7", "ucs2"]] = {"text": "gsm7", "unicode": "ucs2"}
_IEI_CONCAT_8BIT = 0x00
_IEI_CONCAT_16BIT = 0x08


class VonageConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one Vonage SMS API carrier instance."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"signature_secret"})

    signature_secret: str | None = None
    """The account's signature secret (Dashboard, API settings), for signed webhooks."""
    signature_method: SignatureMethod = "md5hash"
    """The signature method chosen in the dashboard."""
    tolerance: float = 300.0
    """How far, in seconds, the signed ``timestamp`` may be from now, either way."""
    verify: bool = True
    """Check signatures; turn off only behind something else that authenticates Vonage."""

    def __post_init__(self) -> None:
        check_tolerance(self.tolerance)
        if self.signature_secret == "":
            raise ValueError("signature_secret must not be empty")
        if self.verify and self.signature_secret is None:
            raise ValueError(
                "signature_secret is required unless verify is false "
                "(turn on signed webhooks for the account)"
            )


def vonage_signature(params: dict[str, str], secret: str, method: SignatureMethod) -> str:
    """The hex ``sig`` of ``params`` (any ``sig`` among them is left out)."""
    signed = "".join(
        f"&{name}={params[name].replace('&', '_').replace('=', '_')}"
        for name in sorted(params)
        if name != "sig"
    )
    if method == "md5hash":
        return signing.md5_digest(signed + secret).hex()
    return signing.hmac_digest(method, secret, signed).hex()


class VonageCarrier(WebhookCarrierBase[VonageConfig]):
    """Vonage's SMS API inbound webhook; see the module docstring."""

    Config: ClassVar[type[VonageConfig]] = VonageConfig
    methods: ClassVar[tuple[str, ...]] = ("GET", "POST")

    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """401 unless ``sig`` matches; 403 for a stale ``timestamp``; 400 for parameters
        that cannot be read."""
        # The signature covers the parameters, so they are read first: unreadable is a 400.
        params = _parameters(request)
        if not params:
            return None  # the dashboard checking the URL: nothing signed, nothing emitted
        secret = self.config.signature_secret
        assert secret is not None  # the config requires it when verifying
        received = params.get("sig")
        if not received:
            return unauthorized("missing sig parameter: are signed webhooks on for the account?")
        expected = vonage_signature(params, secret, self.config.signature_method)
        if not hex_signature_matches(expected, received):
            return unauthorized("sig does not match the parameters")
        return timestamp_refusal(params.get("timestamp"), self.config.tolerance, "timestamp")

    def inbound_items(self, request: WebhookRequest) -> list[InboundText | InboundStatus]:
        """The message part or receipt; nothing for a request without parameters."""
        params = _parameters(request)
        if not params:
            return []
        raw = request.body if request.body.strip() else urlencode(request.query).encode()
        return [self._inbound_item(params, raw)]

    def answer(self, results: list[IngestResult]) -> WebhookResponse:
        """204, which stops Vonage's resending."""
        return _NO_CONTENT

    def _inbound_item(self, params: dict[str, str], raw: bytes) -> InboundText | InboundStatus:
        sender, number, message_id = required(params, "msisdn", "to", "messageId")
        if not (sender and number and message_id):
            raise PayloadError("msisdn, to and messageId must not be empty")
        kind = params.get("type")
        if kind is None and "text" not in params and "status" in params:
            return InboundStatus(
                carrier=self.name,
                number=international_number(number),
                refers_to=message_id,
                status=params["status"],
                error_code=params.get("err-code"),
                reported_at=_scts_time(params.get("scts")),
                raw=raw,
            )
        segment = _concat_segment(params)
        flags: tuple[Literal["binary"], ...] = ()
        encoding: Literal["gsm7", "ucs2", "8bit"]
        if kind == "binary":
            data, udh = _hex(params, "data"), _hex(params, "udh", optional=True)
            text, encoding, flags = data.hex(), "8bit", ("binary",)
            segment = segment or _udh_segment(udh)
        elif kind is None or kind in _ENCODINGS:
            (text,) = required(params, "text")
            encoding = _ENCODINGS[kind or "text"]
        else:
            raise PayloadError(f"unknown type {kind!r}: expected text, unicode or binary")
        return InboundText(
            carrier=self.name,
            number=international_number(number),
            sender=international_number(sender),
            text=text,
            carrier_message_id=message_id,
            received_at=parse_time(params.get("message-timestamp")),
            segment=segment,
            encoding=encoding,
            flags=flags,
            raw=raw,
        )


def _parameters(request: WebhookRequest) -> dict[str, str]:
    """The parameters Vonage sent: a POST's JSON or form body, else the query."""
    body = request.body
    if request.method == "POST" and body.strip():
        content_type = (request.header("content-type") or "").lower()
        if "json" in content_type or body.lstrip().startswith(b"{"):
            return _json_parameters(body)
        try:
            pairs = parse_form(body)
        except ValueError as exc:
            raise PayloadError(f"the body is not a form: {exc}") from None
    else:
        pairs = list(request.query)
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            # The signature covers one value per name: a repeat makes it ambiguous.
            raise PayloadError(f"parameter {name!r} appears more than once")
        params[name] = value
    return params


def _json_parameters(body: bytes) -> dict[str, str]:
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise PayloadError(f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError("the JSON body is not an object")
    params: dict[str, str] = {}
    for name, value in document.items():
        if isinstance(value, bool):  # before int: bool is an int
            params[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            params[name] = str(value)
        elif value is not None:
            raise PayloadError(f"parameter {name!r} is not a string or a number")
    return params


def _hex(params: dict[str, str], name: str, *, optional: bool = False) -> bytes:
    if optional and name not in params:
        return b""
    (value,) = required(params, name)
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise PayloadError(f"{name} is not hex") from None


def _bounded_int(params: dict[str, str], name: str, low: int, high: int) -> int:
    (value,) = required(params, name)
    try:
        number = int(value)
    except ValueError:
        raise PayloadError(f"{name} is not a number") from None
    if not low <= number <= high:
        raise PayloadError(f"{name} is {number}, outside {low}..{high}")
    return number


def _concat_segment(params: dict[str, str]) -> Segment | None:
    if params.get("concat", "").lower() != "true":
        return None
    reference = _bounded_int(params, "concat-ref", 0, 0xFFFF)
    total = _bounded_int(params, "concat-total", 1, 255)
    seq = _bounded_int(params, "concat-part", 1, total)
    # The network's reference is 8 or 16 bits; Vonage gives only the value.
    bits: Literal[8, 16] = 16 if reference > 0xFF else 8
    return Segment(reference=reference, reference_bits=bits, total=total, seq=seq)


def _udh_segment(udh: bytes) -> Segment | None:
    """The concatenation element of a User Data Header (with or without its length
    octet), or None when it has none or cannot be read."""
    elements = udh[1:] if udh and udh[0] == len(udh) - 1 else udh
    at = 0
    while at + 2 <= len(elements):
        iei, length = elements[at], elements[at + 1]
        data = elements[at + 2 : at + 2 + length]
        if len(data) < length:
            return None
        bits: Literal[8, 16]
        if iei == _IEI_CONCAT_8BIT and length == 3:
            bits, reference = 8, data[0]
        elif iei == _IEI_CONCAT_16BIT and length == 4:
            bits, reference = 16, int.from_bytes(data[:2], "big")
        else:
            at += 2 + length
            continue
        total, seq = data[-2], data[-1]
        if not 1 <= seq <= total:
            return None  # a reserved value: the part is kept whole rather than misplaced
        return Segment(reference=reference, reference_bits=bits, total=total, seq=seq)
    return None


def _scts_time(value: str | None) -> datetime | None:
    """A receipt's ``scts`` (``YYMMDDHHMM``, UTC), or None."""
    try:
        return datetime.strptime(value or "", "%y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
