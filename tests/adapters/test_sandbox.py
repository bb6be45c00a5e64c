"""The sandbox carrier, run with the engine.testing harness and reached on its real socket."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio

from adapters.carriers._sandbox_presets import SPOOFED_SENDERS
from adapters.carriers.sandbox import (
    PRESETS,
    SandboxCarrier,
    SandboxConfig,
    SandboxRequestError,
    sandbox_send,
)
from engine.codec import decode_pdu, encode_deliver, reassemble
from engine.model import InboundItem, InboundPdu, InboundStatus, InboundText, IngestResult
from engine.plugin_api import StoreError
from engine.testing import (
    CarrierHarness,
    check_carrier_class,
    check_carrier_runs,
    open_carrier_harness,
)

NUMBER = "+15550100001"


@pytest.fixture
def socket_path() -> Iterator[Path]:
    # A short directory: a Unix socket path holds at most 107 bytes, and pytest's
    # tmp_path for a long test name can be longer.
    with tempfile.TemporaryDirectory(prefix="septet-") as directory:
        yield Path(directory) / "sandbox.sock"


def make_sandbox(socket_path: Path | None, **settings: Any) -> SandboxCarrier:
    config = SandboxConfig(
        socket=str(socket_path) if socket_path else None, numbers=(NUMBER,), **settings
    )
    return SandboxCarrier("sandbox-test", config)


@pytest.fixture
async def sandbox(socket_path: Path) -> AsyncIterator[CarrierHarness]:
    async with open_carrier_harness(make_sandbox(socket_path, seed=11)) as harness:
        yield harness


class Client:
    """A raw JSON-lines connection to the sandbox."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def send(self, line: bytes) -> None:
        await self.stream.send_all(line + b"\n")

    async def receive(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            chunk = await self.stream.receive_some()
            assert chunk, "the sandbox closed the connection"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        response: dict[str, Any] = msgspec.json.decode(line)
        return response

    async def request(self, request: dict[str, Any]) -> dict[str, Any]:
        await self.send(msgspec.json.encode(request))
        return await self.receive()


@asynccontextmanager
async def connect(socket_path: Path) -> AsyncIterator[Client]:
    async with await trio.open_unix_socket(str(socket_path)) as stream:
        yield Client(stream)


@pytest.mark.trio
async def test_the_sandbox_keeps_the_carrier_contract() -> None:
    carrier = check_carrier_class(SandboxCarrier, {"numbers": [NUMBER], "auto_rate": 1})
    await check_carrier_runs(carrier)


@pytest.mark.trio
async def test_the_socket_is_private_and_removed_on_exit(socket_path: Path) -> None:
    async with open_carrier_harness(make_sandbox(socket_path)):
        assert stat.S_ISSOCK(socket_path.lstat().st_mode)
        assert stat.S_IMODE(socket_path.lstat().st_mode) == 0o600
    assert not socket_path.exists()


@pytest.mark.trio
async def test_a_stale_socket_is_replaced(socket_path: Path) -> None:
    stale = trio.socket.socket(trio.socket.AF_UNIX)
    await stale.bind(str(socket_path))
    stale.close()  # bound, never listening: what a killed sandbox leaves behind
    async with open_carrier_harness(make_sandbox(socket_path)):
        assert await sandbox_send(socket_path, {"preset": "otp"})


@pytest.mark.trio
async def test_a_live_socket_or_another_file_is_not_taken_over(socket_path: Path) -> None:
    async with open_carrier_harness(make_sandbox(socket_path)):
        with pytest.raises(OSError, match="another process is listening"):
            async with open_carrier_harness(make_sandbox(socket_path)):
                pass
    socket_path.write_text("precious", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not a socket"):
        async with open_carrier_harness(make_sandbox(socket_path)):
            pass
    assert socket_path.read_text(encoding="utf-8") == "precious"


@pytest.mark.trio
async def test_every_preset_answers_with_its_results(
    sandbox: CarrierHarness, socket_path: Path
) -> None:
    for name in PRESETS:
        before = len(sandbox.items)
        results = await sandbox_send(socket_path, {"preset": name, "number": "+15550100002"})
        emitted = sandbox.items[before:]
        assert emitted, name
        assert len(results) == len(emitted), name
        assert all(item.number == "+15550100002" for item in emitted)
        assert all(item.carrier == "sandbox-test" for item in emitted)
        expected = msgspec.json.decode(msgspec.json.encode(sandbox.results[before:]))
        assert results == expected, name


def pdus(items: list[InboundItem]) -> list[bytes]:
    assert all(isinstance(item, InboundPdu) for item in items)
    return [item.pdu for item in items if isinstance(item, InboundPdu)]


async def preset(harness: CarrierHarness, socket_path: Path, name: str) -> list[InboundItem]:
    before = len(harness.items)
    await sandbox_send(socket_path, {"preset": name})
    return harness.items[before:]


@pytest.mark.trio
async def test_multipart_parts_arrive_out_of_order_and_reassemble(
    sandbox: CarrierHarness, socket_path: Path
) -> None:
    parts = [
        decode_pdu(pdu)
        for pdu in pdus(await preset(sandbox, socket_path, "multipart-out-of-order"))
    ]
    sequence = [part.concat.seq for part in parts if part.concat]
    assert len(sequence) == len(parts) >= 3
    assert sequence != sorted(sequence)
    assert {part.encoding for part in parts} == {"gsm7"}
    text = reassemble(parts).text
    assert text is not None
    assert "€12.46" in text
    assert "[1m]" in text


@pytest.mark.trio
async def test_unicode_emoji_splits_a_surrogate_pair_across_parts(
    sandbox: CarrierHarness, socket_path: Path
) -> None:
    first, second = (
        decode_pdu(pdu) for pdu in pdus(await preset(sandbox, socket_path, "unicode-emoji"))
    )
    assert (first.encoding, second.encoding) == ("ucs2", "ucs2")
    assert "ucs2_lone_surrogate" in first.flags
    assert "ucs2_lone_surrogate" in second.flags
    text = reassemble([second, first]).text
    assert text is not None
    assert "Ура 😀 Хорошего" in text  # noqa: RUF001
    assert "👩\u200d💻🇺🇦" in text


@pytest.mark.trio
async def test_flash_is_a_class_0_pdu(sandbox: CarrierHarness, socket_path: Path) -> None:
    (pdu,) = pdus(await preset(sandbox, socket_path, "flash"))
    assert decode_pdu(pdu).message_class == 0


@pytest.mark.trio
async def test_alphanumeric_sender_is_in_the_pdu(
    sandbox: CarrierHarness, socket_path: Path
) -> None:
    (pdu,) = pdus(await preset(sandbox, socket_path, "alphanumeric"))
    sender = decode_pdu(pdu).sender
    assert sender is not None
    assert (sender.kind, sender.value) == ("alphanumeric", "AcmeBank")


@pytest.mark.trio
async def test_text_presets(sandbox: CarrierHarness, socket_path: Path) -> None:
    (otp,) = await preset(sandbox, socket_path, "otp")
    assert isinstance(otp, InboundText)
    assert "is your Acme verification code" in otp.text
    assert "@acme.example #" in otp.text
    (spoofed,) = await preset(sandbox, socket_path, "spoofed")
    assert isinstance(spoofed, InboundText)
    assert spoofed.sender in SPOOFED_SENDERS
    (report,) = await preset(sandbox, socket_path, "status-report")
    assert isinstance(report, InboundStatus)
    assert report.status == "DELIVRD"


@pytest.mark.trio
async def test_duplicate_retry_comes_back_duplicate(
    sandbox: CarrierHarness, socket_path: Path
) -> None:
    results = await sandbox_send(socket_path, {"preset": "duplicate-retry"})
    assert [result["outcome"] for result in results] == ["committed", "duplicate"]
    first, second = sandbox.items[-2:]
    assert first == second
    assert first.carrier_message_id
    assert results[1]["message"]["id"] == results[0]["message"]["id"]


@pytest.mark.trio
async def test_text_and_pdu_requests(sandbox: CarrierHarness, socket_path: Path) -> None:
    request = {"text": "hi", "sender": "+15557654321", "carrierMessageId": "m-1"}
    (result,) = await sandbox_send(socket_path, request)
    assert result["outcome"] == "committed"
    item = sandbox.items[-1]
    assert isinstance(item, InboundText)
    assert (item.number, item.sender, item.carrier_message_id) == (NUMBER, "+15557654321", "m-1")

    now = datetime.now(UTC)
    parts = encode_deliver("x" * 200, sender="+15557654321", sent_at=now, reference=9)
    results = await sandbox_send(socket_path, {"pdu": [part.hex() for part in parts]})
    assert len(results) == 2
    assert pdus(sandbox.items[-2:]) == parts
    ids = {item.carrier_message_id for item in sandbox.items[-2:]}
    assert len(ids) == 2


@pytest.mark.trio
async def test_the_answer_waits_for_the_commit(socket_path: Path) -> None:
    release = trio.Event()
    committed: list[InboundItem] = []

    async def slow_commit(item: InboundItem) -> IngestResult:
        await release.wait()
        committed.append(item)
        return IngestResult(outcome="committed")

    async with open_carrier_harness(make_sandbox(socket_path), respond=slow_commit) as harness:
        async with connect(socket_path) as client:
            await client.send(b'{"preset": "otp"}')
            await harness.wait_for_items(1)
            with trio.move_on_after(0.2) as waited:
                await client.receive()
            assert waited.cancelled_caught, "answered before emit returned"
            assert committed == []
            release.set()
            response = await client.receive()
        assert committed == harness.items
        assert response == {
            "results": [{"outcome": "committed", "message": None, "status_report": None}]
        }


@pytest.mark.trio
async def test_an_item_not_committed_is_not_acknowledged(socket_path: Path) -> None:
    calls = 0

    async def store_fails_on_the_second_part(item: InboundItem) -> IngestResult:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise StoreError("disk full")
        return IngestResult(outcome="buffered")

    sandbox = make_sandbox(socket_path)
    async with open_carrier_harness(sandbox, respond=store_fails_on_the_second_part):
        with pytest.raises(SandboxRequestError) as caught:
            await sandbox_send(socket_path, {"preset": "multipart-out-of-order"})
        assert caught.value.code == "not_committed"
        assert "StoreError: disk full" in caught.value.message
        assert caught.value.results == [
            {"outcome": "buffered", "message": None, "status_report": None}
        ]
        # The connection, and the carrier, live on.
        assert await sandbox_send(socket_path, {"preset": "otp"})


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"{not json", "malformed"),
        (b"[1, 2]", "Expected `object`"),
        (b'{"preset": "otp", "colour": "red"}', "unknown field `colour`"),
        (b'{"preset": "otp", "text": "hi"}', "exactly one of"),
        (b"{}", "exactly one of"),
        (b'{"preset": "fireworks"}', "unknown preset 'fireworks'; presets: otp"),
        (b'{"preset": "otp", "sender": "x"}', "a preset sets its own sender"),
        (b'{"text": "hi"}', "needs a 'sender'"),
        (b'{"pdu": "zz"}', "'pdu' is not hex"),
        (b'{"pdu": []}', "empty list"),
        (b'{"pdu": "00", "sender": "x"}', "carries its own sender"),
    ],
)
@pytest.mark.trio
async def test_a_malformed_request_is_answered_and_the_connection_stays_usable(
    sandbox: CarrierHarness, socket_path: Path, line: bytes, words: str
) -> None:
    async with connect(socket_path) as client:
        await client.send(line)
        response = await client.receive()
        assert response["error"]["code"] == "bad_request"
        assert words in response["error"]["message"]
        assert sandbox.items == []
        await client.send(b"")  # blank lines are skipped
        answer = await client.request({"preset": "otp"})
    assert answer["results"][0]["outcome"] == "committed"


@pytest.mark.trio
async def test_several_requests_on_one_connection_answer_in_order(
    sandbox: CarrierHarness, socket_path: Path
) -> None:
    async with connect(socket_path) as client:
        await client.send(b'{"preset": "otp"}\n{"preset": "status-report"}\n{"preset": "flash"}')
        outcomes = [(await client.receive())["results"][0]["outcome"] for _ in range(3)]
    assert outcomes == ["committed", "status", "committed"]


@pytest.mark.trio
async def test_sandbox_send_reports_errors(sandbox: CarrierHarness, socket_path: Path) -> None:
    with pytest.raises(SandboxRequestError, match="bad_request: unknown preset"):
        await sandbox_send(socket_path, {"preset": "nope"})
    with pytest.raises(FileNotFoundError):
        await sandbox_send(socket_path.with_name("nothing.sock"), {"preset": "otp"})


@pytest.mark.trio
async def test_auto_rate_generates_traffic_and_retries_while_the_store_is_down() -> None:
    failures = 2

    async def flaky_store(item: InboundItem) -> IngestResult:
        nonlocal failures
        if failures:
            failures -= 1
            raise StoreError("database restarting")
        return IngestResult(outcome="committed")

    sandbox = make_sandbox(None, auto_rate=200.0, seed=5)
    async with open_carrier_harness(sandbox, respond=flaky_store) as harness:
        await harness.wait_for_items(6, timeout=10)
    # The first item was offered three times: twice refused, then committed.
    assert harness.items[0] == harness.items[1] == harness.items[2]
    assert len(harness.results) >= 1


def test_config_limits() -> None:
    with pytest.raises(ValueError, match="longer than 107 bytes"):
        SandboxConfig(socket="s" * 200)
    with pytest.raises(ValueError, match="auto_rate"):
        SandboxConfig(auto_rate=float("inf"))
    assert os.fspath(SandboxConfig(socket="a.sock").socket or "") == "a.sock"


def test_build_items_makes_a_requests_items_without_a_socket() -> None:
    sandbox = make_sandbox(None, seed=3)
    (text,) = sandbox.build_items(
        {"text": "Привет 👋", "sender": "+447700900123", "carrierMessageId": "T-9"}
    )
    assert isinstance(text, InboundText)
    assert (text.carrier, text.number, text.text) == ("sandbox-test", NUMBER, "Привет 👋")
    assert text.carrier_message_id == "T-9"
    parts = sandbox.build_items({"preset": "multipart-out-of-order", "number": "+15550100009"})
    assert len(parts) >= 3
    assert all(isinstance(p, InboundPdu) and p.number == "+15550100009" for p in parts)
    for request, message in [
        ({"preset": "otp", "text": "hi"}, "exactly one"),
        ({"preset": "nope"}, "unknown preset"),
        ({"text": "hi"}, "sender"),
        ({"preset": 5}, "Expected"),
        ({"preset": "otp", "extra": 1}, "unknown field"),
    ]:
        with pytest.raises(ValueError, match=message):
            sandbox.build_items(request)
