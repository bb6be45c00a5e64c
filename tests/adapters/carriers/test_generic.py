"""The generic JSON carrier, signed with the ``standardwebhooks`` library as the oracle."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from standardwebhooks.webhooks import Webhook
from webhook_support_a import (
    check_webhook_carrier,
    problem,
    store_unavailable,
    tampered,
    webhook_request,
)

import engine
from adapters.carriers.generic import GenericCarrier, GenericConfig
from engine.config import Config
from engine.plugin_api import InboundText, Segment, StoreError, WebhookRequest
from engine.testing import CarrierHarness

pytestmark = pytest.mark.trio

SECRET = "whsec_" + base64.b64encode(b"generic-carrier-secret-32-bytes!").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"the-secret-before-the-rotation!!").decode()
URL = "https://sms.example.com/carriers/gateway"


def message(n: int = 1, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"gw-{n}",
        "from": "+15557654321",
        "to": "+15550100001",
        "text": "Your code is 482913",
        **changes,
    }


def signed(
    document: Any, *, secret: str = SECRET, at: datetime | None = None, msg_id: str = "evt_1"
) -> WebhookRequest:
    body = document if isinstance(document, bytes) else msgspec.json.encode(document)
    timestamp = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, timestamp, body.decode())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
    return webhook_request(URL, body=body, headers=headers)


def carrier(**settings: Any) -> GenericCarrier:
    config = {"secrets": [SECRET], **settings}
    return GenericCarrier("gateway", msgspec.convert(config, GenericConfig))


def results(body: bytes) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = msgspec.json.decode(body)["results"]
    return answer


async def test_it_keeps_the_webhook_carrier_contract() -> None:
    check_webhook_carrier(GenericCarrier, {"secrets": [SECRET, OLD_SECRET]}, (SECRET, OLD_SECRET))
    with pytest.raises(msgspec.ValidationError, match="at least one secret"):
        msgspec.convert({}, GenericConfig)
    with pytest.raises(msgspec.ValidationError, match="whsec_") as caught:
        msgspec.convert({"secrets": ["whsec_not base64 at all!"]}, GenericConfig)
    assert "not base64 at all" not in str(caught.value)


async def test_one_signed_message_is_emitted_and_its_outcome_answered() -> None:
    harness = CarrierHarness()
    sent = datetime(2026, 5, 1, 11, 59, 58, tzinfo=UTC)
    request = signed(message(sentAt="2026-05-01T11:59:58Z", receivedAt="2026-05-01T12:00:00Z"))
    response = await carrier().handle(request, harness.emit)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert harness.items == [
        InboundText(
            carrier="gateway",
            number="+15550100001",
            sender="+15557654321",
            text="Your code is 482913",
            carrier_message_id="gw-1",
            sent_at=sent,
            received_at=sent + timedelta(seconds=2),
            raw=request.body,
        )
    ]
    (result,) = results(response.body)
    assert result["outcome"] == "committed"
    assert result["messageId"].startswith("msg")
    again = await carrier().handle(request, harness.emit)
    assert results(again.body) == [{"outcome": "duplicate", "messageId": result["messageId"]}]


async def test_a_list_is_emitted_in_order_and_the_old_secret_still_verifies() -> None:
    harness = CarrierHarness()
    batch = [message(1), message(2, text="second")]
    request = signed(batch, secret=OLD_SECRET)
    response = await carrier(secrets=[SECRET, OLD_SECRET]).handle(request, harness.emit)
    assert [r["outcome"] for r in results(response.body)] == ["committed", "committed"]
    assert [item.carrier_message_id for item in harness.items] == ["gw-1", "gw-2"]
    assert harness.items[1].raw == msgspec.json.encode(batch[1])  # type: ignore[union-attr]


async def test_segments_sent_apart_become_one_message(tmp_path: Path) -> None:
    parts = {1: "Your code ", 2: "is 771", 3: "204."}
    gateway = carrier()
    async with engine.open(Config(data_dir=str(tmp_path))) as septet:
        outcomes = []
        for seq in (3, 1, 2):
            segment = {"reference": 300, "total": 3, "seq": seq}
            request = signed(message(seq, text=parts[seq], segment=segment), msg_id=f"e{seq}")
            response = await gateway.handle(request, septet.ingest)
            outcomes += [r["outcome"] for r in results(response.body)]
        (stored,) = await septet.messages()
    assert outcomes == ["buffered", "buffered", "committed"]
    assert (stored.content, stored.parts) == ("Your code is 771204.", 3)


async def test_the_segment_is_passed_on_with_its_reference_width() -> None:
    harness = CarrierHarness()
    small = message(1, segment={"reference": 7, "total": 2, "seq": 2})
    wide = message(2, segment={"reference": 7, "referenceBits": 16, "total": 2, "seq": 1})
    await carrier().handle(signed([small, wide]), harness.emit)
    assert [item.segment for item in harness.items] == [  # type: ignore[union-attr]
        Segment(reference=7, reference_bits=8, total=2, seq=2),
        Segment(reference=7, reference_bits=16, total=2, seq=1),
    ]


async def test_tampered_unsigned_or_foreign_requests_are_refused_unseen() -> None:
    harness = CarrierHarness()
    request = signed(message())
    forged = msgspec.structs.replace(request, body=tampered(request.body, b"482913", b"482918"))
    document = problem(await carrier().handle(forged, harness.emit), 401)
    assert SECRET not in str(document)
    problem(await carrier().handle(webhook_request(URL, body=request.body), harness.emit), 401)
    problem(await carrier().handle(signed(message(), secret=OLD_SECRET), harness.emit), 401)
    assert harness.items == []


async def test_a_stale_timestamp_is_refused_with_403() -> None:
    harness = CarrierHarness()
    stale = signed(message(), at=datetime.now(UTC) - timedelta(minutes=10))
    problem(await carrier().handle(stale, harness.emit), 403)
    assert harness.items == []
    assert (await carrier(tolerance=900).handle(stale, harness.emit)).status == 200


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        (b"not json", "not JSON"),
        (b'"a string"', "unexpected payload"),
        (message(txt="typo"), "txt"),
        ({k: v for k, v in message().items() if k != "to"}, "to"),
        (message(id=""), "must not be empty"),
        ([message(1), message(2, segment={"reference": 1, "total": 2, "seq": 3})], "item 1"),
        (message(segment={"reference": 70000, "total": 2, "seq": 1}), "segment.reference"),
        (message(segment={"reference": 300, "referenceBits": 8, "total": 2, "seq": 1}), "8 bits"),
        (message(segment={"reference": 1, "total": 0, "seq": 1}), "segment.total"),
        (message(sentAt="yesterday"), "sentAt"),
    ],
)
async def test_a_malformed_body_is_refused_with_400(document: Any, detail: str) -> None:
    harness = CarrierHarness()
    assert detail in problem(await carrier().handle(signed(document), harness.emit), 400)["detail"]
    assert harness.items == []


async def test_unsigned_requests_pass_when_verify_is_off_and_store_errors_propagate() -> None:
    harness = CarrierHarness()
    open_gateway = GenericCarrier("gateway", GenericConfig(verify=False))
    request = webhook_request(URL, body=msgspec.json.encode(message()))
    assert (await open_gateway.handle(request, harness.emit)).status == 200
    with pytest.raises(StoreError):
        await carrier().handle(signed(message()), store_unavailable)
