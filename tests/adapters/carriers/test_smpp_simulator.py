"""The simulated SMSC of ``engine.testing`` checked against smpplib, an independent ESME."""

from __future__ import annotations

from typing import Any

import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp
import trio

from engine.smpp import CommandStatus
from engine.testing import open_smsc_simulator, receipt_deliver_sm, text_deliver_sms

pytestmark = pytest.mark.trio

NUMBER = "+447700900001"
SENDER = "+447700900123"
LONG = "Concatenated through a UDH, read by smpplib. " * 4


def bound_client(port: int, password: str = "secret") -> smpplib.client.Client:
    client = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_receiver(system_id="septet", password=password)
    except BaseException:
        client.disconnect()
        raise
    return client


def read_deliveries(client: smpplib.client.Client, count: int, refuse: int) -> list[Any]:
    """Read ``count`` deliver_sm with smpplib, answering the ``refuse``-th one
    ESME_RX_T_APPN and the others ESME_ROK, as smpplib's handler return value says."""
    seen: list[Any] = []

    def received(pdu: Any, **_: Any) -> int:
        seen.append(pdu)
        return CommandStatus.ESME_RX_T_APPN if len(seen) == refuse else CommandStatus.ESME_ROK

    client.set_message_received_handler(received)
    while len(seen) < count:
        client.read_once(auto_send_enquire_link=False)
    return seen


async def test_smpplib_receives_what_the_simulator_sends() -> None:
    parts = text_deliver_sms(LONG, sender=SENDER, number=NUMBER, split="udh", reference=9)
    [ucs2] = text_deliver_sms("Код 🔐", sender="Acme", number=NUMBER, coding="ucs2")
    receipt = receipt_deliver_sm("38601fa", sender=SENDER, number=NUMBER, stat="EXPIRED")
    sent = [*parts, ucs2, receipt]
    async with open_smsc_simulator() as smsc:
        client = await trio.to_thread.run_sync(bound_client, smsc.port)
        try:
            session = await smsc.wait_for_session()
            assert session.bind == "bind_receiver"
            async with trio.open_nursery() as nursery:
                nursery.start_soon(session.deliver_many, sent)
                pdus = await trio.to_thread.run_sync(read_deliveries, client, len(sent), 2)
        finally:
            await trio.to_thread.run_sync(client.disconnect)
    assert len(parts) == 2
    assert session.statuses() == [0, CommandStatus.ESME_RX_T_APPN, 0, 0]
    assert all(r.latency is not None and r.latency >= 0 for r in session.responses.values())
    first, second, text, report = pdus
    assert first.esm_class == 0x40
    assert first.short_message[:6] == bytes([5, 0, 3, 9, 2, 1])
    assert second.short_message[:6] == bytes([5, 0, 3, 9, 2, 2])
    assert first.source_addr == SENDER[1:].encode()
    assert first.source_addr_ton == 1
    assert first.destination_addr == NUMBER[1:].encode()
    assert (text.data_coding, text.source_addr_ton) == (8, 5)
    assert text.short_message.decode("utf-16-be") == "Код 🔐"
    assert report.esm_class == 0x04
    assert report.receipted_message_id == b"38601fa"
    assert report.message_state == 2
    assert b"stat:EXPIRED" in report.short_message


async def test_sar_and_payload_reach_smpplib_as_tlvs() -> None:
    sar = text_deliver_sms(LONG, sender=SENDER, number=NUMBER, split="sar", reference=513)
    [payload] = text_deliver_sms(LONG, sender=SENDER, number=NUMBER, split="payload")
    async with open_smsc_simulator() as smsc:
        client = await trio.to_thread.run_sync(bound_client, smsc.port)
        try:
            session = await smsc.wait_for_session()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(session.deliver_many, [*sar, payload])
                pdus = await trio.to_thread.run_sync(read_deliveries, client, len(sar) + 1, 0)
        finally:
            await trio.to_thread.run_sync(client.disconnect)
    assert [(p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum) for p in pdus[:2]] == [
        (513, 2, 1),
        (513, 2, 2),
    ]
    assert pdus[2].message_payload == LONG.encode()
    assert session.statuses() == [0, 0, 0]


async def test_a_wrong_password_is_refused() -> None:
    async with open_smsc_simulator() as smsc:
        with pytest.raises(smpplib.exceptions.PDUError) as refused:
            await trio.to_thread.run_sync(bound_client, smsc.port, "guess")
    assert refused.value.args[1] == CommandStatus.ESME_RBINDFAIL
    assert smsc.bind_attempts == [("septet", CommandStatus.ESME_RBINDFAIL)]
    assert smsc.sessions == []


async def test_enquire_link_and_unbind_from_smpplib_are_answered() -> None:
    def keep_alive_then_unbind(client: smpplib.client.Client) -> tuple[str, str]:
        client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
        answer = client.read_pdu()
        return answer.command, client.unbind().command

    async with open_smsc_simulator(enquire_link_seconds=None) as smsc:
        client = await trio.to_thread.run_sync(bound_client, smsc.port)
        try:
            answers = await trio.to_thread.run_sync(keep_alive_then_unbind, client)
        finally:
            await trio.to_thread.run_sync(client.disconnect)
        session = await smsc.wait_for_session()
        await session.ended.wait()
    assert answers == ("enquire_link_resp", "unbind_resp")
    assert [pdu.command_name for pdu in session.received] == ["enquire_link", "unbind"]
