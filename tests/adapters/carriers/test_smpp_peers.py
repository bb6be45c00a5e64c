"""The SMPP carrier against independent SMSC implementations started by the tests.

* Net::SMPP (Perl, Debian ``libnet-smpp-perl``) in server mode, driven by
  ``smsc/net_smpp_smsc.pl``: texts in GSM 7-bit and UCS-2, UDH and SAR multipart out of
  order, ``message_payload``, ``data_sm`` and a delivery receipt; it prints every answer.
* Kannel's ``drive_smpp`` (Debian ``kannel-extras``), the SMSC Kannel tests its own SMPP
  client with: it sends numbered deliver_sm PDUs, each followed by an ``enquire_link``,
  and logs the answers. It also connects to a Kannel smsbox port (13001), which the test
  holds open for it.

Each test skips, saying why, when its SMSC is not installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from test_smpp import CARRIER, NUMBER, SENDER, carrier_for, contents, rig

from engine.model import InboundItem, InboundText, IngestResult
from engine.testing import open_carrier_harness

pytestmark = pytest.mark.trio

PERL_SMSC = Path(__file__).resolve().parent / "smsc" / "net_smpp_smsc.pl"
DRIVE_SMPP = Path("/usr/lib/kannel/test/drive_smpp")
SMSBOX_PORT = 13001  # where drive_smpp looks for a Kannel smsbox; not configurable


def net_smpp_missing() -> str | None:
    perl = shutil.which("perl")
    if perl is None:
        return "perl is not installed"
    probe = subprocess.run([perl, "-MNet::SMPP", "-e", "1"], capture_output=True, check=False)
    if probe.returncode != 0:
        return "Net::SMPP is not installed (Debian package libnet-smpp-perl)"
    return None


class Lines:
    """The lines a child process writes, as they come."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = b""

    async def next(self) -> str | None:
        while b"\n" not in self._buffer:
            data = await self._stream.receive_some(4096)
            if not data:
                return None
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")


@asynccontextmanager
async def child(command: list[str], **options: object) -> AsyncIterator[trio.Process]:
    process = await trio.lowlevel.open_process(command, **options)  # type: ignore[call-overload]
    try:
        yield process
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.terminate()
                # drive_smpp sometimes sits out a SIGTERM (its graceful shutdown waits
                # on a peer that is gone): give it a moment, then kill it.
                with trio.move_on_after(5):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
            await process.wait()


@pytest.mark.skipif(net_smpp_missing() is not None, reason=str(net_smpp_missing()))
async def test_net_smpp_smsc(tmp_path: Path) -> None:
    command = ["perl", str(PERL_SMSC), "septet", "secret"]
    async with rig(tmp_path) as r, child(command, stdout=subprocess.PIPE) as perl:
        # The message the receipt is about, as if this carrier had sent it.
        sent = InboundText(
            carrier=CARRIER, number=NUMBER, sender=SENDER, text="sent", carrier_message_id="38601fa"
        )
        original = (await r.septet.ingest(sent)).message
        assert original is not None
        assert perl.stdout is not None
        lines = Lines(perl.stdout)
        with trio.fail_after(30):
            listening = await lines.next()
            assert listening is not None
            port = int(listening.split()[1])
            answers: list[str] = []
            # Net::SMPP writes Perl strings as they are: data_coding 0 means ASCII here.
            carrier = carrier_for("127.0.0.1", port, data_coding_0="ascii")
            async with open_carrier_harness(carrier, respond=r.septet.ingest):
                while (line := await lines.next()) not in ("UNBOUND", None):
                    answers.append(line)
        assert line == "UNBOUND"
        inbox = [m for m in await r.inbox() if m.id != original.id]
        [receipt] = await r.septet.status_reports(original.id)
    assert answers[0] == "BIND septet 0"
    resps = [line.split() for line in answers[1:]]
    assert len(resps) == 9
    assert {status for *_, status in resps} == {"0"}
    assert [name for _, _, name, _ in resps].count("data_sm_resp") == 1
    long = "Part one of a message split by Net::SMPP, "
    tail = "and part two, which comes first. Code 604218"
    assert sorted(contents(inbox)) == sorted(
        [
            "Your code is 482913",
            "Код 🔐 5521",
            long + tail,
            "SAR " + long + tail,
            "In message_payload: " + long * 3,
            "Through data_sm",
        ]
    )
    assert {(m.sender_id, m.number_used) for m in inbox} == {(SENDER, NUMBER)}
    assert (receipt.refers_to, receipt.status, receipt.error_code) == ("38601fa", "DELIVRD", "000")


@pytest.mark.skipif(not DRIVE_SMPP.exists(), reason="Kannel's drive_smpp is not installed")
async def test_kannel_drive_smpp(tmp_path: Path) -> None:
    smsbox = socket.socket()
    smsbox.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        smsbox.bind(("127.0.0.1", SMSBOX_PORT))
    except OSError:
        smsbox.close()
        pytest.skip(f"port {SMSBOX_PORT}, which drive_smpp connects to, is taken")
    smsbox.listen()
    port = _free_port()
    count = 5
    committed = 0
    all_committed = trio.Event()
    command = [str(DRIVE_SMPP), "-p", str(port), "-m", str(count), "-v", "0"]
    try:
        async with rig(tmp_path) as r, child(command, stderr=subprocess.PIPE) as kannel:

            async def commit(item: InboundItem) -> IngestResult:
                nonlocal committed
                result = await r.septet.ingest(item)
                committed += 1
                if committed == count:
                    all_committed.set()
                return result

            assert kannel.stderr is not None
            lines = Lines(kannel.stderr)
            handled: list[str] = []
            with trio.fail_after(30):
                async with open_carrier_harness(carrier_for("127.0.0.1", port), respond=commit):
                    await all_committed.wait()
                    while handled.count("deliver_sm_resp") < count:
                        line = await lines.next()
                        assert line is not None, "drive_smpp stopped"
                        if "Handling SMPP PDU of type " in line:
                            handled.append(line.rsplit(" ", 1)[1])
            inbox = await r.inbox()
    finally:
        smsbox.close()
    assert handled[0] == "bind_receiver"
    assert handled.count("enquire_link_resp") >= 1  # its enquire_link was answered
    assert sorted(contents(inbox), key=int) == [str(n) for n in range(1, count + 1)]
    assert {(m.sender_id, m.number_used) for m in inbox} == {("456", "123")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
