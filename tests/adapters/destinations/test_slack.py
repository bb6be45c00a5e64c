"""The Slack destination, posting to a Slack-shaped incoming webhook on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from http_server import Answer, HttpTestServer

from adapters.destinations._chat_text import TRUNCATED
from adapters.destinations.slack import SlackConfig, SlackDestination
from engine.plugin_api import (
    ConfigError,
    Delivery,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from engine.plugins import load_destination
from engine.testing import check_destination_class

MakeDelivery = Callable[..., Delivery]
TOKEN = "xoxbHookT0kenAbCdEfGhIjKl"
HOSTILE = "<!channel> <@U024BE7LH> & <https://evil.example|click> @everyone `x` *b*"


def slack(server: HttpTestServer) -> SlackDestination:
    config = SlackConfig(
        url=f"{server.url}/services/T0001/B0001/{TOKEN}", allow_hosts=("127.0.0.1",)
    )
    return SlackDestination("chat", config)


async def post(server: HttpTestServer, delivery: Delivery) -> dict[str, Any]:
    destination = slack(server)
    try:
        receipt = await destination.deliver(delivery)
    finally:
        await destination.aclose()
    assert (receipt.status_code, receipt.response) == (200, "ok")
    payload: dict[str, Any] = server.requests[-1].json()
    return payload


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    texts = [payload["text"]]
    for block in payload["blocks"]:
        objects = [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        texts += [item["text"] for item in objects if item]
        assert all(item["verbatim"] for item in objects if item)
    return texts


@pytest.mark.trio
async def test_it_keeps_the_destination_contract() -> None:
    url = f"https://hooks.slack.com/services/T0001/B0001/{TOKEN}"
    destination = check_destination_class(SlackDestination, {"url": url})
    await destination.aclose()


@pytest.mark.trio
async def test_the_code_leads_and_sms_text_cannot_mention_or_link(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    payload = await post(server, make_delivery(content=HOSTILE, sender_id="<!here>&Co"))

    assert server.requests[0].target == f"/services/T0001/B0001/{TOKEN}"
    code, people, text, context = payload["blocks"]
    assert code["text"]["text"] == "*Code* `123456`"
    assert people["fields"][0]["text"] == "*From*\n&lt;!here&gt;&amp;Co"
    assert people["fields"][1]["text"] == "*To*\n+15550100001"
    assert text["text"]["text"] == (
        "&lt;!channel&gt; &lt;@U024BE7LH&gt; &amp; &lt;https://evil.example|click&gt; "
        "@everyone `x` *b*"
    )
    assert "msg_2b9QdS4v" in context["elements"][0]["text"]
    assert payload["text"] == "Code 123456 from &lt;!here&gt;&amp;Co"
    for mrkdwn in mrkdwn_texts(payload):
        assert "<" not in mrkdwn
        assert ">" not in mrkdwn
    assert (payload["unfurl_links"], payload["unfurl_media"]) == (False, False)


@pytest.mark.trio
async def test_without_a_code_the_text_is_the_fallback(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    payload = await post(server, make_delivery(otp=None, content="Hi <there> & bye"))
    assert payload["text"] == "SMS from +15557654321: Hi &lt;there&gt; &amp; bye"
    assert [block["type"] for block in payload["blocks"]] == ["section", "section", "context"]


@pytest.mark.trio
async def test_a_long_text_is_cut_within_the_section_limit(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    payload = await post(server, make_delivery(content="a&" * 2000))
    section = payload["blocks"][2]["text"]["text"]
    assert len(section) <= 3000
    assert section.endswith(TRUNCATED)
    # Cut between escaped characters, never inside an entity.
    assert section.removesuffix(TRUNCATED).endswith(("a", "&amp;"))
    assert len(payload["text"]) <= 300
    assert len(json.dumps(payload)) < 5000


@pytest.mark.trio
async def test_a_429_is_a_throttled_retry_after_its_delay(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    server.answer(Answer(status=429, headers=(("retry-after", "30"),), body=b"rate_limited"))
    destination = slack(server)
    with pytest.raises(RetryableDeliveryError) as caught:
        await destination.deliver(make_delivery())
    await destination.aclose()
    error = caught.value
    assert (error.throttled, error.retry_after, error.status_code) == (True, 30.0, 429)
    assert error.response == "rate_limited"
    assert TOKEN not in str(error)


@pytest.mark.parametrize(
    ("status", "body", "kind", "disable"),
    [
        (404, b"channel_not_found", PermanentDeliveryError, True),
        (404, b"no_service", PermanentDeliveryError, True),
        (410, b"channel_is_archived", PermanentDeliveryError, True),
        (400, b"invalid_payload", PermanentDeliveryError, False),
        (403, b"action_prohibited", PermanentDeliveryError, False),
        (500, b"rollup_error", RetryableDeliveryError, None),
        (503, b"", RetryableDeliveryError, None),
    ],
)
@pytest.mark.trio
async def test_slack_errors_are_classified(
    server: HttpTestServer,
    make_delivery: MakeDelivery,
    status: int,
    body: bytes,
    kind: type[Exception],
    disable: bool | None,
) -> None:
    server.answer(Answer(status=status, body=body))
    destination = slack(server)
    with pytest.raises(kind) as caught:
        await destination.deliver(make_delivery())
    await destination.aclose()
    error = caught.value
    assert isinstance(error, PermanentDeliveryError | RetryableDeliveryError)
    assert (error.status_code, error.response) == (status, body.decode() or None)
    if isinstance(error, PermanentDeliveryError):
        assert error.disable is disable
    assert TOKEN not in str(error)


def test_plain_http_is_refused_for_slack() -> None:
    config = SlackConfig(url=f"http://hooks.slack.com/services/T0001/B0001/{TOKEN}")
    with pytest.raises(ConfigError, match="plain http://") as caught:
        SlackDestination("chat", config)
    assert caught.value.key == "url"
    assert TOKEN not in str(caught.value)


def test_the_registry_reports_a_bad_setting_under_the_instance() -> None:
    with pytest.raises(ConfigError) as caught:
        load_destination(
            "team", "slack", {"url": f"http://hooks.slack.com/services/T0001/B0001/{TOKEN}"}
        )
    assert caught.value.key == "destinations.team.config.url"
    assert TOKEN not in str(caught.value)
