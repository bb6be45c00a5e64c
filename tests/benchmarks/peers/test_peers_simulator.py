"""The SMSC simulator's open-loop sending, against smpplib as an independent ESME."""

from __future__ import annotations

from typing import Any

import pytest
import smpplib.client
import trio

from engine.smpp import CommandStatus
from engine.testing import SessionClosedError, open_smsc_simulator, text_deliver_sms

pytestmark = pytest.mark.trio


def bound_client(port: int) -> smpplib.client.Client:
    client = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    client.connect()
    client.bind_transceiver(system_id="peer", password="peer")
    return client


def read_deliveries(client: smpplib.client.Client, count: int) -> list[Any]:
    seen: list[Any] = []

    def received(pdu: Any, **_: Any) -> int:
        seen.append(pdu)
        return CommandStatus.ESME_ROK

    client.set_message_received_handler(received)
    while len(seen) < count:
        client.read_once(auto_send_enquire_link=False)
    return seen


async def test_deliver_nowait_writes_past_the_window_and_records_each_answer() -> None:
    pdus = [
        pdu
        for n in range(5)
        for pdu in text_deliver_sms(f"open loop {n}", sender="+15551000000", number="+4477")
    ]
    async with open_smsc_simulator({"peer": "peer"}, window=1) as smsc:
        client = await trio.to_thread.run_sync(bound_client, smsc.port)
        try:
            session = await smsc.wait_for_session()
            assert session.bind == "bind_transceiver"
            # A window of one would hold deliver_many to one unanswered PDU: these all go
            # out before the ESME has read any of them.
            responses = [session.deliver_nowait(pdu) for pdu in pdus]
            assert all(r.answered_at is None for r in responses)
            got = await trio.to_thread.run_sync(read_deliveries, client, len(pdus))
            await session.wait_until(lambda: all(r.answered_at for r in responses))
        finally:
            await trio.to_thread.run_sync(client.disconnect)
    assert [pdu.short_message.decode() for pdu in got] == [f"open loop {n}" for n in range(5)]
    assert [r.command_status for r in responses] == [CommandStatus.ESME_ROK] * 5
    assert len({r.sequence_number for r in responses}) == 5
    assert all(r.latency is not None and r.latency >= 0 for r in responses)


async def test_deliver_nowait_refuses_an_ended_session() -> None:
    async with open_smsc_simulator({"peer": "peer"}) as smsc:
        client = await trio.to_thread.run_sync(bound_client, smsc.port)
        session = await smsc.wait_for_session()
        await trio.to_thread.run_sync(client.disconnect)
        await session.ended.wait()
        [pdu] = text_deliver_sms("late", sender="+15551000000", number="+4477")
        with pytest.raises(SessionClosedError, match="ended"):
            session.deliver_nowait(pdu)
