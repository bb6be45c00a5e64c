"""The SMPP carrier against the simulated SMSC and a real engine on SQLite: receiving."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

import engine
from adapters.carriers.smpp import SmppCarrier, SmppConfig, SmscConfig
from engine.config import CarrierConfig, Config
from engine.model import InboundItem, InboundStatus, InboundText, IngestResult, Message
from engine.smpp import CommandStatus, DeliverSm, Tlv, TlvTag
from engine.testing import (
    CarrierHarness,
    SmscSimulator,
    check_carrier_class,
    check_carrier_runs,
    open_carrier_harness,
    open_smsc_simulator,
    receipt_deliver_sm,
    text_deliver_sms,
)

pytestmark = pytest.mark.trio

NUMBER = "+447700900001"
SENDER = "+447700900123"
CARRIER = "smsc1"
FAST = {
    "response_timeout_seconds": 2.0,
    "reconnect_min_seconds": 0.01,
    "reconnect_max_seconds": 0.05,
}


def smsc_settings(host: str, port: int, **settings: Any) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "system_id": "septet",
        "password": "secret",
        **FAST,
        **settings,
    }


def carrier_for(host: str, port: int, **settings: Any) -> SmppCarrier:
    smsc = SmscConfig(**smsc_settings(host, port, **settings))
    return SmppCarrier(CARRIER, SmppConfig(smscs=(smsc,)))


@dataclass
class Rig:
    septet: engine.Septet
    smsc: SmscSimulator

    @asynccontextmanager
    async def carrier(
        self,
        respond: Callable[[InboundItem], Awaitable[IngestResult]] | None = None,
        **settings: Any,
    ) -> AsyncIterator[CarrierHarness]:
        # Without ``respond``, lists go to the engine's batched path as in production.
        carrier = carrier_for(self.smsc.host, self.smsc.port, **settings)
        async with open_carrier_harness(
            carrier,
            respond=respond or self.septet.ingest,
            respond_many=None if respond else self.septet.ingest_each,
        ) as h:
            yield h

    async def inbox(self) -> list[Message]:
        return await self.septet.messages(oldest_first=True)


@asynccontextmanager
async def rig(tmp_path: Path, **simulator: Any) -> AsyncIterator[Rig]:
    async with (
        engine.open(Config(data_dir=str(tmp_path))) as septet,
        open_smsc_simulator(**simulator) as smsc,
    ):
        yield Rig(septet, smsc)


def contents(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


ROK = CommandStatus.ESME_ROK
LONG = "Your Septet verification code is 482913. " * 5  # 205 characters: two GSM-7 parts


def deliver_sm(short_message: bytes, **fields: Any) -> DeliverSm:
    settings: dict[str, Any] = {
        "source_addr": SENDER.removeprefix("+"),
        "source_addr_ton": 1,
        "destination_addr": NUMBER.removeprefix("+"),
        "dest_addr_ton": 1,
        **fields,
    }
    return DeliverSm(sequence_number=0, short_message=short_message, **settings)


# --- the contract and the config -------------------------------------------------------


async def test_the_smpp_carrier_keeps_the_carrier_contract() -> None:
    async with open_smsc_simulator() as smsc:
        settings = {"smscs": [smsc_settings(smsc.host, smsc.port, password="hush1234")]}
        carrier = check_carrier_class(SmppCarrier, settings)
        await check_carrier_runs(carrier)
    shown = repr(carrier.config) + repr(carrier.config.__rich_repr__())  # type: ignore[attr-defined]
    assert "hush1234" not in shown
    assert "[redacted]" in shown


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"password": "much-too-long"}, "password"),
        ({"system_id": ""}, "system_id"),
        ({"bind": "transmitter"}, "bind"),
        ({"window": 0}, "window"),
        ({"data_coding_0": "utf8"}, "data_coding_0"),
        ({"enquire_link_seconds": 0}, "enquire_link_seconds"),
        ({"reconnect_min_seconds": 5, "reconnect_max_seconds": 1}, "reconnect_max_seconds"),
        ({"tls_ca_file": "/etc/ssl/ca.pem"}, "tls_ca_file"),
        ({"passwd": "x"}, "unknown field"),
    ],
)
async def test_a_bad_setting_is_refused(change: dict[str, Any], complaint: str) -> None:
    smsc = {**smsc_settings("smsc.example", 2775), **change}
    with pytest.raises(msgspec.ValidationError, match=complaint):
        msgspec.convert({"smscs": [smsc]}, SmppConfig)


async def test_no_smsc_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="at least one SMSC"):
        msgspec.convert({"smscs": []}, SmppConfig)


async def test_the_registry_loads_the_smpp_carrier() -> None:
    from engine.plugins import load_carrier

    settings = {"smscs": [smsc_settings("smsc.example", 2775)]}
    loaded = load_carrier(CarrierConfig(name="smsc1", adapter="smpp", config=settings))
    assert isinstance(loaded, SmppCarrier)
    assert loaded.name == "smsc1"


# --- receiving -------------------------------------------------------------------------


async def test_a_text_is_committed_then_acknowledged(tmp_path: Path) -> None:
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        assert session.bind == "bind_receiver"
        [pdu] = text_deliver_sms("Your code is 482913", sender=SENDER, number=NUMBER)
        response = await session.deliver(pdu)
        assert response.command_status == ROK
        [message] = await r.inbox()  # already committed when the answer came
        raw = await r.septet.raw_payload(message.id)
    assert message.content == "Your code is 482913"
    assert (message.number_used, message.sender_id, message.carrier) == (NUMBER, SENDER, CARRIER)
    assert message.encoding == "gsm7"
    assert message.otp is not None
    assert message.otp.code == "482913"
    assert message.carrier_message_id is None
    sent = pdu.encode()
    assert raw == sent[:12] + response.sequence_number.to_bytes(4, "big") + sent[16:]


@pytest.mark.parametrize(
    ("data_coding", "short_message", "setting", "text"),
    [
        # ch_deliver_sm_basic (cloudhopper): the same octets read three ways.
        (0x00, bytes.fromhex("4024232125262F3A"), "gsm7", "¡¤#!%&/:"),
        (0x00, bytes.fromhex("4024232125262F3A"), "ascii", "@$#!%&/:"),
        (0x00, b"caf\xe9", "latin1", "café"),
        (0x01, b"plain ASCII", "gsm7", "plain ASCII"),
        (0x03, b"na\xefve", "gsm7", "naïve"),
        (0x08, "Код 🔐 1234".encode("utf-16-be"), "gsm7", "Код 🔐 1234"),
        (0x00, bytes([0x1B, 0x65, 0x35]), "gsm7", "€5"),
    ],
)
async def test_text_is_decoded_by_data_coding(
    tmp_path: Path, data_coding: int, short_message: bytes, setting: str, text: str
) -> None:
    async with rig(tmp_path) as r, r.carrier(data_coding_0=setting):
        session = await r.smsc.wait_for_session()
        pdu = deliver_sm(short_message, data_coding=data_coding)
        assert (await session.deliver(pdu)).command_status == ROK
        [message] = await r.inbox()
    assert message.content == text


async def test_binary_content_is_kept_as_hex(tmp_path: Path) -> None:
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        assert (
            await session.deliver(deliver_sm(b"\x01\x02\xff", data_coding=4))
        ).command_status == ROK
        [message] = await r.inbox()
    assert (message.content, message.encoding, message.flags) == ("0102ff", "8bit", ("binary",))
    assert message.otp is None


async def test_alphanumeric_and_national_senders_are_kept_as_sent(tmp_path: Path) -> None:
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        [alpha] = text_deliver_sms("from a brand", sender="Acme Bank", number=NUMBER)
        await session.deliver(alpha)
        await session.deliver(deliver_sm(b"short code", source_addr="72345", source_addr_ton=3))
        first, second = await r.inbox()
    assert first.sender_id == "Acme Bank"
    assert second.sender_id == "72345"


async def test_an_all_digit_sender_marked_alphanumeric_is_not_read_as_a_number(
    tmp_path: Path,
) -> None:
    # The same digits: with TON 5 (alphanumeric) a sender's name, with TON 0 a UK number.
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        for ton in (5, 0):
            pdu = deliver_sm(b"hello", source_addr="07700900456", source_addr_ton=ton)
            assert (await session.deliver(pdu)).command_status == ROK
        named, numbered = await r.inbox()
    assert named.sender_id == "07700900456"
    assert numbered.sender_id == "+447700900456"


@pytest.mark.parametrize("split", ["udh", "udh16", "sar"])
async def test_parts_out_of_order_are_reassembled(tmp_path: Path, split: Any) -> None:
    parts = text_deliver_sms(LONG, sender=SENDER, number=NUMBER, split=split, reference=300)
    assert len(parts) == 2
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        for part in reversed(parts):
            assert (await session.deliver(part)).command_status == ROK
        [message] = await r.inbox()
    assert message.content == LONG
    assert message.parts == 2
    assert message.otp is not None
    assert message.otp.code == "482913"


async def test_ucs2_parts_are_reassembled(tmp_path: Path) -> None:
    text = "Ваш код подтверждения: 582019. Никому не сообщайте этот код, даже сотрудникам банка."
    parts = text_deliver_sms(text, sender=SENDER, number=NUMBER, coding="ucs2", split="udh")
    assert len(parts) == 2
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        assert [s.command_status for s in await session.deliver_many(parts)] == [ROK, ROK]
        [message] = await r.inbox()
    assert (message.content, message.encoding) == (text, "ucs2")


@pytest.mark.parametrize(
    ("coding", "first", "second", "expected"),
    [
        # An SMSC that cuts UCS-2 parts at a fixed length splits an emoji's surrogates.
        (
            0x08,
            "Code 4821 \U0001f600".encode("utf-16-be")[:-2],
            "\U0001f600 ok",
            "Code 4821 \U0001f600 ok",
        ),
        # GSM 7-bit: the escape in one part, the character it escapes (0x65: €) in the next.
        (0x00, bytes([0x31, 0x30, 0x1B]), bytes([0x65, 0x20, 0x6F, 0x6B]), "10€ ok"),
    ],
)
async def test_a_character_split_between_parts_comes_out_whole(
    tmp_path: Path, coding: int, first: bytes, second: str | bytes, expected: str
) -> None:
    if isinstance(second, str):
        # The second part starts with the low surrogate the first part lacked.
        second = "\U0001f600".encode("utf-16-be")[2:] + " ok".encode("utf-16-be")
    header = [bytes([5, 0, 3, 0x42, 2, seq]) for seq in (1, 2)]
    pdus = [
        deliver_sm(header[0] + first, esm_class=0x40, data_coding=coding),
        deliver_sm(header[1] + second, esm_class=0x40, data_coding=coding),
    ]
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        for pdu in reversed(pdus):  # out of order, too
            assert (await session.deliver(pdu)).command_status == ROK
        [message] = await r.inbox()
    assert message.content == expected
    assert "lossy_text" not in message.flags


async def test_national_language_shift_tables_are_used(tmp_path: Path) -> None:
    # Turkish locking shift (NLI 1): septet 0x07 is U+0131, dotless i ("ì" by default).
    header = bytes([3, 0x25, 1, 1])
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        await session.deliver(deliver_sm(header + bytes([0x07]), esm_class=0x40))
        [message] = await r.inbox()
    assert message.content == "\u0131"


@pytest.mark.parametrize("data_sm", [False, True])
async def test_text_in_message_payload(tmp_path: Path, data_sm: bool) -> None:
    text = "A long one in message_payload. " * 10
    [pdu] = text_deliver_sms(text, sender=SENDER, number=NUMBER, split="payload", data_sm=data_sm)
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        response = await session.deliver(pdu)
        [message] = await r.inbox()
    assert response.command_status == ROK
    assert response.answer is not None
    assert response.answer.command_name == ("data_sm_resp" if data_sm else "deliver_sm_resp")
    assert message.content == text


async def test_an_empty_destination_takes_the_configured_number(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        async with r.carrier(number=NUMBER):
            session = await r.smsc.wait_for_session()
            assert (
                await session.deliver(deliver_sm(b"hi", destination_addr=""))
            ).command_status == ROK
        async with r.carrier():  # no number configured: refused, not stored
            session = await r.smsc.wait_for_session(2)
            answer = await session.deliver(deliver_sm(b"hi again", destination_addr=""))
            assert answer.command_status == CommandStatus.ESME_RINVDSTADR
        assert [(m.number_used, m.content) for m in await r.inbox()] == [(NUMBER, "hi")]


async def test_undecodable_content_is_refused_for_good(tmp_path: Path) -> None:
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        bad_gsm7 = await session.deliver(deliver_sm(b"\x80\x81"))
        bad_udh = await session.deliver(deliver_sm(bytes([9, 0, 3, 1]), esm_class=0x40))
        assert [bad_gsm7.command_status, bad_udh.command_status] == [
            CommandStatus.ESME_RX_P_APPN
        ] * 2
        assert (await session.deliver(deliver_sm(b"fine"))).command_status == ROK
        assert contents(await r.inbox()) == ["fine"]


# --- delivery receipts -----------------------------------------------------------------


async def test_a_receipt_is_stored_and_linked_to_its_message(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        sent = InboundText(
            carrier=CARRIER, number=NUMBER, sender=SENDER, text="sent", carrier_message_id="38601fa"
        )
        original = (await r.septet.ingest(sent)).message
        assert original is not None
        receipt = receipt_deliver_sm("38601fa", text_id="0059113978", sender=SENDER, number=NUMBER)
        async with r.carrier() as harness:
            session = await r.smsc.wait_for_session()
            assert (await session.deliver(receipt)).command_status == ROK
            again = await session.deliver(receipt)  # the SMSC's retry: stored once
            assert again.command_status == ROK
        [report] = await r.septet.status_reports(original.id)
        assert harness.results[1].outcome == "duplicate"
        assert contents(await r.inbox()) == ["sent"]  # a receipt is no message
    assert (report.refers_to, report.status, report.error_code) == ("38601fa", "DELIVRD", "000")
    assert report.reported_at is not None
    assert report.reported_at.minute == 1


async def test_a_receipt_in_text_form_only(tmp_path: Path) -> None:
    plain = receipt_deliver_sm(
        "77", sender=SENDER, number=NUMBER, stat="UNDELIV", err="012", state=None
    )
    text_only = deliver_sm(plain.short_message)  # esm_class 0: recognised by its text
    async with rig(tmp_path) as r, r.carrier() as harness:
        session = await r.smsc.wait_for_session()
        assert (await session.deliver(text_only)).command_status == ROK
        [item] = harness.items
    assert isinstance(item, InboundStatus)
    assert (item.refers_to, item.status, item.error_code) == ("77", "UNDELIV", "012")


async def test_a_receipt_with_only_tlvs(tmp_path: Path) -> None:
    receipt = deliver_sm(
        b"",
        esm_class=0x04,
        tlvs=[
            Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "abc"),
            Tlv(TlvTag.MESSAGE_STATE, 5),
            Tlv(TlvTag.NETWORK_ERROR_CODE, bytes([3, 0, 34])),
        ],
    )
    async with rig(tmp_path) as r, r.carrier() as harness:
        session = await r.smsc.wait_for_session()
        await session.deliver(receipt)
        [item] = harness.items
    assert isinstance(item, InboundStatus)
    assert (item.refers_to, item.status, item.error_code) == ("abc", "UNDELIVERABLE", "3:34")
