"""Infobip: inbound SMS by webhook ("forward to URL").

Infobip POSTs JSON that may carry several messages::

    {"results": [{"messageId": "...", "from": "385916242493", "to": "385921004026",
                  "text": "KEYWORD hello", "cleanText": "hello", "keyword": "KEYWORD",
                  "receivedAt": "2019-08-26T12:09:07.658+0000", "smsCount": 1,
                  "price": {...}, "callbackData": "..."}],
     "messageCount": 1, "pendingMessageCount": 0}

Each result is emitted as one :class:`InboundText`, in order: ``from`` and ``to`` (both
international without ``+``) become the sender and the receiving number, ``text`` the
content (``cleanText`` when ``text`` is absent), ``messageId`` the carrier's id and
``receivedAt`` the time Infobip received it. Infobip joins a long message's parts itself
(``smsCount``), so each result is a whole message. Other fields stay in ``raw``, which
holds each result's JSON as received. The answer, 200, comes only once every result is
committed (or known already); if one fails, nothing is acknowledged and Infobip's retry
is deduplicated for those stored before it.

Infobip does not sign its requests, so the adapter checks a credential the URL or the
request carries, in constant time: HTTP Basic (``username`` and ``password``) and/or a
``token`` sent in the ``token_header`` header or the ``token_parameter`` query
parameter (put it in the URL given to Infobip). A request matching none of the
configured credentials is answered 401 and nothing is emitted. Use TLS, and an IP
allow-list in front if you can.

Not read: delivery reports (their results have no ``from`` and ``text``; point them
elsewhere).
"""

from __future__ import annotations

import base64
import binascii
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
from ._webhook_common2 import international_number, parse_time

__all__ = ["InfobipCarrier", "InfobipConfig"]


class InfobipConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one Infobip carrier instance."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"password", "token"})

    username: str | None = None
    """HTTP Basic user name Infobip sends (set with ``password``)."""
    password: str | None = None
    """HTTP Basic password."""
    token: str | None = None
    """A random secret Infobip sends in ``token_header`` or the ``token_parameter`` query
    parameter of the URL."""
    token_header: str = "x-septet-token"
    """The header that may carry ``token``."""
    token_parameter: str = "token"
    """The query parameter that may carry ``token``."""
    verify: bool = True
    """Check the credential; turn off only behind something else that authenticates."""

    def __post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if "" in (self.username, self.password, self.token):
            raise ValueError("username, password and token must not be empty")
        if ":" in (self.username or ""):
            raise ValueError("a Basic username cannot contain ':'")
        if not self.token_header or not self.token_parameter:
            raise ValueError("token_header and token_parameter must not be empty")
        if self.verify and self.password is None and self.token is None:
            raise ValueError("username/password or token is required unless verify is false")


class _Result(msgspec.Struct, frozen=True, rename="camel"):
    message_id: str
    from_: str = msgspec.field(name="from")
    to: str
    text: str | None = None
    clean_text: str | None = None
    received_at: str | None = None


class _Body(msgspec.Struct, frozen=True):
    results: list[msgspec.Raw]


_body_decoder = msgspec.json.Decoder(_Body)
_result_decoder = msgspec.json.Decoder(_Result)


class InfobipCarrier(WebhookCarrierBase[InfobipConfig]):
    """Infobip's inbound SMS webhook; see the module docstring."""

    Config: ClassVar[type[InfobipConfig]] = InfobipConfig

    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """401, with a Basic challenge when Basic is configured, unless a credential matches."""
        if self._authentic(request):
            return None
        challenge = [("www-authenticate", 'Basic realm="septet"')]
        return unauthorized(
            "missing or wrong credential (Basic authorization or token)",
            headers=challenge if self.config.password is not None else (),
        )

    def _authentic(self, request: WebhookRequest) -> bool:
        config = self.config
        # Every configured credential is compared, whatever the outcome of the others.
        matched = False
        if config.username is not None and config.password is not None:
            expected = f"{config.username}:{config.password}"
            matched |= signing.constant_time_equal(
                expected, _basic_credentials(request.header("authorization"))
            )
        if config.token is not None:
            offered = [request.header(config.token_header)]
            offered += [value for name, value in request.query if name == config.token_parameter]
            for value in offered:
                if value is not None:
                    matched |= signing.constant_time_equal(config.token, value.strip())
        return matched

    def inbound_items(self, request: WebhookRequest) -> list[InboundText]:
        """Every result, in order."""
        items: list[InboundText] = []
        for index, raw in enumerate(decode_json(_body_decoder, request.body).results):
            try:
                result = decode_json(_result_decoder, bytes(raw))
            except PayloadError as exc:
                raise PayloadError(f"results[{index}]: {exc}") from None
            text = result.text if result.text is not None else result.clean_text
            if text is None:
                raise PayloadError(f"results[{index}] has neither text nor cleanText")
            if not (result.message_id and result.from_ and result.to):
                raise PayloadError(f"results[{index}]: messageId, from and to must not be empty")
            items.append(
                InboundText(
                    carrier=self.name,
                    number=international_number(result.to),
                    sender=international_number(result.from_),
                    text=text,
                    carrier_message_id=result.message_id,
                    received_at=parse_time(result.received_at),
                    raw=bytes(raw),
                )
            )
        return items


def _basic_credentials(authorization: str | None) -> str:
    """``user:password`` from a Basic ``Authorization`` header, or "" when there is none."""
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
