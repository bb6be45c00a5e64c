"""The Twilio adapter, with Twilio's own RequestValidator as the oracle for signatures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import msgspec
import pytest
from twilio.request_validator import RequestValidator
from webhook_support_a import (
    check_webhook_carrier,
    problem,
    store_unavailable,
    tampered,
    webhook_request,
)

import engine
from adapters.carriers.twilio import TwilioCarrier, TwilioConfig, twilio_url_variants
from engine.config import Config
from engine.plugin_api import InboundText, StoreError, WebhookRequest
from engine.testing import CarrierHarness

pytestmark = pytest.mark.trio

TOKEN = "12345678901234567890123456789012"
URL = "https://sms.example.com/carriers/twilio"
TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
FIELDS = {
    "ToCountry": "US",
    "ToState": "CA",
    "SmsMessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    "NumMedia": "0",
    "ToCity": "SAN FRANCISCO",
    "FromZip": "94105",
    "SmsSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    "FromState": "CA",
    "SmsStatus": "received",
    "FromCity": "SAN FRANCISCO",
    "Body": "Your code is 482913 🔐 — don't share it",
    "FromCountry": "US",
    "To": "+14155550100",
    "MessagingServiceSid": "MG00000000000000000000000000000000",
    "ToZip": "94105",
    "NumSegments": "2",
    "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    "AccountSid": "AC00000000000000000000000000000000",
    "From": "+14155550123",
    "ApiVersion": "2010-04-01",
}


def carrier(**settings: object) -> TwilioCarrier:
    return TwilioCarrier("twilio", TwilioConfig(**{"auth_token": TOKEN, **settings}))  # type: ignore[arg-type]


def signed(
    url: str = URL,
    fields: dict[str, str] = FIELDS,
    *,
    signed_url: str | None = None,
    token: str = TOKEN,
) -> WebhookRequest:
    """A POST as Twilio sends it, signed by Twilio's SDK over ``signed_url`` (``url``)."""
    signature = RequestValidator(token).compute_signature(signed_url or url, fields)
    return webhook_request(
        url,
        body=urlencode(fields).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


async def test_it_keeps_the_webhook_carrier_contract() -> None:
    check_webhook_carrier(
        TwilioCarrier, {"auth_token": TOKEN, "shared_key": "sk-secret"}, (TOKEN, "sk-secret")
    )
    with pytest.raises(msgspec.ValidationError, match="auth_token"):
        msgspec.convert({}, TwilioConfig)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"auth_token": TOKEN, "token": "x"}, TwilioConfig)
    assert msgspec.convert({"verify": False}, TwilioConfig).auth_token is None


async def test_a_genuine_message_is_emitted_then_answered_with_empty_twiml() -> None:
    harness = CarrierHarness()
    request = signed()
    assert RequestValidator(TOKEN).validate(URL, FIELDS, request.headers["x-twilio-signature"])
    response = await carrier().handle(request, harness.emit)
    assert response.status == 200
    assert response.content_type == "application/xml"
    assert response.body == TWIML
    assert harness.items == [
        InboundText(
            carrier="twilio",
            number="+14155550100",
            sender="+14155550123",
            text="Your code is 482913 🔐 — don't share it",
            carrier_message_id="SM1f0e8ae6ade43cb3c0ce4525424e404f",
            raw=request.body,
        )
    ]
    assert [r.outcome for r in harness.results] == ["committed"]


async def test_a_retry_is_answered_the_same() -> None:
    harness = CarrierHarness()
    twilio = carrier()
    first = await twilio.handle(signed(), harness.emit)
    again = await twilio.handle(signed(), harness.emit)
    assert [r.outcome for r in harness.results] == ["committed", "duplicate"]
    assert again == first


@pytest.mark.parametrize(
    ("called", "signed_over"),
    [
        ("https://sms.example.com:443/carriers/twilio", "https://sms.example.com/carriers/twilio"),
        ("https://sms.example.com/carriers/twilio", "https://sms.example.com:443/carriers/twilio"),
        ("http://sms.example.com:8080/carriers/twilio", "http://sms.example.com/carriers/twilio"),
        ("https://sms.example.com/carriers/twilio?tenant=a", None),
    ],
)
async def test_the_url_may_be_signed_with_or_without_its_port(
    called: str, signed_over: str | None
) -> None:
    harness = CarrierHarness()
    request = signed(called, signed_url=signed_over)
    # Twilio's own validator agrees that the request is genuine.
    assert RequestValidator(TOKEN).validate(called, FIELDS, request.headers["x-twilio-signature"])
    response = await carrier().handle(request, harness.emit)
    assert response.status == 200
    assert len(harness.items) == 1


async def test_url_variants_follow_twilios_validator() -> None:
    assert twilio_url_variants("https://h.example/p?q=1") == [
        "https://h.example/p?q=1",
        "https://h.example:443/p?q=1",
    ]
    assert twilio_url_variants("http://h.example:8080/p") == [
        "http://h.example:8080/p",
        "http://h.example/p",
    ]
    assert twilio_url_variants("http://[::1]:8080/p") == ["http://[::1]:8080/p", "http://[::1]/p"]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda r: _with(r, body=tampered(r.body, b"482913", b"482914")), id="body"),
        pytest.param(lambda r: _with(r, url=URL.replace("twilio", "twiliO")), id="url"),
        pytest.param(lambda r: _with(r, headers={}), id="no-signature"),
        pytest.param(
            lambda r: _with(
                r, headers={"x-twilio-signature": "AAAA" + r.headers["x-twilio-signature"][4:]}
            ),
            id="signature",
        ),
    ],
)
async def test_a_forged_or_tampered_request_is_refused_unseen(
    forge: Callable[[WebhookRequest], WebhookRequest],
) -> None:
    harness = CarrierHarness()
    request = forge(signed())
    document = problem(await carrier().handle(request, harness.emit), 401)
    assert TOKEN not in str(document)
    assert harness.items == []


async def test_a_request_signed_with_another_token_is_refused() -> None:
    harness = CarrierHarness()
    request = signed(token="00000000000000000000000000000000")
    problem(await carrier().handle(request, harness.emit), 401)
    assert harness.items == []


async def test_a_shared_key_signature_uses_hmac_sha256() -> None:
    harness = CarrierHarness()
    key = "webhook-shared-key-secret"
    signature = RequestValidator(key).compute_signature(URL, FIELDS, algorithm="HMAC_SHA256")
    headers = {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": f"key=KS{'0' * 32},algorithm=HMAC_SHA256",
    }
    request = webhook_request(URL, body=urlencode(FIELDS).encode(), headers=headers)
    twilio = carrier(shared_key=key)
    assert (await twilio.handle(request, harness.emit)).status == 200
    # Without the shared key configured, or with an algorithm Twilio does not define: 401.
    problem(await carrier().handle(request, harness.emit), 401)
    unknown = {**headers, "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_MD5"}
    problem(await twilio.handle(_with(request, headers=unknown), harness.emit), 401)
    assert len(harness.items) == 1


async def test_a_get_webhook_is_signed_over_its_url_alone() -> None:
    harness = CarrierHarness()
    url = f"{URL}?{urlencode(FIELDS)}"
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    request = webhook_request(url, method="GET", headers={"X-Twilio-Signature": signature})
    assert (await carrier().handle(request, harness.emit)).status == 200
    assert isinstance(harness.items[0], InboundText)
    assert harness.items[0].carrier_message_id == FIELDS["MessageSid"]


async def test_a_status_callback_is_acknowledged_without_a_message() -> None:
    harness = CarrierHarness()
    fields = {
        "MessageSid": "SM00000000000000000000000000000001",
        "MessageStatus": "delivered",
        "From": "+14155550100",
        "To": "+14155550123",
        "AccountSid": "AC00000000000000000000000000000000",
    }
    response = await carrier().handle(signed(fields=fields), harness.emit)
    assert (response.status, response.body) == (200, TWIML)
    assert harness.items == []


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({k: v for k, v in FIELDS.items() if k != "From"}, "missing field: From"),
        (
            {k: v for k, v in FIELDS.items() if k not in ("MessageSid", "SmsSid")},
            "MessageSid",
        ),
        ({**FIELDS, "To": ""}, "must not be empty"),
    ],
)
async def test_a_signed_request_without_the_message_fields_is_a_bad_request(
    fields: dict[str, str], detail: str
) -> None:
    harness = CarrierHarness()
    document = problem(await carrier().handle(signed(fields=fields), harness.emit), 400)
    assert detail in document["detail"]
    assert harness.items == []


async def test_a_body_that_is_no_form_is_a_bad_request() -> None:
    harness = CarrierHarness()
    request = webhook_request(URL, body=b"\xff\xfe", headers={"X-Twilio-Signature": "x"})
    assert "not a form" in problem(await carrier().handle(request, harness.emit), 400)["detail"]
    assert harness.items == []


async def test_only_post_and_get_are_accepted() -> None:
    response = await carrier().handle(webhook_request(URL, method="PUT"), CarrierHarness().emit)
    problem(response, 405)
    assert ("allow", "POST, GET") in response.headers


async def test_a_store_failure_propagates_and_nothing_is_acknowledged() -> None:
    with pytest.raises(StoreError):
        await carrier().handle(signed(), store_unavailable)


async def test_verification_is_off_only_when_asked() -> None:
    harness = CarrierHarness()
    unsigned = webhook_request(URL, body=urlencode(FIELDS).encode())
    problem(await carrier().handle(unsigned, harness.emit), 401)
    open_carrier = TwilioCarrier("twilio", TwilioConfig(verify=False))
    assert (await open_carrier.handle(unsigned, harness.emit)).status == 200
    assert len(harness.items) == 1


async def test_with_the_engine_a_message_is_committed_once(tmp_path: Path) -> None:
    twilio = carrier()
    async with engine.open(Config(data_dir=str(tmp_path))) as septet:
        first = await twilio.handle(signed(), septet.ingest)
        retry = await twilio.handle(signed(), septet.ingest)
        assert first.status == retry.status == 200
        [message] = await septet.messages()
        assert await septet.raw_payload(message.id) == signed().body
    assert message.number_used == "+14155550100"
    assert message.sender_id == "+14155550123"
    assert message.content == FIELDS["Body"]
    assert message.carrier_message_id == FIELDS["MessageSid"]
    assert message.otp is not None
    assert message.otp.code == "482913"


def _with(request: WebhookRequest, **changes: object) -> WebhookRequest:
    return msgspec.structs.replace(request, **changes)
