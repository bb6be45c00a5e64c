"""The writes, as the writer thread runs them: a whole batch in one transaction.

Each write keeps its own answer: a write that fails on its own (a constraint, a value
SQLite cannot bind) is rolled back to its savepoint and answered with its error, and its
neighbours still commit. Savepoints cost two statements a write, so a batch of the
common writes is first tried without them (:func:`_apply_at_once`), and only when one
of its writes is refused is it rolled back and written one savepoint each. A failure
of the database itself (read-only, full, I/O, locked) fails the whole transaction;
:func:`apply_batch` rolls it back and raises.

Message commits, the hot path, are done together. A batch of nothing but new messages
(whole sets of parts among them) and delivery outcomes is one autocommit statement
(:mod:`._sqlite_incoming`), its parameters prepared by the submitting thread. Otherwise
the messages are first written as if new, and only if a unique key refuses one are they
looked up (two lookups for the whole batch) and written the careful way. A
:class:`CommitMessages` (a caller's list of messages, submitted at once) joins the same
path, its messages in order; should the batch need taking apart, it fails or commits as
a whole. The other writes are rare and go one by one.

Everything here blocks: the writer runs it in its worker thread.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

import msgspec

from .._crypto import BodyCipher
from ..errors import StoreError
from ..model import Message, StatusReport
from ._protocol import BufferedPart, PartAdded, PartsAdded, Written
from ._sqlite_incoming import (
    NewMessageRow,
    Prepared,
    fits,
    insert_new,
    insert_prepared,
    prepare,
    whole_set_rows,
)
from ._sqlite_outbox import (
    ClaimDeliveries,
    FinishAttempt,
    OutboxOp,
    distinct_deliveries,
    finish_attempts,
)
from ._sqlite_rows import (
    MessageRow,
    decode_status,
    encode,
    message_id_of,
    message_key,
    micros,
    open_message,
    padded_chunks,
    part_aad,
    part_of_row,
    seal_row,
)

__all__ = [
    "AddPart",
    "AddParts",
    "CommitMessage",
    "CommitMessages",
    "CommitStatus",
    "CompletePartSet",
    "DeliveryRow",
    "WriteOp",
    "apply_batch",
    "is_database_failure",
    "sealed",
    "set_parts",
    "whole_set_op",
]


DeliveryRow = tuple[object, ...]
T = TypeVar("T")


class CommitMessage(msgspec.Struct, frozen=True):
    message: Message
    raw: bytes | None
    row: MessageRow
    deliveries: list[DeliveryRow] | None = None
    """The outbox rows written with the message (only if it is not a duplicate)."""
    prepared: Prepared | None = None
    """Its parameters for the one-statement commit of new messages (:func:`prepared`)."""
    cipher: BodyCipher | None = None
    """Opens the stored bodies a repeat is compared with (encryption at rest); ``row``
    and ``raw`` are then sealed already."""


class CommitMessages(msgspec.Struct, frozen=True):
    """Several messages from one caller: answered with their ``Written``, in order."""

    ops: list[CommitMessage]
    prepared: Prepared | None = None
    """The parameters of all of them for the one-statement commit (:func:`prepared`)."""


def commit_message_op(
    message: Message,
    raw: bytes | None,
    row: MessageRow,
    deliveries: list[DeliveryRow] | None,
    cipher: BodyCipher | None = None,
) -> CommitMessage:
    """A :class:`CommitMessage` with its parameters prepared (by the caller's thread);
    with a ``cipher``, ``row`` and ``raw`` are sealed already."""
    new = (*row, message.carrier, message.carrier_message_id, raw)
    return CommitMessage(message, raw, row, deliveries, prepare([new], deliveries or ()), cipher)


def sealed(op: CommitMessage, cipher: BodyCipher) -> CommitMessage:
    """``op`` (not yet prepared) with its body and raw payload sealed under ``cipher``."""
    row, raw = seal_row(cipher, op.row, op.raw)
    return CommitMessage(op.message, raw, row, op.deliveries, cipher=cipher)


def prepared(ops: Sequence[CommitMessage]) -> Prepared:
    """The parameters of ``ops`` as new messages, made by whoever submits them (see
    :class:`~._sqlite_incoming.Prepared`)."""
    return prepare(*_new_rows(ops))


def _new_rows(ops: Sequence[CommitMessage]) -> tuple[list[NewMessageRow], list[DeliveryRow]]:
    """The rows of ``ops`` as new messages, and their outbox rows."""
    rows: list[NewMessageRow] = []
    outbox_rows: list[DeliveryRow] = []
    for op in ops:
        message = op.message
        rows.append((*op.row, message.carrier, message.carrier_message_id, op.raw))
        if op.deliveries:
            outbox_rows.extend(op.deliveries)
    return rows, outbox_rows


def _repeated(parts: Sequence[Prepared]) -> bool:
    """Whether two messages of ``parts`` share an id or a carrier id."""
    ids: set[bytes] = set()
    keys: set[tuple[str, str]] = set()
    for part in parts:
        ids |= part.ids
        keys |= part.carrier_keys
    return len(ids) < sum(part.messages for part in parts) or len(keys) < sum(
        part.carrier_ids for part in parts
    )


class AddPart(msgspec.Struct, frozen=True):
    part: BufferedPart
    body: bytes | None = None
    """The part's record as stored, when sealed (encryption at rest); else encoded here."""
    cipher: BodyCipher | None = None


class CompletePartSet(msgspec.Struct, frozen=True):
    set_key: str
    message: Message
    raw: bytes | None
    row: MessageRow
    deliveries: list[DeliveryRow] | None = None
    cipher: BodyCipher | None = None


class AddParts(msgspec.Struct, frozen=True):
    """Parts of one set (distinct seqs), added in order until the set is complete;
    ``complete`` completes it in the same transaction when they were all stored and are
    then the whole set."""

    parts: list[AddPart]
    complete: CompletePartSet | None = None
    prepared: Prepared | None = None
    """When the parts are a whole set and ``complete`` its message: the parameters that
    write the message straight away, the parts' carrier ids mapped to it, in the
    one-statement commit of new messages (:mod:`._sqlite_incoming`). Should the set
    have parts stored, or a carrier id be known, the statement fails and the parts are
    added the careful way."""


class CommitStatus(msgspec.Struct, frozen=True):
    report: StatusReport


WriteOp = (
    CommitMessage | CommitMessages | AddPart | AddParts | CompletePartSet | CommitStatus | OutboxOp
)


class Each(msgspec.Struct, frozen=True):
    """Writes one caller submits together (``BatchWriter.submit_each``): they go in the
    same batch, each applied and answered as if submitted alone."""

    ops: list[WriteOp]


def op_rows(op: WriteOp | Each) -> int:
    """How many rows ``op`` writes, roughly: what a batch of writes is measured in."""
    if isinstance(op, Each):
        return sum(op_rows(one) for one in op.ops)
    if isinstance(op, CommitMessages):
        return len(op.ops)
    return len(op.parts) if isinstance(op, AddParts) else 1


def whole_set_op(op: AddParts, row: MessageRow, message: Message) -> AddParts:
    """``op`` with its parameters for the one-statement commit, when its parts are the
    whole set its ``complete`` makes; else ``op`` unchanged."""
    complete = op.complete
    parts = [one.part for one in op.parts]
    total = parts[0].total
    if complete is None or {part.seq for part in parts} != set(range(1, total + 1)):
        return op
    own = (message.carrier, message.carrier_message_id)
    part_ids = [
        (part.carrier, part.carrier_message_id)
        for part in parts
        if part.carrier_message_id is not None and (part.carrier, part.carrier_message_id) != own
    ]
    new = (*complete.row, message.carrier, message.carrier_message_id, complete.raw)
    extras = whole_set_rows(parts[0].set_key, message.tenant, row[0], part_ids)
    params = prepare([new], complete.deliveries or (), extras)
    return AddParts(op.parts, complete, params)


def _whole_set_added(op: AddParts) -> PartsAdded:
    """The answer to a whole set written by the one-statement commit: what adding its
    parts one by one to an empty set, then completing it, would have answered."""
    assert op.complete is not None
    parts = [one.part for one in op.parts]
    added = tuple(
        PartAdded(outcome="stored", parts=tuple(sorted(parts[: n + 1], key=lambda p: p.seq)))
        for n in range(len(parts))
    )
    return PartsAdded(added=added, written=Written(outcome="inserted", message=op.complete.message))


def _whole_sets_apart(ops: Sequence[AddParts]) -> bool:
    """Whether no two of ``ops`` are the same set (its guard would pass for both)."""
    return len({op.parts[0].part.set_key for op in ops}) == len(ops)


def is_database_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the database failing (every write fails), not one write."""
    return isinstance(exc, sqlite3.OperationalError | sqlite3.InternalError) or (
        type(exc) is sqlite3.DatabaseError  # corruption and its kin
    )


def apply_batch(conn: sqlite3.Connection, ops: Sequence[WriteOp]) -> list[object]:
    """Run ``ops`` in one transaction; each answer is a result or that write's error.

    A batch of new messages and delivery outcomes only, the common one, is one
    autocommit statement (:mod:`._sqlite_incoming`); anything else, or a repeat in it,
    takes a transaction, in which those that can still go in one statement do.
    """
    joining = [i for i, op in enumerate(ops) if _joins(op)]
    if len(joining) == len(ops) and not conn.in_transaction:
        try:
            answers = _commit_together(conn, ops)
        except sqlite3.IntegrityError:
            answers = None  # a repeat of what is stored: the statement wrote nothing
        if answers is not None:
            return answers
        joining = []  # a repeat: the careful way for every write
    conn.execute("BEGIN IMMEDIATE")
    try:
        results = _apply_at_once(conn, ops, joining) if joining else None
        if results is None:
            results = _apply(conn, ops, joining)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            # The first error says what went wrong; SQLite rolls back anyway.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return results


def _joins(op: WriteOp) -> bool:
    """Whether ``op`` can go in the one statement of new messages (see
    :mod:`._sqlite_incoming`): a message commit or a whole set with its parameters, or
    a delivery outcome."""
    if isinstance(op, FinishAttempt):
        return op.params is not None
    return isinstance(op, CommitMessage | CommitMessages | AddParts) and op.prepared is not None


def _commit_together(conn: sqlite3.Connection, ops: Sequence[WriteOp]) -> list[object] | None:
    """Answers for ``ops`` (which all :func:`join <_joins>`), written by one statement;
    None, with nothing written, when they do not fit in one or one repeats another.
    :class:`sqlite3.IntegrityError` (nothing written) when one repeats what is stored."""
    parts: list[Prepared] = []
    wholes: list[AddParts] = []
    finished: list[FinishAttempt] = []
    attempts: list[tuple[object, ...]] = []
    for op in ops:
        if isinstance(op, FinishAttempt):
            assert op.params is not None
            finished.append(op)
            attempts.append(op.params)
            continue
        assert isinstance(op, CommitMessage | CommitMessages | AddParts)
        assert op.prepared is not None
        if isinstance(op, AddParts):
            wholes.append(op)
        parts.append(op.prepared)
    messages = sum(part.messages for part in parts)
    deliveries = sum(part.deliveries for part in parts)
    extras = sum(part.extras for part in parts)
    if not fits(messages, deliveries, extras, len(finished)):
        return None
    if _repeated(parts) or not _whole_sets_apart(wholes) or not distinct_deliveries(finished):
        return None  # a repeat within the batch
    insert_prepared(conn, parts, attempts)
    answers: list[object] = []
    for op in ops:
        if isinstance(op, FinishAttempt):
            answers.append(None)  # as its own write answers
        elif isinstance(op, CommitMessage):
            answers.append(Written(outcome="inserted", message=op.message))
        elif isinstance(op, AddParts):
            answers.append(_whole_set_added(op))
        else:
            assert isinstance(op, CommitMessages)
            answers.append([Written(outcome="inserted", message=one.message) for one in op.ops])
    return answers


_AT_ONCE = (
    AddPart,
    AddParts,
    CompletePartSet,
    CommitStatus,
    FinishAttempt,
    ClaimDeliveries,
)
"""The writes besides the joining ones that :func:`_apply_at_once` may run without a
savepoint each: they change nothing but the database, so running them again after a
rollback is safe."""


def _apply_at_once(
    conn: sqlite3.Connection, ops: Sequence[WriteOp], joining: list[int]
) -> list[object] | None:
    """The answers of ``ops`` written in the open transaction with no savepoint: the
    ``joining`` ones in one statement, then each other one. None when that cannot be
    done or one of them is refused: the transaction is then begun anew, nothing of it
    written, for :func:`_apply` to write them one savepoint each.

    A batch with a part, a claim or a report among its messages is common under load
    (over half the commits when an SMSC's window is full: a set's parts split between
    batches), and rarely has a write refused. Each statement is a turn for the GIL (see
    :mod:`._sqlite_incoming`), which the trio thread then waits to take back; without
    the savepoints such a batch runs about 10 statements instead of 14.
    """
    taken = set(joining)
    if not all(i in taken or isinstance(op, _AT_ONCE) for i, op in enumerate(ops)):
        return None
    try:
        together = _commit_together(conn, [ops[i] for i in joining])
        if together is None:
            return None  # nothing written: they do not fit in one statement
        return _together_then_each(conn, ops, joining, together, _write_one)
    except Exception as exc:
        if is_database_failure(exc):
            raise
        conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        return None


def _together_then_each(
    conn: sqlite3.Connection,
    ops: Sequence[WriteOp],
    joining: list[int],
    together: list[object],
    write: Callable[[sqlite3.Connection, WriteOp], object],
) -> list[object]:
    """The answers of ``ops``: ``together`` for the ``joining`` ones (written by one
    statement already), and each other one's ``write``, in order."""
    results: list[object] = [None] * len(ops)
    for i, answer in zip(joining, together, strict=True):
        results[i] = answer
    taken = set(joining)
    for i, op in enumerate(ops):
        if i not in taken:
            results[i] = write(conn, op)
    return results


def _apply(conn: sqlite3.Connection, ops: Sequence[WriteOp], joining: list[int]) -> list[object]:
    results: list[object] = [None] * len(ops)
    # The writes that can go in one statement do (``joining``: the others are claims,
    # parts, reports...), unless one of them repeats what is stored: then each kind
    # the careful way, below.
    if joining:
        together = _in_savepoint(
            conn, "together", lambda: _commit_together(conn, [ops[i] for i in joining])
        )
        if together is not None and not isinstance(together, _Refused):
            return _together_then_each(conn, ops, joining, together, _apply_one)
    # Every write in a batch was submitted concurrently, so answering the message
    # commits first is a valid order; they do not depend on the writes around them.
    # A CommitMessages joins them with its messages in its own order, so a repeat within
    # it is a duplicate of its first occurrence.
    indexes: list[int] = []
    sizes: list[int] = []
    batch: list[CommitMessage] = []
    for i, op in enumerate(ops):
        if isinstance(op, CommitMessage):
            indexes.append(i)
            sizes.append(-1)  # one message, answered with its Written alone
            batch.append(op)
        elif isinstance(op, CommitMessages):
            indexes.append(i)
            sizes.append(len(op.ops))
            batch.extend(op.ops)
    if batch:
        written = _in_savepoint(conn, "messages", lambda: _commit_messages(conn, batch, "messages"))
        if isinstance(written, _Refused):
            # Some message cannot be written: find which, one write at a time.
            for i in indexes:
                results[i] = _apply_one(conn, ops[i])
        else:
            start = 0
            for i, size in zip(indexes, sizes, strict=True):
                if size < 0:
                    results[i] = written[start]
                    start += 1
                else:
                    results[i] = written[start : start + size]
                    start += size
    # The whole sets go in one statement too, unless one of them cannot (a part was
    # seen, or its set has parts stored): then each is added the careful way.
    done: set[int] = set()
    whole = [i for i, op in enumerate(ops) if isinstance(op, AddParts) and op.prepared]
    if whole and _wholes_together(conn, [cast(AddParts, ops[i]) for i in whole]):
        for i in whole:
            results[i] = _whole_set_added(cast(AddParts, ops[i]))
        done.update(whole)
    # The delivery outcomes go together too (two statements for all), unless one of
    # them fails: then each on its own, to answer each with its own result.
    finished = [i for i, op in enumerate(ops) if isinstance(op, FinishAttempt)]
    attempts = [cast(FinishAttempt, ops[i]) for i in finished]
    if len(finished) > 1 and _finish_together(conn, attempts):
        done.update(finished)  # answered None, as each one's own write answers
    for i, op in enumerate(ops):
        if not isinstance(op, CommitMessage | CommitMessages) and i not in done:
            results[i] = _apply_one(conn, op)
    return results


def _wholes_together(conn: sqlite3.Connection, wholes: list[AddParts]) -> bool:
    """Whether the whole sets ``wholes`` were all written at once (False: nothing was)."""
    prepared = [op.prepared for op in wholes if op.prepared is not None]
    if not _whole_sets_apart(wholes) or _repeated(prepared):
        return False
    messages = sum(p.messages for p in prepared)
    if not fits(messages, sum(p.deliveries for p in prepared), sum(p.extras for p in prepared)):
        return False
    done = _in_savepoint(conn, "sets", lambda: insert_prepared(conn, prepared))
    return not isinstance(done, _Refused)


def _finish_together(conn: sqlite3.Connection, finished: list[FinishAttempt]) -> bool:
    """Whether ``finished`` were all written at once (False: nothing was written)."""
    if not distinct_deliveries(finished):
        return False
    done = _in_savepoint(conn, "finished", lambda: finish_attempts(conn, finished))
    return not isinstance(done, _Refused)


def _apply_one(conn: sqlite3.Connection, op: WriteOp) -> object:
    done = _in_savepoint(conn, "one", lambda: _write_one(conn, op))
    if not isinstance(done, _Refused):
        return done
    exc = done.error
    if isinstance(exc, sqlite3.Error):
        error = StoreError(f"the inbox refused this write: {exc}")
        error.__cause__ = exc
        return error
    return exc


def _write_one(conn: sqlite3.Connection, op: WriteOp) -> object:
    if isinstance(op, CommitMessage):
        return _commit_messages(conn, [op], "one")[0]
    if isinstance(op, CommitMessages):
        return _commit_messages(conn, op.ops, "one")
    if isinstance(op, AddPart):
        return _add_part(conn, op)
    if isinstance(op, AddParts):
        return _add_parts(conn, op)
    if isinstance(op, CompletePartSet):
        return _complete_part_set(conn, op)
    if isinstance(op, CommitStatus):
        return _commit_status(conn, op)
    return op.run(conn)


def _in_savepoint(conn: sqlite3.Connection, name: str, work: Callable[[], T]) -> T | _Refused:
    """``work()`` inside the savepoint ``name``: its result, or what it raised (as
    :class:`_Refused`) with everything it wrote rolled back. A failure of the database itself (see
    :func:`is_database_failure`) is raised: it fails the whole transaction."""
    conn.execute(f"SAVEPOINT {name}")
    try:
        result = work()
    except Exception as exc:
        if is_database_failure(exc):
            raise
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        return _Refused(exc)
    conn.execute(f"RELEASE {name}")
    return result


class _Refused:
    """What a write in a savepoint raised; everything it wrote is rolled back."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _existing_messages(conn: sqlite3.Connection, keys: Sequence[bytes]) -> dict[bytes, bytes]:
    """Message key -> body, for the keys already in the inbox."""
    found: dict[bytes, bytes] = {}
    for chunk in padded_chunks(conn, keys, 1):
        marks = ",".join("?" * len(chunk))
        found.update(conn.execute(f"SELECT id, body FROM messages WHERE id IN ({marks})", chunk))
    return found


def _known_carrier_ids(
    conn: sqlite3.Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[bytes | None, bytes | None]]:
    """(carrier, id) -> (message key or None while a buffered part holds it, its body)."""
    found: dict[tuple[str, str], tuple[bytes | None, bytes | None]] = {}
    for chunk in padded_chunks(conn, keys, 2):
        values = ",".join(["(?,?)"] * len(chunk))
        rows = conn.execute(
            f"SELECT c.carrier, c.carrier_message_id, c.message_id, m.body"
            f" FROM (VALUES {values}) AS v"
            f" JOIN carrier_ids AS c"
            f"  ON c.carrier = v.column1 AND c.carrier_message_id = v.column2"
            f" LEFT JOIN messages AS m ON m.id = c.message_id",
            [value for key in chunk for value in key],
        )
        for carrier, carrier_id, message_id, body in rows:
            found[(carrier, carrier_id)] = (message_id, body)
    return found


def _commit_messages(
    conn: sqlite3.Connection, ops: Sequence[CommitMessage], savepoint: str
) -> list[Written]:
    """Insert the messages of ``ops`` (or find the originals they repeat), in order,
    inside the caller's open ``savepoint``.

    Almost every message in a batch is new, so the batch is first written as if all
    were: the unique keys of ``messages`` and ``carrier_ids`` refuse a repeat (of an id,
    or of a carrier id held by a message or a buffered part). Only then is the batch
    rolled back to ``savepoint`` and written the careful way, which looks every key up
    first. That saves two lookups per message, and their statement steps (each step
    hands the GIL back and waits to retake it, behind the trio thread).
    """
    try:
        written = _commit_new_messages(conn, ops)
    except sqlite3.IntegrityError:
        conn.execute(f"ROLLBACK TO {savepoint}")
        written = None
    return written if written is not None else _commit_looked_up(conn, ops)


def _commit_new_messages(
    conn: sqlite3.Connection, ops: Sequence[CommitMessage]
) -> list[Written] | None:
    """Write ``ops`` as new messages; None, with nothing written, if two of them are
    the same; :class:`sqlite3.IntegrityError` if one repeats what is stored."""
    part = ops[0].prepared if len(ops) == 1 and ops[0].prepared is not None else prepared(ops)
    if _repeated([part]):
        return None
    if fits(part.messages, part.deliveries):
        insert_prepared(conn, [part])
    else:
        insert_new(conn, *_new_rows(ops))
    return [Written(outcome="inserted", message=op.message) for op in ops]


def _commit_looked_up(conn: sqlite3.Connection, ops: Sequence[CommitMessage]) -> list[Written]:
    cipher = ops[0].cipher  # one store's ops: one cipher
    existing = _existing_messages(conn, [op.row[0] for op in ops])
    keys = [
        (op.message.carrier, op.message.carrier_message_id)
        for op in ops
        if op.message.carrier_message_id is not None
    ]
    known = _known_carrier_ids(conn, keys) if keys else {}
    by_id: dict[bytes, Message] = {}
    by_key: dict[tuple[str, str], Message] = {}
    rows: list[NewMessageRow] = []
    outbox_rows: list[DeliveryRow] = []
    results: list[Written] = []
    for op in ops:
        message = op.message
        row = op.row
        message_id = row[0]
        original = by_id.get(message_id)
        if original is None and existing and message_id in existing:
            original = open_message(existing[message_id], message_id, cipher)
        key = None
        if original is None and message.carrier_message_id is not None:
            key = (message.carrier, message.carrier_message_id)
            original = by_key.get(key)
            hit = known.get(key) if known else None
            if hit is not None:
                if original is None and hit[0] is not None and hit[1] is not None:
                    original = open_message(hit[1], hit[0], cipher)
                # Held by a buffered part (or by a message we cannot read): the
                # message is kept, but the carrier id stays with what holds it.
                key = None
        if original is not None:
            results.append(Written(outcome="duplicate", message=original))
            continue
        by_id[message_id] = message
        if key is not None:
            by_key[key] = message
        rows.append((*row, message.carrier, None if key is None else key[1], op.raw))
        if op.deliveries:
            outbox_rows.extend(op.deliveries)
        results.append(Written(outcome="inserted", message=message))
    insert_new(conn, rows, outbox_rows)
    return results


def _link_waiting_reports(conn: sqlite3.Connection, message_key: bytes) -> None:
    """Link the status reports that arrived before their message (a completed set's,
    by any of its carrier ids): one probe of an index that is almost always empty, and
    only when it finds one, the set's carrier ids listed and the reports linked."""
    waiting = conn.execute(
        "SELECT 1 FROM status_reports WHERE message_id IS NULL AND refers_to IS NOT NULL LIMIT 1"
    ).fetchone()
    if waiting is None:
        return
    carrier_rows = conn.execute(
        "SELECT carrier, carrier_message_id, message_id FROM carrier_ids WHERE message_id = ?",
        (message_key,),
    ).fetchall()
    # Only a message of the report's own tenant: tenants are walls.
    conn.executemany(
        "UPDATE status_reports SET message_id = ?1 WHERE message_id IS NULL"
        " AND carrier = ?2 AND refers_to = ?3"
        " AND tenant = (SELECT tenant FROM messages WHERE id = ?1)",
        [(message_id, carrier, carrier_id) for carrier, carrier_id, message_id in carrier_rows],
    )


def set_parts(
    conn: sqlite3.Connection, set_key: str, cipher: BodyCipher | None = None
) -> tuple[BufferedPart, ...]:
    rows = conn.execute(
        "SELECT body, duplicates, seq FROM parts WHERE set_key = ? ORDER BY seq", (set_key,)
    )
    return tuple(
        part_of_row(body, duplicates, part_aad(set_key, seq), cipher)
        for body, duplicates, seq in rows
    )


_PARTS_AND_ID = (
    "SELECT c.found, c.message_id, p.body, p.duplicates, p.seq FROM"
    " (SELECT count(*) AS found, max(message_id) AS message_id FROM carrier_ids"
    "  WHERE carrier = ? AND carrier_message_id = ?) AS c"
    " LEFT JOIN parts AS p ON p.set_key = ? ORDER BY p.seq"
)
"""Whether a carrier id is stored (and the message it names), with the parts of a set
stored so far: one row when there are none."""


def _add_part(conn: sqlite3.Connection, op: AddPart) -> PartAdded:
    # One query answers both questions (carrier id seen? seq taken?) and lists the set;
    # a part stored is then added to that list here, not read back: three statements
    # instead of five, each a turn for the GIL.
    part = op.part
    rows = conn.execute(
        _PARTS_AND_ID, (part.carrier, part.carrier_message_id, part.set_key)
    ).fetchall()
    found, held_key = rows[0][0], rows[0][1]
    parts = [
        part_of_row(body, duplicates, part_aad(part.set_key, seq), op.cipher)
        for _, _, body, duplicates, seq in rows
        if seq is not None
    ]
    if found:
        held = None if held_key is None else message_id_of(held_key)
        return PartAdded(outcome="seen", parts=tuple(parts), message_id=held)
    if any(one.seq == part.seq for one in parts):
        conn.execute(
            "UPDATE parts SET duplicates = duplicates + 1 WHERE set_key = ? AND seq = ?",
            (part.set_key, part.seq),
        )
        return PartAdded(outcome="duplicate", parts=set_parts(conn, part.set_key, op.cipher))
    conn.execute(
        "INSERT INTO parts (set_key, seq, carrier, carrier_message_id, expires_at, body)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            part.set_key,
            part.seq,
            part.carrier,
            part.carrier_message_id,
            micros(part.expires_at),
            encode(part) if op.body is None else op.body,
        ),
    )
    if part.carrier_message_id is not None:
        conn.execute(
            "INSERT INTO carrier_ids (carrier, carrier_message_id, message_id) VALUES (?, ?, NULL)",
            (part.carrier, part.carrier_message_id),
        )
    parts.append(part)  # as reading its row back would give it
    parts.sort(key=lambda one: one.seq)
    return PartAdded(outcome="stored", parts=tuple(parts))


def _add_parts(conn: sqlite3.Connection, op: AddParts) -> PartsAdded:
    added: list[PartAdded] = []
    for one in op.parts:
        added.append(_add_part(conn, one))
        if len({part.seq for part in added[-1].parts}) >= one.part.total:
            break  # complete: the parts after this one come after its completion
    complete = op.complete
    answers = tuple(added)
    if (
        complete is None
        or len(added) < len(op.parts)
        or any(answer.outcome != "stored" for answer in added)
        or {part.seq for part in added[-1].parts} != {one.part.seq for one in op.parts}
    ):
        return PartsAdded(added=answers)  # not the set ``complete`` was built from
    return PartsAdded(added=answers, written=_complete_part_set(conn, complete))


def _complete_part_set(conn: sqlite3.Connection, op: CompletePartSet) -> Written:
    message = op.message
    message_id = op.row[0]
    original: Message | None = None
    # Stored already, under its id or its carrier id? One query for both.
    row = conn.execute(
        "SELECT 0 AS o, id, body FROM messages WHERE id = ?1 UNION ALL"
        " SELECT 1, m.id, m.body FROM carrier_ids AS c JOIN messages AS m ON m.id = c.message_id"
        " WHERE c.carrier = ?2 AND c.carrier_message_id = ?3 ORDER BY o LIMIT 1",
        (message_id, message.carrier, message.carrier_message_id),
    ).fetchone()
    if row is not None:
        original = open_message(row[2], row[1], op.cipher)
    target = original or message
    if original is None:
        # Without its carrier id: the parts' ids are mapped below, then the message's.
        insert_new(conn, [(*op.row, message.carrier, None, op.raw)], op.deliveries or ())
    # The parts' carrier ids now name the message, so a late retry of a part dedupes.
    conn.execute(
        "UPDATE carrier_ids SET message_id = ? WHERE message_id IS NULL"
        " AND (carrier, carrier_message_id) IN (SELECT carrier, carrier_message_id"
        "  FROM parts WHERE set_key = ? AND carrier_message_id IS NOT NULL)",
        (message_key(target.id), op.set_key),
    )
    if original is None and message.carrier_message_id is not None:
        conn.execute(
            "INSERT INTO carrier_ids (carrier, carrier_message_id, message_id)"
            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (message.carrier, message.carrier_message_id, message_id),
        )
    if original is None:
        _link_waiting_reports(conn, message_id)
    conn.execute("DELETE FROM parts WHERE set_key = ?", (op.set_key,))
    return Written(outcome="inserted" if original is None else "duplicate", message=target)


def _commit_status(conn: sqlite3.Connection, op: CommitStatus) -> StatusReport:
    report = op.report
    row = conn.execute("SELECT body FROM status_reports WHERE id = ?", (report.id,)).fetchone()
    if row is None and report.carrier_message_id is not None:
        row = conn.execute(
            "SELECT body FROM status_reports WHERE carrier = ? AND carrier_message_id = ?",
            (report.carrier, report.carrier_message_id),
        ).fetchone()
    if row is not None:
        return decode_status(row[0])
    if report.message_id is None and report.refers_to is not None:
        # Only a message of the report's own tenant: tenants are walls.
        linked = conn.execute(
            "SELECT m.id FROM carrier_ids AS c JOIN messages AS m ON m.id = c.message_id"
            " WHERE c.carrier = ? AND c.carrier_message_id = ? AND m.tenant = ?",
            (report.carrier, report.refers_to, report.tenant),
        ).fetchone()
        if linked is not None:
            report = msgspec.structs.replace(report, message_id=message_id_of(linked[0]))
    conn.execute(
        "INSERT INTO status_reports (id, tenant, carrier, carrier_message_id, refers_to,"
        " message_id, received_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            report.id,
            report.tenant,
            report.carrier,
            report.carrier_message_id,
            report.refers_to,
            None if report.message_id is None else message_key(report.message_id),
            micros(report.received_at),
            encode(report),
        ),
    )
    return report
