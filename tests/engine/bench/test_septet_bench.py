"""`septet bench` runs each ingest path for real, small and short, and accounts for every
message: processes of their own on 127.0.0.1, an open-loop load, the stages joined."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine._bench._scenario import BUILT_IN
from engine.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
END_TO_END = ("due → acknowledged", "due → answer read by the sender")
STAGES = (
    "due → received",
    "received → decoded",
    "decoded → committed",
    "committed → acknowledged",
)
FANOUT = ("committed → delivered", "due → delivered")


def bench(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], Path]:
    out = tmp_path / "out"
    status = main(["bench", *args, "--out", str(out)])
    result = json.loads((out / "result.json").read_text()) if status == 0 else {}
    return status, result, out


def check_percentiles(latency: dict[str, Any]) -> None:
    values = [latency[key] for key in ("min_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms")]
    assert values == sorted(values)
    assert latency["hdr"].startswith("HISTF")


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_built_in_scenario_accounts_for_every_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    quiet = ["--quiet"] if name != "smpp-fanout" else []  # one run shows the progress bar
    status, result, out = bench(
        tmp_path, name, "--rate", "150", "--count", "150", "--warm-up", "0.3", *quiet
    )
    assert status == 0, capsys.readouterr().err
    fanout = name.endswith("-fanout")
    assert result["scenario"]["name"] == name
    assert result["measured"] == 150
    assert result["warm_up"] == 45

    accounting = result["accounting"]
    sent = 150 + 45
    assert accounting["sent"] == accounting["acknowledged"] == accounting["stored"] == sent
    assert accounting["lost"] == accounting["garbled"] == accounting["duplicated"] == 0
    if fanout:
        assert accounting["delivered"] == sent
        assert accounting["lost_in_delivery"] == accounting["garbled_in_delivery"] == 0
        assert accounting["bad_signatures"] == 0
    else:
        assert accounting["delivered"] is None
    assert result["generator_errors"] == {}
    assert result["stages_out_of_order"] == 0
    assert result["missing_stages"] == {}

    expected = (*STAGES, *END_TO_END, *(FANOUT if fanout else ()))
    assert set(result["latency"]) == set(expected)
    for interval in expected:
        assert result["latency"][interval]["count"] == 150, interval
        check_percentiles(result["latency"][interval])
    assert result["acknowledged_per_second"] > 0
    assert result["engine"]["peak_rss_bytes"] > 10 * 2**20
    assert result["engine"]["cpu_user_seconds"] > 0

    table = (out / "result.md").read_text()
    assert f"# septet bench {name}" in table
    assert "| due → acknowledged | 150 |" in table
    assert "| lost | 0 |" in table
    assert (out / "latency.png").read_bytes().startswith(PNG_SIGNATURE)
    assert capsys.readouterr().out.startswith(f"# septet bench {name}")


def test_profile_writes_a_flame_graph_of_the_engine(tmp_path: Path) -> None:
    status, result, out = bench(
        tmp_path,
        "smpp",
        "--rate",
        "200",
        "--count",
        "200",
        "--warm-up",
        "0",
        "--profile",
        "--quiet",
    )
    assert status == 0
    assert result["warm_up"] == 0
    assert result["files"]["flame graph"] == "flame.svg"
    assert b"<svg" in (out / "flame.svg").read_bytes()[:2000]


def find_max_scenario(tmp_path: Path, p99_ms: float) -> Path:
    path = tmp_path / "find-max.toml"
    path.write_text(
        f"""
name = "tiny"
path = "embed"
warm_up = 0.2
drain = 5.0

[find_max]
start_rate = 100.0
factor = 2.0
max_rate = 200.0
step_seconds = 0.5
p99_ms = {p99_ms}
"""
    )
    return path


def test_find_max_stops_at_the_first_step_that_breaks_the_bound(tmp_path: Path) -> None:
    status, result, _ = bench(
        tmp_path, str(find_max_scenario(tmp_path, 0.001)), "--find-max", "--quiet"
    )
    assert status == 0
    found = result["find_max"]
    assert [step["rate"] for step in found["steps"]] == [100.0]
    assert found["steps"][0]["sustained"] is False
    assert "p99" in found["steps"][0]["reason"]
    assert found["highest_sustained_rate"] is None
    assert result["accounting"]["lost"] == 0


def test_find_max_climbs_until_the_highest_rate_allowed(tmp_path: Path) -> None:
    status, result, out = bench(
        tmp_path, str(find_max_scenario(tmp_path, 60_000)), "--find-max", "--quiet"
    )
    assert status == 0
    found = result["find_max"]
    assert [step["rate"] for step in found["steps"]] == [100.0, 200.0]
    assert all(step["sustained"] for step in found["steps"])
    assert found["highest_sustained_rate"] == found["reported_rate"] == 200.0
    assert result["measured"] == 100  # the reported step: 0.5 s at 200 msg/s
    assert result["accounting"]["sent"] == 20 + 50 + 100
    assert "Highest rate sustained: 200 msg/s" in (out / "result.md").read_text()
