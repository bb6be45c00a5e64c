"""Carriers that deliver by HTTP webhook: the request they get, the answer they give.

Most carriers (Twilio, Telnyx, Vonage, Plivo, ...) POST each inbound SMS to a URL. Such a
carrier adapter is a :class:`WebhookCarrier`: the engine's HTTP server receives the
request at ``/carriers/<instance name>`` (and below), hands it over as a
:class:`WebhookRequest`, and sends back the :class:`WebhookResponse` the adapter returns.
The adapter checks the provider's signature, turns the payload into inbound items, awaits
``emit`` for each (which returns once the item is durably committed) and only then answers
the way the provider expects, so a provider hears "OK" only for what is stored.

``WebhookRequest.url`` is the URL as the provider called it: the configured public base
URL (the address the provider was given, in front of any proxy) joined with the path and
query, which is what providers sign.

An adapter answers a request it refuses with :func:`problem_response` (RFC 9457
``application/problem+json``): 400 for a payload it cannot read, 401 for a missing or
wrong signature, 403 for a stale one. When ``emit`` raises (the store is unavailable) the
adapter lets the exception go: the server answers 503 with ``Retry-After`` and the
provider retries later; its retry is deduplicated on its message id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar, Protocol, runtime_checkable

import msgspec

from . import _native
from .model import InboundItem, IngestResult

__all__ = [
    "WebhookCarrier",
    "WebhookRequest",
    "WebhookResponse",
    "parse_form",
    "problem_response",
]

_PROBLEM_TYPE = "application/problem+json"
_encode = msgspec.json.Encoder().encode


class WebhookRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One HTTP request from a provider, as the engine's server received it."""

    method: str
    url: str
    """The public URL the provider called, query included (what providers sign)."""
    path: str
    """The path below the carrier's mount point: ``""`` for ``/carriers/<name>`` itself."""
    query: tuple[tuple[str, str], ...] = ()
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    """Lower-cased names; a repeated header keeps its values joined with ``, ``."""
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name, or None."""
        return self.headers.get(name.lower())


class WebhookResponse(msgspec.Struct, frozen=True, kw_only=True):
    """What the provider hears back."""

    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


_Emit = Callable[[InboundItem], Awaitable[IngestResult]]


@runtime_checkable
class WebhookCarrier(Protocol):
    """A carrier whose provider calls the engine by HTTP (see the module docstring)."""

    api_version: ClassVar[int]
    Config: ClassVar[type[msgspec.Struct]]
    name: str

    async def handle(self, request: WebhookRequest, emit: _Emit) -> WebhookResponse:
        """Verify, parse and ``emit`` what the request carries; answer only after every
        ``emit`` returned."""
        ...


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    headers: Sequence[tuple[str, str]] = (),
) -> WebhookResponse:
    """An RFC 9457 problem answer (``application/problem+json``)."""
    document: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail is not None:
        document["detail"] = detail
    return WebhookResponse(
        status=status, content_type=_PROBLEM_TYPE, body=_encode(document), headers=tuple(headers)
    )


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The fields of an ``application/x-www-form-urlencoded`` body, in order, blanks kept:
    what ``parse_qsl(text, keep_blank_values=True, strict_parsing=True)`` returns, read
    by one native call.

    Raises :class:`ValueError` for a body that is not UTF-8 or not a form.
    """
    return _native.parse_form(body)
