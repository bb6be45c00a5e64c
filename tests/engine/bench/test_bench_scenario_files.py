"""Scenario files: checked before anything starts, a bad key named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine._bench import _cli
from engine._bench._scenario import BUILT_IN, load_scenario, override
from engine.cli import main
from engine.errors import ConfigError


@pytest.mark.parametrize("name", BUILT_IN)
def test_built_in_scenarios_load(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name
    assert scenario.path == name.split("-")[0]
    assert scenario.fanout == name.endswith("-fanout")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('name = "x"\npath = "smpp"\nrat = 5.0\n', "rat"),
        ('name = "x"\npath = "smpp"\n[smpp]\nwindow = 0\n', "smpp.window"),
        ('name = "x"\npath = "pigeon"\n', "path"),
        ('name = "x"\npath = "http"\n[mix]\ngsm7 = -1.0\n', "mix"),
        ('name = "x"\npath = "http"\n[find_max]\nfactor = 1.0\n', "find_max.factor"),
        ('path = "http"\n', "name"),
    ],
)
def test_a_bad_key_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_scenario(str(path))
    assert caught.value.key == key
    assert main(["bench", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"config error: {key}:" in err
    assert not (tmp_path / "out").exists()


def test_a_missing_file_and_bad_toml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no scenario file"):
        load_scenario(str(tmp_path / "absent.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(str(bad))


def test_command_line_overrides_are_checked_like_the_file() -> None:
    scenario = override(load_scenario("smpp"), rate=50.0, count=None)
    assert scenario.rate == 50.0
    assert scenario.count == load_scenario("smpp").count
    with pytest.raises(ConfigError) as caught:
        override(scenario, rate=-1.0)
    assert caught.value.key == "rate"


def test_measured_count_is_bounded_by_count_and_duration() -> None:
    scenario = override(load_scenario("embed"), rate=100.0, count=1000, duration=2.0)
    assert scenario.measured_count == 200
    assert override(scenario, count=50).measured_count == 50


def test_missing_dependencies_name_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(_cli._NEEDED, "septet_no_such_module", "no-such-distribution")
    assert main(["bench", "smpp", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no-such-distribution" in err
    assert "pip install 'septet[bench]'" in err


def test_the_readme_scenario_example_is_a_valid_scenario(tmp_path: Path) -> None:
    readme = Path(__file__).resolve().parents[3] / "README.md"
    section = readme.read_text("utf-8").split("## Benchmarking with `septet bench`", 1)[1]
    found = re.search(r"\n```\n(name = .*?)```", section, re.DOTALL)
    assert found is not None, "the section has no scenario example"
    example = found[1]
    path = tmp_path / "example.toml"
    path.write_text(example, "utf-8")
    scenario = load_scenario(str(path))
    assert scenario.name == "smpp-burst"
    assert scenario.fanout
    assert scenario.smpp.window == 64
