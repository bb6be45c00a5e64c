"""One HTTP attempt of a destination, and what its outcome means for the delivery.

:func:`post_json` sends one request with a client from
:func:`~engine.delivery._http.open_http_client`, which reads at most a bounded part of
the answer and turns a failure to get one into a classified
:class:`~engine.errors.DeliveryError`. :func:`classify_http_response` turns the answer
into a :class:`~engine.model.DeliveryReceipt` or a classified error, the way webhook
senders agree on (Standard Webhooks, Svix):

* 2xx: delivered;
* 410 Gone: permanent, and the destination is disabled;
* 429, and the 502/504 of an overloaded gateway: retry, throttled (``Retry-After`` kept);
* 408, 425, other 5xx: retry (``Retry-After`` kept);
* 3xx: retry, since redirects are not followed (the URL should be the final one);
* other 4xx: permanent.

Timeouts are throttled retries (the receiver may be overloaded); connection failures
are plain retries. Adapters handle what their service says differently (a chat webhook
deleted: 404) before falling back on this.

Secrets never reach a message or an excerpt: URLs are shown as ``scheme://host``, and
the answer excerpt has the URL's token-like parts and every ``redact`` string replaced
by ``[redacted]`` (a receiver may echo the request).
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Final

import httpx
import msgspec

from ..errors import PermanentDeliveryError, RetryableDeliveryError
from ..model import DeliveryReceipt
from ._http import HttpClient, parse_url
from ._targets import scrub_secrets

__all__ = [
    "HttpTargetResponse",
    "classify_http_response",
    "parse_retry_after",
    "post_json",
]

_THROTTLING_STATUSES: Final = frozenset({429, 502, 504})
_RETRYABLE_4XX: Final = frozenset({408, 425, 429})


class HttpTargetResponse(msgspec.Struct, frozen=True, kw_only=True):
    """What a target answered, as much of it as was read."""

    target: str
    """The target as it may be shown: ``scheme://host[:port]``."""
    status_code: int
    headers: httpx.Headers
    body: bytes
    """The start of the body, at most ``read_limit`` bytes (for parsing, never logged)."""
    excerpt: str
    """The start of the body as text, at most ``excerpt_bytes`` UTF-8 bytes, redacted."""
    truncated: bool
    """Whether the body went on past what was read or past the excerpt."""

    def __repr__(self) -> str:
        # Not the body: it is unredacted, and up to ``read_limit`` bytes long.
        return (
            f"HttpTargetResponse(target={self.target!r}, status_code={self.status_code}, "
            f"excerpt={self.excerpt!r}, truncated={self.truncated})"
        )


async def post_json(
    client: HttpClient,
    url: str | httpx.URL,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    redact: Iterable[str] = (),
    excerpt_bytes: int = 4096,
    read_limit: int = 65536,
) -> HttpTargetResponse:
    """POST ``body`` (JSON bytes) to ``url`` once and return the answer, whatever its status.

    Reads at most ``read_limit`` bytes of the answer's body and drops the connection if
    there is more; ``excerpt_bytes`` of it, as text, go into the excerpt. The excerpt and
    messages hide the URL's password, its path segments of 16 characters or more and its
    query values of 8 or more (where tokens live), and every string of 4 characters or
    more in ``redact`` (the webhook secrets, static header values).

    Raises :class:`~engine.errors.RetryableDeliveryError` when no answer came (a timeout,
    ``throttled``; a refused or broken connection) and
    :class:`~engine.errors.PermanentDeliveryError` when the target is refused by the
    client's policy or the URL is unusable.
    """
    parsed = parse_url(url)
    redact = tuple(redact)
    answer = await client.request(
        "POST",
        parsed,
        content=body,
        headers={"content-type": "application/json", **(headers or {})},
        read_limit=read_limit,
        redact=redact,
    )
    shown, secrets = client.shown_and_secrets(parsed, redact)
    excerpt, cut = _excerpt(answer.body, answer.headers, secrets, excerpt_bytes)
    return HttpTargetResponse(
        target=shown,
        status_code=answer.status_code,
        headers=answer.headers,
        body=answer.body,
        excerpt=excerpt,
        truncated=answer.truncated or cut,
    )


def classify_http_response(response: HttpTargetResponse) -> DeliveryReceipt:
    """The receipt of a 2xx answer; raise the classified error for any other.

    See the module docstring for the rules. Errors carry the status code and the
    excerpt, for the attempt log.
    """
    status = response.status_code
    excerpt = response.excerpt or None
    if 200 <= status < 300:
        return DeliveryReceipt(status_code=status, response=excerpt)
    said = f"{response.target} answered {status} {httpx.codes.get_reason_phrase(status)}".strip()
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 410:
        raise PermanentDeliveryError(
            f"{said}: the target is gone; the destination is disabled",
            disable=True,
            status_code=status,
            response=excerpt,
        )
    if 300 <= status < 400:
        raise RetryableDeliveryError(
            f"{said}: redirects are not followed; configure the URL it redirects to",
            status_code=status,
            response=excerpt,
        )
    if status in _RETRYABLE_4XX or status >= 500:
        raise RetryableDeliveryError(
            said,
            retry_after=retry_after,
            throttled=status in _THROTTLING_STATUSES,
            status_code=status,
            response=excerpt,
        )
    raise PermanentDeliveryError(said, status_code=status, response=excerpt)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: seconds (fractions allowed, as
    Discord's rate limit headers have) or an HTTP date. None when absent or unreadable;
    a date in the past is 0."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # "-0000": an HTTP date is always GMT
        return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _excerpt(
    data: bytes, headers: httpx.Headers, secrets: list[str], limit: int
) -> tuple[str, bool]:
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return f"[{len(data)} bytes of {encoding}-encoded body]", False
    # Scrub the whole read text before cutting, so no secret is cut in half and half-shown.
    text = scrub_secrets(data.decode("utf-8", errors="replace"), secrets)
    encoded = text.encode()
    if len(encoded) <= limit:
        return text, False
    return encoded[:limit].decode("utf-8", errors="ignore"), True
