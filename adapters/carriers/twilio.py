"""Twilio Programmable Messaging: inbound SMS by webhook.

Twilio POSTs (or GETs, if the number is set up so) a form for each inbound message:
``MessageSid``, ``From``, ``To``, ``Body``, ``NumSegments``, ``NumMedia``, ``MediaUrl0``...
Twilio joins the segments of a long message itself, so each request is one whole
message; ``NumSegments`` is information only.

Authenticity: ``X-Twilio-Signature`` is base64(HMAC-SHA1(Auth Token, URL + each form
field's name and value, sorted by name)). The URL is the one Twilio called, query
included; as Twilio's own validator does, it is tried with and without the port, since
Twilio's signers disagree about a default port. A request signed with a webhook
SharedKey names ``algorithm=HMAC_SHA256`` in ``X-Twilio-Webhooks-Signature-Settings``
and is checked with HMAC-SHA256 and ``shared_key``. A missing or wrong signature is
answered 401 and nothing is emitted.

The answer, once the message is committed, is an empty TwiML document (so Twilio sends
no reply), for a retry Septet already holds too. A status callback sent to this URL
(``MessageStatus`` and no ``Body``) is answered the same and emits nothing.

Not covered: JSON bodies signed with ``bodySHA256`` (Twilio sends inbound SMS as a
form); MMS media stay in ``raw`` (the message content is ``Body``).
"""

from __future__ import annotations

import base64
import functools
from typing import ClassVar
from urllib.parse import urlparse

from engine.plugin_api import (
    InboundText,
    IngestResult,
    WebhookRequest,
    WebhookResponse,
    signing,
)

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

__all__ = ["TwilioCarrier", "TwilioConfig", "twilio_signature", "twilio_url_variants"]

_SIGNATURE_HEADER = "x-twilio-signature"
_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
_ALGORITHMS: dict[str, signing.HmacAlgorithm] = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}


class TwilioConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one Twilio carrier instance."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"auth_token", "shared_key"})

    auth_token: str | None = None
    """The Auth Token of the account (or subaccount) that owns the numbers."""
    shared_key: str | None = None
    """The secret of a webhook SharedKey, for requests signed with HMAC-SHA256."""
    verify: bool = True
    """Check signatures; turn off only behind something else that authenticates Twilio."""

    def __post_init__(self) -> None:
        if self.auth_token == "" or self.shared_key == "":
            raise ValueError("auth_token and shared_key must not be empty")
        if self.verify and self.auth_token is None and self.shared_key is None:
            raise ValueError("auth_token (or shared_key) is required unless verify is false")


class TwilioCarrier(WebhookCarrierBase[TwilioConfig]):
    """Twilio's inbound SMS webhook; see the module docstring."""

    Config: ClassVar[type[TwilioConfig]] = TwilioConfig
    methods: ClassVar[tuple[str, ...]] = ("POST", "GET")

    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """401 unless ``X-Twilio-Signature`` matches; 400 for a body that is not a form."""
        # The signature covers the fields, so they are read first: a bad form is a 400.
        fields = request_fields(request)
        signature = request.header(_SIGNATURE_HEADER)
        if not signature:
            return unauthorized("missing X-Twilio-Signature header")
        algorithm_name = _settings_algorithm(request.header(_SETTINGS_HEADER))
        algorithm = _ALGORITHMS.get(algorithm_name.upper())
        if algorithm is None:
            return unauthorized(f"unsupported signature algorithm {algorithm_name!r}")
        key = self.config.auth_token if algorithm == "sha1" else self.config.shared_key
        if key is None:
            setting = "auth_token" if algorithm == "sha1" else "shared_key"
            return unauthorized(f"signed with {algorithm_name}, but no {setting} is configured")
        # A GET's fields are in the URL already; only a POST's form is appended.
        tail = signed_fields(fields) if request.method == "POST" else ""
        matches = False
        for url in _url_variants(request.url):
            expected = _signature(key, url + tail, algorithm)
            matches |= signing.constant_time_equal(expected, signature.strip())
        if not matches:
            return unauthorized("X-Twilio-Signature does not match the request")
        return None

    def inbound_items(self, request: WebhookRequest) -> list[InboundText]:
        """The message; nothing for a status callback."""
        values = first_values(request_fields(request))
        if "Body" not in values and "MessageStatus" in values:
            return []  # a status callback, not a message
        message_id = values.get("MessageSid") or values.get("SmsSid")
        if not message_id:
            raise PayloadError("missing field: MessageSid")
        sender, number, text = required(values, "From", "To", "Body")
        if not sender or not number:
            raise PayloadError("From and To must not be empty")
        return [
            InboundText(
                carrier=self.name,
                number=number,
                sender=sender,
                text=text,
                carrier_message_id=message_id,
                raw=request.body,
            )
        ]

    def answer(self, results: list[IngestResult]) -> WebhookResponse:
        """Empty TwiML, so Twilio sends no reply."""
        return EMPTY_XML_ANSWER


def twilio_signature(
    key: str,
    url: str,
    fields: list[tuple[str, str]],
    algorithm: signing.HmacAlgorithm = "sha1",
) -> str:
    """The ``X-Twilio-Signature`` of a request to ``url`` with these form ``fields``.

    The signed text is the URL followed by each distinct field name, sorted, with each of
    its distinct values, sorted (as Twilio's own validator builds it).
    """
    return _signature(key, url + signed_fields(fields), algorithm)


def signed_fields(fields: list[tuple[str, str]]) -> str:
    """What follows the URL in the text Twilio signs: each distinct field name, sorted,
    with each of its distinct values, sorted."""
    # Distinct (name, value) pairs sorted as pairs: by name, then by value.
    return "".join([name + value for name, value in sorted(set(fields))])


def _signature(key: str, signed: str, algorithm: signing.HmacAlgorithm) -> str:
    return base64.b64encode(signing.hmac_digest(algorithm, key, signed)).decode("ascii")


@functools.lru_cache(maxsize=1024)
def _url_variants(url: str) -> tuple[str, ...]:
    # Every request to a carrier comes to the same URL or few: work them out once each.
    return tuple(twilio_url_variants(url))


def twilio_url_variants(url: str) -> list[str]:
    """``url`` as given, without its port and with its port (the scheme's default when it
    names none): the forms Twilio may have signed."""
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:
        return [url]  # not a port Twilio could have called; only the exact URL can match
    if port is None:
        default = 443 if parsed.scheme == "https" else 80
        with_port = parsed._replace(netloc=f"{parsed.netloc}:{default}").geturl()
        without_port = parsed.geturl()
    else:
        with_port = parsed.geturl()
        without_port = parsed._replace(netloc=parsed.netloc.rsplit(":", 1)[0]).geturl()
    return list(dict.fromkeys((url, without_port, with_port)))


def _settings_algorithm(settings: str | None) -> str:
    # "key=<SharedKey sid>,algorithm=HMAC_SHA256"; absent: the Auth Token's HMAC-SHA1.
    for part in (settings or "").split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            return value.strip()
    return "HMAC_SHA1"
