"""The public surface is what we mean it to be: each `__all__` is complete and sorted."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types

import pytest

import engine

PUBLIC_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(engine.__path__, prefix="engine.")
    if not any(part.startswith("_") for part in info.name.split("."))
)


def test_public_modules_are_the_expected_ones() -> None:
    assert {"engine.cli", "engine.codec", "engine.errors", "engine.otp", "engine.signing"} <= set(
        PUBLIC_MODULES
    )


def _defined_here_or_private(origin: str, name: str) -> bool:
    if origin == name:
        return True
    return origin.startswith("engine.") and any(p.startswith("_") for p in origin.split("."))


@pytest.mark.parametrize("name", ["engine", *PUBLIC_MODULES])
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert list(exported) == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ names missing {symbol!r}"
    # Every public function or class defined here, or re-exported from a private module
    # (the face of `engine._native`, say), is listed; names imported from another public
    # module are that module's exports, not this one's.
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType)
        and (inspect.isclass(value) or inspect.isroutine(value))
        and _defined_here_or_private(getattr(value, "__module__", None) or "", name)
    }
    missing = public - set(exported)
    assert not missing, f"{name} defines public names not in __all__: {sorted(missing)}"


def test_native_module_is_only_reached_through_public_faces() -> None:
    # The rest of Python never imports _native directly; the faces re-export it.
    from engine import codec, otp, signing

    for face in (codec, otp, signing):
        for symbol in face.__all__:
            assert not symbol.startswith("_")
