"""Septet: an engine for receiving SMS.

Embed it with :func:`open`::

    async with engine.open(config) as septet:
        await septet.ingest(item)

The engine (and what it imports: the store, phone number data, metrics) loads on first
use of ``engine.open`` or ``engine.Septet``, so ``import engine.codec`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "InvalidTermError",
    "NumberBook",
    "NumberConflictError",
    "Septet",
    "__version__",
    "open",
]

__version__ = "0.1.0"

if TYPE_CHECKING:
    from ._engine import Septet as Septet
    from ._engine import open as open
    from ._numbers import InvalidTermError as InvalidTermError
    from ._numbers import NumberBook as NumberBook
    from ._numbers import NumberConflictError as NumberConflictError


def __getattr__(name: str) -> Any:
    if name in ("Septet", "open"):
        from . import _engine

        return getattr(_engine, name)
    if name in ("InvalidTermError", "NumberBook", "NumberConflictError"):
        from . import _numbers

        return getattr(_numbers, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
