"""The Infobip adapter: several messages per request, authenticated by Basic auth or a token."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from webhook_support_a import (
    check_webhook_carrier,
    problem,
    store_unavailable,
    webhook_request,
)

from adapters.carriers.infobip import InfobipCarrier, InfobipConfig
from engine.plugin_api import InboundItem, InboundText, IngestResult, StoreError
from engine.testing import CarrierHarness

pytestmark = pytest.mark.trio

URL = "https://sms.example.com/carriers/infobip"
USER, PASSWORD, TOKEN = "infobip", "correct horse battery staple", "tok-8d1f0a9c2b7e"
JSON = {"Content-Type": "application/json"}


def result(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "messageId": f"ABC-{n}",
        "from": "385916242493",
        "to": "385921004026",
        "text": f"QUIZ answer {n}",
        "cleanText": f"answer {n}",
        "keyword": "QUIZ",
        "receivedAt": "2026-05-01T12:09:07.658+0000",
        "smsCount": 1,
        "price": {"pricePerMessage": 0, "currency": "EUR"},
        "callbackData": "callbackData",
        **changes,
    }


def body(*results: dict[str, Any]) -> bytes:
    document = {"results": list(results), "messageCount": len(results), "pendingMessageCount": 0}
    return msgspec.json.encode(document)


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {**JSON, "Authorization": f"Basic {encoded}"}


def carrier(**settings: Any) -> InfobipCarrier:
    config = {"username": USER, "password": PASSWORD, "token": TOKEN, **settings}
    return InfobipCarrier("infobip", msgspec.convert(config, InfobipConfig))


async def test_it_keeps_the_webhook_carrier_contract() -> None:
    check_webhook_carrier(
        InfobipCarrier, {"username": USER, "password": PASSWORD, "token": TOKEN}, (PASSWORD, TOKEN)
    )
    with pytest.raises(msgspec.ValidationError, match="required unless verify is false"):
        msgspec.convert({}, InfobipConfig)
    with pytest.raises(msgspec.ValidationError, match="go together"):
        msgspec.convert({"username": USER}, InfobipConfig)
    assert msgspec.convert({"verify": False}, InfobipConfig).token is None


async def test_every_message_of_a_request_is_emitted_before_the_answer() -> None:
    answered: list[int] = []

    async def respond(item: InboundItem) -> IngestResult:
        answered.append(len(answered) + 1)
        return IngestResult(outcome="committed")

    harness = CarrierHarness(respond)
    request = webhook_request(URL, body=body(result(1), result(2), result(3)), headers=basic())
    response = await carrier().handle(request, harness.emit)
    assert response.status == 200
    assert answered == [1, 2, 3]
    first = harness.items[0]
    assert first == InboundText(
        carrier="infobip",
        number="+385921004026",
        sender="+385916242493",
        text="QUIZ answer 1",
        carrier_message_id="ABC-1",
        received_at=datetime(2026, 5, 1, 12, 9, 7, 658000, tzinfo=UTC),
        raw=msgspec.json.encode(result(1)),
    )
    assert [item.carrier_message_id for item in harness.items] == ["ABC-1", "ABC-2", "ABC-3"]


async def test_clean_text_stands_in_for_a_missing_text_and_unknown_times_pass() -> None:
    harness = CarrierHarness()
    only_clean = {k: v for k, v in result(1, receivedAt="yesterday").items() if k != "text"}
    request = webhook_request(URL, body=body(only_clean), headers=basic())
    assert (await carrier().handle(request, harness.emit)).status == 200
    (item,) = harness.items
    assert isinstance(item, InboundText)
    assert (item.text, item.received_at) == ("answer 1", None)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        pytest.param(URL, {"X-Septet-Token": TOKEN}, id="token-header"),
        pytest.param(f"{URL}?token={TOKEN}", {}, id="token-query"),
        pytest.param(URL, basic(), id="basic"),
    ],
)
async def test_each_configured_credential_is_accepted(url: str, headers: dict[str, str]) -> None:
    harness = CarrierHarness()
    request = webhook_request(url, body=body(result(1)), headers={**JSON, **headers})
    assert (await carrier().handle(request, harness.emit)).status == 200
    assert len(harness.items) == 1


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        pytest.param(URL, {}, id="none"),
        pytest.param(URL, {"X-Septet-Token": TOKEN[:-1] + "d"}, id="token-tampered"),
        pytest.param(f"{URL}?token=tok-wrong", {}, id="token-query-wrong"),
        pytest.param(URL, basic(password=PASSWORD[:-1] + "E"), id="basic-tampered"),
        pytest.param(URL, basic(user="someone"), id="basic-user"),
        pytest.param(URL, {"Authorization": "Basic !!!"}, id="basic-garbage"),
    ],
)
async def test_a_wrong_or_missing_credential_is_refused_unseen(
    url: str, headers: dict[str, str]
) -> None:
    harness = CarrierHarness()
    request = webhook_request(url, body=body(result(1)), headers={**JSON, **headers})
    document = problem(await carrier().handle(request, harness.emit), 401)
    assert PASSWORD not in str(document)
    assert TOKEN not in str(document)
    assert harness.items == []


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (b"{not json", "not JSON"),
        (b'{"messages": []}', "results"),
        (body(result(1), {"messageId": "x", "to": "385921004026", "text": "t"}), "results[1]"),
        (body(result(1, text=None, cleanText=None)), "neither text nor cleanText"),
        (body(result(1, **{"from": 385916242493})), "results[0]"),
    ],
)
async def test_a_malformed_body_is_refused_with_400_and_nothing_emitted(
    payload: bytes, detail: str
) -> None:
    harness = CarrierHarness()
    request = webhook_request(URL, body=payload, headers=basic())
    assert detail in problem(await carrier().handle(request, harness.emit), 400)["detail"]
    assert harness.items == []


async def test_an_empty_result_list_is_acknowledged() -> None:
    harness = CarrierHarness()
    response = await carrier().handle(
        webhook_request(URL, body=body(), headers=basic()), harness.emit
    )
    assert response.status == 200
    assert harness.items == []
    get = webhook_request(URL, method="GET", headers=basic())
    problem(await carrier().handle(get, harness.emit), 405)


async def test_a_store_error_propagates() -> None:
    request = webhook_request(URL, body=body(result(1), result(2)), headers=basic())
    with pytest.raises(StoreError):
        await carrier().handle(request, store_unavailable)
