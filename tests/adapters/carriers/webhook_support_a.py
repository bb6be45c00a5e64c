"""What the Twilio, Telnyx, Plivo and Sinch adapter tests share: requests as the engine's
server builds them, the answers' checks, and an engine double that cannot commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

from engine.plugin_api import (
    InboundItem,
    IngestResult,
    StoreError,
    WebhookCarrier,
    WebhookRequest,
    WebhookResponse,
)

__all__ = [
    "check_webhook_carrier",
    "problem",
    "store_unavailable",
    "tampered",
    "webhook_request",
]


def webhook_request(
    url: str,
    *,
    method: str = "POST",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> WebhookRequest:
    """A request to ``url`` (the public URL the provider called, query included)."""
    return WebhookRequest(
        method=method,
        url=url,
        path="",
        query=tuple(parse_qsl(urlsplit(url).query, keep_blank_values=True)),
        headers={name.lower(): value for name, value in (headers or {}).items()},
        body=body,
    )


def problem(response: WebhookResponse, status: int) -> dict[str, Any]:
    """The RFC 9457 document of a refusal with ``status``."""
    assert response.status == status, response
    assert response.content_type == "application/problem+json"
    document: dict[str, Any] = msgspec.json.decode(response.body)
    assert document["status"] == status
    assert document["detail"]
    return document


def tampered(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data`` with the first ``old`` replaced by ``new``, which differs in one character."""
    assert old in data
    assert len(old) == len(new)
    assert sum(a != b for a, b in zip(old, new, strict=True)) == 1
    return data.replace(old, new, 1)


async def store_unavailable(item: InboundItem) -> IngestResult:
    """An ``emit`` that cannot commit, as the engine's when the store is down."""
    raise StoreError("the inbox cannot be written")


def check_webhook_carrier(
    cls: type[Any], settings: Mapping[str, Any], secrets: tuple[str, ...]
) -> None:
    """The plugin contract of a webhook carrier, and a config repr that hides ``secrets``.

    (``engine.testing.check_carrier_class`` checks ``run`` carriers only.)
    """
    assert cls.api_version == 1
    assert issubclass(cls.Config, msgspec.Struct)
    assert cls.Config.__struct_config__.frozen
    config = msgspec.convert(dict(settings), cls.Config)
    carrier = cls("conformance", config)
    assert carrier.name == "conformance"
    assert isinstance(carrier, WebhookCarrier)
    shown = repr(config) + repr(config.__rich_repr__())
    for secret in secrets:
        assert secret not in shown
    assert "[redacted]" in shown or not secrets
