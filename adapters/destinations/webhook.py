"""The webhook destination: each message POSTed as JSON, signed the Standard Webhooks way.

The body is a Standard Webhooks envelope around the public message shape::

    {"type": "message.received",
     "timestamp": "2025-01-01T12:00:00.123456Z",
     "data": {"id": "msg_...", "numberUsed": "+15550100001", "senderId": "...", ...}}

``timestamp`` is when the delivery was created (the event's time, the same on every
attempt), so a retry sends the very same bytes. The headers are ``webhook-id`` (the
delivery's id, stable across retries: the receiver's idempotency key),
``webhook-timestamp`` (this attempt), ``webhook-signature`` (one ``v1,`` signature per
secret in ``secrets``, so a secret can be rotated: list the new one next to the old
until the receiver knows it), ``content-type: application/json``, the engine's
``user-agent``, and the static ``headers`` of the config.

Receivers verify with any Standard Webhooks library, e.g.
``standardwebhooks.Webhook(secret).verify(body, headers)``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar, Final

import msgspec

from engine.plugin_api import (
    ConfigError,
    Delivery,
    DeliveryReceipt,
    HttpDestinationConfig,
    Message,
    PermanentDeliveryError,
    SignatureError,
    classify_http_response,
    open_http_client,
    post_json,
    signing,
    validate_target_url,
)

__all__ = ["EVENT_TYPE", "WebhookConfig", "WebhookDestination"]

EVENT_TYPE: Final = "message.received"
"""The envelope's ``type``: the one event this destination sends."""

_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Set by the destination itself; a static header must not contradict the signed request.
_RESERVED_HEADERS: Final = frozenset(
    {
        "connection",
        "content-length",
        "content-type",
        "host",
        "transfer-encoding",
        "webhook-id",
        "webhook-signature",
        "webhook-timestamp",
    }
)


class WebhookConfig(HttpDestinationConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of one webhook destination (and the shared HTTP ones: ``url``,
    ``connect_timeout``, ``total_timeout``, ``https_only``, ``allow_hosts``,
    ``allow_networks``)."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"headers", "secrets"})

    secrets: tuple[str, ...]
    """Signing secrets, ``whsec_`` + base64; several while rotating (one signature each)."""
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    """Static headers sent with every request (an ``authorization``, say)."""


class _Envelope(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    timestamp: datetime
    data: Message


_encoder = msgspec.json.Encoder()


class WebhookDestination:
    """POSTs each message to ``url``, signed; see the module docstring."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[WebhookConfig]] = WebhookConfig

    def __init__(self, name: str, config: WebhookConfig) -> None:
        self.name = name
        self.config = config
        self._url = validate_target_url(config.url, config)
        if not config.secrets:
            raise ConfigError(
                "list at least one signing secret (whsec_ + base64; "
                "engine.signing.generate_secret() makes one)",
                key="secrets",
            )
        try:
            signing.sign(config.secrets, "msg_check", 0, b"")
        except SignatureError as exc:
            raise ConfigError(str(exc), key="secrets") from None
        _check_headers(config.headers)
        self._redact = (
            *config.secrets,
            *(secret.removeprefix("whsec_") for secret in config.secrets),
            *config.headers.values(),
        )
        self._client = open_http_client(
            config, connect_timeout=config.connect_timeout, total_timeout=config.total_timeout
        )

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        """POST the message once; the receipt or a classified delivery error."""
        body = _encoder.encode(
            _Envelope(type=EVENT_TYPE, timestamp=delivery.created_at, data=delivery.message)
        )
        try:
            signed = signing.headers(self.config.secrets, delivery.id, body)
        except SignatureError as exc:
            # The secrets were checked at start: only the delivery id can be at fault.
            raise PermanentDeliveryError(f"cannot sign delivery {delivery.id!r}: {exc}") from None
        response = await post_json(
            self._client, self._url, body, {**self.config.headers, **signed}, redact=self._redact
        )
        return classify_http_response(response)

    async def aclose(self) -> None:
        """Close the connections kept alive to the receiver."""
        await self._client.aclose()


def _check_headers(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            raise ConfigError(f"{name!r} is not a valid header name", key="headers")
        if name.lower() in _RESERVED_HEADERS:
            raise ConfigError(f"{name!r} is set by the destination itself", key="headers")
        if any(char in value for char in "\r\n\0"):
            # The value is not shown: a static header is where a token lives.
            raise ConfigError(f"the value of {name!r} holds a line break or NUL", key="headers")
