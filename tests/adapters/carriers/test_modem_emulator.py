"""The pty modem emulator itself, spoken to over a real tty as a carrier would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
import trio
import trio.testing

from adapters.carriers._modem_at import AtError, AtSession, Urc
from adapters.carriers._modem_serial import open_serial
from engine import codec
from engine.testing import (
    HUAWEI_E3372,
    QUECTEL_EC25,
    SIMCOM_SIM800,
    ModemDialect,
    ModemEmulator,
    open_modem_emulator,
)

pytestmark = pytest.mark.trio

TPDU = codec.encode_deliver(
    "hello", sender="+447700900123", sent_at=datetime(2024, 5, 1, tzinfo=UTC)
)[0]


@asynccontextmanager
async def talk(emulator: ModemEmulator) -> AsyncIterator[tuple[AtSession, list[Urc]]]:
    urcs: list[Urc] = []
    async with open_serial(emulator.path, 115200) as stream, trio.open_nursery() as nursery:
        session = AtSession(stream, urcs.append)
        await nursery.start(session.run)
        yield session, urcs
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("dialect", "header"),
    [
        (QUECTEL_EC25, "+CMGL: 0,0,,"),
        (SIMCOM_SIM800, '+CMGL: 1,0,"",'),
        (HUAWEI_E3372, "+CMGL: 0,0,,"),
    ],
)
async def test_each_dialect_lists_storage_its_own_way(dialect: ModemDialect, header: str) -> None:
    async with open_modem_emulator(dialect) as emulator, talk(emulator) as (at, _):
        emulator.store(TPDU, smsc="+447785016005")
        await at.command("AT+CMEE=2", 1)
        [listed, pdu] = await at.command("AT+CMGL=4", 1)
        assert listed == f"{header}{len(TPDU)}"
        assert bytes.fromhex(pdu).endswith(TPDU)
        assert emulator.commands[-1] == "AT+CMGL=4"
        assert emulator.messages()[int(listed.split(":")[1].split(",")[0])].stat == 1  # now read


async def test_an_empty_index_reads_as_each_dialect_says() -> None:
    async with open_modem_emulator(HUAWEI_E3372) as emulator, talk(emulator) as (at, _):
        await at.command("AT+CMEE=1", 1)
        with pytest.raises(AtError) as caught:
            await at.command("AT+CMGR=7", 1)
        assert (caught.value.code, caught.value.reason) == (321, "invalid memory index")
    async with open_modem_emulator(QUECTEL_EC25) as emulator, talk(emulator) as (at, _):
        assert await at.command("AT+CMGR=7", 1) == []


async def test_three_wrong_pins_lock_the_sim_behind_its_puk() -> None:
    async with open_modem_emulator(QUECTEL_EC25, pin="2580") as emulator, talk(emulator) as (at, _):
        await at.command("AT+CMEE=2", 1)
        assert await at.command("AT+CPIN?", 1) == ["+CPIN: SIM PIN"]
        for _ in range(3):
            with pytest.raises(AtError, match="incorrect password"):
                await at.command('AT+CPIN="0000"', 1)
        assert await at.command("AT+CPIN?", 1) == ["+CPIN: SIM PUK"]
        assert emulator.pin_attempts == 3


async def test_the_pin_unlocks_the_sim_which_is_busy_for_a_moment() -> None:
    async with (
        open_modem_emulator(SIMCOM_SIM800, pin="2580", sms_busy_after_pin=2) as emulator,
        talk(emulator) as (at, urcs),
    ):
        await at.command("AT+CMEE=2", 1)
        with pytest.raises(AtError, match="SIM PIN required"):
            await at.command("AT+CMGL=4", 1)
        await at.command('AT+CPIN="2580"', 1)
        for _ in range(2):
            with pytest.raises(AtError, match="SIM busy"):
                await at.command('AT+CPMS="SM"', 1)
        await at.command('AT+CPMS="SM"', 1)
        assert Urc("SMS Ready") in urcs


async def test_a_new_message_is_announced_as_cnmi_says() -> None:
    async with open_modem_emulator(QUECTEL_EC25) as emulator, talk(emulator) as (at, urcs):
        assert await emulator.receive_sms(TPDU) == 0  # <mt> 0: stored silently
        await at.command("AT+CNMI=2,1,0,1,0", 1)
        assert await emulator.receive_sms(TPDU) == 1
        await at.command("AT+CSMS=1", 1)
        await at.command("AT+CNMI=2,2,0,1,0", 1)
        assert await emulator.receive_sms(TPDU) is None
        await trio.testing.wait_all_tasks_blocked()
        assert [u.name for u in urcs] == ["+CMTI", "+CMT"]
        await at.command("AT+CNMA", 1)
        assert emulator.acks == ["AT+CNMA"]
