"""The Plivo adapter, with Plivo's own signature V3 functions as the oracle."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import msgspec
import pytest
from plivo.utils.signature_v3 import (
    construct_get_url,
    construct_post_url,
    get_signature_v3,
    validate_v3_signature,
)
from webhook_support_a import (
    check_webhook_carrier,
    problem,
    store_unavailable,
    tampered,
    webhook_request,
)

from adapters.carriers.plivo import PlivoCarrier, PlivoConfig, plivo_signature_base
from engine.plugin_api import InboundText, StoreError, WebhookRequest
from engine.testing import CarrierHarness

pytestmark = pytest.mark.trio

TOKEN = "ZDQ4ZmM1ZTM5OGU2NDQyMDhmMmZkNmU1ZjE0ZTU1"
URL = "https://sms.example.com/carriers/plivo"
NONCE = "05429567804466091622"
XML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
FIELDS = {
    "From": "14155550123",
    "To": "14155550100",
    "Text": "Código: 551 204 🙂 expira en 5 min",
    "Type": "sms",
    "MessageUUID": "2d55a0b6-2e5b-11ef-9f2a-0242ac110003",
    "Units": "2",
    "TotalRate": "0.00000",
    "TotalAmount": "0.00000",
    "MessageIntent": "",
    "PowerpackUUID": "",
}


def sdk_signature(url: str, fields: dict[str, str], *, token: str = TOKEN) -> str:
    # The base goes in as text: given the bytes construct_post_url returns, the SDK reads
    # them as Latin-1 and signs non-ASCII text double-encoded, unlike validate_v3_signature.
    base = construct_post_url(url, dict(fields)).decode()
    signature: bytes = get_signature_v3(token.encode(), base, NONCE)
    return signature.decode()


def signed(
    url: str = URL,
    fields: dict[str, str] = FIELDS,
    *,
    signature: str | None = None,
) -> WebhookRequest:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Plivo-Signature-V3": signature or sdk_signature(url, fields),
        "X-Plivo-Signature-V3-Nonce": NONCE,
    }
    return webhook_request(url, body=urlencode(fields).encode(), headers=headers)


def carrier(**settings: object) -> PlivoCarrier:
    return PlivoCarrier("plivo", PlivoConfig(**{"auth_token": TOKEN, **settings}))  # type: ignore[arg-type]


async def test_it_keeps_the_webhook_carrier_contract() -> None:
    check_webhook_carrier(PlivoCarrier, {"auth_token": TOKEN}, (TOKEN,))
    with pytest.raises(msgspec.ValidationError, match="auth_token is required"):
        msgspec.convert({}, PlivoConfig)


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        (URL, FIELDS),
        (URL, {}),
        (f"{URL}?tenant=acme&b=x%20y&a=2&a=1&empty=", FIELDS),
        (f"{URL}?tenant=acme", {}),
        ("https://sms.example.com:8443/carriers/plivo;v=1?z=1#frag", {"k": "v", "a": ""}),
    ],
)
async def test_the_signed_text_is_what_plivo_builds(url: str, fields: dict[str, str]) -> None:
    expected = construct_post_url(url, dict(fields)).decode()
    assert plivo_signature_base(url, list(fields.items())) == expected


async def test_a_genuine_message_is_emitted_then_answered_with_empty_xml() -> None:
    harness = CarrierHarness()
    request = signed()
    signature = request.headers["x-plivo-signature-v3"]
    assert validate_v3_signature("POST", URL, NONCE, TOKEN, signature, dict(FIELDS))
    response = await carrier().handle(request, harness.emit)
    assert response.status == 200
    assert response.content_type == "application/xml"
    assert response.body == XML
    assert harness.items == [
        InboundText(
            carrier="plivo",
            number="+14155550100",  # Plivo leaves out the "+"; the adapter puts it back
            sender="+14155550123",
            text="Código: 551 204 🙂 expira en 5 min",
            carrier_message_id="2d55a0b6-2e5b-11ef-9f2a-0242ac110003",
            raw=request.body,
        )
    ]


async def test_a_retry_is_answered_the_same() -> None:
    harness = CarrierHarness()
    plivo = carrier()
    first = await plivo.handle(signed(), harness.emit)
    again = await plivo.handle(signed(), harness.emit)
    assert [r.outcome for r in harness.results] == ["committed", "duplicate"]
    assert again == first


async def test_a_url_with_a_query_is_signed_with_it() -> None:
    harness = CarrierHarness()
    url = f"{URL}?tenant=acme&route=otp"
    request = signed(url)
    signature = request.headers["x-plivo-signature-v3"]
    assert validate_v3_signature("POST", url, NONCE, TOKEN, signature, dict(FIELDS))
    assert (await carrier().handle(request, harness.emit)).status == 200
    assert len(harness.items) == 1


async def test_any_signature_of_the_list_may_match() -> None:
    harness = CarrierHarness()
    genuine = sdk_signature(URL, FIELDS)
    other = sdk_signature(URL, FIELDS, token="another-account-token-000000000000")
    for header in (f"{other},{genuine}", f"{genuine},{other}", f"{other}, {genuine}"):
        assert validate_v3_signature("POST", URL, NONCE, TOKEN, header.replace(" ", ""), FIELDS)
        assert (await carrier().handle(signed(signature=header), harness.emit)).status == 200
    problem(await carrier().handle(signed(signature=f"{other},{other}"), harness.emit), 401)
    assert len(harness.items) == 3


async def test_a_get_webhook_is_signed_over_its_url() -> None:
    harness = CarrierHarness()
    # ASCII text: the SDK's construct_get_url cannot read a non-ASCII query (it parses
    # the URL as bytes), so it could not be the oracle for one.
    fields = {**FIELDS, "Text": "Your code is 551204"}
    url = f"{URL}?{urlencode(fields)}"
    base = construct_get_url(url, {}).decode()
    signature = get_signature_v3(TOKEN.encode(), base, NONCE).decode()
    assert validate_v3_signature("GET", url, NONCE, TOKEN, signature)
    headers = {"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": NONCE}
    request = webhook_request(url, method="GET", headers=headers)
    assert (await carrier().handle(request, harness.emit)).status == 200
    [item] = harness.items
    assert isinstance(item, InboundText)
    assert item.text == "Your code is 551204"


def _with(request: WebhookRequest, **changes: object) -> WebhookRequest:
    return msgspec.structs.replace(request, **changes)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda r: _with(r, body=tampered(r.body, b"551", b"552")), id="body"),
        pytest.param(lambda r: _with(r, url=URL.replace("plivo", "plivO")), id="url"),
        pytest.param(
            lambda r: _with(r, headers={**r.headers, "x-plivo-signature-v3-nonce": NONCE[:-1]}),
            id="nonce",
        ),
        pytest.param(
            lambda r: _with(
                r, headers={k: v for k, v in r.headers.items() if k != "x-plivo-signature-v3"}
            ),
            id="no-signature",
        ),
        pytest.param(
            lambda r: _with(
                r,
                headers={k: v for k, v in r.headers.items() if k != "x-plivo-signature-v3-nonce"},
            ),
            id="no-nonce",
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
    request = signed(signature=sdk_signature(URL, FIELDS, token="MAAAAAAAAAAAAAAAAAAA"))
    problem(await carrier().handle(request, harness.emit), 401)
    assert harness.items == []


async def test_an_mms_body_is_its_text() -> None:
    harness = CarrierHarness()
    fields = {k: v for k, v in FIELDS.items() if k != "Text"}
    fields |= {"Type": "mms", "Body": "look 📷", "MediaCount": "1", "Media0": "https://m/1"}
    assert (await carrier().handle(signed(fields=fields), harness.emit)).status == 200
    [item] = harness.items
    assert isinstance(item, InboundText)
    assert item.text == "look 📷"


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({k: v for k, v in FIELDS.items() if k != "MessageUUID"}, "missing field: MessageUUID"),
        ({k: v for k, v in FIELDS.items() if k not in ("From", "To")}, "missing fields: From, To"),
        ({k: v for k, v in FIELDS.items() if k != "Text"}, "missing field: Text"),
        ({**FIELDS, "From": ""}, "must not be empty"),
    ],
)
async def test_a_signed_request_without_the_message_fields_is_a_bad_request(
    fields: dict[str, str], detail: str
) -> None:
    harness = CarrierHarness()
    document = problem(await carrier().handle(signed(fields=fields), harness.emit), 400)
    assert detail in document["detail"]
    assert harness.items == []


async def test_only_post_and_get_are_accepted() -> None:
    problem(await carrier().handle(webhook_request(URL, method="PUT"), CarrierHarness().emit), 405)


async def test_a_store_failure_propagates_and_nothing_is_acknowledged() -> None:
    with pytest.raises(StoreError):
        await carrier().handle(signed(), store_unavailable)


async def test_verification_is_off_only_when_asked() -> None:
    harness = CarrierHarness()
    unsigned = webhook_request(URL, body=urlencode(FIELDS).encode())
    problem(await carrier().handle(unsigned, harness.emit), 401)
    open_carrier = PlivoCarrier("plivo", PlivoConfig(verify=False))
    assert (await open_carrier.handle(unsigned, harness.emit)).status == 200
    assert len(harness.items) == 1
