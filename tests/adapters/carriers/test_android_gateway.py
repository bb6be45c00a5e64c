"""The SMS Gateway for Android adapter. The app has no Python SDK that checks signatures, so
the tests sign with the docs' own Python example (HMAC-SHA256 of body + timestamp, hex)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from webhook_support_a import (
    check_webhook_carrier,
    problem,
    store_unavailable,
    tampered,
    webhook_request,
)

from adapters.carriers.android_gateway import (
    AndroidGatewayCarrier,
    AndroidGatewayConfig,
    android_gateway_signature,
)
from engine.plugin_api import InboundText, StoreError, WebhookRequest
from engine.testing import CarrierHarness

pytestmark = pytest.mark.trio

KEY = "Zq8b1V-signing-key"
URL = "https://sms.example.com/carriers/phone"
NUMBER = "+16505550000"


def received(**changes: Any) -> dict[str, Any]:
    return {
        "messageId": "7e3a91c2",
        "message": "Your code is 482913",
        "sender": "+16505551212",
        "phoneNumber": "+16505551212",
        "recipient": None,
        "simNumber": 1,
        "receivedAt": "2026-05-01T15:46:11.000+07:00",
        **changes,
    }


def event(name: str = "sms:received", payload: Any = None) -> dict[str, Any]:
    return {
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "event": name,
        "id": "Ey6ECgOkVVFjz3CL48B8C",
        "payload": received() if payload is None else payload,
        "webhookId": "LreFUt-Z3sSq0JufY9uWB",
    }


def docs_signature(secret_key: str, payload: str, timestamp: str) -> str:
    # The docs' "Payload Signing" Python example, as published.
    message = (payload + timestamp).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def signed(document: dict[str, Any] | bytes, *, key: str = KEY, at: int | None = None) -> Any:
    body = document if isinstance(document, bytes) else msgspec.json.encode(document)
    timestamp = str(int(time.time()) if at is None else at)
    headers = {
        "Content-Type": "application/json",
        "X-Signature": docs_signature(key, body.decode(), timestamp),
        "X-Timestamp": timestamp,
    }
    return webhook_request(URL, body=body, headers=headers)


def carrier(**settings: Any) -> AndroidGatewayCarrier:
    config = {"signing_key": KEY, "number": NUMBER, **settings}
    return AndroidGatewayCarrier("phone", msgspec.convert(config, AndroidGatewayConfig))


async def test_it_keeps_the_webhook_carrier_contract() -> None:
    check_webhook_carrier(AndroidGatewayCarrier, {"signing_key": KEY, "number": NUMBER}, (KEY,))
    with pytest.raises(msgspec.ValidationError, match="signing_key is required"):
        msgspec.convert({"number": NUMBER}, AndroidGatewayConfig)
    with pytest.raises(msgspec.ValidationError, match="number"):
        msgspec.convert({"signing_key": KEY}, AndroidGatewayConfig)
    assert android_gateway_signature(KEY, b"{}", "17") == docs_signature(KEY, "{}", "17")


async def test_a_genuine_sms_received_event_is_emitted() -> None:
    harness = CarrierHarness()
    request = signed(event())
    response = await carrier().handle(request, harness.emit)
    assert response.status == 200
    assert harness.items == [
        InboundText(
            carrier="phone",
            number=NUMBER,
            sender="+16505551212",
            text="Your code is 482913",
            carrier_message_id="7e3a91c2@2026-05-01T15:46:11.000+07:00",
            received_at=datetime(2026, 5, 1, 15, 46, 11, tzinfo=timezone(timedelta(hours=7))),
            raw=request.body,
        )
    ]
    assert (await carrier().handle(request, harness.emit)) == response
    assert [r.outcome for r in harness.results] == ["committed", "duplicate"]


async def test_old_app_versions_send_phone_number_only() -> None:
    harness = CarrierHarness()
    legacy = {k: v for k, v in received().items() if k not in ("sender", "recipient")}
    assert (await carrier().handle(signed(event(payload=legacy)), harness.emit)).status == 200
    (item,) = harness.items
    assert isinstance(item, InboundText)
    assert item.sender == "+16505551212"


async def test_the_receiving_number_follows_the_sim() -> None:
    harness = CarrierHarness()
    phone = carrier(sim_numbers={"2": "+16505550002"})
    await phone.handle(signed(event(payload=received(simNumber=2))), harness.emit)
    await phone.handle(
        signed(event(payload=received(simNumber=1, recipient="+16505550001", messageId="a"))),
        harness.emit,
    )
    await phone.handle(signed(event(payload=received(simNumber=None, messageId="b"))), harness.emit)
    assert [item.number for item in harness.items] == ["+16505550002", "+16505550001", NUMBER]


async def test_batches_and_data_messages_are_emitted_in_order() -> None:
    harness = CarrierHarness()
    batch = {"messages": [received(messageId="m1"), received(messageId="m2", message="two")]}
    assert (
        await carrier().handle(signed(event("sms:batch:received", batch)), harness.emit)
    ).status == 200
    data = received(messageId="d1", data=base64.b64encode(b"\xc0\xff\xee").decode())
    del data["message"]
    assert (
        await carrier().handle(signed(event("sms:data-received", data)), harness.emit)
    ).status == 200
    texts = [item for item in harness.items if isinstance(item, InboundText)]
    assert [(t.text, t.encoding, t.flags) for t in texts] == [
        ("Your code is 482913", "text", ()),
        ("two", "text", ()),
        ("c0ffee", "8bit", ("binary",)),
    ]
    assert texts[1].raw == msgspec.json.encode(batch["messages"][1])


@pytest.mark.parametrize("name", ["sms:sent", "sms:delivered", "system:ping", "mms:received"])
async def test_other_events_are_acknowledged_without_emitting(name: str) -> None:
    harness = CarrierHarness()
    response = await carrier().handle(signed(event(name, {"health": {}})), harness.emit)
    assert response.status == 200
    assert harness.items == []


async def test_a_tampered_or_foreign_request_is_refused_unseen() -> None:
    harness = CarrierHarness()
    request = signed(event())
    forged = msgspec.structs.replace(request, body=tampered(request.body, b"482913", b"482910"))
    document = problem(await carrier().handle(forged, harness.emit), 401)
    assert KEY not in str(document)
    problem(await carrier().handle(signed(event(), key="another-key"), harness.emit), 401)
    unsigned = webhook_request(URL, body=request.body)
    problem(await carrier().handle(unsigned, harness.emit), 401)
    upper = _with_headers(request, {"x-signature": request.headers["x-signature"].upper()})
    assert (await carrier().handle(upper, harness.emit)).status == 200  # hex in either case
    assert len(harness.items) == 1


async def test_a_stale_timestamp_is_refused_with_403() -> None:
    harness = CarrierHarness()
    problem(await carrier().handle(signed(event(), at=int(time.time()) - 301), harness.emit), 403)
    assert harness.items == []


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        (b"[]", "unexpected payload"),
        (event(payload=received(messageId=None)), "messageId"),
        (event(payload={**received(), "sender": None, "phoneNumber": None}), "no sender"),
        (event(payload=received(message=None)), "no message"),
        (event("sms:data-received", received(data="***")), "not base64"),
        (event("sms:batch:received", {"messages": [received(), 5]}), "payload.messages[1]"),
    ],
)
async def test_a_malformed_event_is_refused_with_400(
    document: dict[str, Any] | bytes, detail: str
) -> None:
    harness = CarrierHarness()
    assert detail in problem(await carrier().handle(signed(document), harness.emit), 400)["detail"]
    assert harness.items == []


async def test_a_store_error_propagates() -> None:
    with pytest.raises(StoreError):
        await carrier().handle(signed(event()), store_unavailable)


def _with_headers(request: WebhookRequest, changes: dict[str, str]) -> WebhookRequest:
    return msgspec.structs.replace(request, headers={**request.headers, **changes})
