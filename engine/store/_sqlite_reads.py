"""The queries, as a reader thread runs them on one of the pool's connections.

Every query about messages names the tenant, so an id of another tenant's message
answers nothing at all, exactly like an id that does not exist.

Text search has no index (the ingest path pays for every index on ``messages``): a
reader connection gets a SQL function, :func:`prepare_reader`, that decodes a row's
content and matches it as Python compares text, not as SQLite's ``LIKE`` does (which
folds the case of ASCII letters only). A sealed body (encryption at rest) is opened
there first; one that cannot be opened counts as a match, so the read that returns it
raises the typed error (:class:`~engine._crypto.UnknownKeyError`) instead of hiding it.

Every read that decodes a body takes the store's cipher (None without encryption at
rest): a sealed body is opened, a plain one read as it is.

Everything here blocks: the store runs it in a worker thread.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from itertools import groupby

import msgspec

from .._crypto import BodyCipher, EncryptionError, open_body, open_sealed
from ..model import Message, StatusReport
from ._protocol import BufferedPart, MessageQuery
from ._sqlite_rows import (
    decode_status,
    message_key,
    micros,
    open_message,
    part_aad,
    part_of_row,
    raw_aad,
)

__all__ = [
    "find_by_carrier_id",
    "get_message",
    "list_messages",
    "part_sets",
    "prepare_reader",
    "raw_payload",
    "search_key",
    "status_reports",
]

_CONTAINS = "septet_content_contains"
"""The SQL function :func:`prepare_reader` registers: ``(body, id, key) -> 0 or 1``."""


class _Content(msgspec.Struct):
    content: str = ""


_decode_content = msgspec.json.Decoder(_Content).decode


def search_key(text: str) -> str:
    """``text`` as a search compares it: NFKC-normalized, then case-folded, so case and
    compatibility forms never matter ("STRASSE" and "straße", "ПРИВЕТ" and "привет",
    a full-width letter and its ASCII one), in any script."""
    return unicodedata.normalize("NFKC", text).casefold()


def _content_contains(body: bytes, key: str) -> bool:
    try:
        content = _decode_content(body).content
    except msgspec.DecodeError:
        return False
    return key in search_key(content)


def prepare_reader(conn: sqlite3.Connection, cipher: BodyCipher | None = None) -> None:
    """Register the text-search function on a new reader connection; ``cipher`` opens
    sealed bodies."""

    def contains(body: bytes, message_key_: bytes, key: str) -> bool:
        if body[:1] != b"{":
            try:
                body = open_sealed(body, b"msg" + message_key_, cipher)
            except EncryptionError:
                return True  # returned, and refused with its typed error when decoded
        return _content_contains(body, key)

    conn.create_function(_CONTAINS, 3, contains, deterministic=True)


def get_message(
    conn: sqlite3.Connection, tenant: str, message_id: str, cipher: BodyCipher | None = None
) -> Message | None:
    key = message_key(message_id)
    row = conn.execute(
        "SELECT body FROM messages WHERE id = ? AND tenant = ?", (key, tenant)
    ).fetchone()
    return None if row is None else open_message(row[0], key, cipher)


def find_by_carrier_id(
    conn: sqlite3.Connection,
    tenant: str,
    carrier: str,
    carrier_message_id: str,
    cipher: BodyCipher | None = None,
) -> Message | None:
    row = conn.execute(
        "SELECT m.id, m.body FROM carrier_ids AS c JOIN messages AS m ON m.id = c.message_id"
        " WHERE c.carrier = ? AND c.carrier_message_id = ? AND m.tenant = ?",
        (carrier, carrier_message_id, tenant),
    ).fetchone()
    return None if row is None else open_message(row[1], row[0], cipher)


def list_messages(
    conn: sqlite3.Connection, query: MessageQuery, cipher: BodyCipher | None = None
) -> list[Message]:
    """``since`` is inclusive and ``until`` exclusive (on ``received_at``); ``after`` and
    ``before`` are exclusive (on the id); a ``limit`` below 1 answers nothing. ``text``
    needs the function :func:`prepare_reader` registers on ``conn``."""
    if query.limit < 1:
        return []
    where = ["tenant = ?"]
    args: list[object] = [query.tenant]
    for clause, value in (
        ("number_used = ?", query.number),
        ("sender_id = ?", query.sender),
        ("id > ?", None if query.after is None else _cursor(query.after)),
        ("id < ?", None if query.before is None else _cursor(query.before)),
        ("received_at >= ?", None if query.since is None else micros(query.since)),
        ("received_at < ?", None if query.until is None else micros(query.until)),
        ("has_otp = ?", query.has_otp),
        # Last: SQLite tries the cheap comparisons first, this one only on what is left.
        (f"{_CONTAINS}(body, id, ?)", None if query.text is None else search_key(query.text)),
    ):
        if value is not None:
            where.append(clause)
            args.append(value)
    order = "ASC" if query.oldest_first else "DESC"
    args.append(query.limit)
    rows = conn.execute(
        f"SELECT id, body FROM messages WHERE {' AND '.join(where)} ORDER BY id {order} LIMIT ?",
        args,
    )
    return [open_message(body, key, cipher) for key, body in rows]


def _cursor(message_id: str) -> bytes:
    key = message_key(message_id)
    if not key:
        raise ValueError(f"not a message id: {message_id!r}")
    return key


def status_reports(conn: sqlite3.Connection, tenant: str, message_id: str) -> list[StatusReport]:
    rows = conn.execute(
        "SELECT body FROM status_reports WHERE message_id = ? AND tenant = ?"
        " ORDER BY received_at, id",
        (message_key(message_id), tenant),
    )
    reports = []
    for (body,) in rows:
        report = decode_status(body)
        if report.message_id is None:  # it came before its message, and was linked since
            report = msgspec.structs.replace(report, message_id=message_id)
        reports.append(report)
    return reports


def raw_payload(
    conn: sqlite3.Connection, tenant: str, message_id: str, cipher: BodyCipher | None = None
) -> bytes | None:
    key = message_key(message_id)
    row = conn.execute(
        "SELECT r.data FROM raw_payloads AS r JOIN messages AS m ON m.id = r.message_id"
        " WHERE r.message_id = ? AND m.tenant = ?",
        (key, tenant),
    ).fetchone()
    return None if row is None else bytes(open_body(bytes(row[0]), raw_aad(key), cipher))


def part_sets(
    conn: sqlite3.Connection, expired_before: datetime | None, cipher: BodyCipher | None = None
) -> list[tuple[BufferedPart, ...]]:
    """Sets ordered by their earliest expiry (the most overdue first), parts by seq."""
    having, args = "", []
    if expired_before is not None:
        having, args = "HAVING min(expires_at) < ?", [micros(expired_before)]
    rows = conn.execute(
        "SELECT p.set_key, p.body, p.duplicates, p.seq FROM parts AS p JOIN ("
        f" SELECT set_key, min(expires_at) AS due FROM parts GROUP BY set_key {having}"
        ") AS s ON s.set_key = p.set_key ORDER BY s.due, p.set_key, p.seq",
        args,
    )
    return [
        tuple(
            part_of_row(body, duplicates, part_aad(set_key, seq), cipher)
            for set_key, body, duplicates, seq in group
        )
        for _, group in groupby(rows, key=_key)
    ]


def _key(row: Sequence[object]) -> object:
    return row[0]
