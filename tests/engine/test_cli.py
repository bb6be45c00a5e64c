"""`septet decode`, run as the installed command in a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pdu_builder as build
import pytest

from engine import codec

SENT_AT = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
PM_7BIT = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"


def septet_command() -> list[str]:
    script = Path(sys.executable).with_name("septet")
    if script.exists():
        return [str(script)]
    found = shutil.which("septet")
    if found is None:
        pytest.fail("the septet console script is not installed")
    return [found]


def run(*args: str, stdin: str = "") -> tuple[int, list[dict[str, object]], str]:
    proc = subprocess.run(
        [*septet_command(), "decode", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    objects = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, objects, proc.stderr


def test_decode_a_pdu_given_as_an_argument() -> None:
    status, (message,), _ = run(PM_7BIT)
    assert status == 0
    assert message["kind"] == "deliver"
    assert message["text"] == "How are you?"
    assert message["sender"] == {
        "value": "+31641600986",
        "kind": "international",
        "ton": 1,
        "npi": 1,
    }
    assert message["smsc"]["value"] == "+31624000000"  # type: ignore[index]
    assert message["sentAt"] == "2002-08-26T19:37:41+00:00"
    assert message["otp"] is None


def test_decode_modem_listing_from_stdin_with_codes() -> None:
    first = build.deliver(
        sender="Google",
        sent_at=SENT_AT,
        gsm7_septets=codec.gsm7_encode("G-318502 is your Google verification code."),
    )
    # The +CMGL length is the TPDU length, without the SMSC block.
    smsc_len = first[0] + 1
    second = build.deliver(
        sender="+15550001111",
        sent_at=SENT_AT,
        ucs2="Ваш код: 4821".encode("utf-16-be"),
        smsc=None,
    )
    listing = (
        f"AT+CMGL=4\r\n+CMGL: 1,1,,{len(first) - smsc_len}\r\n{first.hex().upper()}\r\n"
        f"+CMGL: 2,1,,{len(second) - 1}\r\n{second.hex()}\r\nOK\r\n"
    )
    status, messages, stderr = run(stdin=listing.replace("AT+CMGL=4\r\n", ""))
    assert status == 0, stderr
    assert [m["text"] for m in messages] == [
        "G-318502 is your Google verification code.",
        "Ваш код: 4821",
    ]
    assert messages[0]["otp"]["code"] == "318502"  # type: ignore[index]
    assert messages[1]["otp"]["code"] == "4821"  # type: ignore[index]
    assert messages[1]["smsc"] is None


def test_bad_input_is_reported_and_the_rest_still_decoded() -> None:
    status, messages, stderr = run(stdin=f"0791132\nhello there\n{PM_7BIT}\n07911326040000F004\n")
    assert status == 1
    assert messages[0]["error"]["type"] == "HexError"  # type: ignore[index]
    assert messages[0]["error"]["offset"] == 7  # type: ignore[index]
    assert messages[1]["error"]["type"] == "NotAPdu"  # type: ignore[index]
    assert messages[2]["text"] == "How are you?"
    assert messages[3]["error"]["type"] == "PduError"  # type: ignore[index]
    assert messages[3]["error"]["line"] == 4  # type: ignore[index]
    assert "line 1" in stderr
    assert "line 4" in stderr


def test_join_reassembles_parts_and_flushes_incomplete_sets() -> None:
    chunks = [codec.gsm7_encode(t) for t in ("Your code is ", "771204. Do not ", "share it.")]
    parts = build.concatenated(
        sender="+15550001111", sent_at=SENT_AT, chunks=chunks, ucs2=False, reference=42
    )
    lonely = build.concatenated(
        sender="+15550002222", sent_at=SENT_AT, chunks=chunks[:2], ucs2=False, reference=9
    )[0]
    lines = "\n".join(p.hex() for p in (parts[2], lonely, parts[0], parts[1]))
    status, messages, _ = run("--join", stdin=lines)
    assert status == 0
    whole, partial = messages
    assert whole["kind"] == "concatenated"
    assert whole["text"] == "Your code is 771204. Do not share it."
    assert whole["complete"] is True
    assert whole["otp"]["code"] == "771204"  # type: ignore[index]
    assert len(whole["parts"]) == 3  # type: ignore[arg-type]
    assert partial["complete"] is False
    assert partial["missing"] == [2]
    assert partial["text"] == "Your code is "


def test_version_and_help() -> None:
    proc = subprocess.run(
        [*septet_command(), "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("septet ")
    proc = subprocess.run(
        [*septet_command(), "decode", "--help"], capture_output=True, text=True, check=False
    )
    assert "+CMGL" in proc.stdout
