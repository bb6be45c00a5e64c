"""Webhook carriers configured like any carrier, reached over real HTTP on 127.0.0.1:
the provider's signed request is committed before the provider hears its answer."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

import engine
from engine.config import ApiConfig, CarrierConfig, Config
from engine.errors import ConfigError

pytestmark = pytest.mark.trio

TOKEN = "12345678901234567890123456789012"
TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _config(path: Path, **api: object) -> Config:
    return Config(
        data_dir=str(path),
        api=ApiConfig(port=0, **api),  # type: ignore[arg-type]
        carriers=(CarrierConfig(name="tw", adapter="twilio", config={"auth_token": TOKEN}),),
    )


async def test_a_signed_twilio_post_is_committed_then_answered_with_twiml(
    tmp_path: Path,
) -> None:
    async with engine.open(_config(tmp_path)) as septet:
        assert septet.api_url is not None
        url = f"{septet.api_url}/carriers/tw"
        fields = {
            "MessageSid": "SM0123456789abcdef0123456789abcdef",
            "AccountSid": "AC00000000000000000000000000000000",
            "From": "+14155550123",
            "To": "+14155550100",
            "Body": "Your verification code is 271828",
            "NumSegments": "1",
        }
        signature = RequestValidator(TOKEN).compute_signature(url, fields)
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                url,
                content=urlencode(fields),
                headers={
                    "content-type": "application/x-www-form-urlencoded",
                    "x-twilio-signature": signature,
                },
            )
            assert answer.status_code == 200
            assert answer.content == TWIML
            [message] = await septet.messages()
            assert message.carrier == "tw"
            assert message.carrier_message_id == fields["MessageSid"]
            assert message.otp is not None
            assert message.otp.code == "271828"
            retry = await client.post(
                url,
                content=urlencode(fields),
                headers={
                    "content-type": "application/x-www-form-urlencoded",
                    "x-twilio-signature": signature,
                },
            )
            assert retry.content == TWIML
            forged = await client.post(
                url,
                content=urlencode({**fields, "Body": "Your verification code is 271829"}),
                headers={
                    "content-type": "application/x-www-form-urlencoded",
                    "x-twilio-signature": signature,
                },
            )
            assert forged.status_code == 401
            assert forged.headers["content-type"] == "application/problem+json"
        assert len(await septet.messages()) == 1


async def test_behind_a_proxy_the_public_url_is_what_is_signed(tmp_path: Path) -> None:
    public = "https://sms.example.com"
    async with engine.open(_config(tmp_path, public_url=public)) as septet:
        assert septet.api_url is not None
        fields = {"MessageSid": "SM1", "From": "+14155550123", "To": "+14155550100", "Body": "hi"}
        signature = RequestValidator(TOKEN).compute_signature(f"{public}/carriers/tw", fields)
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{septet.api_url}/carriers/tw",
                content=urlencode(fields),
                headers={
                    "content-type": "application/x-www-form-urlencoded",
                    "x-twilio-signature": signature,
                },
            )
        assert answer.status_code == 200
        assert [m.content for m in await septet.messages()] == ["hi"]


async def test_a_webhook_carrier_without_the_http_server_is_refused(tmp_path: Path) -> None:
    config = Config(
        data_dir=str(tmp_path),
        carriers=(CarrierConfig(name="tw", adapter="twilio", config={"auth_token": TOKEN}),),
    )
    with pytest.raises(ConfigError) as caught:
        async with engine.open(config):
            pass
    assert caught.value.key == "api.port"
