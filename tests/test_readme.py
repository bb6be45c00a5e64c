"""The README's configuration examples are configurations this Septet accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.config import load_config

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", README.read_text("utf-8"), re.DOTALL)


def test_the_readme_has_toml_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("block", BLOCKS)
def test_each_toml_example_loads(block: str, tmp_path: Path) -> None:
    path = tmp_path / "septet.toml"
    path.write_text(block, "utf-8")
    config = load_config(path, environ={})
    assert config.destinations or config.carriers or config.routes.rules
