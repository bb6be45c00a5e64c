"""The sink, run as its own process on 127.0.0.1, fed each system's documented format."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import msgspec
import pytest
from conftest import PEERS
from sink import SECRET_ENV, RawRequest, decode_jasmin, decode_kannel, decode_request

from engine import signing
from engine.codec import gsm7_encode, ucs2_encode

SECRET = signing.generate_secret()
TEXT = "Café 5€ [ok] @ £ 👋 #1-000007"


class Sink:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        assert process.stdout is not None
        ready = process.stdout.readline().split()
        assert ready[0] == "ready"
        self.url = f"http://127.0.0.1:{ready[1]}"

    def ask(self, line: str) -> str:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def flush(self, tmp_path: Path) -> list[RawRequest]:
        path = tmp_path / "flushed.msgpack"
        answer = self.ask(f"flush {path}")
        requests = msgspec.msgpack.decode(path.read_bytes(), type=list[RawRequest])
        assert answer == f"flushed {len(requests)}"
        return requests


@pytest.fixture
def sink() -> Iterator[Sink]:
    process = subprocess.Popen(
        [sys.executable, str(PEERS / "sink.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, SECRET_ENV: SECRET},
    )
    try:
        yield Sink(process)
    finally:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.close()
        process.stdout.close()
        try:
            process.wait(timeout=10)
        finally:
            if process.returncode is None:
                process.kill()
                process.wait()


def septet_body(sender: str, content: str, flags: list[str] | None = None) -> bytes:
    data = {"id": "msg_1", "senderId": sender, "content": content, "flags": flags or []}
    return msgspec.json.encode({"type": "message.received", "timestamp": "x", "data": data})


def test_each_systems_format_is_recorded_answered_and_decoded(sink: Sink, tmp_path: Path) -> None:
    body = septet_body("+15551000007", TEXT)
    jasmin_form = {
        "id": "a1",
        "from": "15551000007",
        "to": "447700900001",
        "coding": "\x00",
        "content": gsm7_encode("Café 5€").decode("latin-1"),
        "binary": gsm7_encode("Café 5€").hex(),
    }
    kannel_query = (
        urlencode({"from": "+15551000007", "coding": "2", "charset": "UTF-16BE", "udh": ""})
        + "&text="
        + quote(ucs2_encode("Код 👋"), safe="")
    )
    with httpx.Client(base_url=sink.url) as client:
        septet = client.post("/septet", content=body, headers=signing.headers(SECRET, "d1", body))
        jasmin = client.post(
            "/jasmin",
            content=urlencode(jasmin_form, encoding="latin-1"),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        kannel = client.get(f"/kannel?{kannel_query}")
        forged = client.post(
            "/septet",
            content=body,
            headers=signing.headers("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", "d2", body),
        )
        unknown = client.post("/elsewhere", content=b"x")
        wrong_method = client.get("/jasmin")
        assert sink.ask("count") == "count 4"
    assert (septet.status_code, septet.text) == (200, "ok")
    assert (jasmin.status_code, jasmin.text) == (200, "ACK/Jasmin")
    assert (kannel.status_code, kannel.text) == (200, "")
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["status"] == 401
    assert unknown.status_code == 404
    assert wrong_method.status_code == 405
    requests = sink.flush(tmp_path)
    assert sink.ask("count") == "count 0"
    arrivals = [decode_request(request, SECRET) for request in requests]
    assert [(a.system, a.sender, a.text, a.problem) for a in arrivals] == [
        ("septet", "+15551000007", TEXT, None),
        ("jasmin", "15551000007", "Café 5€", None),
        ("kannel", "+15551000007", "Код 👋", None),
        ("septet", "+15551000007", TEXT, "signature did not verify"),
    ]
    assert all(a.arrival <= b.arrival for a, b in itertools.pairwise(arrivals))


def raw(path: str, *, query: str = "", body: bytes = b"") -> RawRequest:
    return RawRequest(arrival=1.0, wall=0.0, path=path, query=query.encode(), body=body)


def test_jasmin_octets_are_decoded_by_their_coding() -> None:
    def form(coding: str, data: bytes) -> RawRequest:
        fields = {"from": "15551000001", "coding": coding, "binary": data.hex()}
        return raw("/jasmin", body=urlencode(fields).encode())

    assert decode_jasmin(form("\x08", ucs2_encode("Код 👋"))).text == "Код 👋"
    assert decode_jasmin(form("8", ucs2_encode("Код"))).text == "Код"
    assert decode_jasmin(form("\x00", gsm7_encode("@£$ é"))).text == "@£$ é"
    assert decode_jasmin(form("\x03", "Ünïcode".encode("latin-1"))).text == "Ünïcode"
    binary = decode_jasmin(form("\x04", b"\x01\x02"))
    assert (binary.text, binary.problem) == (None, "coding 4")
    assert decode_jasmin(form("\x00", b"\xc3\xa9")).problem is not None
    assert decode_jasmin(raw("/jasmin", body=b"from=1&coding=0")).problem is not None


def test_kannel_text_is_decoded_by_its_charset_and_a_lone_part_is_refused() -> None:
    def query(coding: str, charset: str, data: bytes, udh: str = "") -> RawRequest:
        head = urlencode({"from": "+15551000001", "coding": coding, "charset": charset, "udh": udh})
        return raw("/kannel", query=f"{head}&text={quote(data, safe='')}")

    assert decode_kannel(query("0", "UTF-8", "Café 5€".encode())).text == "Café 5€"
    assert decode_kannel(query("2", "UTF-16BE", ucs2_encode("中文 👋"))).text == "中文 👋"
    assert decode_kannel(query("0", "GSM", gsm7_encode("@ £"))).text == "@ £"
    assert decode_kannel(query("0", "WINDOWS-1252", "€".encode("cp1252"))).text == "€"
    part = decode_kannel(query("0", "UTF-8", b"half", udh="%05%00%03%01%02%01"))
    assert part.text is None
    assert "part" in (part.problem or "")
    assert decode_kannel(query("1", "binary", b"\x00")).problem == "coding 1 (8-bit binary)"
    assert decode_kannel(query("0", "UTF-8", b"\xff")).problem is not None
    assert decode_kannel(raw("/kannel", query="from=1")).problem is not None


def test_a_septet_message_flagged_incomplete_or_unreadable_is_a_problem() -> None:
    body = septet_body("+15551000001", "half", ["incomplete"])
    headers = signing.headers(SECRET, "d1", body)
    incomplete = RawRequest(
        arrival=1.0, wall=time.time(), path="/septet", body=body, headers=headers
    )
    got = decode_request(incomplete, SECRET)
    assert (got.text, got.problem) == ("half", "flagged incomplete")
    stale = decode_request(msgspec.structs.replace(incomplete, wall=0.0), SECRET)
    assert (stale.problem or "").startswith("signature")
    unreadable = decode_request(raw("/septet", body=b"{"), SECRET)
    assert unreadable.text is None
    assert unreadable.problem is not None
