"""The Vonage SMS API adapter, with vonage-http-client's ``Auth`` as the signature oracle."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import msgspec
import pytest
from vonage_http_client import Auth
from webhook_support_a import (
    check_webhook_carrier,
    problem,
    store_unavailable,
    tampered,
    webhook_request,
)

import engine
from adapters.carriers.vonage import VonageCarrier, VonageConfig, vonage_signature
from engine.config import Config
from engine.plugin_api import InboundStatus, InboundText, Segment, StoreError
from engine.testing import CarrierHarness

pytestmark = pytest.mark.trio

SECRET = "vonage-signature-secret-0123456789"
API_KEY = "abcd1234"
URL = "https://sms.example.com/carriers/vonage"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HmacMethod = Literal["md5", "sha1", "sha256", "sha512"]


def inbound(**changes: str) -> dict[str, str]:
    params = {
        "msisdn": "447700900123",
        "to": "447700900001",
        "messageId": "0A0000000123ABCD1",
        "text": "Your code is 482913 & keep it = secret",
        "type": "text",
        "keyword": "YOUR",
        "api-key": API_KEY,
        "message-timestamp": "2026-05-01 12:00:00",
        "nonce": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        "timestamp": str(int(time.time())),
        **changes,
    }
    return params


def sdk_signed(params: dict[str, str], method: HmacMethod = "sha256") -> dict[str, str]:
    """``params`` with the ``sig`` Vonage's own SDK computes (it mutates what it gets)."""
    auth = Auth(api_key=API_KEY, signature_secret=SECRET, signature_method=method)
    signed = dict(params)
    signed["sig"] = auth.sign_params(dict(params))
    assert Auth(api_key=API_KEY, signature_secret=SECRET, signature_method=method).check_signature(
        dict(signed)
    )
    return signed


def carrier(**settings: Any) -> VonageCarrier:
    config = {"signature_secret": SECRET, "signature_method": "sha256", **settings}
    return VonageCarrier("vonage", msgspec.convert(config, VonageConfig))


def post(params: dict[str, str]) -> Any:
    return webhook_request(URL, body=urlencode(params).encode(), headers=FORM)


async def test_it_keeps_the_webhook_carrier_contract() -> None:
    check_webhook_carrier(VonageCarrier, {"signature_secret": SECRET}, (SECRET,))
    with pytest.raises(msgspec.ValidationError, match="signature_secret is required"):
        msgspec.convert({}, VonageConfig)
    with pytest.raises(msgspec.ValidationError, match="tolerance"):
        msgspec.convert({"verify": False, "tolerance": -1}, VonageConfig)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"signature_secret": SECRET, "secret": "x"}, VonageConfig)
    assert msgspec.convert({"verify": False}, VonageConfig).signature_secret is None


@pytest.mark.parametrize("method", ["md5", "sha1", "sha256", "sha512"])
async def test_a_form_post_signed_by_the_sdk_is_emitted(method: HmacMethod) -> None:
    harness = CarrierHarness()
    request = post(sdk_signed(inbound(), method))
    response = await carrier(signature_method=method).handle(request, harness.emit)
    assert response.status == 204
    assert harness.items == [
        InboundText(
            carrier="vonage",
            number="+447700900001",
            sender="+447700900123",
            text="Your code is 482913 & keep it = secret",
            carrier_message_id="0A0000000123ABCD1",
            received_at=datetime(2026, 5, 1, 12, 0),
            encoding="gsm7",
            raw=request.body,
        )
    ]


async def test_a_get_and_a_json_post_are_read_alike() -> None:
    harness = CarrierHarness()
    params = sdk_signed(inbound(type="unicode", text="Код 482913"))
    via_get = webhook_request(f"{URL}?{urlencode(params)}", method="GET")
    via_json = webhook_request(
        URL, body=msgspec.json.encode(params), headers={"Content-Type": "application/json"}
    )
    for request in (via_get, via_json):
        assert (await carrier().handle(request, harness.emit)).status == 204
    first, second = harness.items
    assert isinstance(first, InboundText)
    assert isinstance(second, InboundText)
    assert first.text == second.text == "Код 482913"
    assert first.encoding == second.encoding == "ucs2"
    assert [r.outcome for r in harness.results] == ["committed", "duplicate"]


async def test_the_legacy_md5hash_signature_is_checked() -> None:
    harness = CarrierHarness()
    params = inbound()
    # The documented algorithm, by hand: sorted "&name=value" ('&' and '=' in values
    # become '_'), then MD5 of that string followed by the secret.
    signed = "".join(
        f"&{name}={params[name].replace('&', '_').replace('=', '_')}" for name in sorted(params)
    )
    assert "&text=Your code is 482913 _ keep it _ secret" in signed
    params["sig"] = hashlib.md5((signed + SECRET).encode()).hexdigest().upper()
    assert vonage_signature(params, SECRET, "md5hash") == params["sig"].lower()
    vonage = carrier(signature_method="md5hash")
    assert (await vonage.handle(post(params), harness.emit)).status == 204
    forged = {**params, "sig": hashlib.md5(signed.encode() + b"x").hexdigest()}
    problem(await vonage.handle(post(forged), harness.emit), 401)
    assert len(harness.items) == 1


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda p: {**p, "text": p["text"].replace("482913", "482914")}, id="text"),
        pytest.param(lambda p: {**p, "msisdn": "447700900124"}, id="sender"),
        pytest.param(lambda p: {**p, "sig": _flip_first(p["sig"])}, id="signature"),
        pytest.param(lambda p: {k: v for k, v in p.items() if k != "sig"}, id="unsigned"),
    ],
)
async def test_a_tampered_or_unsigned_request_is_refused_unseen(forge: Any) -> None:
    harness = CarrierHarness()
    params = forge(sdk_signed(inbound()))
    document = problem(await carrier().handle(post(params), harness.emit), 401)
    assert SECRET not in str(document)
    assert harness.items == []


async def test_a_one_byte_tamper_of_the_body_is_refused() -> None:
    harness = CarrierHarness()
    request = post(sdk_signed(inbound()))
    forged = msgspec.structs.replace(request, body=tampered(request.body, b"482913", b"482813"))
    problem(await carrier().handle(forged, harness.emit), 401)
    assert harness.items == []


async def test_another_secret_or_method_is_refused() -> None:
    harness = CarrierHarness()
    request = post(sdk_signed(inbound()))
    problem(await carrier(signature_secret="another-secret").handle(request, harness.emit), 401)
    problem(await carrier(signature_method="sha512").handle(request, harness.emit), 401)
    assert harness.items == []


async def test_a_stale_timestamp_is_refused_with_403() -> None:
    harness = CarrierHarness()
    old = sdk_signed(inbound(timestamp=str(int(time.time()) - 3600)))
    problem(await carrier().handle(post(old), harness.emit), 403)
    ahead = sdk_signed(inbound(timestamp=str(int(time.time()) + 3600)))
    problem(await carrier().handle(post(ahead), harness.emit), 403)
    assert harness.items == []
    assert (await carrier(tolerance=7200).handle(post(old), harness.emit)).status == 204


def part(seq: int, text: str, **changes: str) -> dict[str, str]:
    return sdk_signed(
        inbound(
            messageId=f"0A00000001{seq}",
            text=text,
            concat="true",
            **{"concat-ref": "108", "concat-total": "3", "concat-part": str(seq)},
            **changes,
        )
    )


PARTS = {1: "Your verification code ", 2: "is 482913. Do not ", 3: "share it."}


async def test_concatenated_parts_out_of_order_are_emitted_as_segments() -> None:
    harness = CarrierHarness()
    vonage = carrier()
    for seq in (3, 1, 2):
        assert (await vonage.handle(post(part(seq, PARTS[seq])), harness.emit)).status == 204
    texts = [item for item in harness.items if isinstance(item, InboundText)]
    assert [item.segment for item in texts] == [
        Segment(reference=108, reference_bits=8, total=3, seq=seq) for seq in (3, 1, 2)
    ]
    assert {item.sender for item in texts} == {"+447700900123"}
    assert [item.text for item in texts] == [PARTS[3], PARTS[1], PARTS[2]]
    assert [r.outcome for r in harness.results] == ["buffered"] * 3


async def test_the_engine_joins_the_parts_into_one_message(tmp_path: Path) -> None:
    vonage = carrier()
    async with engine.open(Config(data_dir=str(tmp_path))) as septet:
        answers = [
            await vonage.handle(post(part(seq, PARTS[seq])), septet.ingest) for seq in (2, 3, 1)
        ]
        assert [a.status for a in answers] == [204, 204, 204]
        (message,) = await septet.messages()
    assert message.content == "Your verification code is 482913. Do not share it."
    assert message.parts == 3
    assert message.sender_id == "+447700900123"
    assert message.number_used == "+447700900001"
    assert message.otp is not None
    assert message.otp.code == "482913"


async def test_bad_concat_parameters_are_refused_with_400() -> None:
    harness = CarrierHarness()
    bad = part(4, "x")  # concat-part 4 of 3
    assert "concat-part" in problem(await carrier().handle(post(bad), harness.emit), 400)["detail"]
    assert harness.items == []


async def test_a_binary_message_is_placed_by_its_udh() -> None:
    harness = CarrierHarness()
    params = sdk_signed(inbound(type="binary", data="c0ffee", udh="0500030a0201", text=""))
    del params["text"], params["sig"]
    params = sdk_signed(params)
    assert (await carrier().handle(post(params), harness.emit)).status == 204
    (item,) = harness.items
    assert isinstance(item, InboundText)
    assert (item.text, item.encoding, item.flags) == ("c0ffee", "8bit", ("binary",))
    assert item.segment == Segment(reference=10, reference_bits=8, total=2, seq=1)


async def test_a_delivery_receipt_becomes_a_status() -> None:
    harness = CarrierHarness()
    params = {
        "msisdn": "447700900123",
        "to": "AcmeInc",
        "network-code": "23410",
        "messageId": "0A0000000123ABCD1",
        "price": "0.03330000",
        "status": "delivered",
        "scts": "2605011201",
        "err-code": "0",
        "api-key": API_KEY,
        "message-timestamp": "2026-05-01 12:01:00",
        "timestamp": str(int(time.time())),
    }
    assert (await carrier().handle(post(sdk_signed(params)), harness.emit)).status == 204
    (item,) = harness.items
    assert isinstance(item, InboundStatus)
    assert (item.refers_to, item.status, item.error_code, item.number) == (
        "0A0000000123ABCD1",
        "delivered",
        "0",
        "AcmeInc",
    )
    assert item.reported_at == datetime(2026, 5, 1, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b"msisdn=1&msisdn=2", "application/x-www-form-urlencoded", "more than once"),
        (b"\xff=1", "application/x-www-form-urlencoded", "not a form"),
        (b'{"msisdn": ', "application/json", "not JSON"),
        (b'["msisdn"]', "application/json", "not an object"),
        (b'{"msisdn": {"a": 1}}', "application/json", "not a string or a number"),
    ],
)
async def test_a_malformed_body_is_refused_with_400(
    body: bytes, content_type: str, detail: str
) -> None:
    harness = CarrierHarness()
    request = webhook_request(URL, body=body, headers={"Content-Type": content_type})
    assert detail in problem(await carrier().handle(request, harness.emit), 400)["detail"]
    assert harness.items == []


async def test_missing_fields_and_unknown_types_are_refused_with_400() -> None:
    harness = CarrierHarness()
    no_sender = sdk_signed({k: v for k, v in inbound().items() if k != "msisdn"})
    assert "msisdn" in problem(await carrier().handle(post(no_sender), harness.emit), 400)["detail"]
    odd = sdk_signed(inbound(type="wap"))
    assert "wap" in problem(await carrier().handle(post(odd), harness.emit), 400)["detail"]
    assert harness.items == []


async def test_an_empty_request_is_answered_without_emitting() -> None:
    harness = CarrierHarness()
    response = await carrier().handle(webhook_request(URL, method="GET"), harness.emit)
    assert response.status == 204
    assert harness.items == []
    problem(await carrier().handle(webhook_request(URL, method="PUT"), harness.emit), 405)


async def test_unsigned_requests_pass_when_verify_is_off() -> None:
    harness = CarrierHarness()
    vonage = VonageCarrier("vonage", VonageConfig(verify=False))
    params = {k: v for k, v in inbound().items() if k != "timestamp"}
    assert (await vonage.handle(post(params), harness.emit)).status == 204
    assert len(harness.items) == 1


async def test_a_store_error_propagates_and_nothing_is_acknowledged() -> None:
    with pytest.raises(StoreError):
        await carrier().handle(post(sdk_signed(inbound())), store_unavailable)


def _flip_first(signature: str) -> str:
    """``signature`` with its first hex digit changed (to another one, always)."""
    return ("1" if signature[0] == "0" else "0") + signature[1:]
