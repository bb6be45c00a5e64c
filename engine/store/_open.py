"""Opening the store a configuration names."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from .._crypto import cipher_of
from ..config import StoreConfig
from ..errors import ConfigError
from ._protocol import Store
from ._sqlite import open_sqlite_store

__all__ = ["open_store"]

DEFAULT_SQLITE_NAME = "septet.db"


@asynccontextmanager
async def open_store(config: StoreConfig, data_dir: str) -> AsyncIterator[Store]:
    """Open the store ``config.kind`` names; SQLite lives at ``config.path`` (used as
    given) or ``<data_dir>/septet.db``. The file's directory is created if missing."""
    if config.kind == "sqlite":
        path = config.path or os.path.join(data_dir, DEFAULT_SQLITE_NAME)
        await trio.Path(os.path.dirname(os.path.abspath(path))).mkdir(parents=True, exist_ok=True)
        async with open_sqlite_store(
            path,
            batch_rows=config.batch_rows,
            batch_ms=config.batch_ms,
            linger_ms=config.linger_ms,
            readers=config.readers,
            cipher=cipher_of(config.encryption_keys),
        ) as store:
            yield store
    else:  # pragma: no cover - StoreConfig admits only the kinds handled above
        raise ConfigError(f"unknown store kind {config.kind!r}", key="store.kind")
