"""`septet serve`, `septet sim send` and `septet messages` as real processes.

The server runs with the sandbox carrier on a Unix socket and Prometheus metrics on a
loopback port; the other commands reach it the way an operator would.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


def septet() -> list[str]:
    return [str(Path(sys.executable).with_name("septet"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    port = free_port()
    data = tmp_path / "data"
    config = tmp_path / "septet.toml"
    config.write_text(
        f"""
data_dir = "{data}"
[log]
format = "json"
[metrics]
port = {port}
[[carriers]]
name = "sandbox"
adapter = "sandbox"
[carriers.config]
socket = "{tmp_path / "sandbox.sock"}"
numbers = ["+15550001111"]
"""
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*septet(), "serve", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    assert proc.stdout is not None
    with proc, proc.stdout:
        line = proc.stdout.readline()
        assert "ready" in line, log_path.read_text()
        try:
            yield config, port
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
    assert proc.returncode == 0, log_path.read_text()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*septet(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_sim_send_then_messages_lists_it(server: tuple[Path, int]) -> None:
    config, _ = server
    sent = run(
        "sim", "send", "--config", str(config), "--number", "+15550001111", "--from", "Acme",
        "--id", "sim-1", "Your Acme code is 551177",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    (reply,) = [json.loads(line) for line in sent.stdout.splitlines()]
    assert reply["outcome"] == "committed"
    assert reply["message"]["otp"]["code"] == "551177"

    again = run(
        "sim", "send", "--config", str(config), "--number", "+15550001111", "--from", "Acme",
        "--id", "sim-1", "Your Acme code is 551177",
    )  # fmt: skip
    assert json.loads(again.stdout)["outcome"] == "duplicate"

    listed = run("messages", "--config", str(config), "--json")
    assert listed.returncode == 0, listed.stderr
    messages = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [m["carrierMessageId"] for m in messages] == ["sim-1"]
    assert messages[0]["senderId"] == "Acme"
    assert messages[0]["numberUsed"] == "+15550001111"


def test_presets_reach_the_inbox(server: tuple[Path, int]) -> None:
    config, _ = server
    sent = run("sim", "send", "--config", str(config), "--preset", "multipart-out-of-order")
    assert sent.returncode == 0, sent.stderr
    replies = [json.loads(line) for line in sent.stdout.splitlines()]
    assert replies[-1]["outcome"] == "committed"
    assert all(r["outcome"] == "buffered" for r in replies[:-1])
    listed = run("messages", "--config", str(config), "--json")
    (message,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert message["parts"] == len(replies)


def test_metrics_endpoint_counts_ingests(server: tuple[Path, int]) -> None:
    config, port = server
    run("sim", "send", "--config", str(config), "--preset", "otp")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/plain")
    assert "septet_ingested_total" in body
    assert "septet_ingest_commit_seconds_bucket" in body
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=10)
    assert info.value.code == 404
    info.value.close()


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[store]\nbatch_rows = 'many'\n")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    assert "store.batch_rows" in result.stderr


def test_sim_send_without_a_server_fails_clearly(tmp_path: Path) -> None:
    result = run("sim", "send", "--socket", str(tmp_path / "none.sock"), "hello")
    assert result.returncode == 1
    assert "cannot reach the sandbox" in result.stderr


def test_serve_stops_on_sigterm_after_committing(server: tuple[Path, int]) -> None:
    # The fixture's teardown sends SIGTERM and requires exit status 0; here we only make
    # sure there was work in flight to drain first.
    config, _ = server
    for n in range(5):
        assert run("sim", "send", "--config", str(config), f"note {n}").returncode == 0
