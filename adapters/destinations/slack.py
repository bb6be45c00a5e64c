"""The Slack destination: each message posted to a Slack incoming webhook.

The post has Block Kit ``blocks`` and a ``text`` fallback (what notifications show)::

    *Code* `123456`                       (when a code was found)
    From +15557654321    To +15550100001
    Your code is 123456. Do not share it.
    sandbox · 2025-01-01 12:00:00Z · msg_...

Everything that comes from the SMS (sender, text, code) is data, not markup: ``& < >``
are escaped (they make Slack links and mentions such as ``<!channel>``), text objects
are ``verbatim`` (no automatic mentions or channel links), and links are not unfurled.
Long text is cut to Slack's 3000-character section limit with a visible marker.

Slack answers ``ok``. A 429 carries ``Retry-After``; 404 (``channel_not_found``,
``no_service``) and 410 (``channel_is_archived``) mean the webhook leads nowhere any
more, so the destination is disabled; other 4xx are permanent; 5xx are retried.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import msgspec

from engine.plugin_api import (
    Delivery,
    DeliveryReceipt,
    HttpDestinationConfig,
    HttpTargetResponse,
    Message,
    PermanentDeliveryError,
    classify_http_response,
    open_http_client,
    post_json,
    validate_target_url,
)

from ._chat_text import fit_escaped, slack_escape

__all__ = ["SlackConfig", "SlackDestination", "slack_payload"]

_SECTION_LIMIT: Final = 3000  # characters of a section's text
_FIELD_LIMIT: Final = 2000  # characters of one section field, or one context element
_FALLBACK_LIMIT: Final = 300  # the notification text: a preview, not the message


class SlackConfig(HttpDestinationConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of one Slack destination: ``url`` is the incoming webhook's URL (its path
    is a secret). The shared HTTP settings apply (``https_only`` by default)."""


_encoder = msgspec.json.Encoder()


class SlackDestination:
    """Posts each message to a Slack incoming webhook; see the module docstring."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[SlackConfig]] = SlackConfig

    def __init__(self, name: str, config: SlackConfig) -> None:
        self.name = name
        self.config = config
        self._url = validate_target_url(config.url, config)
        self._client = open_http_client(
            config, connect_timeout=config.connect_timeout, total_timeout=config.total_timeout
        )

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        """Post the message once; the receipt or a classified delivery error."""
        body = _encoder.encode(slack_payload(delivery.message))
        response = await post_json(self._client, self._url, body)
        return _classify(response)

    async def aclose(self) -> None:
        """Close the connections kept alive to Slack."""
        await self._client.aclose()


def slack_payload(message: Message) -> dict[str, Any]:
    """The incoming-webhook JSON for ``message``: ``text`` fallback, ``blocks``."""
    sender = _mrkdwn(message.sender_id, _FIELD_LIMIT // 2)
    number = _mrkdwn(message.number_used, _FIELD_LIMIT // 2)
    content = _mrkdwn(message.content, _SECTION_LIMIT) if message.content else "_(no text)_"
    blocks: list[dict[str, Any]] = []
    if message.otp is not None:
        # A backtick would end the code span early; a code never holds one in practice.
        code = _mrkdwn(message.otp.code.replace("`", "\u02cb"), 100)  # MODIFIER LETTER GRAVE
        blocks.append(_section(f"*Code* `{code}`"))
        fallback = f"Code {code} from {sender}"
    else:
        fallback = _mrkdwn(f"SMS from {message.sender_id}: {message.content}", _FALLBACK_LIMIT)
    blocks.append(
        {
            "type": "section",
            "fields": [_text(f"*From*\n{sender}"), _text(f"*To*\n{number}")],
        }
    )
    blocks.append(_section(content))
    details = [message.carrier, message.received_at.isoformat(), message.id, *message.flags]
    context = _mrkdwn(" · ".join(details), _FIELD_LIMIT)
    blocks.append({"type": "context", "elements": [_text(context)]})
    return {
        "text": fallback,
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _classify(response: HttpTargetResponse) -> DeliveryReceipt:
    if response.status_code == 404:
        raise PermanentDeliveryError(
            f"{response.target} answered 404 ({response.excerpt[:100] or 'not found'}): the "
            "webhook or its channel is gone; the destination is disabled",
            disable=True,
            status_code=404,
            response=response.excerpt or None,
        )
    return classify_http_response(response)


def _mrkdwn(text: str, limit: int) -> str:
    return fit_escaped(text, slack_escape, limit)


def _text(mrkdwn: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": _text(mrkdwn)}
