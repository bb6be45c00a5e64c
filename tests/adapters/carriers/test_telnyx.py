"""The Telnyx adapter: requests signed with PyNaCl, and Telnyx's own SDK as the oracle."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import nacl.signing
import pytest
import telnyx
from webhook_support_a import (
    check_webhook_carrier,
    problem,
    store_unavailable,
    tampered,
    webhook_request,
)

from adapters.carriers.telnyx import TelnyxCarrier, TelnyxConfig
from engine.plugin_api import InboundText, StoreError, WebhookRequest
from engine.testing import CarrierHarness

pytestmark = pytest.mark.trio

URL = "https://sms.example.com/carriers/telnyx"
SIGNING_KEY = nacl.signing.SigningKey(bytes(range(32)))
PUBLIC_KEY = base64.b64encode(SIGNING_KEY.verify_key.encode()).decode()
OTHER_KEY = nacl.signing.SigningKey(bytes(range(1, 33)))
MESSAGE_ID = "84cca175-9755-4859-b67f-4730d7f58aa3"


def event(event_type: str = "message.received", **payload: Any) -> bytes:
    """A Telnyx v2 event as Telnyx sends it (abridged only where it does not matter)."""
    message: dict[str, Any] = {
        "cc": [],
        "completed_at": None,
        "cost": None,
        "direction": "inbound",
        "encoding": "UCS-2",
        "errors": [],
        "from": {
            "carrier": "T-Mobile USA",
            "line_type": "Wireless",
            "phone_number": "+13125550001",
        },
        "id": MESSAGE_ID,
        "media": [],
        "messaging_profile_id": "740572b6-099c-44a1-89b9-6c92163bc68d",
        "parts": 2,
        "received_at": "2024-05-01T10:00:03.503+00:00",
        "record_type": "message",
        "sent_at": None,
        "tags": [],
        "text": "Your Acme code: 739201 ✅ valid 10 min",
        "to": [
            {
                "carrier": "Telnyx",
                "line_type": "Wireless",
                "phone_number": "+17735550002",
                "status": "webhook_delivered",
            }
        ],
        "type": "SMS",
        "valid_until": None,
        **payload,
    }
    document = {
        "data": {
            "event_type": event_type,
            "id": "b301ed3f-1490-491f-995f-6e64e69674d4",
            "occurred_at": "2024-05-01T10:00:03.588+00:00",
            "payload": message,
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": URL},
    }
    return msgspec.json.encode(document)


def signed(
    body: bytes | None = None,
    *,
    at: float | None = None,
    key: nacl.signing.SigningKey = SIGNING_KEY,
) -> WebhookRequest:
    body = event() if body is None else body
    timestamp = str(int(time.time() if at is None else at))
    signature = key.sign(timestamp.encode() + b"|" + body).signature
    headers = {
        "Content-Type": "application/json",
        "Telnyx-Signature-Ed25519": base64.b64encode(signature).decode(),
        "Telnyx-Timestamp": timestamp,
    }
    return webhook_request(URL, body=body, headers=headers)


def carrier(**settings: Any) -> TelnyxCarrier:
    return TelnyxCarrier("telnyx", TelnyxConfig(**{"public_key": PUBLIC_KEY, **settings}))


def sdk_accepts(request: WebhookRequest) -> bool:
    """Whether Telnyx's SDK takes the request as genuine and fresh."""
    client = telnyx.Telnyx(api_key="x", public_key=PUBLIC_KEY)
    try:
        client.webhooks.unwrap(request.body.decode(), headers=request.headers)
    except ValueError:
        return False
    return True


async def test_it_keeps_the_webhook_carrier_contract() -> None:
    check_webhook_carrier(TelnyxCarrier, {"public_key": PUBLIC_KEY}, ())
    with pytest.raises(msgspec.ValidationError, match="public_key is required"):
        msgspec.convert({}, TelnyxConfig)
    for bad, reason in [
        ("not base64!", "not base64"),
        (base64.b64encode(bytes(31)).decode(), "31 bytes"),
        (base64.b64encode(bytes(32)).decode(), "not a usable"),
    ]:
        with pytest.raises(msgspec.ValidationError, match=reason):
            msgspec.convert({"public_key": bad}, TelnyxConfig)
    with pytest.raises(msgspec.ValidationError, match="tolerance"):
        msgspec.convert({"public_key": PUBLIC_KEY, "tolerance": -1}, TelnyxConfig)


async def test_a_genuine_message_is_emitted_then_answered_200() -> None:
    harness = CarrierHarness()
    request = signed()
    assert sdk_accepts(request)
    response = await carrier().handle(request, harness.emit)
    assert response.status == 200
    assert harness.items == [
        InboundText(
            carrier="telnyx",
            number="+17735550002",
            sender="+13125550001",
            text="Your Acme code: 739201 ✅ valid 10 min",
            carrier_message_id=MESSAGE_ID,
            received_at=datetime(2024, 5, 1, 10, 0, 3, 503000, tzinfo=UTC),
            encoding="ucs2",
            raw=request.body,
        )
    ]


async def test_a_retry_is_answered_the_same() -> None:
    harness = CarrierHarness()
    telnyx_carrier = carrier()
    first = await telnyx_carrier.handle(signed(), harness.emit)
    again = await telnyx_carrier.handle(signed(), harness.emit)
    assert [r.outcome for r in harness.results] == ["committed", "duplicate"]
    assert again == first


async def test_a_tampered_body_is_refused_as_telnyx_would() -> None:
    harness = CarrierHarness()
    genuine = signed()
    forged = msgspec.structs.replace(genuine, body=tampered(genuine.body, b"739201", b"739202"))
    assert not sdk_accepts(forged)
    problem(await carrier().handle(forged, harness.emit), 401)
    assert harness.items == []


def _without(name: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda headers: {k: v for k, v in headers.items() if k != name}


def _setting(name: str, value: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda headers: {**headers, name: value}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_without("telnyx-signature-ed25519"), id="no-signature"),
        pytest.param(_without("telnyx-timestamp"), id="no-timestamp"),
        pytest.param(_setting("telnyx-signature-ed25519", "%%not-base64%%"), id="not-base64"),
        pytest.param(
            _setting("telnyx-signature-ed25519", base64.b64encode(bytes(63)).decode()),
            id="63-bytes",
        ),
        pytest.param(_setting("telnyx-timestamp", "1714557603"), id="other-timestamp"),
    ],
)
async def test_a_missing_or_malformed_signature_is_refused(
    change: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    harness = CarrierHarness()
    genuine = signed()
    request = msgspec.structs.replace(genuine, headers=change(genuine.headers))
    assert not sdk_accepts(request)
    problem(await carrier().handle(request, harness.emit), 401)
    assert harness.items == []


async def test_a_timestamp_must_be_plain_digits() -> None:
    # Python's int() reads "1_714_557_603"; Telnyx never sends that, so it is refused.
    harness = CarrierHarness()
    body = event()
    timestamp = f"{int(time.time()):_}"
    signature = SIGNING_KEY.sign(timestamp.encode() + b"|" + body).signature
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": timestamp,
    }
    request = webhook_request(URL, body=body, headers=headers)
    problem(await carrier().handle(request, harness.emit), 401)
    assert harness.items == []


async def test_a_request_signed_with_another_key_is_refused() -> None:
    harness = CarrierHarness()
    request = signed(key=OTHER_KEY)
    assert not sdk_accepts(request)
    problem(await carrier().handle(request, harness.emit), 401)
    assert harness.items == []


@pytest.mark.parametrize("offset", [-305, 305, -3600])  # past 300 s, with a margin
async def test_a_genuine_but_stale_request_is_forbidden(offset: int) -> None:
    harness = CarrierHarness()
    request = signed(at=time.time() + offset)
    assert not sdk_accepts(request)
    document = problem(await carrier().handle(request, harness.emit), 403)
    assert "300 seconds" in document["detail"]
    assert harness.items == []


async def test_the_tolerance_is_configurable() -> None:
    harness = CarrierHarness()
    request = signed(at=time.time() - 290)
    assert sdk_accepts(request)
    assert (await carrier().handle(request, harness.emit)).status == 200
    problem(await carrier(tolerance=60).handle(request, harness.emit), 403)
    assert len(harness.items) == 1


@pytest.mark.parametrize("event_type", ["message.sent", "message.finalized", "number.updated"])
async def test_other_events_are_acknowledged_without_a_message(event_type: str) -> None:
    harness = CarrierHarness()
    request = signed(event(event_type))
    assert sdk_accepts(request)
    assert (await carrier().handle(request, harness.emit)).status == 200
    assert harness.items == []


async def test_gsm7_and_missing_text_and_times() -> None:
    harness = CarrierHarness()
    body = event(encoding="GSM-7", text=None, type="MMS", received_at=None)
    assert (await carrier().handle(signed(body), harness.emit)).status == 200
    [item] = harness.items
    assert isinstance(item, InboundText)
    assert (item.encoding, item.text, item.received_at) == ("gsm7", "", None)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"data": ', "not JSON"),
        (b"[]", "Expected `object`"),
        (b'{"data": {}}', "event_type"),
        (event(id=None), "$.data.payload.id"),
        (event(text=7), "$.data.payload.text"),
        (event(to=[]), "to` is empty"),
        (event(id=""), "must not be empty"),
        (event(to=[{"carrier": "Telnyx"}]), "phone_number"),
        (event(received_at="yesterday"), "$.data.payload.received_at"),
    ],
)
async def test_a_signed_but_malformed_payload_is_a_bad_request(body: bytes, detail: str) -> None:
    harness = CarrierHarness()
    document = problem(await carrier().handle(signed(body), harness.emit), 400)
    assert detail in document["detail"]
    assert harness.items == []


async def test_only_post_is_accepted() -> None:
    problem(await carrier().handle(webhook_request(URL, method="GET"), CarrierHarness().emit), 405)


async def test_a_store_failure_propagates_and_nothing_is_acknowledged() -> None:
    with pytest.raises(StoreError):
        await carrier().handle(signed(), store_unavailable)


async def test_verification_is_off_only_when_asked() -> None:
    harness = CarrierHarness()
    unsigned = webhook_request(URL, body=event())
    problem(await carrier().handle(unsigned, harness.emit), 401)
    open_carrier = TelnyxCarrier("telnyx", TelnyxConfig(verify=False))
    assert (await open_carrier.handle(unsigned, harness.emit)).status == 200
    assert len(harness.items) == 1
