"""Opening SQLite connections and bringing the schema up to date.

The schema ships in the package as numbered SQL files (``engine/store/migrations``).
Opening the writer applies the missing ones, in order, in one ``BEGIN IMMEDIATE``
transaction together with the version check, so two processes opening one file at once
cannot both migrate it, and a failed migration leaves the file as it was.

Everything here blocks: callers run it in a worker thread.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from importlib import resources
from typing import NamedTuple

from ..errors import StoreError
from ._sqlite_incoming import prepare_writer

__all__ = [
    "BUSY_TIMEOUT_MS",
    "ConnectHook",
    "Migration",
    "RESTART_FRAMES",
    "checkpoint",
    "connect_reader",
    "connect_writer",
    "load_migrations",
    "migrate",
    "restart_checkpoint",
    "schema_version",
]

BUSY_TIMEOUT_MS = 5000
"""How long a connection waits for another process's lock before failing."""

BACKSTOP_CHECKPOINT_PAGES = 100_000
"""The writer checkpoints itself only if the WAL grows past this (400 MB of 4 KB pages)."""

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

ConnectHook = Callable[[sqlite3.Connection], None]
"""Called with every new writer connection (tests use it to impose limits)."""


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


def load_migrations() -> tuple[Migration, ...]:
    """The shipped migrations, ordered by version; versions must run 1, 2, 3... ."""
    found = []
    for entry in resources.files("engine.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
    found.sort()
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..n: {[m.version for m in found]}")
    return tuple(found)


def _statements(sql: str) -> list[str]:
    """Split a script into statements (``executescript`` would commit our transaction)."""
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in pending.splitlines()
    ):
        raise RuntimeError(f"incomplete SQL statement in a migration: {pending.strip()[:80]!r}")
    return statements


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def connect_writer(path: str, *, hook: ConnectHook | None = None) -> sqlite3.Connection:
    """The one connection that writes: WAL, ``synchronous = FULL``, and the view new
    messages are written through (:mod:`._sqlite_incoming`).

    FULL fsyncs the WAL at every commit, so an acknowledged message survives a power
    loss as well as a ``kill -9`` (NORMAL in WAL mode survives only the latter). The
    writer commits a whole batch at once, so the fsync is paid once per batch.
    """
    conn = _connect(path)
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"cannot put the inbox {path!r} in WAL mode (it stays {mode!r})")
        conn.execute("PRAGMA synchronous = FULL")
        # Statement journals (a statement that may roll back alone inside the batch's
        # transaction) stay in memory: on disk each is a temporary file created,
        # unlinked, written and dropped, several system calls per commit.
        conn.execute("PRAGMA temp_store = MEMORY")
        # Checkpoints run beside the writer (see ``checkpoint``), not inside its
        # commits, where copying the WAL back would stall a batch for tens of ms;
        # this is only a backstop should they stop.
        conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_CHECKPOINT_PAGES}")
        prepare_writer(conn)
        if hook is not None:
            hook(conn)
    except BaseException:
        conn.close()
        raise
    return conn


CATCH_UP_ROUNDS = 8
"""How many checkpoints in a row :func:`checkpoint` runs to catch up with the writer."""
RESTART_FRAMES = 8192
"""A WAL this long (32 MB of 4 KB pages) is worth the writer's help to start over."""


def checkpoint(conn: sqlite3.Connection) -> int:
    """Copy committed WAL frames into the database without blocking the writer or the
    readers (PASSIVE), until none is left; the frames the WAL holds.

    The first round copies the bulk; the next ones copy only what the writer committed
    meanwhile. SQLite starts the WAL over only when a write transaction begins after a
    checkpoint copied every frame, which under steady writes a checkpoint beside the
    writer rarely manages (the writer is mid-transaction when it finishes); a long WAL
    makes every page lookup slower and the file hundreds of megabytes. So when the WAL
    is :data:`RESTART_FRAMES` long the caller asks the writer to copy the last few
    frames itself, between two transactions (:func:`restart_checkpoint`).
    """
    seen = -1
    log = 0
    for _ in range(CATCH_UP_ROUNDS):
        busy, log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy or (copied >= log and log == seen):
            break  # nothing new since the last round
        seen = log
    return int(log)


def restart_checkpoint(conn: sqlite3.Connection) -> None:
    """On the writer, between transactions: copy what is left of the WAL (the last few
    commits, the rest being copied already), so the next transaction starts it over."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def connect_reader(path: str) -> sqlite3.Connection:
    """A connection for queries only; ``query_only`` guards against writes by mistake."""
    conn = _connect(path)
    try:
        conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False:
    # a connection moves between worker threads, but only one uses it at a time.
    conn = sqlite3.connect(os.fspath(path), isolation_level=None, check_same_thread=False)
    try:
        _configure(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """The highest migration applied to this database (0 for a new one)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, migrations: tuple[Migration, ...]) -> int:
    """Apply the missing migrations in one transaction; return the schema version.

    A database written by a newer Septet is refused: this code would not know how to
    keep its rows consistent.
    """
    known = migrations[-1].version if migrations else 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = schema_version(conn)
        if current > known:
            raise StoreError(
                f"the inbox has schema version {current}, newer than this Septet knows"
                f" ({known}); upgrade Septet to open it"
            )
        for migration in migrations[current:]:
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at)"
                " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                (migration.version, migration.name),
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return max(current, known)
