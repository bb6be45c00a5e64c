"""The Sinch adapter: credentials, the three inbound types, and binary segments end to end."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from webhook_support_a import check_webhook_carrier, problem, store_unavailable, webhook_request

import engine
from adapters.carriers._webhook_common import PayloadError
from adapters.carriers.sinch import SinchCarrier, SinchConfig, udh_concatenation
from engine import codec
from engine.config import Config
from engine.plugin_api import InboundText, Segment, StoreError, WebhookRequest
from engine.testing import CarrierHarness

URL = "https://sms.example.com/carriers/sinch"
USER, PASSWORD, TOKEN = "sinch-callbacks", "pa55:word-é", "tok_4f9a0c7e1b2d"
DATA = bytes.fromhex("0b8423f0") + "Ünïcode ☎".encode()


def mo(kind: str = "mo_text", **fields: Any) -> bytes:
    document: dict[str, Any] = {
        "type": kind,
        "id": "01FC66621XXXXX119Z8PMV1QPQ",
        "from": "46701234567",
        "to": "+46709876543",
        "body": "Din kod: 118004 😊",
        "operator_id": "24001",
        "received_at": "2024-05-01T10:00:03.123Z",
        "sent_at": "2024-05-01T12:00:02+02:00",
        **fields,
    }
    return msgspec.json.encode({k: v for k, v in document.items() if v is not None})


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}", "Content-Type": "application/json"}


def request(body: bytes | None = None, *, url: str = URL, **headers: str) -> WebhookRequest:
    return webhook_request(url, body=mo() if body is None else body, headers=headers or basic())


def carrier(**settings: Any) -> SinchCarrier:
    config = {"username": USER, "password": PASSWORD, **settings}
    return SinchCarrier("sinch", msgspec.convert(config, SinchConfig))


@pytest.mark.trio
async def test_it_keeps_the_webhook_carrier_contract() -> None:
    check_webhook_carrier(SinchCarrier, {"username": USER, "password": PASSWORD}, (PASSWORD,))
    check_webhook_carrier(SinchCarrier, {"token": TOKEN}, (TOKEN,))
    for settings, reason in [
        ({}, "set username and password, or token"),
        ({"username": USER}, "go together"),
        ({"token": ""}, "must not be empty"),
        ({"username": "a:b", "password": "c"}, "cannot contain ':'"),
    ]:
        with pytest.raises(msgspec.ValidationError, match=reason):
            msgspec.convert(settings, SinchConfig)


@pytest.mark.trio
async def test_a_text_is_emitted_then_answered_200() -> None:
    harness = CarrierHarness()
    sent = request()
    response = await carrier().handle(sent, harness.emit)
    assert response.status == 200
    assert harness.items == [
        InboundText(
            carrier="sinch",
            number="+46709876543",
            sender="+46701234567",  # international digits without "+": put back
            text="Din kod: 118004 😊",
            carrier_message_id="01FC66621XXXXX119Z8PMV1QPQ",
            received_at=datetime(2024, 5, 1, 10, 0, 3, 123000, tzinfo=UTC),
            sent_at=datetime.fromisoformat("2024-05-01T12:00:02+02:00"),
            raw=sent.body,
        )
    ]


@pytest.mark.trio
async def test_a_retry_is_answered_the_same() -> None:
    harness = CarrierHarness()
    sinch = carrier()
    first = await sinch.handle(request(), harness.emit)
    again = await sinch.handle(request(), harness.emit)
    assert [r.outcome for r in harness.results] == ["committed", "duplicate"]
    assert again == first


@pytest.mark.trio
async def test_short_codes_and_names_are_kept_as_sent() -> None:
    harness = CarrierHarness()
    await carrier().handle(request(mo(**{"from": "SinchBank", "to": "72345"})), harness.emit)
    [item] = harness.items
    assert isinstance(item, InboundText)
    assert (item.sender, item.number) == ("SinchBank", "72345")


@pytest.mark.trio
@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "no HTTP Basic credentials"),
        (basic(password=PASSWORD[:-1] + "è"), "wrong HTTP Basic credentials"),
        (basic(user=USER.upper()), "wrong HTTP Basic credentials"),
        ({"Authorization": f"Bearer {PASSWORD}"}, "no HTTP Basic credentials"),
        ({"Authorization": "Basic %%%"}, "no HTTP Basic credentials"),
        (
            {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
            "no HTTP Basic credentials",
        ),
    ],
)
async def test_missing_or_wrong_basic_credentials_are_refused(
    headers: dict[str, str], detail: str
) -> None:
    harness = CarrierHarness()
    sent = webhook_request(URL, body=mo(), headers=headers)
    response = await carrier().handle(sent, harness.emit)
    document = problem(response, 401)
    assert document["detail"] == detail
    assert PASSWORD not in str(document)
    assert ("www-authenticate", 'Basic realm="septet", charset="UTF-8"') in response.headers
    assert harness.items == []


@pytest.mark.trio
async def test_a_query_token_is_checked() -> None:
    harness = CarrierHarness()
    sinch = SinchCarrier("sinch", SinchConfig(token=TOKEN, token_parameter="key"))
    good = webhook_request(f"{URL}?key={TOKEN}", body=mo())
    assert (await sinch.handle(good, harness.emit)).status == 200
    for url, detail in [
        (f"{URL}?key={TOKEN[:-1]}f", "wrong 'key' in the query"),
        (f"{URL}?token={TOKEN}", "no 'key' in the query"),
    ]:
        document = problem(await sinch.handle(webhook_request(url, body=mo()), harness.emit), 401)
        assert document["detail"] == detail
    assert len(harness.items) == 1


@pytest.mark.trio
async def test_with_both_configured_both_must_match() -> None:
    harness = CarrierHarness()
    sinch = carrier(token=TOKEN)
    assert (await sinch.handle(request(url=f"{URL}?token={TOKEN}"), harness.emit)).status == 200
    problem(await sinch.handle(request(), harness.emit), 401)
    wrong_user = request(url=f"{URL}?token={TOKEN}", **basic(user="x"))
    problem(await sinch.handle(wrong_user, harness.emit), 401)
    assert len(harness.items) == 1


@pytest.mark.trio
async def test_an_mms_gives_its_message_text() -> None:
    harness = CarrierHarness()
    media = {"subject": "Photo", "message": "Here 📷", "media": [{"url": "https://m/1"}]}
    await carrier().handle(request(mo("mo_media", body=media)), harness.emit)
    await carrier().handle(request(mo("mo_media", id="2", body={"media": []})), harness.emit)
    assert [item.text for item in harness.items if isinstance(item, InboundText)] == [
        "Here 📷",
        "",
    ]


def _binary(udh: str, *, data: bytes = DATA, message_id: str = "b1") -> bytes:
    return mo("mo_binary", id=message_id, body=base64.b64encode(data).decode(), udh=udh)


@pytest.mark.trio
async def test_a_binary_segment_carries_its_place() -> None:
    harness = CarrierHarness()
    sent = request(_binary("050003A70201"))
    assert (await carrier().handle(sent, harness.emit)).status == 200
    [item] = harness.items
    assert item == InboundText(
        carrier="sinch",
        number="+46709876543",
        sender="+46701234567",
        text=DATA.hex(),
        carrier_message_id="b1",
        received_at=datetime(2024, 5, 1, 10, 0, 3, 123000, tzinfo=UTC),
        sent_at=datetime.fromisoformat("2024-05-01T12:00:02+02:00"),
        segment=Segment(reference=0xA7, reference_bits=8, total=2, seq=1),
        encoding="8bit",
        flags=("binary",),
        raw=sent.body,
    )
    assert [r.outcome for r in harness.results] == ["buffered"]


@pytest.mark.parametrize(
    ("udh", "segment"),
    [
        ("", None),
        ("050003A70201", Segment(reference=0xA7, reference_bits=8, total=2, seq=1)),
        ("0003A70202", Segment(reference=0xA7, reference_bits=8, total=2, seq=2)),  # no UDHL
        ("06080412340301", Segment(reference=0x1234, reference_bits=16, total=3, seq=1)),
        (
            "0C05040B8423F0080412340303",
            Segment(reference=0x1234, reference_bits=16, total=3, seq=3),
        ),
        ("0608041234030A", None),  # seq 10 of 3: ignored, as the PDU decoder does
        ("050003070200", None),  # seq 0
        ("050003070001", None),  # total 0
        ("0400020702", None),  # an 8-bit reference element of the wrong length
        ("06050400000000", None),  # application ports only: a single message
    ],
)
def test_udh_concatenation_reads_8_and_16_bit_references(udh: str, segment: Segment | None) -> None:
    assert udh_concatenation(bytes.fromhex(udh)) == segment


@pytest.mark.parametrize(
    "udh",
    [
        "050003A70201",
        "06080412340301",
        "0C05040B8423F0080412340303",
        "0608041234030A",
        "050003070200",
        "0400020702",
        "0A00030702010003070001",
        "0B0003070201080401000303",
    ],
)
def test_udh_concatenation_agrees_with_the_pdu_decoder(udh: str) -> None:
    header = bytes.fromhex(udh)
    # An SMS-DELIVER with this header and 8-bit data: UDHI, sender 1234, DCS 0x04.
    user_data = header + b"data"
    pdu = bytes.fromhex("4404812143" + "0004" + "42105010000300") + bytes([len(user_data)])
    concat = codec.decode_pdu(pdu + user_data, smsc=False).concat
    expected = (
        None
        if concat is None
        else Segment(
            reference=concat.reference,
            reference_bits=concat.reference_bits,
            total=concat.total,
            seq=concat.seq,
        )
    )
    assert udh_concatenation(header) == expected


def test_udh_concatenation_keeps_the_last_valid_element() -> None:
    # 00 03 07 02 01, then 00 03 07 00 01 (total 0: ignored): the first stands.
    header = bytes.fromhex("0A" + "0003070201" + "0003070001")
    assert udh_concatenation(header) == Segment(reference=7, reference_bits=8, total=2, seq=1)
    # Two valid elements: the last wins, as the engine's PDU decoder has it.
    header = bytes.fromhex("0B" + "0003070201" + "080401000303")
    assert udh_concatenation(header) == Segment(reference=256, reference_bits=16, total=3, seq=3)


@pytest.mark.parametrize("udh", ["0500030702", "0003", "FF01"])
def test_a_header_whose_elements_overrun_it_is_refused(udh: str) -> None:
    with pytest.raises(PayloadError, match="not a user data header"):
        udh_concatenation(bytes.fromhex(udh))


@pytest.mark.trio
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{", "not JSON"),
        (mo(id=None), "missing required field `id`"),
        (mo(body=12), "`$.body`"),
        (mo(received_at="soon"), "`$.received_at`"),
        (mo(**{"from": ""}), "must not be empty"),
        (mo("mo_carrier_pigeon"), "unsupported message type 'mo_carrier_pigeon'"),
        (_binary("05000307020"), "`$.udh` is not hex"),
        (_binary("0500030702"), "not a user data header"),
        (mo("mo_binary", body="not base64!", udh=""), "`$.body` is not base64"),
        (mo("mo_media", body="text"), "`$.body`"),
    ],
)
async def test_a_malformed_payload_is_a_bad_request(body: bytes, detail: str) -> None:
    harness = CarrierHarness()
    document = problem(await carrier().handle(request(body), harness.emit), 400)
    assert detail in document["detail"]
    assert harness.items == []


@pytest.mark.trio
@pytest.mark.parametrize("kind", ["delivery_report_sms", "recipient_delivery_report_sms"])
async def test_delivery_reports_are_acknowledged_without_a_message(kind: str) -> None:
    harness = CarrierHarness()
    report = msgspec.json.encode({"type": kind, "batch_id": "01FC", "status": "Delivered"})
    assert (await carrier().handle(request(report), harness.emit)).status == 200
    assert harness.items == []


@pytest.mark.trio
async def test_only_post_is_accepted() -> None:
    response = await carrier().handle(webhook_request(URL, method="GET"), CarrierHarness().emit)
    problem(response, 405)


@pytest.mark.trio
async def test_a_store_failure_propagates_and_nothing_is_acknowledged() -> None:
    with pytest.raises(StoreError):
        await carrier().handle(request(), store_unavailable)


@pytest.mark.trio
async def test_verification_is_off_only_when_asked() -> None:
    harness = CarrierHarness()
    anonymous = webhook_request(URL, body=mo())
    problem(await carrier().handle(anonymous, harness.emit), 401)
    open_carrier = SinchCarrier("sinch", SinchConfig(verify=False))
    assert (await open_carrier.handle(anonymous, harness.emit)).status == 200
    assert len(harness.items) == 1


@pytest.mark.trio
async def test_with_the_engine_binary_segments_make_one_message(tmp_path: Path) -> None:
    sinch = carrier()
    first, second = DATA[:7], DATA[7:]
    async with engine.open(Config(data_dir=str(tmp_path))) as septet:
        # The second segment first: the engine orders them by seq.
        for udh, data, message_id in [
            ("06080412340202", second, "b2"),
            ("06080412340201", first, "b1"),
        ]:
            sent = request(_binary(udh, data=data, message_id=message_id))
            assert (await sinch.handle(sent, septet.ingest)).status == 200
        [message] = await septet.messages()
    assert message.content == DATA.hex()
    assert message.parts == 2
    assert message.encoding == "8bit"
    assert "binary" in message.flags
    assert message.otp is None
    assert message.sender_id == "+46701234567"
