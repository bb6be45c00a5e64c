"""The Discord destination: each message posted through a Discord webhook.

The post is one plain message (``content``, at most 2000 characters)::

    **Code: 123456**                          (when a code was found)
    **From** +15557654321 **to** +15550100001
    Your code is 123456. Do not share it.

Everything that comes from the SMS is data, not markup: its ASCII punctuation is
backslash-escaped, so no markdown, mention, emoji or timestamp syntax survives, and
``allowed_mentions`` is always ``{"parse": []}``, so nothing an SMS says can ping anyone
(``@everyone`` included). Link previews are suppressed. A text too long is cut with a
visible ``…[truncated]``.

The URL gets ``wait=true`` (Discord then answers with the message it created) and keeps
its other query parameters (``thread_id``). A 429 says how long to wait in its body
(``retry_after``, seconds) or headers; 401, 403 and 404 mean the webhook was deleted or
its token is wrong, so the destination is disabled (Discord bans clients that keep
sending invalid requests); 5xx are retried.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import msgspec

from engine.plugin_api import (
    ConfigError,
    Delivery,
    DeliveryReceipt,
    HttpDestinationConfig,
    HttpTargetResponse,
    Message,
    PermanentDeliveryError,
    RetryableDeliveryError,
    classify_http_response,
    open_http_client,
    parse_retry_after,
    post_json,
    validate_target_url,
)

from ._chat_text import discord_escape, fit_escaped, utf16_length

__all__ = ["CONTENT_LIMIT", "DiscordConfig", "DiscordDestination", "discord_payload"]

CONTENT_LIMIT: Final = 2000
"""The most characters Discord takes in ``content``."""
_NUMBER_LIMIT: Final = 200  # characters of the sender or receiving number shown
_SUPPRESS_EMBEDS: Final = 1 << 2  # message flag: no link previews
_GONE_STATUSES: Final = frozenset({401, 403, 404})


class DiscordConfig(HttpDestinationConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of one Discord destination: ``url`` is the webhook's execute URL
    (``https://discord.com/api/webhooks/{id}/{token}``, its token is a secret). The
    shared HTTP settings apply (``https_only`` by default)."""

    username: str | None = None
    """The name the posts appear under, instead of the webhook's own (1 to 80 characters)."""


class _RateLimited(msgspec.Struct, frozen=True):
    retry_after: float | None = None
    global_: bool = msgspec.field(default=False, name="global")


_encoder = msgspec.json.Encoder()
_rate_limit_decoder = msgspec.json.Decoder(_RateLimited)


class DiscordDestination:
    """Posts each message through a Discord webhook; see the module docstring."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[DiscordConfig]] = DiscordConfig

    def __init__(self, name: str, config: DiscordConfig) -> None:
        self.name = name
        self.config = config
        url = validate_target_url(config.url, config)
        self._url = url.copy_set_param("wait", "true")
        if config.username is not None:
            _check_username(config.username)
        self._client = open_http_client(
            config, connect_timeout=config.connect_timeout, total_timeout=config.total_timeout
        )

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        """Post the message once; the receipt or a classified delivery error."""
        payload = discord_payload(delivery.message, username=self.config.username)
        response = await post_json(self._client, self._url, _encoder.encode(payload))
        return _classify(response)

    async def aclose(self) -> None:
        """Close the connections kept alive to Discord."""
        await self._client.aclose()


def discord_payload(message: Message, *, username: str | None = None) -> dict[str, Any]:
    """The execute-webhook JSON for ``message``."""
    sender = fit_escaped(message.sender_id, discord_escape, _NUMBER_LIMIT)
    number = fit_escaped(message.number_used, discord_escape, _NUMBER_LIMIT)
    lines = [f"**From** {sender} **to** {number}"]
    if message.otp is not None:
        lines.insert(0, f"**Code: {fit_escaped(message.otp.code, discord_escape, 100)}**")
    head = "\n".join(lines)
    room = CONTENT_LIMIT - utf16_length(head) - 1  # the newline before the text
    text = fit_escaped(message.content, discord_escape, room) if message.content else "*(no text)*"
    payload: dict[str, Any] = {
        "content": f"{head}\n{text}",
        "allowed_mentions": {"parse": []},
        "flags": _SUPPRESS_EMBEDS,
    }
    if username is not None:
        payload["username"] = username
    return payload


def _classify(response: HttpTargetResponse) -> DeliveryReceipt:
    status = response.status_code
    excerpt = response.excerpt or None
    if status == 429:
        limited = _rate_limit(response)
        scope = " (global)" if limited.global_ else ""
        raise RetryableDeliveryError(
            f"{response.target} answered 429: rate limited{scope}",
            retry_after=limited.retry_after,
            throttled=True,
            status_code=status,
            response=excerpt,
        )
    if status in _GONE_STATUSES:
        raise PermanentDeliveryError(
            f"{response.target} answered {status}: the webhook was deleted or its token is "
            "wrong; the destination is disabled",
            disable=True,
            status_code=status,
            response=excerpt,
        )
    return classify_http_response(response)


def _rate_limit(response: HttpTargetResponse) -> _RateLimited:
    """How long a 429 asks to wait: the body's ``retry_after``, else the headers'."""
    try:
        limited = _rate_limit_decoder.decode(response.body)
    except msgspec.DecodeError:
        limited = _RateLimited()  # Cloudflare's own 429 is not Discord's JSON
    if limited.retry_after is not None and limited.retry_after >= 0:
        return limited
    headers = response.headers
    retry_after = parse_retry_after(headers.get("retry-after"))
    if retry_after is None:
        retry_after = parse_retry_after(headers.get("x-ratelimit-reset-after"))
    is_global = limited.global_ or headers.get("x-ratelimit-global", "").lower() == "true"
    return _RateLimited(retry_after=retry_after, global_=is_global)


def _check_username(username: str) -> None:
    if not 1 <= len(username) <= 80:
        raise ConfigError("must be 1 to 80 characters long", key="username")
    lowered = username.lower()
    for reserved in ("discord", "clyde"):
        if reserved in lowered:
            # Discord refuses every post under such a name (400): say so at start.
            raise ConfigError(f"Discord does not allow {reserved!r} in a name", key="username")
