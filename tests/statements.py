"""A writer hook that records the SQL statements the store's writer connection runs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def recording(statements: list[str]) -> Callable[[sqlite3.Connection], None]:
    """A ``_writer_hook`` for ``open_sqlite_store`` appending each statement the writer
    runs to ``statements`` (SQLite repeats one for each trigger program it runs)."""

    def hook(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(statements.append)

    return hook


def writes(statements: list[str]) -> set[str]:
    """The distinct statements of ``statements`` that write (not queries or pragmas)."""
    return {s for s in statements if not s.startswith(("SELECT", "PRAGMA"))}
