"""The Bird adapter. No SDK checks Bird's current signature (``messagebird`` 2.2.0 knows only
the legacy JWT), so the tests compute it from Bird's documented algorithm with hashlib and
hmac, independently of the adapter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
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

from adapters.carriers.bird import BirdCarrier, BirdConfig, bird_signature
from engine.plugin_api import InboundText, StoreError, WebhookRequest
from engine.testing import CarrierHarness

pytestmark = pytest.mark.trio

KEY = "bird-signing-key-7f3a9c"
URL = "https://sms.example.com/carriers/bird"


def event(**payload_changes: Any) -> dict[str, Any]:
    payload = {
        "id": "96a0b5fa-a986-453d-be5c-3117f989f025",
        "channelId": "614208aa-b153-4d5d-9989-2fddfc0ce4c3",
        "sender": {
            "contact": {
                "id": "32cf5eee-f940-422c-ab8c-5f753aad5efd",
                "identifierKey": "phonenumber",
                "identifierValue": "+31612345678",
            }
        },
        "receiver": {
            "connector": {
                "id": "86cc4dc0-3dc0-41b7-ac43-8ec829ead56f",
                "identifierValue": "+3197010260150",
            }
        },
        "body": {"type": "text", "text": {"text": "Your code is 482913"}},
        "parts": [{"platformReference": "e8077d803532c0b5937c639b60216938"}],
        "status": "delivered",
        "direction": "incoming",
        "createdAt": "2026-05-01T08:32:50.736Z",
        **payload_changes,
    }
    return {"service": "channels", "event": "sms.inbound", "payload": payload}


def documented_signature(key: str, timestamp: str, url: str, body: bytes) -> str:
    """Bird's "verifying a webhook" guide: HMAC-SHA256 over timestamp, URL and the raw
    SHA-256 of the body, joined by newlines; base64."""
    signed = f"{timestamp}\n{url}\n".encode() + hashlib.sha256(body).digest()
    return base64.b64encode(hmac.new(key.encode(), signed, hashlib.sha256).digest()).decode()


def signed(
    document: dict[str, Any] | bytes, *, key: str = KEY, at: int | None = None, url: str = URL
) -> WebhookRequest:
    body = document if isinstance(document, bytes) else msgspec.json.encode(document)
    timestamp = str(int(time.time()) if at is None else at)
    headers = {
        "Content-Type": "application/json",
        "MessageBird-Signature": documented_signature(key, timestamp, url, body),
        "MessageBird-Request-Timestamp": timestamp,
    }
    return webhook_request(url, body=body, headers=headers)


def carrier(**settings: Any) -> BirdCarrier:
    return BirdCarrier("bird", msgspec.convert({"signing_key": KEY, **settings}, BirdConfig))


async def test_it_keeps_the_webhook_carrier_contract() -> None:
    check_webhook_carrier(BirdCarrier, {"signing_key": KEY}, (KEY,))
    with pytest.raises(msgspec.ValidationError, match="signing_key is required"):
        msgspec.convert({}, BirdConfig)
    assert bird_signature(KEY, "1700000000", URL, b"{}") == documented_signature(
        KEY, "1700000000", URL, b"{}"
    )


async def test_a_genuine_inbound_sms_is_emitted() -> None:
    harness = CarrierHarness()
    request = signed(event())
    response = await carrier().handle(request, harness.emit)
    assert response.status == 200
    assert harness.items == [
        InboundText(
            carrier="bird",
            number="+3197010260150",
            sender="+31612345678",
            text="Your code is 482913",
            carrier_message_id="96a0b5fa-a986-453d-be5c-3117f989f025",
            received_at=datetime(2026, 5, 1, 8, 32, 50, 736000, tzinfo=UTC),
            raw=request.body,
        )
    ]
    again = await carrier().handle(request, harness.emit)
    assert again == response


async def test_the_receiving_number_comes_from_config_then_the_event() -> None:
    harness = CarrierHarness()
    channel = "614208aa-b153-4d5d-9989-2fddfc0ce4c3"
    mapped = carrier(channel_numbers={channel: "+3197000000001"}, number="+3197000000009")
    await mapped.handle(signed(event()), harness.emit)
    no_receiver = event(receiver={"connector": {"id": "86cc"}}, id="m2")
    await mapped.handle(signed(no_receiver), harness.emit)  # the channel's number still
    fallback = carrier(number="+3197000000009")
    await fallback.handle(signed(event(receiver={"contacts": []}, id="m3")), harness.emit)
    assert [item.number for item in harness.items] == ["+3197000000001"] * 2 + ["+3197000000009"]
    unknown = await carrier().handle(signed(event(receiver={}, id="m4")), harness.emit)
    assert "receiving number" in problem(unknown, 400)["detail"]


async def test_other_events_are_acknowledged_without_emitting() -> None:
    harness = CarrierHarness()
    outbound = {**event(), "event": "sms.outbound"}
    assert (await carrier().handle(signed(outbound), harness.emit)).status == 200
    assert harness.items == []


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda r: msgspec.structs.replace(r, body=tampered(r.body, b"482913", b"482914")),
            id="body",
        ),
        pytest.param(
            lambda r: msgspec.structs.replace(r, url=URL.replace("bird", "birD")), id="url"
        ),
        pytest.param(
            lambda r: msgspec.structs.replace(
                r,
                headers={
                    **r.headers,
                    "messagebird-request-timestamp": str(
                        int(r.headers["messagebird-request-timestamp"]) + 1
                    ),
                },
            ),
            id="timestamp",
        ),
        pytest.param(
            lambda r: msgspec.structs.replace(
                r, headers={k: v for k, v in r.headers.items() if k != "messagebird-signature"}
            ),
            id="unsigned",
        ),
        pytest.param(
            lambda r: msgspec.structs.replace(
                r, headers={**r.headers, "messagebird-signature": "not base64!"}
            ),
            id="garbage",
        ),
    ],
)
async def test_a_tampered_request_is_refused_unseen(forge: Any) -> None:
    harness = CarrierHarness()
    document = problem(await carrier().handle(forge(signed(event())), harness.emit), 401)
    assert KEY not in str(document)
    assert harness.items == []


async def test_another_key_is_refused_and_a_stale_timestamp_gets_403() -> None:
    harness = CarrierHarness()
    problem(await carrier().handle(signed(event(), key="other-key"), harness.emit), 401)
    stale = signed(event(), at=int(time.time()) - 600)
    problem(await carrier().handle(stale, harness.emit), 403)
    assert harness.items == []
    assert (await carrier(tolerance=900).handle(stale, harness.emit)).status == 200


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        (b"{oops", "not JSON"),
        (b'{"service": "channels"}', "event"),
        (event(sender={"contact": {}}), "sender.contact.identifierValue"),
        (event(body={"type": "image", "image": {"images": []}}), "'image' is not an SMS text"),
        (event(id=7), "id"),
    ],
)
async def test_a_malformed_event_is_refused_with_400(
    document: dict[str, Any] | bytes, detail: str
) -> None:
    harness = CarrierHarness()
    assert detail in problem(await carrier().handle(signed(document), harness.emit), 400)["detail"]
    assert harness.items == []


async def test_unsigned_requests_pass_when_verify_is_off_and_store_errors_propagate() -> None:
    harness = CarrierHarness()
    bird = BirdCarrier("bird", BirdConfig(verify=False))
    request = webhook_request(URL, body=msgspec.json.encode(event()))
    assert (await bird.handle(request, harness.emit)).status == 200
    with pytest.raises(StoreError):
        await carrier().handle(signed(event()), store_unavailable)
