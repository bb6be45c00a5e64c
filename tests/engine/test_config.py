"""Loading the TOML config: validation, environment overrides, errors that name the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
import pytest

from engine.config import CarrierConfig, Config, dump_default_config, load_config
from engine.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "septet.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_and_no_environment_gives_the_defaults() -> None:
    assert load_config(environ={}) == Config()


def test_a_file_sets_nested_tables_and_carriers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        data_dir = "data"
        [store]
        batch_rows = 64
        [[carriers]]
        name = "sb"
        adapter = "sandbox"
        config = { auto_rate = 2.5 }
        """,
    )
    config = load_config(path, environ={})
    assert config.data_dir == "data"
    assert config.store.batch_rows == 64
    assert config.store.readers == 4
    assert config.carriers == (
        CarrierConfig(name="sb", adapter="sandbox", config={"auto_rate": 2.5}),
    )


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[store]\nbatch_rows = 64\nreaders = 2\n")
    config = load_config(
        path,
        environ={
            "SEPTET_STORE__BATCH_ROWS": "128",
            "SEPTET_DATA_DIR": "/srv/septet",  # not a TOML value: taken as a string
            "SEPTET_METRICS__PORT": "9100",
            "SEPTET_LOG__FORMAT": '"json"',  # a TOML string works too
            "OTHER_VARIABLE": "ignored",
        },
    )
    assert config.store.batch_rows == 128
    assert config.store.readers == 2
    assert config.data_dir == "/srv/septet"
    assert config.metrics.port == 9100
    assert config.log.format == "json"


def test_a_string_setting_keeps_text_that_reads_as_another_type() -> None:
    config = load_config(environ={"SEPTET_TENANT": "2024", "SEPTET_DEFAULT_REGION": "true"})
    assert config.tenant == "2024"
    assert config.default_region == "true"


def test_environment_can_give_a_whole_table_or_array_as_toml() -> None:
    config = load_config(
        environ={"SEPTET_CARRIERS": '[{name = "sb", adapter = "sandbox", config = {seed = 7}}]'}
    )
    assert config.carriers[0].config == {"seed": 7}


def test_the_default_environment_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEPTET_STORE__BATCH_MS", "5.5")
    assert load_config().store.batch_ms == 5.5


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('[store]\nbatch_rows = "many"\n', "store.batch_rows", "Expected `int`, got `str`"),
        ("[store]\nbogus = 1\n", "store.bogus", "unknown field"),
        ("colour = 1\n", "colour", "unknown field"),
        ("[store]\nbatch_rows = 0\n", "store", "batch_rows must be at least 1"),
        ('[[carriers]]\nname = "sb"\n', "carriers[0].adapter", "missing required field"),
        ('[log]\nlevel = "loud"\n', "log.level", "Invalid enum value 'loud'"),
    ],
)
def test_an_invalid_file_names_the_key_and_the_file(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.key == key
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{key}: ")
    assert str(path) in str(caught.value)


def test_an_invalid_override_names_the_key_and_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"SEPTET_STORE__BATCH_ROWS": "lots"})
    assert caught.value.key == "store.batch_rows"
    assert "SEPTET_STORE__BATCH_ROWS" in str(caught.value)

    with pytest.raises(ConfigError) as caught:
        load_config(environ={"SEPTET_STORE__COLOUR": "red"})
    assert caught.value.key == "store.colour"


def test_an_override_inside_a_scalar_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"SEPTET_TENANT__NAME": "x"})
    assert caught.value.key == "tenant"
    with pytest.raises(ConfigError):
        load_config(environ={"SEPTET_STORE____ROWS": "1"})


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_config(tmp_path / "nowhere.toml", environ={})
    assert "nowhere.toml" in str(caught.value)


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[store\nbatch_rows = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})


def test_the_default_config_dump_loads_back_to_the_defaults(tmp_path: Path) -> None:
    text = dump_default_config()
    assert msgspec.convert(tomllib.loads(text), Config) == Config()
    assert load_config(write(tmp_path, text), environ={}) == Config()
