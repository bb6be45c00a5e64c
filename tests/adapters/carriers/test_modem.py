"""The GSM modem carrier against the pty modem emulator and a real engine on SQLite."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
from denying import deny_messages

import engine
from adapters.carriers.modem import ModemCarrier, ModemConfig, ModemSimError
from engine import codec
from engine.config import CarrierConfig, Config
from engine.model import InboundItem, InboundPdu, IngestResult, Message
from engine.store import open_sqlite_store
from engine.testing import (
    HUAWEI_E3372,
    MODEM_DIALECTS,
    QUECTEL_EC25,
    SIMCOM_SIM800,
    SIMCOM_SIM7600,
    CarrierHarness,
    ModemDialect,
    ModemEmulator,
    check_carrier_class,
    check_carrier_runs,
    open_carrier_harness,
    open_modem_emulator,
)

pytestmark = pytest.mark.trio

NUMBER = "+447700900001"
SENDER = "+447700900123"
SMSC = "+447785016005"
SENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CAPTURES = Path(__file__).resolve().parents[2] / "data" / "modem_captures" / "gammu_at_sms.json"
# pm_status_report_no_smsc (python-messaging's test suite): TP-MR 5, delivered, bare TPDU.
STATUS_REPORT = bytes.fromhex("060505810531F1010150610000400101506100004000")
FAST = {
    "command_timeout_seconds": 2.0,
    "reconnect_min_seconds": 0.02,
    "reconnect_max_seconds": 0.1,
}


def sms(text: str, *, reference: int = 0) -> list[bytes]:
    return codec.encode_deliver(text, sender=SENDER, sent_at=SENT, reference=reference)


def modem_config(emulator: ModemEmulator, **settings: Any) -> ModemConfig:
    return ModemConfig(device=emulator.path, number=NUMBER, **{**FAST, **settings})


@dataclass
class Rig:
    septet: engine.Septet
    emulator: ModemEmulator

    @asynccontextmanager
    async def carrier(
        self,
        respond: Callable[[InboundItem], Awaitable[IngestResult]] | None = None,
        **settings: Any,
    ) -> AsyncIterator[CarrierHarness]:
        carrier = ModemCarrier("gsm", modem_config(self.emulator, **settings))
        async with open_carrier_harness(carrier, respond=respond or self.septet.ingest) as h:
            yield h

    async def inbox(self) -> list[Message]:
        return await self.septet.messages(oldest_first=True)


@asynccontextmanager
async def rig(
    tmp_path: Path, dialect: ModemDialect = QUECTEL_EC25, *, pin: str | None = None, **kw: Any
) -> AsyncIterator[Rig]:
    async with (
        engine.open(Config(data_dir=str(tmp_path)), **kw) as septet,
        open_modem_emulator(dialect, pin=pin) as emulator,
    ):
        yield Rig(septet, emulator)


def contents(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


# --- the contract and the config -------------------------------------------------------


async def test_the_modem_keeps_the_carrier_contract() -> None:
    async with open_modem_emulator() as emulator:
        settings = {"device": emulator.path, "number": NUMBER, "pin": "4321", **FAST}
        carrier = check_carrier_class(ModemCarrier, settings)
        await check_carrier_runs(carrier)
    shown = repr(carrier.config) + repr(carrier.config.__rich_repr__())  # type: ignore[attr-defined]
    assert "4321" not in shown
    assert "[redacted]" in shown


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"number": "07700900001"}, "E.164"),
        ({"pin": "12"}, "4 to 8 digits"),
        ({"baud_rate": 1234}, "baud_rate"),
        ({"storage": "XX"}, "storage"),
        ({"poll_seconds": 0}, "poll_seconds"),
        ({"reconnect_min_seconds": 5, "reconnect_max_seconds": 1}, "reconnect_max_seconds"),
        ({"pin_code": "1234"}, "unknown field"),
    ],
)
async def test_a_bad_setting_is_refused(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=complaint):
        msgspec.convert({"device": "/dev/ttyUSB2", "number": NUMBER, **change}, ModemConfig)


async def test_the_registry_loads_the_modem_carrier() -> None:
    from engine.plugins import load_carrier

    settings = {"device": "/dev/ttyUSB2", "number": NUMBER}
    loaded = load_carrier(CarrierConfig(name="gsm", adapter="modem", config=settings))
    assert isinstance(loaded, ModemCarrier)
    assert loaded.name == "gsm"


# --- receiving -------------------------------------------------------------------------


async def test_stored_messages_are_read_at_startup_and_deleted_only_after_commit(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        first = r.emulator.store(sms("received while Septet was down")[0], smsc=SMSC)
        second = r.emulator.store(sms("and this one too")[0], smsc=SMSC, stat=1)
        outgoing = r.emulator.store(sms("a draft")[0], stat=2)  # not received: left alone
        gate = trio.Event()

        async def commit_when_let(item: InboundItem) -> IngestResult:
            await gate.wait()
            return await r.septet.ingest(item)

        async with r.carrier(respond=commit_when_let) as harness:
            await harness.wait_for_items(1)
            assert r.emulator.deleted == []  # emitted, not committed: still on the SIM
            gate.set()
            await r.emulator.wait_until(lambda: len(r.emulator.deleted) == 2)
        assert r.emulator.deleted == [("SM", first), ("SM", second)]
        assert list(r.emulator.messages()) == [outgoing]
        inbox = await r.inbox()
        assert contents(inbox) == ["received while Septet was down", "and this one too"]
        assert {(m.number_used, m.sender_id, m.carrier) for m in inbox} == {(NUMBER, SENDER, "gsm")}


@pytest.mark.parametrize("dialect", MODEM_DIALECTS.values(), ids=list(MODEM_DIALECTS))
async def test_a_new_message_is_read_on_cmti_then_deleted(
    tmp_path: Path, dialect: ModemDialect
) -> None:
    async with rig(tmp_path, dialect) as r, r.carrier():
        await r.emulator.wait_until(lambda: "AT+CMGL=4" in r.emulator.commands)  # started
        index = await r.emulator.receive_sms(sms("Your code is 482913")[0], smsc=SMSC)
        assert index is not None
        await r.emulator.wait_until(lambda: r.emulator.deleted == [("SM", index)])
        assert f"AT+CMGR={index}" in r.emulator.commands
        [message] = await r.inbox()
        assert message.content == "Your code is 482913"
        assert message.otp is not None
        assert message.otp.code == "482913"
        assert message.sent_at == SENT


async def test_a_direct_message_is_acknowledged_after_its_commit(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        gate = trio.Event()

        async def commit_when_let(item: InboundItem) -> IngestResult:
            await gate.wait()
            return await r.septet.ingest(item)

        async with r.carrier(respond=commit_when_let, delivery="direct") as harness:
            await r.emulator.wait_until(lambda: r.emulator.direct_delivery)
            assert await r.emulator.receive_sms(sms("straight to the carrier")[0]) is None
            await harness.wait_for_items(1)
            assert r.emulator.acks == []
            gate.set()
            await r.emulator.wait_until(lambda: r.emulator.acks == ["AT+CNMA"])
        assert contents(await r.inbox()) == ["straight to the carrier"]
        assert r.emulator.messages() == {}


async def test_direct_delivery_needs_phase_2_plus_and_falls_back_to_storage(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, replace(SIMCOM_SIM800, phase2plus=False)) as r:
        async with r.carrier(delivery="direct"):
            await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
            assert not r.emulator.direct_delivery  # +CMT would be acknowledged before commit
            index = await r.emulator.receive_sms(sms("kept until committed")[0])
            await r.emulator.wait_until(lambda: r.emulator.deleted == [("SM", index)])
        assert contents(await r.inbox()) == ["kept until committed"]


@pytest.mark.parametrize("dialect", [QUECTEL_EC25, HUAWEI_E3372], ids=["with-smsc", "bare-tpdu"])
async def test_a_status_report_is_stored_with_the_reference_it_reports_on(
    tmp_path: Path, dialect: ModemDialect
) -> None:
    async with rig(tmp_path, dialect) as r, r.carrier() as harness:
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        await r.emulator.receive_status_report(STATUS_REPORT, smsc=SMSC)
        await r.emulator.wait_until(lambda: r.emulator.acks == ["AT+CNMA"])
        [item] = harness.items
        assert isinstance(item, InboundPdu)
        assert item.smsc is dialect.cds_smsc
        [result] = harness.results
        assert result.outcome == "status"
        report = result.status_report
        assert report is not None
        assert (report.refers_to, report.status, report.number_used) == ("5", "0x00", NUMBER)
        assert report.message_id is None  # reports on a message this SIM sent, not an inbound one
        assert await r.inbox() == []


async def test_a_stored_status_report_is_read_on_cdsi(tmp_path: Path) -> None:
    async with rig(tmp_path, SIMCOM_SIM7600) as r, r.carrier() as harness:
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        index = await r.emulator.receive_status_report(STATUS_REPORT, route="stored")
        await r.emulator.wait_until(lambda: r.emulator.deleted == [("SM", index)])
        assert [result.outcome for result in harness.results] == ["status"]


async def test_parts_announced_one_by_one_make_one_message(tmp_path: Path) -> None:
    text = "Part of a long message that needs three parts to arrive whole. " * 5
    parts = sms(text, reference=42)
    assert len(parts) == 3
    async with rig(tmp_path, SIMCOM_SIM800) as r, r.carrier() as harness:
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        for part in (parts[2], parts[0], parts[1]):
            await r.emulator.receive_sms(part, smsc=SMSC)
        await r.emulator.wait_until(lambda: len(r.emulator.deleted) == 3)
        assert [result.outcome for result in harness.results] == [
            "buffered",
            "buffered",
            "committed",
        ]
        [message] = await r.inbox()
        assert (message.content, message.parts) == (text, 3)


async def test_codes_in_the_middle_of_a_response_are_handled_after_it(tmp_path: Path) -> None:
    async with rig(tmp_path, HUAWEI_E3372) as r, r.carrier(poll_seconds=0.05):
        await r.emulator.wait_until(lambda: "AT+CMGL=4" in r.emulator.commands)
        # A message whose +CMTI was lost; the next scan finds it, and in the middle of
        # the scan's answer come a new message's +CMTI and the modem's status codes.
        r.emulator.store(sms("found by the scan")[0])
        await r.emulator.send_urc(*HUAWEI_E3372.idle_urcs, during="AT+CMGL")
        await r.emulator.receive_sms(sms("announced mid-answer")[0], during="AT+CMGL")
        await r.emulator.wait_until(lambda: len(r.emulator.deleted) == 2)
        assert sorted(contents(await r.inbox())) == ["announced mid-answer", "found by the scan"]


async def test_a_direct_message_in_the_middle_of_a_response_is_acknowledged(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r, r.carrier(delivery="direct", poll_seconds=0.05):
        await r.emulator.wait_until(lambda: r.emulator.direct_delivery)
        r.emulator.store(sms("on the SIM")[0])
        await r.emulator.receive_sms(sms("delivered mid-answer")[0], during="AT+CMGL")
        await r.emulator.wait_until(
            lambda: r.emulator.acks == ["AT+CNMA"] and bool(r.emulator.deleted)
        )
        assert sorted(contents(await r.inbox())) == ["delivered mid-answer", "on the SIM"]


# --- the SIM ---------------------------------------------------------------------------


async def test_the_pin_is_entered_when_the_sim_asks(tmp_path: Path) -> None:
    async with rig(tmp_path, SIMCOM_SIM7600, pin="2580") as r, r.carrier(pin="2580"):
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        index = await r.emulator.receive_sms(sms("after the PIN")[0])
        await r.emulator.wait_until(lambda: r.emulator.deleted == [("SM", index)])
        assert r.emulator.pin_attempts == 1
        assert 'AT+CPIN="2580"' in r.emulator.commands


@pytest.mark.parametrize("pin", ["1111", None], ids=["wrong-pin", "no-pin"])
async def test_a_sim_that_refuses_the_pin_stops_the_carrier_without_a_retry(
    tmp_path: Path, pin: str | None
) -> None:
    async with rig(tmp_path, QUECTEL_EC25, pin="2580") as r:
        with pytest.raises(ModemSimError, match="PIN"):
            async with r.carrier(pin=pin):
                pass
        assert r.emulator.pin_attempts == (1 if pin else 0)


async def test_a_pin_refused_after_a_restart_is_not_tried_again(tmp_path: Path) -> None:
    async with rig(tmp_path, QUECTEL_EC25, pin="2580") as r, r.carrier(pin="2580"):
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        r.emulator.pin = "9999"  # someone changed the SIM's PIN, then the modem restarted
        await r.emulator.reboot()
        await r.emulator.wait_until(lambda: r.emulator.pin_attempts == 2)
        # Parked: reconnecting (every 20-100 ms) would send the PIN again; it must not.
        with pytest.raises(trio.TooSlowError):
            await r.emulator.wait_until(lambda: r.emulator.pin_attempts > 2, timeout=0.5)


# --- storage full, commit failures, a device that goes -------------------------------------


@pytest.mark.parametrize(
    "dialect",
    [HUAWEI_E3372, QUECTEL_EC25, SIMCOM_SIM800],
    ids=["^SMMEMFULL", "+QIND-smsfull", "no-indication"],
)
async def test_a_full_storage_is_emptied_and_nothing_is_lost(
    tmp_path: Path, dialect: ModemDialect
) -> None:
    small = replace(dialect, storages=(("SM", 2), ("ME", 10)))
    async with rig(tmp_path, small) as r:
        gate = trio.Event()

        async def commit_when_let(item: InboundItem) -> IngestResult:
            await gate.wait()
            return await r.septet.ingest(item)

        async with r.carrier(respond=commit_when_let, poll_seconds=0.1):
            await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
            for n in range(3):
                await r.emulator.receive_sms(sms(f"message {n}")[0])
            assert r.emulator.network_queue == 1  # refused: the storage is full
            gate.set()
            await r.emulator.wait_until(lambda: len(r.emulator.deleted) == 3)
        assert r.emulator.network_queue == 0
        assert sorted(contents(await r.inbox())) == ["message 0", "message 1", "message 2"]


async def test_a_failed_commit_leaves_the_message_on_the_sim(tmp_path: Path) -> None:
    writable = False
    hook = deny_messages(lambda: not writable)
    async with (
        open_sqlite_store(tmp_path / "inbox.db", _writer_hook=hook) as store,
        rig(tmp_path, store=store) as r,
    ):
        index = r.emulator.store(sms("must survive a failed commit")[0])
        async with r.carrier(poll_seconds=0.05) as harness:
            await harness.wait_for_items(3)  # the startup read, then two polls
            assert harness.results == []
            assert r.emulator.deleted == []
            assert list(r.emulator.messages()) == [index]
            writable = True
            await r.emulator.wait_until(lambda: r.emulator.deleted == [("SM", index)])
        assert contents(await r.inbox()) == ["must survive a failed commit"]


async def test_a_direct_message_that_was_not_committed_is_refused_and_delivered_again(
    tmp_path: Path,
) -> None:
    refusals = 1

    async with rig(tmp_path) as r:

        async def fail_once(item: InboundItem) -> IngestResult:
            nonlocal refusals
            if refusals:
                refusals -= 1
                raise engine.errors.StoreError("the inbox cannot be written")
            return await r.septet.ingest(item)

        async with r.carrier(respond=fail_once, delivery="direct"):
            await r.emulator.wait_until(lambda: r.emulator.direct_delivery)
            await r.emulator.receive_sms(sms("second time lucky")[0])
            await r.emulator.wait_until(lambda: r.emulator.acks == ["AT+CNMA=2"])
            assert r.emulator.network_queue == 1
            await r.emulator.network_retry()
            await r.emulator.wait_until(lambda: r.emulator.acks == ["AT+CNMA=2", "AT+CNMA"])
        assert contents(await r.inbox()) == ["second time lucky"]


async def test_a_device_that_disappears_and_returns_loses_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path, SIMCOM_SIM800) as r, r.carrier():
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        await r.emulator.receive_sms(sms("before the unplug")[0])
        await r.emulator.wait_until(lambda: len(r.emulator.deleted) == 1)
        await r.emulator.vanish()
        await r.emulator.receive_sms(sms("while unplugged")[0])  # the SIM keeps it
        await r.emulator.reappear()
        await r.emulator.wait_until(lambda: len(r.emulator.deleted) == 2)
        assert r.emulator.commands.count("ATE0") == 2  # configured again
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        await r.emulator.receive_sms(sms("after the return")[0])
        await r.emulator.wait_until(lambda: len(r.emulator.deleted) == 3)
        assert contents(await r.inbox()) == [
            "before the unplug",
            "while unplugged",
            "after the return",
        ]


async def test_a_message_committed_just_before_the_device_went_is_a_duplicate(
    tmp_path: Path,
) -> None:
    unplugged = False

    async with rig(tmp_path) as r:

        async def commit_then_unplug(item: InboundItem) -> IngestResult:
            nonlocal unplugged
            result = await r.septet.ingest(item)
            if not unplugged:
                unplugged = True
                # Committed; the delete never reaches the modem. (Shielded: the carrier
                # is cancelled as the device goes, and the harness records the answer.)
                with trio.CancelScope(shield=True):
                    await r.emulator.vanish()
            return result

        r.emulator.store(sms("committed once")[0])
        async with r.carrier(respond=commit_then_unplug) as harness:
            await r.emulator.wait_until(lambda: not r.emulator.present)
            assert r.emulator.deleted == []
            await r.emulator.reappear()
            await r.emulator.wait_until(lambda: len(r.emulator.deleted) == 1)
        assert [result.outcome for result in harness.results] == ["committed", "duplicate"]
        assert contents(await r.inbox()) == ["committed once"]


async def test_a_modem_that_restarts_is_configured_again(tmp_path: Path) -> None:
    async with rig(tmp_path) as r, r.carrier():
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        await r.emulator.reboot()  # RDY: echo back on, indications off
        await r.emulator.wait_until(lambda: r.emulator.commands.count("ATE0") == 2)
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        index = await r.emulator.receive_sms(sms("after the restart")[0])
        await r.emulator.wait_until(lambda: r.emulator.deleted == [("SM", index)])


async def test_an_absent_device_is_waited_for(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.emulator.vanish()
        async with r.carrier():  # started: it keeps trying in the background
            await r.emulator.reappear()
            await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
            index = await r.emulator.receive_sms(sms("worth the wait")[0])
            await r.emulator.wait_until(lambda: r.emulator.deleted == [("SM", index)])


# --- replays of captured transcripts ---------------------------------------------------------

_CAPTURES = json.loads(CAPTURES.read_text("utf-8"))["captures"]


@pytest.mark.parametrize("capture", _CAPTURES, ids=[c["id"] for c in _CAPTURES])
async def test_a_captured_read_is_taken_as_its_source_says(
    tmp_path: Path, capture: dict[str, Any]
) -> None:
    assert capture["source"].startswith("gammu/gammu tests/at-sms/")
    index = int(capture["command"].split("=")[1])
    async with rig(tmp_path) as r, r.carrier() as harness:
        await r.emulator.wait_until(lambda: r.emulator.indications_enabled)
        r.emulator.script(capture["command"], capture["response"])
        await r.emulator.send_urc(f'+CMTI: "SM",{index}')
        await r.emulator.wait_until(lambda: capture["command"] in r.emulator.commands)
        expected = capture["expected"]
        if expected.get("ignored"):
            await r.emulator.send_urc('+CMTI: "SM",9')  # a marker: handled after the capture
            await r.emulator.wait_until(lambda: "AT+CMGR=9" in r.emulator.commands)
            assert harness.items == []
            assert f"AT+CMGD={index}" not in r.emulator.commands
            return
        await r.emulator.wait_until(lambda: f"AT+CMGD={index}" in r.emulator.commands)
        [result] = harness.results
        if "status_report" in expected:
            assert result.status_report is not None
            assert result.status_report.refers_to == expected["status_report"]["refers_to"]
            assert result.status_report.status == expected["status_report"]["status"]
            return
        [message] = await r.inbox()
        assert (message.sender_id, message.content) == (expected["sender"], expected["content"])
