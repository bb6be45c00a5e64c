"""A writer hook that makes the SQLite store refuse new messages, for tests of what a failed
commit does (nothing acknowledged, nothing lost, recovery once writing works again)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def deny_messages(
    denied: Callable[[], bool] = lambda: True,
) -> Callable[[sqlite3.Connection], None]:
    """A ``_writer_hook`` under which every insert into ``messages`` fails while
    ``denied()`` holds (so every commit of a new message fails, atomically)."""

    def hook(conn: sqlite3.Connection) -> None:
        def authorize(action: int, table: str | None, *_: object) -> int:
            if action == sqlite3.SQLITE_INSERT and table == "messages" and denied():
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK

        conn.set_authorizer(authorize)

    return hook
