"""Encryption at rest: bodies, raw payloads and buffered parts sealed with AES-GCM under
named keys, read back, refused with a typed error when their key is missing or they
were changed, and resealed under a new key by rotation."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine._crypto import MARKER, BodyCipher, EncryptionError, UnknownKeyError, cipher_of
from engine._ids import id_floor, new_id
from engine.config import Config, EncryptionKey, StoreConfig, load_config
from engine.errors import ConfigError
from engine.model import InboundText, Message
from engine.store import MessageQuery, SqliteStore, open_sqlite_store

KEY_1 = base64.b64encode(b"\x01" * 32).decode()
KEY_2 = base64.b64encode(b"\x02" * 32).decode()
SECRET = "your code is 739214, never share it"


def _cipher(*keys: tuple[str, str]) -> BodyCipher | None:
    return cipher_of([EncryptionKey(id=key_id, key=key) for key_id, key in keys])


@asynccontextmanager
async def _open(path: Path, *keys: tuple[str, str]) -> AsyncIterator[SqliteStore]:
    async with open_sqlite_store(path, cipher=_cipher(*keys)) as store:
        yield store


def _raw(path: Path, sql: str, *args: object) -> list[Any]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(sql, args).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def _file_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


@pytest.mark.trio
async def test_a_whole_set_and_a_set_completed_the_careful_way_are_sealed(
    tmp_path: Path, records: Any
) -> None:
    path = tmp_path / "inbox.db"
    async with _open(path, ("k1", KEY_1)) as store:
        # Its parts all at once: the message goes straight in, with the others' statement.
        parts = [records.part("set-w", seq, total=2, payload=f"w{seq}".encode()) for seq in (1, 2)]
        whole = records.message(content=f"whole {SECRET}", parts=2, carrier_message_id=None)
        answer = await store.add_parts(parts, message=whole, raw=b"raw " + SECRET.encode())
        assert answer.written is not None
        assert answer.written.outcome == "inserted"
        # A part stored before: the careful way, parts sealed while they wait.
        await store.add_part(records.part("set-c", 1, total=2, payload=SECRET.encode()))
        later = [records.part("set-c", seq, total=2) for seq in (1, 2)]
        careful = records.message(content=f"careful {SECRET}", parts=2, carrier_message_id=None)
        assert (await store.add_parts(later, message=careful)).written is None
        [[kept, _]] = await store.part_sets()
        assert kept.payload == SECRET.encode()
        assert await store.get_message("acme", whole.id) == whole
        assert await store.raw_payload("acme", whole.id) == b"raw " + SECRET.encode()
    assert b"739214" not in _file_bytes(path)
    assert b"never share" not in _file_bytes(path)


@pytest.mark.trio
async def test_round_trip_and_nothing_readable_in_the_file(tmp_path: Path, records: Any) -> None:
    path = tmp_path / "inbox.db"
    message = records.message(content=SECRET, otp=records.otp("739214"))
    async with _open(path, ("k1", KEY_1)) as store:
        assert (await store.commit_message(message, raw=b"raw:" + SECRET.encode())).outcome == (
            "inserted"
        )
        batch = [records.message(content=f"batch {SECRET} {i}") for i in range(3)]
        await store.commit_messages([(m, None) for m in batch], destinations=[["hook"]] * 3)
        part = records.part("set-1", 1, total=2, payload=b"part:" + SECRET.encode())
        assert (await store.add_part(part)).outcome == "stored"
        # Repeats are compared with what is stored, opened.
        assert (await store.commit_message(message)).message == message
        assert (await store.add_part(part)).outcome == "seen"

        assert await store.get_message("acme", message.id) == message
        assert await store.raw_payload("acme", message.id) == b"raw:" + SECRET.encode()
        [[stored_part]] = await store.part_sets()
        assert stored_part.payload == part.payload
        # Text search opens the bodies it looks at.
        found = await store.list_messages(MessageQuery(tenant="acme", text="NEVER SHARE"))
        assert {m.id for m in found} == {message.id, *(m.id for m in batch)}
        claimed = await store.claim_deliveries(
            "hook", now=datetime.now(UTC), lease_seconds=30, limit=10
        )
        assert sorted(c.message.content for c in claimed) == sorted(m.content for m in batch)
        joined = records.message(content=f"joined {SECRET}", parts=2)
        written = await store.complete_part_set("set-1", joined, raw=b"joined raw")
        assert written.outcome == "inserted"
        assert await store.get_message("acme", joined.id) == joined
        assert await store.delete_message("acme", batch[0].id)
        usage = await store.key_usage()
        assert usage.keys == {"k1": 6}  # 4 messages and 2 raw payloads
        assert usage.plain == 0
    assert b"739214" not in _file_bytes(path)
    assert b"never share" not in _file_bytes(path)
    [(body,)] = _raw(path, "SELECT body FROM messages WHERE id = ?", bytes.fromhex(message.id[4:]))
    assert body.startswith(MARKER + b"k1\x00")
    # The columns queries use stay plain.
    assert _raw(path, "SELECT DISTINCT number_used FROM messages") == [("+15550000001",)]


@pytest.mark.trio
async def test_a_missing_key_is_a_typed_error_naming_the_key_id(
    tmp_path: Path, records: Any
) -> None:
    path = tmp_path / "inbox.db"
    message = records.message(content=SECRET)
    async with _open(path, ("k1", KEY_1)) as store:
        await store.commit_message(message, raw=b"raw")
    for keys in [(), (("k2", KEY_2),)]:
        async with _open(path, *keys) as store:
            for read in (
                store.get_message("acme", message.id),
                store.list_messages(MessageQuery(tenant="acme")),
                store.list_messages(MessageQuery(tenant="acme", text="anything")),
                store.raw_payload("acme", message.id),
            ):
                with pytest.raises(UnknownKeyError) as caught:
                    await read
                assert caught.value.key_id == "k1"
                assert "'k1'" in str(caught.value)
                assert KEY_1 not in str(caught.value)
                assert KEY_2 not in str(caught.value)
    # The same id with another key: the bodies fail their integrity check.
    async with _open(path, ("k1", KEY_2)) as store:
        with pytest.raises(EncryptionError, match="integrity") as failed:
            await store.get_message("acme", message.id)
        assert not isinstance(failed.value, UnknownKeyError)


@pytest.mark.trio
async def test_a_body_moved_to_another_row_or_changed_fails_to_open(
    tmp_path: Path, records: Any
) -> None:
    path = tmp_path / "inbox.db"
    first, second = records.message(content="first"), records.message(content="second")
    async with _open(path, ("k1", KEY_1)) as store:
        await store.commit_messages([(first, None), (second, None)])
    first_key, second_key = (bytes.fromhex(m.id[4:]) for m in (first, second))
    _raw(
        path,
        "UPDATE messages SET body = (SELECT body FROM messages WHERE id = ?) WHERE id = ?",
        first_key,
        second_key,
    )
    [(body,)] = _raw(path, "SELECT body FROM messages WHERE id = ?", first_key)
    changed = bytearray(body)
    changed[-20] ^= 0x01  # one bit of the ciphertext
    _raw(path, "UPDATE messages SET body = ? WHERE id = ?", bytes(changed), first_key)
    async with _open(path, ("k1", KEY_1)) as store:
        for message in (first, second):
            with pytest.raises(EncryptionError, match="integrity"):
                await store.get_message("acme", message.id)


@pytest.mark.trio
async def test_rotation_reseals_everything_and_the_old_key_can_go(
    tmp_path: Path, records: Any
) -> None:
    path = tmp_path / "inbox.db"
    plain = records.message(content="from before encryption")
    sealed = [records.message(content=f"under k1 {i}") for i in range(5)]
    async with _open(path) as store:
        await store.commit_message(plain, raw=b"plain raw")
        await store.add_part(records.part("set-1", 1, total=2))
    async with _open(path, ("k1", KEY_1)) as store:
        for message in sealed:
            await store.commit_message(message, raw=b"raw " + message.content.encode())
        usage = await store.key_usage()
        assert (usage.keys, usage.plain) == ({"k1": 10}, 3)
    async with _open(path, ("k2", KEY_2), ("k1", KEY_1)) as store:
        fresh = records.message(content="under k2")
        await store.commit_message(fresh)
        assert (await store.key_usage()).keys == {"k1": 10, "k2": 1}
        assert await store.rotate_bodies(batch=2) == 13
        usage = await store.key_usage()
        assert (usage.keys, usage.plain) == ({"k2": 14}, 0)
        assert await store.rotate_bodies(batch=2) == 0
    async with _open(path, ("k2", KEY_2)) as store:
        for message in [plain, *sealed, fresh]:
            assert await store.get_message("acme", message.id) == message
        assert await store.raw_payload("acme", plain.id) == b"plain raw"
        [[part]] = await store.part_sets()
        assert part.set_key == "set-1"


@pytest.mark.trio
async def test_purge_and_erasure_work_on_sealed_bodies(tmp_path: Path, records: Any) -> None:
    async with _open(tmp_path / "inbox.db", ("k1", KEY_1)) as store:
        old = records.message(id=id_floor("msg", 1_000_000.0), content=SECRET)
        gone = records.message(sender_id="Whistle", content="erase me")
        await store.commit_messages([(old, b"raw"), (gone, b"raw")])
        purged = await store.purge_bodies(
            "acme",
            stored_before=datetime.now(UTC) - timedelta(days=1),
            days=1,
            batch=10,
            actor="retention",
        )
        assert purged == 1
        shell = await store.get_message("acme", old.id)
        assert shell is not None
        assert shell.content == ""
        assert (await store.key_usage()).keys == {"k1": 3}  # the shell stays sealed
        erasure = await store.erase(["acme"], "sender", "Whistle", parts_tenant=None, actor="op")
        assert erasure.totals.messages == 1


@pytest.mark.trio
async def test_the_engine_seals_what_it_ingests_and_searches_it(tmp_path: Path) -> None:
    config = Config(
        data_dir=str(tmp_path),
        store=StoreConfig(encryption_keys=(EncryptionKey(id="k1", key=KEY_1),)),
    )
    async with engine.open(config) as septet:
        result = await septet.ingest(
            InboundText(
                carrier="sim",
                number="+15550100001",
                sender="+15550100002",
                text=SECRET,
                carrier_message_id="c-1",
                raw=b'{"Body": "' + SECRET.encode() + b'"}',
            )
        )
        assert result.message is not None
        assert result.message.otp is not None
        assert result.message.otp.code == "739214"
        [found] = await septet.messages(text="Never Share")
        assert found == result.message
    assert b"739214" not in _file_bytes(tmp_path / "septet.db")


def test_keys_never_show_in_reprs_or_errors() -> None:
    key = EncryptionKey(id="k1", key=KEY_1)
    config = Config(store=StoreConfig(encryption_keys=(key,)))
    assert KEY_1 not in repr(config)
    assert KEY_1 not in repr(config.store)
    cipher = cipher_of([key])
    assert cipher is not None
    assert KEY_1 not in repr(cipher)
    assert "k1" in repr(cipher)
    short = base64.b64encode(b"\x07" * 16).decode()
    for bad in (short, "not base64 at all!"):
        with pytest.raises(ConfigError) as caught:
            load_config(
                environ={"SEPTET_STORE__ENCRYPTION_KEYS": f'[{{id = "k1", key = "{bad}"}}]'}
            )
        assert bad not in str(caught.value)
    twice = f'[{{id = "k", key = "{KEY_1}"}}, {{id = "k", key = "{KEY_2}"}}]'
    with pytest.raises(ConfigError) as listed_twice:
        load_config(environ={"SEPTET_STORE__ENCRYPTION_KEYS": twice})
    assert KEY_1 not in str(listed_twice.value)
    assert KEY_2 not in str(listed_twice.value)


def test_a_bad_key_in_a_file_is_named_by_its_setting(tmp_path: Path) -> None:
    short = base64.b64encode(b"\x07" * 16).decode()
    path = tmp_path / "septet.toml"
    path.write_text(f'[store]\nencryption_keys = [{{ id = "k1", key = "{short}" }}]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "store.encryption_keys[0].key"
    assert "32" in str(caught.value)
    assert short not in str(caught.value)


# The envelope ------------------------------------------------------------------------

_CIPHER = BodyCipher([("k1", b"\x01" * 32), ("old.key-0", b"\x09" * 32)])


@settings(max_examples=300, deadline=None)
@given(plain=st.binary(max_size=512), row=st.binary(max_size=40))
def test_envelope_round_trip(plain: bytes, row: bytes) -> None:
    sealed = _CIPHER.seal(plain, row)
    assert sealed.startswith(MARKER + b"k1\x00")
    assert _CIPHER.open(sealed, row) == plain
    assert _CIPHER.seal(plain, row) != sealed  # a fresh nonce every time


@settings(max_examples=300, deadline=None)
@given(
    plain=st.binary(max_size=256),
    row=st.binary(max_size=40),
    data=st.data(),
)
def test_envelope_tampering_is_detected(plain: bytes, row: bytes, data: st.DataObject) -> None:
    sealed = bytearray(_CIPHER.seal(plain, row))
    change = data.draw(st.sampled_from(["flip", "truncate", "extend", "row"]))
    if change == "flip":
        index = data.draw(st.integers(0, len(sealed) - 1))
        sealed[index] ^= data.draw(st.integers(1, 255))
    elif change == "truncate":
        del sealed[data.draw(st.integers(0, len(sealed) - 1)) :]
    elif change == "extend":
        sealed += data.draw(st.binary(min_size=1, max_size=8))
    else:
        row = row + data.draw(st.binary(min_size=1, max_size=4))
    with pytest.raises(EncryptionError):
        _CIPHER.open(bytes(sealed), row)


def test_a_body_under_an_older_key_still_opens() -> None:
    old = BodyCipher([("old.key-0", b"\x09" * 32)])
    assert _CIPHER.open(old.seal(b"kept", b"row"), b"row") == b"kept"


def test_rotate_keys_command_reports_what_each_key_seals(tmp_path: Path) -> None:
    def septet(*args: str, keys: str) -> subprocess.CompletedProcess[str]:
        environ = {**os.environ, "SEPTET_STORE__ENCRYPTION_KEYS": keys}
        return subprocess.run(
            [sys.executable, "-m", "engine.cli", "store", *args, "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            env=environ,
            timeout=60,
            check=False,
        )

    one = f'[{{id = "k1", key = "{KEY_1}"}}]'
    both = f'[{{id = "k2", key = "{KEY_2}"}}, {{id = "k1", key = "{KEY_1}"}}]'
    done = septet("rotate-keys", keys=one)  # creates the inbox: nothing to reseal
    assert done.returncode == 0, done.stderr
    assert "resealed 0 bodies under key k1" in done.stdout

    async def fill() -> None:
        async with _open(tmp_path / "septet.db", ("k1", KEY_1)) as store:
            for i in range(3):
                await store.commit_message(_message(i))

    trio.run(fill)
    report = septet("keys", keys=both)
    assert report.returncode == 0, report.stderr
    assert "key k2: 0 bodies  (active)" in report.stdout
    assert "key k1: 3 bodies\n" in report.stdout
    rotated = septet("rotate-keys", "--batch", "2", keys=both)
    assert rotated.returncode == 0, rotated.stderr
    assert "resealed 3 bodies under key k2" in rotated.stdout
    assert "key k1: 0 bodies  (seals nothing: it may leave the config)" in rotated.stdout
    for output in (done, report, rotated):
        assert KEY_1 not in output.stdout + output.stderr
        assert KEY_2 not in output.stdout + output.stderr
    missing = septet("keys", keys="[]")
    assert missing.returncode == 0
    assert "key k2: 3 bodies  (not configured: these cannot be read)" in missing.stdout


def _message(i: int) -> Message:
    return Message(
        id=new_id("msg"),
        tenant="default",
        number_used="+15550100001",
        sender_id="+15550100002",
        content=f"message {i}",
        encoding="text",
        parts=1,
        received_at=datetime.now(UTC),
        sent_at=None,
        carrier="sim",
        carrier_message_id=f"c-{i}",
        otp=None,
    )
