"""The webhook destination, delivering to a real receiver that verifies its signatures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from http_server import Answer, HttpTestServer
from standardwebhooks.webhooks import Webhook

from adapters.destinations.webhook import WebhookConfig, WebhookDestination
from engine import signing
from engine.plugin_api import (
    ConfigError,
    Delivery,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from engine.plugins import load_destination
from engine.testing import check_destination_class

MakeDelivery = Callable[..., Delivery]
OLD_SECRET = signing.generate_secret()
NEW_SECRET = signing.generate_secret()
TOKEN = "path-token-0123456789abcdef"


def webhook(server: HttpTestServer, *secrets: str, **settings: Any) -> WebhookDestination:
    config = msgspec.convert(
        {
            "url": f"{server.url}/hooks/{TOKEN}",
            "secrets": list(secrets or [OLD_SECRET]),
            "allow_hosts": ["127.0.0.1"],
            **settings,
        },
        WebhookConfig,
    )
    return WebhookDestination("hooks", config)


@pytest.mark.trio
async def test_it_keeps_the_destination_contract() -> None:
    settings = {"url": "https://hooks.example.com/in", "secrets": [OLD_SECRET]}
    destination = check_destination_class(WebhookDestination, settings)
    await destination.aclose()


@pytest.mark.trio
async def test_a_message_arrives_signed_in_its_envelope(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    destination = webhook(server, headers={"Authorization": "Bearer s3cr3t-static-value"})
    delivery = make_delivery()
    receipt = await destination.deliver(delivery)
    await destination.aclose()

    assert (receipt.status_code, receipt.response) == (200, "ok")
    (request,) = server.requests
    assert request.target == f"/hooks/{TOKEN}"
    payload = Webhook(OLD_SECRET).verify(request.body, request.headers)
    assert payload["type"] == "message.received"
    assert payload["timestamp"] == "2025-01-01T12:00:01Z"
    assert payload["data"] == msgspec.json.decode(msgspec.json.encode(delivery.message))
    assert payload["data"]["numberUsed"] == "+15550100001"
    assert payload["data"]["otp"]["code"] == "123456"
    headers = request.headers
    assert headers["webhook-id"] == delivery.id
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("Septet/")
    assert headers["authorization"] == "Bearer s3cr3t-static-value"


@pytest.mark.trio
async def test_during_rotation_either_secret_verifies(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    destination = webhook(server, OLD_SECRET, NEW_SECRET)
    await destination.deliver(make_delivery())
    await destination.aclose()

    (request,) = server.requests
    assert len(request.headers["webhook-signature"].split()) == 2
    for secret in (OLD_SECRET, NEW_SECRET):
        Webhook(secret).verify(request.body, request.headers)


@pytest.mark.trio
async def test_a_retry_repeats_the_webhook_id_and_the_body(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    server.answer(Answer(status=503, headers=(("retry-after", "120"),), body=b"busy"))
    destination = webhook(server)
    with pytest.raises(RetryableDeliveryError) as caught:
        await destination.deliver(make_delivery(attempt=1))
    assert (caught.value.status_code, caught.value.retry_after) == (503, 120.0)
    assert not caught.value.throttled
    receipt = await destination.deliver(make_delivery(attempt=2))
    await destination.aclose()

    assert receipt.status_code == 200
    first, second = server.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "dlv_2b9QdT7x"
    assert first.body == second.body
    for request in (first, second):
        Webhook(OLD_SECRET).verify(request.body, request.headers)


@pytest.mark.trio
async def test_gone_disables_and_echoed_secrets_are_redacted(
    server: HttpTestServer, make_delivery: MakeDelivery
) -> None:
    echo = f"unknown hook {TOKEN}, secret {OLD_SECRET}, auth s3cr3t-static-value".encode()
    server.answer(Answer(status=410, body=echo))
    destination = webhook(server, headers={"Authorization": "s3cr3t-static-value"})
    with pytest.raises(PermanentDeliveryError) as caught:
        await destination.deliver(make_delivery())
    await destination.aclose()

    error = caught.value
    assert error.disable
    assert error.status_code == 410
    assert error.response == "unknown hook [redacted], secret [redacted], auth [redacted]"
    assert TOKEN not in str(error)
    assert str(error).startswith(f"{server.url} answered 410 Gone")


def test_a_url_to_a_refused_address_is_refused_at_start() -> None:
    config = WebhookConfig(url="https://127.0.0.1:9/", secrets=(OLD_SECRET,))
    with pytest.raises(ConfigError, match="loopback") as caught:
        WebhookDestination("hooks", config)
    assert caught.value.key == "url"


@pytest.mark.parametrize(
    ("settings", "key", "says"),
    [
        ({"secrets": []}, "secrets", "at least one signing secret"),
        ({"secrets": ["whsec_!!!not-base64"]}, "secrets", "followed by base64"),
        ({"url": f"http://hooks.example.com/{TOKEN}"}, "url", "plain http://"),
        ({"url": f"ftp://hooks.example.com/{TOKEN}"}, "url", "https://"),
        ({"headers": {"Webhook-Id": "x"}}, "headers", "set by the destination"),
        ({"headers": {"bad name": "x"}}, "headers", "not a valid header name"),
        ({"headers": {"x-token": "a\r\nb: c"}}, "headers", "line break"),
    ],
)
def test_bad_settings_name_their_key(settings: dict[str, Any], key: str, says: str) -> None:
    config = msgspec.convert(
        {"url": "https://hooks.example.com/in", "secrets": [OLD_SECRET], **settings},
        WebhookConfig,
    )
    with pytest.raises(ConfigError, match=says) as caught:
        WebhookDestination("hooks", config)
    assert caught.value.key == key
    assert TOKEN not in str(caught.value)
    assert "not-base64" not in str(caught.value)


def test_the_config_repr_hides_secrets_and_the_url_path() -> None:
    config = WebhookConfig(
        url=f"https://hooks.example.com/{TOKEN}",
        secrets=(OLD_SECRET,),
        headers={"authorization": "s3cr3t-static-value"},
    )
    shown = repr(config) + repr(list(config.__rich_repr__()))
    for secret in (TOKEN, OLD_SECRET, "s3cr3t-static-value"):
        assert secret not in shown
    assert "https://hooks.example.com" in shown


def test_the_registry_reports_a_bad_setting_under_the_instance() -> None:
    with pytest.raises(ConfigError) as caught:
        load_destination(
            "team", "webhook", {"url": f"http://hooks.example.com/{TOKEN}", "secrets": [OLD_SECRET]}
        )
    assert caught.value.key == "destinations.team.config.url"
    assert TOKEN not in str(caught.value)
