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

Binding the parameters is the part of the statement that holds the GIL, and its cost
depends on the type: an ``int`` binds in about 50 ns, a ``bytearray`` in about 200, a
``str`` in about 250, but ``None`` and ``bytes`` take 350 to 550 (the ``sqlite3``
module looks each up in its adapter registry). So the statement is written with the
values it knows as literals (each row's kind, the columns its kind leaves empty), keys
and bodies are bound as ``bytearray``, and an absent raw payload is bound as the integer
0 (the trigger looks for a blob). Statements are built for row counts that are
multiples of :data:`ROWS_STEP`, so a handful of prepared statements serve every batch;
the slots left over are bound as padding (an integer id), which fires no trigger.

A concatenated message whose parts all came together (a whole set) goes in the same
statement: its message row, one row per other part's carrier id (mapped to the message,
as completing a stored set maps them) and a guard row that fails the statement should
the set have parts stored already. Such a set never touches the ``parts`` table.

Delivery outcomes join it too: each attempt is a row that logs the attempt and moves its
delivery on, as :func:`~._sqlite_outbox.finish_attempts` does. At a steady trickle of
messages a commit holds one new message and the last one's outcome, which took a
transaction of nine statements; now it is one.

A repeat (an id or a carrier id already stored) makes a unique key refuse the row; the
statement fails whole, SQLite rolls it back, and :func:`insert_new` raises, so the
caller can take the careful path, which looks every key up first. The careful path
and the other writes that add messages use the same view, inside their transaction.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from typing import cast

__all__ = [
    "ROWS_STEP",
    "ExtraRow",
    "NewMessageRow",
    "Prepared",
    "attempt_params",
    "fits",
    "insert_new",
    "insert_prepared",
    "prepare",
    "prepare_writer",
    "whole_set_rows",
]

ROWS_STEP = 32
"""Statements hold a multiple of this many message rows, and of delivery rows."""
_MOST_ROWS = 1024
"""The most message rows, and the most delivery rows, in one statement."""

_MESSAGE = 0
_DELIVERY = 1
_PART_ID = 2
"""A part's carrier id, mapped to the message its whole set makes."""
_WHOLE_SET = 3
"""A whole set's guard: fails the statement if the set has parts stored."""
_ATTEMPT = 4
"""A delivery attempt: logged, and its delivery moved on."""

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
_MESSAGE_ROW = f"({_MESSAGE},{','.join('?' * 10)},{','.join(['NULL'] * 6)})"
_DELIVERY_ROW = f"({_DELIVERY},?,?,{','.join(['NULL'] * 8)},?,?,?,?,?,?)"
# kind, id, tenant, carrier, carrier_message_id, message_id
_EXTRA_ROW = f"(?,?,?,{','.join(['NULL'] * 5)},?,?,NULL,?,{','.join(['NULL'] * 5)})"
# id: the delivery key; then attempt, started_at, duration_ms, outcome, status_code,
# error, response in the next columns, and the delivery's new status, due_at,
# retry_step (in created_at) and updated_at in the last four.
_ATTEMPT_ROW = f"({_ATTEMPT},{','.join('?' * 8)},NULL,NULL,NULL,NULL,?,?,?,?)"
_MESSAGE_PADDING = (0,) * 10
_DELIVERY_PADDING = (0,) * 8
_EXTRA_PADDING = (0,) * 6
_ATTEMPT_PADDING = (0,) * 12
_ATTEMPTS_STEP = 8
"""Attempt rows come in multiples of this (fewer than messages: padding costs a little)."""
_MOST_ATTEMPTS = 256
"""The most attempt rows in one statement (with the most of every other kind, the
statement stays within SQLite's 32,766 parameters)."""
_NO_RAW = 0

_WAITING = (
    "message_id IS NULL AND refers_to IS NOT NULL AND carrier = NEW.carrier"
    " AND refers_to = NEW.carrier_message_id AND tenant = NEW.tenant"
)
"""The status reports waiting for the carrier id of the row (of its tenant alone)."""

# One trigger per table, each with a WHEN clause: a trigger whose condition fails costs
# next to nothing, while a statement in a trigger body costs about a microsecond a row
# even when its own WHERE makes it write nothing. A padding row has an integer id.
_SCHEMA = f"""
CREATE TEMP VIEW IF NOT EXISTS incoming ({", ".join(_COLUMNS)}) AS
    SELECT {", ".join(["NULL"] * _WIDTH)} WHERE 0;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_message
INSTEAD OF INSERT ON incoming WHEN NEW.kind = {_MESSAGE} AND typeof(NEW.id) = 'blob'
BEGIN
    INSERT INTO messages (id, tenant, number_used, sender_id, received_at, has_otp, body)
    VALUES (NEW.id, NEW.tenant, NEW.number_used, NEW.sender_id, NEW.received_at,
            NEW.has_otp, NEW.body);
END;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_carrier_id
INSTEAD OF INSERT ON incoming
WHEN NEW.kind = {_MESSAGE} AND typeof(NEW.id) = 'blob'
    AND NEW.carrier_message_id IS NOT NULL
BEGIN
    INSERT INTO carrier_ids (carrier, carrier_message_id, message_id)
    VALUES (NEW.carrier, NEW.carrier_message_id, NEW.id);
END;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_raw
INSTEAD OF INSERT ON incoming
WHEN NEW.kind = {_MESSAGE} AND typeof(NEW.id) = 'blob' AND typeof(NEW.raw) = 'blob'
BEGIN
    INSERT INTO raw_payloads (message_id, data) VALUES (NEW.id, NEW.raw);
END;

-- Status reports that arrived before their message: the condition probes an index that
-- is almost always empty. Only reports of the message's own tenant: tenants are walls.
CREATE TEMP TRIGGER IF NOT EXISTS incoming_waiting_reports
INSTEAD OF INSERT ON incoming
WHEN NEW.kind = {_MESSAGE} AND typeof(NEW.id) = 'blob'
    AND NEW.carrier_message_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM status_reports
        WHERE {_WAITING})
BEGIN
    UPDATE status_reports SET message_id = NEW.id
    WHERE {_WAITING};
END;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_part_id
INSTEAD OF INSERT ON incoming WHEN NEW.kind = {_PART_ID}
BEGIN
    INSERT INTO carrier_ids (carrier, carrier_message_id, message_id)
    VALUES (NEW.carrier, NEW.carrier_message_id, NEW.message_id);
END;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_part_waiting_reports
INSTEAD OF INSERT ON incoming
WHEN NEW.kind = {_PART_ID} AND EXISTS (
        SELECT 1 FROM status_reports
        WHERE {_WAITING})
BEGIN
    UPDATE status_reports SET message_id = NEW.message_id
    WHERE {_WAITING};
END;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_whole_set
INSTEAD OF INSERT ON incoming
WHEN NEW.kind = {_WHOLE_SET} AND EXISTS (SELECT 1 FROM parts WHERE set_key = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'the set has parts stored already');
END;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_attempt
INSTEAD OF INSERT ON incoming WHEN NEW.kind = {_ATTEMPT} AND typeof(NEW.id) = 'blob'
BEGIN
    INSERT OR IGNORE INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms,
        outcome, status_code, error, response)
    VALUES (NEW.id, NEW.tenant, NEW.number_used, NEW.sender_id, NEW.received_at,
            NEW.has_otp, NEW.body, NEW.carrier);
    UPDATE deliveries SET status = NEW.status, attempts = max(attempts, NEW.tenant),
        retry_step = coalesce(NEW.created_at, retry_step),
        due_at = coalesce(NEW.due_at, due_at), updated_at = NEW.updated_at,
        last_error = NEW.body
    WHERE id = NEW.id;
END;

CREATE TEMP TRIGGER IF NOT EXISTS incoming_delivery
INSTEAD OF INSERT ON incoming WHEN NEW.kind = {_DELIVERY} AND typeof(NEW.id) = 'blob'
BEGIN
    INSERT INTO deliveries
        (id, message_id, tenant, destination, status, due_at, created_at, updated_at)
    VALUES (NEW.id, NEW.message_id, NEW.tenant, NEW.destination, NEW.status,
            NEW.due_at, NEW.created_at, NEW.updated_at);
END;
"""

NewMessageRow = tuple[
    bytes, str, str, str, int, int, bytes | bytearray, str, str | None, bytes | None
]
"""A message as :func:`insert_new` takes it: its ``messages`` row, then its carrier,
carrier id and raw payload."""
ExtraRow = tuple[int, object, object, object, object, object]
"""A row of a whole set (see :func:`whole_set_rows`): kind, id, tenant, carrier, carrier
id, message key."""


def prepare_writer(conn: sqlite3.Connection) -> None:
    """Create the view and triggers on a new writer connection (idempotent)."""
    for statement in _SCHEMA.split(";\n\n"):
        conn.execute(statement)


def fits(messages: int, deliveries: int, extras: int = 0, attempts: int = 0) -> bool:
    """Whether this many messages, deliveries, whole sets' rows and delivery attempts go
    into one statement."""
    return (
        messages <= _MOST_ROWS
        and deliveries <= _MOST_ROWS
        and extras <= _MOST_ROWS
        and attempts <= _MOST_ATTEMPTS
    )


def attempt_params(logged: Sequence[object], moved: Sequence[object]) -> tuple[object, ...]:
    """An attempt's row for the statement, from the attempt's log row and its delivery's
    new state as :meth:`~._sqlite_outbox.FinishAttempt.rows` gives them."""
    key, attempt, started, duration, outcome, status_code, error, response = logged
    _, status, _, retry_step, due_at, updated_at, _ = moved
    return (
        bytearray(cast(bytes, key)),
        attempt,
        started,
        duration,
        outcome,
        status_code,
        error,
        response,
        status,
        due_at,
        retry_step,
        updated_at,
    )


def whole_set_rows(
    set_key: str, tenant: str, message_key: bytes, part_ids: Sequence[tuple[str, str]]
) -> list[ExtraRow]:
    """The rows that make a message its whole set's completion: the guard, and each
    part's ``(carrier, carrier id)`` (other than the message's own) mapped to it."""
    key = bytearray(message_key)
    rows: list[ExtraRow] = [(_WHOLE_SET, set_key, 0, 0, 0, 0)]
    rows.extend((_PART_ID, 0, tenant, carrier, carrier_id, key) for carrier, carrier_id in part_ids)
    return rows


def _slots(count: int) -> int:
    return -(-count // ROWS_STEP) * ROWS_STEP


@functools.cache
def _insert_sql(messages: int, deliveries: int, extras: int, attempts: int) -> str:
    rows = [_MESSAGE_ROW] * messages + [_DELIVERY_ROW] * deliveries + [_EXTRA_ROW] * extras
    rows += [_ATTEMPT_ROW] * attempts
    return f"INSERT INTO incoming VALUES {','.join(rows)}"


class Prepared:
    """The parameters of some new messages and deliveries, bound in the order
    :func:`insert_prepared` writes them, with their keys to check for repeats.

    Made where the messages are submitted (the trio thread, which has time to spare),
    so the writer, the one thread every commit waits for, only joins lists.
    """

    __slots__ = (
        "carrier_ids",
        "carrier_keys",
        "deliveries",
        "delivery_params",
        "extra_params",
        "extras",
        "ids",
        "message_params",
    )

    def __init__(
        self,
        messages: Sequence[NewMessageRow],
        deliveries: Sequence[Sequence[object]],
        extras: Sequence[ExtraRow] = (),
    ) -> None:
        self.message_params = _message_params(messages)
        self.delivery_params = _delivery_params(deliveries)
        self.extra_params = [value for row in extras for value in row]
        self.extras = len(extras)
        self.ids = {message[0] for message in messages}
        """The message keys: fewer than the messages when one repeats another."""
        part_keys = [(row[3], row[4]) for row in extras if row[0] == _PART_ID]
        self.carrier_keys = {(m[7], m[8]) for m in messages if m[8] is not None}
        """The (carrier, carrier id) pairs: fewer than :attr:`carrier_ids` on a repeat."""
        self.carrier_keys.update(cast(list[tuple[str, str]], part_keys))
        self.carrier_ids = sum(1 for m in messages if m[8] is not None) + len(part_keys)
        self.deliveries = len(deliveries)

    @property
    def messages(self) -> int:
        return len(self.message_params) // 10


def prepare(
    messages: Sequence[NewMessageRow],
    deliveries: Sequence[Sequence[object]] = (),
    extras: Sequence[ExtraRow] = (),
) -> Prepared:
    """:class:`Prepared` parameters for ``messages``, ``deliveries`` and whole sets'
    ``extras``."""
    return Prepared(messages, deliveries, extras)


def _message_params(messages: Sequence[NewMessageRow]) -> list[object]:
    params: list[object] = []
    extend = params.extend
    for key, tenant, number, sender, received, has_otp, body, *carrier, raw in messages:
        extend((bytearray(key), tenant, number, sender, received, has_otp))
        extend((body, *carrier, _NO_RAW if raw is None else bytearray(raw)))
    return params


def _delivery_params(deliveries: Sequence[Sequence[object]]) -> list[object]:
    params: list[object] = []
    extend = params.extend
    for delivery in deliveries:
        delivery_key, of_message, in_tenant, *rest = delivery
        keys = (bytearray(cast(bytes, delivery_key)), in_tenant)
        extend((*keys, bytearray(cast(bytes, of_message)), *rest))
    return params


def insert_prepared(
    conn: sqlite3.Connection,
    prepared: Sequence[Prepared],
    attempts: Sequence[Sequence[object]] = (),
) -> None:
    """Insert everything ``prepared`` holds, and log the ``attempts`` (each as
    :func:`attempt_params` gives it; of distinct deliveries), in one statement; the
    caller checked that it :func:`fits`. Raises :class:`sqlite3.IntegrityError` for a
    repeat, as :func:`insert_new` does."""
    messages = sum(p.messages for p in prepared)
    deliveries = sum(p.deliveries for p in prepared)
    extras = sum(p.extras for p in prepared)
    message_slots = _slots(messages)
    delivery_slots = _slots(deliveries)
    extra_slots = _slots(extras)
    params: list[object] = []
    for one in prepared:
        params += one.message_params
    params += _MESSAGE_PADDING * (message_slots - messages)
    for one in prepared:
        params += one.delivery_params
    params += _DELIVERY_PADDING * (delivery_slots - deliveries)
    if extras:
        for one in prepared:
            params += one.extra_params
        params += _EXTRA_PADDING * (extra_slots - extras)
    attempt_slots = -(-len(attempts) // _ATTEMPTS_STEP) * _ATTEMPTS_STEP
    if attempts:
        for attempt in attempts:
            params += attempt
        params += _ATTEMPT_PADDING * (attempt_slots - len(attempts))
    sql = _insert_sql(message_slots, delivery_slots, extra_slots, attempt_slots)
    conn.execute(sql, params)


def insert_new(
    conn: sqlite3.Connection,
    messages: Sequence[NewMessageRow],
    deliveries: Sequence[Sequence[object]] = (),
) -> None:
    """Insert ``messages`` and ``deliveries`` (outbox rows: id, message id, tenant,
    destination, status, due, created, updated), in one statement when they
    :func:`fit <fits>`.

    Outside a transaction that one statement commits them, durably, or nothing. Raises
    :class:`sqlite3.IntegrityError` when a unique key refuses a row (a repeat); the
    statement then wrote nothing.
    """
    start_messages = start_deliveries = 0
    while start_messages < len(messages) or start_deliveries < len(deliveries):
        some_messages = messages[start_messages : start_messages + _MOST_ROWS]
        some_deliveries = deliveries[start_deliveries : start_deliveries + _MOST_ROWS]
        start_messages += len(some_messages)
        start_deliveries += len(some_deliveries)
        insert_prepared(conn, [Prepared(some_messages, some_deliveries)])
