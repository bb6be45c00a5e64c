"""`septet numbers`, run as the installed command in real processes on a data directory:
stock a number, find it, lease it (asked to confirm), list it with its time left, renew
and release it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from test_cli import septet_command


def numbers(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*septet_command(), "numbers", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def json_lines(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_getting_a_number_from_the_command_line(tmp_path: Path) -> None:
    added = numbers(
        tmp_path,
        "add",
        "+447700900123",
        "--country",
        "gb",
        "--carrier",
        "tw",
        "--price",
        "day=90",
        "--price",
        "month=1500",
        "--currency",
        "gbp",
        "--capability",
        "sms",
        "--capability",
        "mms",
    )
    assert added.returncode == 0, added.stderr
    assert "+447700900123" in added.stdout
    (found,) = json_lines(
        numbers(tmp_path, "search", "--country", "GB", "--capability", "mms", "--json")
    )
    assert (found["number"], found["prices"]["day"], found["state"]) == (
        "+447700900123",
        90,
        "available",
    )
    assert "no number" in numbers(tmp_path, "search", "--country", "US").stdout

    # Without --yes and no terminal to ask on, nothing is leased.
    unasked = numbers(tmp_path, "lease", "+447700900123", "--term", "7d", "--tenant", "acme")
    assert unasked.returncode == 1
    assert "630 GBP" in unasked.stderr
    assert "--yes" in unasked.stderr
    assert json_lines(numbers(tmp_path, "list", "--tenant", "acme", "--json")) == []

    (lease,) = json_lines(
        numbers(
            tmp_path,
            "lease",
            "+447700900123",
            "--term",
            "7d",
            "--tenant",
            "acme",
            "--yes",
            "--json",
        )
    )
    assert (lease["state"], lease["term"]) == ("active", {"unit": "day", "count": 7})
    assert 6 * 86400 < lease["timeLeftSeconds"] <= 7 * 86400
    listed = numbers(tmp_path, "list", "--tenant", "acme")
    assert "+447700900123" in listed.stdout
    assert "6d 23h left" in listed.stdout

    (renewed,) = json_lines(
        numbers(tmp_path, "renew", "+447700900123", "--term", "1mo", "--tenant", "acme", "--json")
    )
    assert renewed["renewals"] == 1
    bad = numbers(tmp_path, "renew", "+447700900123", "--term", "7 weeks", "--tenant", "acme")
    assert bad.returncode == 2
    assert "not a term" in bad.stderr
    other = numbers(tmp_path, "release", lease["id"], "--tenant", "beta")
    assert other.returncode == 1
    assert "no lease" in other.stderr

    released = numbers(tmp_path, "release", lease["id"], "--tenant", "acme")
    assert released.returncode == 0, released.stderr
    assert "cools off until" in released.stdout
    assert json_lines(numbers(tmp_path, "list", "--tenant", "acme", "--json")) == []
    (ended,) = json_lines(numbers(tmp_path, "list", "--tenant", "acme", "--all", "--json"))
    assert ended["endReason"] == "released"
    taken = numbers(tmp_path, "lease", "+447700900123", "--term", "1d", "--tenant", "beta", "-y")
    assert taken.returncode == 1
    assert "cooling off" in taken.stderr
