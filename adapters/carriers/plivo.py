"""Plivo Messaging: inbound SMS and MMS by webhook (the number's application ``message_url``).

Plivo POSTs (or GETs, if the application says so) a form for each inbound message:
``From``, ``To``, ``Text`` (``Body`` on some MMS), ``Type`` (``sms``/``mms``),
``MessageUUID``, ``Units``, ``TotalRate``... Plivo joins the segments of a long message
itself, so each request is one whole message; ``Units`` is information only. Plivo
writes numbers in international format without the ``+`` (``14155550100``): it is put
back, so the engine reads them as E.164 rather than as national numbers (short codes
and alphanumeric senders stay as sent).

Authenticity (signature V3): ``X-Plivo-Signature-V3`` is
base64(HMAC-SHA256(Auth Token, base + "." + ``X-Plivo-Signature-V3-Nonce``)), where
base is ``scheme://host/path``, then ``?`` and the URL's query fields sorted as
``k=v&k=v``, then (for a POST) the form fields sorted as ``kv`` pairs, with a ``.``
between the two when there are both. The header may list several signatures separated
by commas (one per token Plivo signs with); any one matching is enough. A missing or
wrong signature is answered 401 and nothing is emitted.

The answer, once the message is committed (or known already: a retry), is an empty
Plivo XML ``<Response>``, so Plivo sends no reply.

Not covered: the older V2 signature; MMS media stay in ``raw`` (the content is the text).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import ClassVar
from urllib.parse import parse_qsl, urlparse, urlunparse

from engine.plugin_api import InboundText, IngestResult, WebhookRequest, WebhookResponse, signing

from ._webhook_common import (
    EMPTY_XML_ANSWER,
    PayloadError,
    RedactedConfig,
    WebhookCarrierBase,
    first_values,
    request_fields,
    required,
    unauthorized,
)
from ._webhook_common2 import international_number

__all__ = ["PlivoCarrier", "PlivoConfig", "plivo_signature_base", "plivo_signature_v3"]

_SIGNATURE_HEADER = "x-plivo-signature-v3"
_NONCE_HEADER = "x-plivo-signature-v3-nonce"


class PlivoConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one Plivo carrier instance."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"auth_token"})

    auth_token: str | None = None
    """The Auth Token of the account (or subaccount) that owns the numbers."""
    verify: bool = True
    """Check signatures; turn off only behind something else that authenticates Plivo."""

    def __post_init__(self) -> None:
        if self.auth_token == "":
            raise ValueError("auth_token must not be empty")
        if self.verify and self.auth_token is None:
            raise ValueError("auth_token is required unless verify is false")


class PlivoCarrier(WebhookCarrierBase[PlivoConfig]):
    """Plivo's inbound message webhook; see the module docstring."""

    Config: ClassVar[type[PlivoConfig]] = PlivoConfig
    methods: ClassVar[tuple[str, ...]] = ("POST", "GET")

    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """401 unless ``X-Plivo-Signature-V3`` matches; 400 for a body that is not a form."""
        # The signature covers the fields, so they are read first: a bad form is a 400.
        fields = request_fields(request)
        assert self.config.auth_token is not None  # the config requires it when verifying
        signatures = request.header(_SIGNATURE_HEADER)
        nonce = request.header(_NONCE_HEADER)
        if not signatures or not nonce:
            return unauthorized("missing X-Plivo-Signature-V3 or X-Plivo-Signature-V3-Nonce")
        # A GET's fields are the URL's query, already in the base.
        form = fields if request.method == "POST" else []
        expected = plivo_signature_v3(self.config.auth_token, request.url, form, nonce)
        matches = False
        for candidate in signatures.split(","):
            matches |= signing.constant_time_equal(expected, candidate.strip())
        if not matches:
            return unauthorized("X-Plivo-Signature-V3 does not match the request")
        return None

    def inbound_items(self, request: WebhookRequest) -> list[InboundText]:
        """The message."""
        values = first_values(request_fields(request))
        sender, number, message_id = required(values, "From", "To", "MessageUUID")
        text = values.get("Text", values.get("Body"))
        if text is None:
            raise PayloadError("missing field: Text")
        if not sender or not number or not message_id:
            raise PayloadError("From, To and MessageUUID must not be empty")
        return [
            InboundText(
                carrier=self.name,
                number=international_number(number),
                sender=international_number(sender),
                text=text,
                carrier_message_id=message_id,
                raw=request.body,
            )
        ]

    def answer(self, results: list[IngestResult]) -> WebhookResponse:
        """Empty Plivo XML, so Plivo sends no reply."""
        return EMPTY_XML_ANSWER


def plivo_signature_base(url: str, form: Iterable[tuple[str, str]]) -> str:
    """The text Plivo signs (before ``.nonce``) for a request to ``url`` with ``form``
    fields (none for a GET)."""
    parsed = urlparse(url)
    base = urlunparse((parsed.scheme, parsed.netloc, parsed.path, "", "", ""))
    # Sorted by name, then a repeated name's values among themselves; values decoded.
    query_fields = sorted(parse_qsl(parsed.query, keep_blank_values=True))
    query = "&".join(f"{name}={value}" for name, value in query_fields)
    form_fields = sorted(form)
    if form_fields:
        posted = "".join(name + value for name, value in form_fields)
        return f"{base}?{query}.{posted}" if query else f"{base}?{posted}"
    return f"{base}?{query}" if query else base


def plivo_signature_v3(
    auth_token: str, url: str, form: Iterable[tuple[str, str]], nonce: str
) -> str:
    """The ``X-Plivo-Signature-V3`` of a request, signed with ``auth_token``."""
    signed = f"{plivo_signature_base(url, form)}.{nonce}"
    return base64.b64encode(signing.hmac_digest("sha256", auth_token, signed)).decode("ascii")
