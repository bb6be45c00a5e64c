"""The plugin registry: discovery through real entry points, checks, and errors that say why.

The built-in sandbox comes from the ``septet`` distribution and ``filedrop`` from the
example distribution in ``plugins/`` (``make test`` installs it). Broken plugins come
from a throwaway distribution written to a temporary directory put on ``sys.path``: a
``.dist-info`` folder is all ``importlib.metadata`` needs to find its entry points.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from engine.config import CarrierConfig
from engine.errors import ConfigError, PluginError
from engine.plugin_api import Carrier, Destination
from engine.plugins import (
    CARRIER_GROUP,
    PluginInfo,
    available_carriers,
    available_destinations,
    load_carrier,
    load_carriers,
    load_destination,
)

PLUGIN_MODULE = """
import msgspec
import trio

from engine.plugin_api import ConfigError


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    level: int = 1


class Good:
    api_version = 1
    Config = Settings

    def __init__(self, name, config):
        self.name = name
        self.config = config

    async def run(self, emit, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        await trio.sleep_forever()


class OldApi(Good):
    api_version = 0


class NoStructConfig(Good):
    Config = dict


class NoRun:
    api_version = 1
    Config = Settings

    def __init__(self, name, config):
        self.name = name


class RefusesSettings(Good):
    def __init__(self, name, config):
        raise ConfigError("must be below 3", key="level")


class Crashes(Good):
    def __init__(self, name, config):
        raise RuntimeError("no licence key")


class Outbox:
    api_version = 1
    Config = Settings

    def __init__(self, name, config):
        self.name = name

    async def deliver(self, delivery):
        return None

    async def aclose(self):
        pass


not_a_class = object()
"""

ENTRY_POINTS = """
[septet.carriers]
good = acme_plugins:Good
old-api = acme_plugins:OldApi
no-struct-config = acme_plugins:NoStructConfig
no-run = acme_plugins:NoRun
refuses-settings = acme_plugins:RefusesSettings
crashes = acme_plugins:Crashes
not-a-class = acme_plugins:not_a_class
import-fails = acme_broken:Anything
missing-attribute = acme_plugins:Nowhere

[septet.destinations]
outbox = acme_plugins:Outbox
good-carrier = acme_plugins:Good
"""


def install_distribution(
    root: Path, name: str, version: str, entry_points: str, modules: dict[str, str]
) -> None:
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    (info / "METADATA").write_text(metadata, encoding="utf-8")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(source, encoding="utf-8")


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The throwaway distribution ``acme-plugins 2.3.4``, importable for this test."""
    install_distribution(
        tmp_path,
        "acme-plugins",
        "2.3.4",
        ENTRY_POINTS,
        {
            "acme_plugins": PLUGIN_MODULE,
            "acme_broken": "raise ImportError('libfoo.so.1: cannot open shared object file')\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("acme_plugins", "acme_broken"):
        monkeypatch.delitem(sys.modules, module, raising=False)


def carrier(adapter: str, name: str = "c1", **settings: object) -> CarrierConfig:
    return CarrierConfig(name=name, adapter=adapter, config=dict(settings))


def test_the_builtin_sandbox_and_the_example_plugin_are_discovered() -> None:
    carriers = available_carriers()
    assert carriers["sandbox"] == PluginInfo(
        name="sandbox",
        group=CARRIER_GROUP,
        distribution="septet",
        version="0.1.0",
        target="adapters.carriers.sandbox:SandboxCarrier",
    )
    # Installed from plugins/septet-filedrop by `make test` (pip install -e).
    filedrop = carriers.get("filedrop")
    assert filedrop is not None, "install plugins/septet-filedrop (make test does)"
    assert (filedrop.distribution, filedrop.version) == ("septet-filedrop", "0.1.0")
    assert filedrop.target == "septet_filedrop:FileDropCarrier"


def test_loading_the_installed_carriers(tmp_path: Path) -> None:
    sandbox, filedrop = load_carriers(
        [
            carrier("sandbox", "sb", numbers=["+15550100001"], seed=3),
            carrier("filedrop", "drop", directory=str(tmp_path)),
        ]
    )
    assert isinstance(sandbox, Carrier)
    assert isinstance(filedrop, Carrier)
    assert (sandbox.name, filedrop.name) == ("sb", "drop")
    assert type(filedrop).__module__.startswith("septet_filedrop")


def test_an_unknown_adapter_names_the_key_and_what_is_installed() -> None:
    with pytest.raises(ConfigError, match=r"installed: .*sandbox") as caught:
        load_carrier(carrier("smoke-signals", "sig"))
    assert caught.value.key == "carriers.sig.adapter"


@pytest.mark.parametrize(
    ("settings", "key", "words"),
    [
        ({"auto_rate": "fast"}, "carriers.c1.config.auto_rate", "Expected `float`"),
        ({"colour": "red"}, "carriers.c1.config.colour", "unknown field"),
        ({"auto_rate": -1}, "carriers.c1.config", "auto_rate must be"),
        ({"numbers": []}, "carriers.c1.config", "numbers must name"),
    ],
)
def test_bad_settings_name_the_key(settings: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_carrier(carrier("sandbox", **settings))
    assert caught.value.key == key
    assert words in str(caught.value)
    assert "'sandbox' (septet 0.1.0" in str(caught.value)


def test_instance_names_must_be_unique() -> None:
    with pytest.raises(ConfigError, match="two carriers are named 'sb'") as caught:
        load_carriers(
            [carrier("sandbox", "sb"), carrier("sandbox", "other"), carrier("sandbox", "sb")]
        )
    assert caught.value.key == "carriers[2].name"


def test_every_carrier_is_validated_before_any_is_returned() -> None:
    with pytest.raises(ConfigError) as caught:
        load_carriers([carrier("sandbox", "ok"), carrier("sandbox", "bad", seed="x")])
    assert caught.value.key == "carriers.bad.config.seed"


@pytest.mark.usefixtures("acme")
def test_a_third_party_distribution_is_discovered_and_loaded() -> None:
    info = available_carriers()["good"]
    assert (info.distribution, info.version, info.target) == (
        "acme-plugins",
        "2.3.4",
        "acme_plugins:Good",
    )
    loaded = load_carrier(carrier("good", level=2))
    assert isinstance(loaded, Carrier)
    assert loaded.name == "c1"


@pytest.mark.usefixtures("acme")
@pytest.mark.parametrize(
    ("adapter", "reason"),
    [
        ("import-fails", "importing it failed: ImportError('libfoo.so.1: cannot open"),
        ("missing-attribute", "importing it failed: AttributeError"),
        ("old-api", "declares api_version 0, but this engine speaks plugin API version 1"),
        ("no-struct-config", "its Config is not a msgspec Struct"),
        ("not-a-class", "is not a class but object"),
        ("no-run", "lacks an attribute or method of Carrier"),
        ("crashes", "creating 'c1' failed: RuntimeError('no licence key')"),
    ],
)
def test_a_broken_plugin_names_its_distribution_version_and_reason(
    adapter: str, reason: str
) -> None:
    with pytest.raises(PluginError) as caught:
        load_carrier(carrier(adapter))
    message = str(caught.value)
    assert f"plugin {adapter!r} (acme-plugins 2.3.4, acme_plugins:" in message or (
        f"plugin {adapter!r} (acme-plugins 2.3.4, acme_broken:" in message
    )
    assert reason in message


@pytest.mark.usefixtures("acme")
def test_a_setting_the_plugin_itself_refuses_is_placed_under_the_instance() -> None:
    with pytest.raises(ConfigError, match="must be below 3") as caught:
        load_carrier(carrier("refuses-settings", "mine"))
    assert caught.value.key == "carriers.mine.config.level"


def test_two_distributions_declaring_one_name_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_distribution(
        tmp_path, "impostor", "9.9", "[septet.carriers]\nsandbox = impostor:Sandbox\n", {}
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="declared twice") as caught:
        load_carrier(carrier("sandbox"))
    assert "impostor 9.9" in str(caught.value)
    assert "septet 0.1.0" in str(caught.value)


@pytest.mark.usefixtures("acme")
def test_destinations_are_discovered_and_loaded() -> None:
    assert available_destinations()["outbox"].distribution == "acme-plugins"
    outbox = load_destination("team", "outbox", {"level": 5})
    assert isinstance(outbox, Destination)
    with pytest.raises(ConfigError) as caught:
        load_destination("team", "outbox", {"level": "high"})
    assert caught.value.key == "destinations.team.config.level"
    with pytest.raises(ConfigError) as caught:
        load_destination("team", "pigeon", {})
    assert caught.value.key == "destinations.team.adapter"
    with pytest.raises(PluginError, match="lacks an attribute or method of Destination"):
        load_destination("team", "good-carrier", {})


def test_plugin_info_describes_itself() -> None:
    assert available_carriers()["sandbox"].describe() == (
        "plugin 'sandbox' (septet 0.1.0, adapters.carriers.sandbox:SandboxCarrier)"
    )
