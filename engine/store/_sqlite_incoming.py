"""A batch of new messages (and their outbox) committed by one SQLite statement.

The writer thread and the trio thread share the GIL. Each statement step releases it
while SQLite works, then waits to take it back, and with the trio thread busy that wait
runs to the interpreter's switch interval (5 ms by default) rather than to the end of
SQLite's work. A batch written as ``BEGIN``, a few ``INSERT``s, a lookup and ``COMMIT``
took a dozen such turns; under load the writer spent most of its time waiting for the
GIL, not writing.

So the common batch (only new messages) is one ``INSERT`` into a view, in autocommit:
the view's triggers put each row where it belongs (``messages``, ``carrier_ids``,
``raw_payloads``, ``deliveries``) and link the status reports that were waiting for
it, and SQLite commits (with its fsync) inside the same step. The writer takes the GIL
back once per batch instead of a dozen times.

The view and its triggers are ``TEMP``: they live on the writer connection only (made by
:func:`prepare_writer` on every new one) and are not part of the stored schema.

Each row of the statement is a message, a delivery, or padding: statements are built
for row counts that are multiples of :data:`ROWS_STEP`, so a handful of prepared
statements serve every batch, and padding rows (``kind`` NULL) fire no trigger.

A repeat (an id or a carrier id already stored) makes a unique key refuse the row; the
statement fails whole, SQLite rolls it back, and :func:`insert_new` raises, so the
caller can take the careful path, which looks every key up first. The careful path
and the other writes that add messages use the same view, inside their transaction.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence

__all__ = ["ROWS_STEP", "NewMessageRow", "insert_new", "max_rows", "prepare_writer"]

ROWS_STEP = 32
"""Statements hold a multiple of this many rows."""

_MESSAGE = 0
_DELIVERY = 1

_COLUMNS = (
    "kind",
    # a message                     # a delivery
    "id",  # message key            # delivery key
    "tenant",
    "number_used",
    "sender_id",
    "received_at",
    "has_otp",
    "body",
    "carrier",
    "carrier_message_id",
    "raw",
    "message_id",  #                # its message's key
    "destination",
    "status",
    "due_at",
    "created_at",
    "updated_at",
)
_WIDTH = len(_COLUMNS)
_PADDING = (None,) * _WIDTH
_NO_MESSAGE = (None,) * 8
"""A delivery row's message columns, from ``number_used`` to ``raw``."""

_SCHEMA = f"""
CREATE TEMP VIEW IF NOT EXISTS incoming ({", ".join(_COLUMNS)}) AS
    SELECT {", ".join(["NULL"] * _WIDTH)} WHERE 0;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_message
INSTEAD OF INSERT ON incoming WHEN NEW.kind = {_MESSAGE}
BEGIN
    INSERT INTO messages (id, tenant, number_used, sender_id, received_at, has_otp, body)
    VALUES (NEW.id, NEW.tenant, NEW.number_used, NEW.sender_id, NEW.received_at,
            NEW.has_otp, NEW.body);
    INSERT INTO carrier_ids (carrier, carrier_message_id, message_id)
    SELECT NEW.carrier, NEW.carrier_message_id, NEW.id
    WHERE NEW.carrier_message_id IS NOT NULL;
    INSERT INTO raw_payloads (message_id, data)
    SELECT NEW.id, NEW.raw WHERE NEW.raw IS NOT NULL;
    -- Status reports that arrived before their message (a probe of an index that is
    -- almost always empty); only of the message's own tenant: tenants are walls.
    UPDATE status_reports SET message_id = NEW.id
    WHERE NEW.carrier_message_id IS NOT NULL
      AND message_id IS NULL AND refers_to IS NOT NULL
      AND carrier = NEW.carrier AND refers_to = NEW.carrier_message_id
      AND tenant = NEW.tenant;
END;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_delivery
INSTEAD OF INSERT ON incoming WHEN NEW.kind = {_DELIVERY}
BEGIN
    INSERT INTO deliveries
        (id, message_id, tenant, destination, status, due_at, created_at, updated_at)
    VALUES (NEW.id, NEW.message_id, NEW.tenant, NEW.destination, NEW.status,
            NEW.due_at, NEW.created_at, NEW.updated_at);
END;
"""

NewMessageRow = tuple[bytes, str, str, str, int, bool, bytes, str, str | None, bytes | None]
"""A message as :func:`insert_new` takes it: its ``messages`` row, then its carrier,
carrier id and raw payload."""


def prepare_writer(conn: sqlite3.Connection) -> None:
    """Create the view and triggers on a new writer connection (idempotent)."""
    for statement in _SCHEMA.split(";\n\n"):
        conn.execute(statement)


def max_rows(conn: sqlite3.Connection) -> int:
    """The most rows (messages plus deliveries) one statement can take on ``conn``."""
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // _WIDTH
    return limit - limit % ROWS_STEP


@functools.cache
def _insert_sql(rows: int) -> str:
    one = "(" + ",".join("?" * _WIDTH) + ")"
    return f"INSERT INTO incoming VALUES {','.join([one] * rows)}"


def insert_new(
    conn: sqlite3.Connection,
    messages: Sequence[NewMessageRow],
    deliveries: Sequence[Sequence[object]] = (),
) -> None:
    """Insert ``messages`` and ``deliveries`` (outbox rows, as ``deliveries`` orders its
    columns), in one statement when they fit in :func:`max_rows`.

    Outside a transaction that one statement commits them, durably, or nothing. Raises
    :class:`sqlite3.IntegrityError` when a unique key refuses a row (a repeat); the
    statement then wrote nothing.
    """
    rows: list[tuple[object, ...]] = [
        (_MESSAGE, *message, None, None, None, None, None, None) for message in messages
    ]
    for key, message_key, tenant, destination, status, due, created, updated in deliveries:
        times = (due, created, updated)
        rows.append(
            (_DELIVERY, key, tenant, *_NO_MESSAGE, message_key, destination, status, *times)
        )
    most = max_rows(conn)
    for start in range(0, len(rows), most):
        chunk = rows[start : start + most]
        size = -(-len(chunk) // ROWS_STEP) * ROWS_STEP
        params = [value for row in chunk for value in row]
        params.extend(_PADDING * (size - len(chunk)))
        conn.execute(_insert_sql(size), params)
