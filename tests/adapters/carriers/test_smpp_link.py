"""The SMPP carrier's link: window, ack after commit, keepalive, reconnects, unbind, TLS."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
import structlog
import trio
import trio.testing
import trustme
from test_smpp import NUMBER, SENDER, carrier_for, contents, rig

from engine.errors import StoreError
from engine.model import InboundItem, InboundText, IngestResult
from engine.smpp import (
    BindResp,
    CommandStatus,
    DeliverSmResp,
    EnquireLink,
    FrameReader,
    GenericNack,
    Unbind,
    UnbindResp,
    decode_pdu,
)
from engine.testing import SessionClosedError, open_carrier_harness, text_deliver_sms

pytestmark = pytest.mark.trio

ROK = CommandStatus.ESME_ROK


def texts(*bodies: str) -> list[bytes]:
    return [text_deliver_sms(body, sender=SENDER, number=NUMBER)[0].encode() for body in bodies]


async def test_the_window_bounds_the_messages_in_flight(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        gate = trio.Event()

        async def commit_when_let(item: InboundItem) -> IngestResult:
            await gate.wait()
            return await r.septet.ingest(item)

        async with r.carrier(respond=commit_when_let, window=3) as harness:
            session = await r.smsc.wait_for_session()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(session.deliver_many, texts(*(f"m{n}" for n in range(8))))
                await harness.wait_for_items(3)
                await trio.testing.wait_all_tasks_blocked()
                assert len(harness.items) == 3  # the other five wait in the socket
                assert session.statuses() == [None] * 8  # nothing answered before its commit
                gate.set()
            assert session.statuses() == [ROK] * 8
        assert sorted(contents(await r.inbox())) == [f"m{n}" for n in range(8)]


async def test_answers_go_out_as_commits_finish_not_in_order(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        gate = trio.Event()

        async def hold_the_first(item: InboundItem) -> IngestResult:
            if isinstance(item, InboundText) and item.text == "first":
                await gate.wait()
            return await r.septet.ingest(item)

        async with r.carrier(respond=hold_the_first) as harness:
            session = await r.smsc.wait_for_session()
            first, second = texts("first", "second")
            async with trio.open_nursery() as nursery:
                # Sent apart, so they arrive in two reads: two batches, answered apart.
                nursery.start_soon(session.deliver, first)
                await harness.wait_for_items(1)
                nursery.start_soon(session.deliver, second)
                await session.wait_until(lambda: session.statuses() == [None, ROK])
                gate.set()
            assert session.statuses() == [ROK, ROK]
            assert [type(item) for item in harness.items] == [InboundText, InboundText]


async def test_a_failed_commit_is_answered_temporary_and_the_retry_is_stored(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        failures = [StoreError("disk full")]

        async def fail_once(item: InboundItem) -> IngestResult:
            if failures:
                raise failures.pop()
            return await r.septet.ingest(item)

        async with r.carrier(respond=fail_once):
            session = await r.smsc.wait_for_session()
            [pdu] = texts("Your code is 771203")
            first = await session.deliver(pdu)
            assert first.command_status == CommandStatus.ESME_RX_T_APPN
            assert await r.inbox() == []  # nothing stored, nothing acknowledged
            retry = await session.deliver(pdu)  # the SMSC sends it again
            assert retry.command_status == ROK
        assert contents(await r.inbox()) == ["Your code is 771203"]


async def test_the_carrier_binds_again_after_the_smsc_drops_the_link(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        gate = trio.Event()

        async def commit_when_let(item: InboundItem) -> IngestResult:
            await gate.wait()
            return await r.septet.ingest(item)

        async with r.carrier(respond=commit_when_let) as harness:
            first = await r.smsc.wait_for_session()
            async with trio.open_nursery() as nursery:

                async def deliver_unanswered() -> None:
                    with pytest.raises(SessionClosedError):
                        await first.deliver(texts("lost answer")[0])

                nursery.start_soon(deliver_unanswered)
                await harness.wait_for_items(1)
                await first.drop()  # mid-window: one message unanswered
            gate.set()
            second = await r.smsc.wait_for_session(2)
            assert (await second.deliver(texts("after the drop")[0])).command_status == ROK
        assert "after the drop" in contents(await r.inbox())


async def test_an_unanswered_enquire_link_means_a_dead_link(tmp_path: Path) -> None:
    async with (
        rig(tmp_path, answer_enquire_link=False) as r,
        r.carrier(enquire_link_seconds=0.05, response_timeout_seconds=0.2),
    ):
        first = await r.smsc.wait_for_session()
        await first.ended.wait()  # the carrier gave up on the silent link
        assert any(isinstance(pdu, EnquireLink) for pdu in first.received)
        second = await r.smsc.wait_for_session(2)
        second.answer_enquire_link = True
        assert (await second.deliver(texts("alive again")[0])).command_status == ROK


async def test_the_smscs_enquire_link_is_answered(tmp_path: Path) -> None:
    async with rig(tmp_path, enquire_link_seconds=0.01) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        answer = await session.enquire_link()
        assert (answer.command_status, answer.answer is not None) == (ROK, True)
        await session.wait_until(lambda: len(session.received) >= 3)  # the periodic ones too


async def test_a_malformed_pdu_is_refused_and_the_link_reads_on(tmp_path: Path) -> None:
    unknown_command = bytes.fromhex("00000010000000990000000000000007")
    [good] = texts("still here")
    # A known TLV (sar_total_segments) with a wrong length: the deliver_sm_resp says so.
    bad_tlv = good + bytes.fromhex("020E00020002")
    bad_tlv = len(bad_tlv).to_bytes(4, "big") + bad_tlv[4:]
    async with rig(tmp_path) as r, r.carrier():
        session = await r.smsc.wait_for_session()
        await session.send_raw(unknown_command)
        await session.wait_until(lambda: any(isinstance(p, GenericNack) for p in session.received))
        [nack] = [p for p in session.received if isinstance(p, GenericNack)]
        assert (nack.sequence_number, nack.command_status) == (7, CommandStatus.ESME_RINVCMDID)
        refused = await session.deliver(bad_tlv)
        assert refused.command_status == CommandStatus.ESME_RINVTLVLEN
        assert (await session.deliver(good)).command_status == ROK
        assert contents(await r.inbox()) == ["still here"]


async def test_an_unbind_from_the_smsc_is_answered_and_the_carrier_binds_again(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r, r.carrier():
        first = await r.smsc.wait_for_session()
        answer = await first.unbind()
        assert isinstance(answer.answer, UnbindResp)
        assert answer.command_status == ROK
        second = await r.smsc.wait_for_session(2)
        assert (await second.deliver(texts("next session")[0])).command_status == ROK


async def test_shutdown_answers_what_is_in_flight_then_unbinds(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        gate = trio.Event()

        async def commit_when_let(item: InboundItem) -> IngestResult:
            await gate.wait()
            return await r.septet.ingest(item)

        async def let_go_once_all_wait() -> None:
            await trio.testing.wait_all_tasks_blocked()
            gate.set()

        async with trio.open_nursery() as nursery:
            async with r.carrier(respond=commit_when_let) as harness:
                session = await r.smsc.wait_for_session()
                nursery.start_soon(session.deliver, texts("in flight at shutdown")[0])
                await harness.wait_for_items(1)
                nursery.start_soon(let_go_once_all_wait)
            # Stopped here: the carrier waited for the commit, answered, then unbound.
            await trio.lowlevel.checkpoint()
        await session.ended.wait()
        assert session.statuses()[0] == ROK
        kinds = [pdu.command_name for pdu in session.received]
        assert kinds.index("deliver_sm_resp") < kinds.index("unbind")
        assert isinstance(session.received[-1], Unbind)
        assert contents(await r.inbox()) == ["in flight at shutdown"]


async def test_a_refused_bind_is_logged_and_retried_with_backoff(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        with structlog.testing.capture_logs() as logs:
            async with r.carrier(password="wrong"):
                await r.smsc.wait_until(lambda: len(r.smsc.bind_attempts) >= 3)
        assert r.smsc.sessions == []
        assert {status for _, status in r.smsc.bind_attempts} == {CommandStatus.ESME_RBINDFAIL}
        refusals = [entry for entry in logs if entry["event"] == "smpp.bind_refused"]
        assert refusals
        assert refusals[0]["log_level"] == "error"
        assert "ESME_RBINDFAIL" in refusals[0]["error"]
        assert not any("wrong" in repr(entry) for entry in logs)


async def test_several_transceiver_binds_share_the_traffic(tmp_path: Path) -> None:
    async with rig(tmp_path) as r, r.carrier(bind="transceiver", binds=2):
        first = await r.smsc.wait_for_session(1)
        second = await r.smsc.wait_for_session(2)
        assert {first.bind, second.bind} == {"bind_transceiver"}
        await first.deliver(texts("via one")[0])
        await second.deliver(texts("via two")[0])
        assert sorted(contents(await r.inbox())) == ["via one", "via two"]


async def test_a_tls_link(tmp_path: Path) -> None:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with (
        rig(tmp_path / "data", ssl_context=server) as r,
        r.carrier(tls=True, tls_ca_file=str(ca_file)),
    ):
        session = await r.smsc.wait_for_session()
        assert (await session.deliver(texts("over TLS")[0])).command_status == ROK
        assert contents(await r.inbox()) == ["over TLS"]


async def test_a_tls_link_refuses_an_untrusted_certificate(tmp_path: Path) -> None:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(server)
    other_ca = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    async with rig(tmp_path / "data", ssl_context=server) as r:
        with structlog.testing.capture_logs() as logs:
            async with r.carrier(tls=True, tls_ca_file=str(other_ca)):
                pass  # started once the first attempt failed
        assert r.smsc.sessions == []
        assert any(entry["event"] == "smpp.connect_failed" for entry in logs)


async def test_answers_stay_whole_and_in_one_piece_when_the_smsc_stops_reading(
    tmp_path: Path,
) -> None:
    # An SMSC that sends thousands of deliver_sm and reads nothing for a while: the
    # engine's answers fill the socket, so its direct writes come up short and the rest
    # waits for the writer task. Once the SMSC reads, every answer is there, whole,
    # exactly once.
    frames = [
        f[:12] + (1000 + n).to_bytes(4, "big") + f[16:]
        for n, f in enumerate(texts(*(f"burst {n}" for n in range(3000))))
    ]
    listener = trio.socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # the accepted one's too
    await listener.bind(("127.0.0.1", 0))
    listener.listen()
    answered: dict[int, int] = {}

    async def smsc() -> None:
        conn, _ = await listener.accept()
        stream = trio.SocketStream(conn)
        reader = FrameReader()
        bind = None
        while bind is None:
            reader.feed(await stream.receive_some(4096))
            frame = reader.next_frame()
            bind = decode_pdu(frame) if frame is not None else None
        answer = BindResp(
            command_id=bind.command_id | 0x8000_0000,
            sequence_number=bind.sequence_number,
            system_id="smsc",
        )
        await stream.send_all(answer.encode() + b"".join(frames))
        await trio.sleep(1.0)  # the engine answers into a socket nobody reads
        while len(answered) < len(frames):
            reader.feed(await stream.receive_some(65536))
            while (frame := reader.next_frame()) is not None:
                pdu = decode_pdu(frame)
                if isinstance(pdu, DeliverSmResp):
                    assert pdu.sequence_number not in answered
                    answered[pdu.sequence_number] = pdu.command_status
        await stream.aclose()

    async with rig(tmp_path) as r:
        carrier = carrier_for("127.0.0.1", listener.getsockname()[1], window=64)
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(smsc)
                async with open_carrier_harness(
                    carrier, respond=r.septet.ingest, respond_many=r.septet.ingest_each
                ):
                    while len(answered) < len(frames):
                        await trio.sleep(0.05)
        inbox = await r.septet.messages(limit=5000)
    listener.close()
    assert answered == {1000 + n: ROK for n in range(3000)}
    assert len(inbox) == 3000
