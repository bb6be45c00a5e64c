"""The Discord destination, posting to a Discord-shaped webhook endpoint on 127.0.0.1."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from http_server import Answer, HttpTestServer

from adapters.destinations._chat_text import TRUNCATED
from adapters.destinations.discord import DiscordConfig, DiscordDestination
from engine.plugin_api import (
    ConfigError,
    Delivery,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from engine.plugins import load_destination
from engine.testing import check_destination_class

MakeDelivery = Callable[..., Delivery]
TOKEN = "dIsCoRdWeBhOoKtOkEn_0123456789-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"
HOSTILE = "@everyone @here <@80351110224678912> <@&165511591545143296> ```js\nx``` \\` **b** ||s||"
# Any ASCII punctuation not preceded by the backslash that escapes it.
UNESCAPED = re.compile(r"(?<!\\)(?:\\\\)*[" + re.escape(string.punctuation.replace("\\", "")) + "]")

RATE_LIMIT_HEADERS = (
    ("x-ratelimit-limit", "5"),
    ("x-ratelimit-remaining", "0"),
    ("x-ratelimit-reset", "1735732800.123"),
    ("x-ratelimit-reset-after", "2.5"),
    ("x-ratelimit-bucket", "abcd1234"),
)


def discord(server: HttpTestServer, *, query: str = "", **settings: Any) -> DiscordDestination:
    config = msgspec.convert(
        {
            "url": f"{server.url}/api/webhooks/223704706495545344/{TOKEN}{query}",
            "allow_hosts": ["127.0.0.1"],
            **settings,
        },
        DiscordConfig,
    )
    return DiscordDestination("chat", config)


async def post(destination: DiscordDestination, delivery: Delivery) -> None:
    try:
        receipt = await destination.deliver(delivery)
    finally:
        await destination.aclose()
    assert receipt.status_code == 200


def unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown, flags=re.DOTALL)


@pytest.mark.trio
async def test_it_keeps_the_destination_contract() -> None:
    url = f"https://discord.com/api/webhooks/223704706495545344/{TOKEN}"
    destination = check_destination_class(DiscordDestination, {"url": url})
    await destination.aclose()


@pytest.mark.trio
async def test_an_sms_can_neither_ping_nor_format(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    await post(discord(server, username="Septet SMS"), make_delivery(content=HOSTILE))

    (request,) = server.requests
    payload = request.json()
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["username"] == "Septet SMS"
    assert payload["flags"] == 4  # no link previews
    code, people, text = payload["content"].split("\n", 2)
    assert code == "**Code: 123456**"
    assert people == "**From** \\+15557654321 **to** \\+15550100001"
    assert unescape(text) == HOSTILE
    assert UNESCAPED.search(text) is None
    assert "\\@everyone" in text
    assert "\\`\\`\\`js" in text


@pytest.mark.trio
async def test_wait_is_added_and_the_thread_kept(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    await post(discord(server, query="?thread_id=42&wait=false"), make_delivery())
    target = server.requests[0].target
    assert target == f"/api/webhooks/223704706495545344/{TOKEN}?thread_id=42&wait=true"
    assert "username" not in server.requests[0].json()


@pytest.mark.trio
async def test_a_long_text_is_cut_at_2000_characters(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    await post(discord(server), make_delivery(content="*" * 1500 + "x" * 3000))
    content = server.requests[0].json()["content"]
    # Cut between escaped characters: a two-character escape may leave one unused.
    assert 1999 <= len(content) <= 2000
    assert content.endswith("\\*" * 10 + TRUNCATED)
    assert UNESCAPED.search(content.split("\n", 2)[2].removesuffix(TRUNCATED)) is None


@pytest.mark.trio
async def test_a_success_with_no_requests_left_is_still_a_success(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    server.answer(Answer(headers=RATE_LIMIT_HEADERS, body=b'{"id": "1", "type": 0}'))
    destination = discord(server)
    receipt = await destination.deliver(make_delivery())
    await destination.aclose()
    assert (receipt.status_code, receipt.response) == (200, '{"id": "1", "type": 0}')


@pytest.mark.parametrize(
    ("body", "headers", "retry_after", "says_global"),
    [
        (
            b'{"message": "You are being rate limited.", "retry_after": 1.234, "global": false}',
            (*RATE_LIMIT_HEADERS, ("retry-after", "2"), ("x-ratelimit-scope", "user")),
            1.234,
            False,
        ),
        (
            b'{"message": "You are being rate limited.", "retry_after": 64.57, "global": true}',
            (
                ("retry-after", "65"),
                ("x-ratelimit-global", "true"),
                ("x-ratelimit-scope", "global"),
            ),
            64.57,
            True,
        ),
        (b"<html>error code: 1015</html>", (("retry-after", "5"),), 5.0, False),
        (b"", RATE_LIMIT_HEADERS, 2.5, False),
    ],
)
@pytest.mark.trio
async def test_a_429_waits_as_long_as_discord_says(
    server: HttpTestServer,
    make_delivery: MakeDelivery,
    body: bytes,
    headers: tuple[tuple[str, str], ...],
    retry_after: float,
    says_global: bool,
) -> None:
    server.answer(
        Answer(status=429, headers=(("content-type", "application/json"), *headers), body=body)
    )
    destination = discord(server)
    with pytest.raises(RetryableDeliveryError) as caught:
        await destination.deliver(make_delivery())
    await destination.aclose()
    error = caught.value
    assert (error.throttled, error.retry_after, error.status_code) == (True, retry_after, 429)
    assert ("(global)" in str(error)) is says_global
    assert TOKEN not in str(error)


@pytest.mark.parametrize(
    ("status", "kind", "disable", "throttled"),
    [
        (401, PermanentDeliveryError, True, None),
        (403, PermanentDeliveryError, True, None),
        (404, PermanentDeliveryError, True, None),
        (400, PermanentDeliveryError, False, None),
        (500, RetryableDeliveryError, None, False),
        (502, RetryableDeliveryError, None, True),
    ],
)
@pytest.mark.trio
async def test_discord_errors_are_classified(
    server: HttpTestServer,
    make_delivery: MakeDelivery,
    status: int,
    kind: type[Exception],
    disable: bool | None,
    throttled: bool | None,
) -> None:
    body = f'{{"message": "Unknown Webhook", "code": 10015, "token": "{TOKEN}"}}'.encode()
    server.answer(Answer(status=status, body=body))
    destination = discord(server)
    with pytest.raises(kind) as caught:
        await destination.deliver(make_delivery())
    await destination.aclose()
    error = caught.value
    if isinstance(error, PermanentDeliveryError):
        assert error.disable is disable
    else:
        assert isinstance(error, RetryableDeliveryError)
        assert error.throttled is throttled
    assert error.response == '{"message": "Unknown Webhook", "code": 10015, "token": "[redacted]"}'
    assert TOKEN not in str(error)


@pytest.mark.parametrize(
    ("username", "says"),
    [("", "1 to 80"), ("x" * 81, "1 to 80"), ("My Discord bot", "'discord'"), ("clyde", "clyde")],
)
def test_a_name_discord_refuses_is_refused_at_start(username: str, says: str) -> None:
    config = DiscordConfig(
        url=f"https://discord.com/api/webhooks/223704706495545344/{TOKEN}", username=username
    )
    with pytest.raises(ConfigError, match=says) as caught:
        DiscordDestination("chat", config)
    assert caught.value.key == "username"


def test_the_registry_reports_a_bad_setting_under_the_instance() -> None:
    with pytest.raises(ConfigError) as caught:
        load_destination(
            "team",
            "discord",
            {"url": f"https://discord.com/api/webhooks/1/{TOKEN}", "username": "clyde"},
        )
    assert caught.value.key == "destinations.team.config.username"
    assert TOKEN not in str(caught.value)
