"""The example filedrop plugin: a real directory, files removed only after the commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trio
from septet_filedrop import FileDropCarrier, FileDropConfig

from engine.codec import encode_deliver
from engine.model import InboundItem, InboundPdu, InboundText, IngestResult
from engine.plugin_api import StoreError
from engine.testing import check_carrier_class, check_carrier_runs, open_carrier_harness

NUMBER = "+15550100001"


def make_carrier(directory: Path, **settings: Any) -> FileDropCarrier:
    config = FileDropConfig(directory=str(directory), poll_seconds=0.01, **settings)
    return FileDropCarrier("drop", config)


def drop(directory: Path, name: str, content: str) -> Path:
    # Written under a dot name and renamed into place, as the README asks.
    hidden = directory / f".{name}.part"
    hidden.write_text(content, encoding="utf-8")
    return hidden.rename(directory / name)


async def wait_until_gone(path: Path) -> None:
    with trio.fail_after(5):
        while path.exists():
            await trio.sleep(0.01)


@pytest.mark.trio
async def test_filedrop_keeps_the_carrier_contract(tmp_path: Path) -> None:
    carrier = check_carrier_class(FileDropCarrier, {"directory": str(tmp_path)})
    await check_carrier_runs(carrier)
    assert (tmp_path / "rejected").is_dir()


@pytest.mark.trio
async def test_a_json_file_is_removed_only_after_emit_returned(tmp_path: Path) -> None:
    release = trio.Event()

    async def slow_commit(item: InboundItem) -> IngestResult:
        await release.wait()
        return IngestResult(outcome="committed")

    async with open_carrier_harness(make_carrier(tmp_path), respond=slow_commit) as harness:
        message = {"number": NUMBER, "sender": "+15557654321", "text": "Your code is 4821"}
        path = drop(tmp_path, "m1.json", json.dumps(message))
        (item,) = await harness.wait_for_items(1)
        await trio.sleep(0.1)  # several polls while emit has not returned
        assert path.exists()
        release.set()
        await wait_until_gone(path)
    assert isinstance(item, InboundText)
    assert (item.carrier, item.number, item.text) == ("drop", NUMBER, "Your code is 4821")
    assert item.carrier_message_id is not None
    assert item.carrier_message_id.startswith("m1.json@")
    assert item.raw == json.dumps(message).encode()  # the file, kept for audit
    assert list(tmp_path.joinpath("rejected").iterdir()) == []


@pytest.mark.trio
async def test_a_pdu_file_emits_each_line(tmp_path: Path) -> None:
    parts = encode_deliver(
        "long " * 60, sender="+447700900123", sent_at=datetime.now(UTC), reference=5
    )
    content = "# two parts of one message\n" + "\n".join(p.hex() for p in parts) + "\n\n"
    async with open_carrier_harness(make_carrier(tmp_path, number=NUMBER)) as harness:
        path = drop(tmp_path, "modem.pdu", content)
        items = await harness.wait_for_items(2)
        await wait_until_gone(path)
    assert [item.pdu for item in items if isinstance(item, InboundPdu)] == parts
    assert {item.number for item in items} == {NUMBER}
    assert len({item.carrier_message_id for item in items}) == 2


@pytest.mark.trio
@pytest.mark.parametrize(
    ("name", "content", "settings", "reason"),
    [
        ("bad.json", "{not json", {}, "not JSON"),
        ("list.json", "[1, 2]", {}, "not an object"),
        ("short.json", '{"number": "+1555"}', {}, "missing required field `sender`"),
        ("bad.pdu", "zz\n", {"number": NUMBER}, "not hex PDUs"),
        ("empty.pdu", "# nothing\n", {"number": NUMBER}, "no PDU"),
        ("nonumber.pdu", "00\n", {}, "'number' setting"),
    ],
)
async def test_a_bad_file_moves_to_rejected_with_a_note(
    tmp_path: Path, name: str, content: str, settings: dict[str, object], reason: str
) -> None:
    async with open_carrier_harness(make_carrier(tmp_path, **settings)) as harness:
        drop(tmp_path, name, content)
        rejected = tmp_path / "rejected" / name
        with trio.fail_after(5):
            while not rejected.exists():
                await trio.sleep(0.01)
    assert harness.items == []
    assert rejected.read_text(encoding="utf-8") == content
    assert reason in (tmp_path / "rejected" / f"{name}.error").read_text(encoding="utf-8")
    assert not (tmp_path / name).exists()


@pytest.mark.trio
async def test_a_file_the_engine_refuses_is_rejected_not_dropped(tmp_path: Path) -> None:
    async def refuse(item: InboundItem) -> IngestResult:
        raise ValueError("truncated TPDU")

    async with open_carrier_harness(make_carrier(tmp_path, number=NUMBER), respond=refuse):
        for _ in range(2):  # the same name twice: the second does not overwrite the first
            drop(tmp_path, "x.pdu", "0011\n")
            await wait_until_gone(tmp_path / "x.pdu")
    rejected = tmp_path / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == [
        "x.pdu",
        "x.pdu.1",
        "x.pdu.1.error",
        "x.pdu.error",
    ]
    assert "ValueError: truncated TPDU" in (rejected / "x.pdu.error").read_text(encoding="utf-8")


@pytest.mark.trio
async def test_a_file_stays_while_the_store_is_down_and_is_retried(tmp_path: Path) -> None:
    failures = 3

    async def flaky(item: InboundItem) -> IngestResult:
        nonlocal failures
        if failures:
            failures -= 1
            raise StoreError("database restarting")
        return IngestResult(outcome="committed")

    async with open_carrier_harness(make_carrier(tmp_path), respond=flaky) as harness:
        message = {"number": NUMBER, "sender": "Acme", "text": "hello"}
        path = drop(tmp_path, "retry.json", json.dumps(message))
        await wait_until_gone(path)
    assert len(harness.items) == 4
    # The same file offered again carries the same id, so the engine can dedupe it.
    assert len({item.carrier_message_id for item in harness.items}) == 1
    assert list((tmp_path / "rejected").iterdir()) == []


@pytest.mark.trio
async def test_other_files_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a message", encoding="utf-8")
    (tmp_path / ".half.json").write_text("{", encoding="utf-8")
    (tmp_path / "folder.json").mkdir()
    async with open_carrier_harness(make_carrier(tmp_path)) as harness:
        await trio.sleep(0.1)
    assert harness.items == []
    assert (tmp_path / "notes.txt").exists()
    assert (tmp_path / ".half.json").exists()
    assert list((tmp_path / "rejected").iterdir()) == []


def test_poll_seconds_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="poll_seconds"):
        FileDropConfig(directory=str(tmp_path), poll_seconds=0)
