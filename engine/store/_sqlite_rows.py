"""How records become SQLite rows, and how many keys go into one lookup.

Records are stored whole as msgspec JSON: it keeps a datetime's offset exactly (msgpack
would normalise ``sentAt`` to UTC) and reads back with one decode. Times that queries
compare are also kept as integer microseconds since the epoch, UTC. Message ids are kept
as the 16 bytes their hex digits stand for (:func:`message_key`).

Lookups take many keys per statement (:func:`padded_chunks`) rather than one each: each
statement step releases and retakes the GIL, and with the trio thread busy every retake
can wait. Chunk sizes are powers of two so a handful of prepared statements serve every
batch size from the connection's statement cache. (New rows are written through
:mod:`._sqlite_incoming`.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from .._crypto import BodyCipher, open_sealed
from .._ids import id_digits
from ..model import Message, StatusReport
from ._protocol import BufferedPart

__all__ = [
    "MessageRow",
    "decode_message",
    "decode_part",
    "decode_status",
    "delivery_id_of",
    "delivery_key",
    "encode",
    "id_key",
    "message_id_of",
    "message_key",
    "message_row",
    "micros",
    "open_message",
    "padded_chunks",
    "part_aad",
    "part_of_row",
    "raw_aad",
    "seal_row",
]

_encoder = msgspec.json.Encoder()
encode = _encoder.encode
encode_into = _encoder.encode_into
decode_message = msgspec.json.Decoder(Message).decode
decode_part = msgspec.json.Decoder(BufferedPart).decode
decode_status = msgspec.json.Decoder(StatusReport).decode

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MAX_ROWS_PER_STATEMENT = 256

MessageRow = tuple[bytes, str, str, str, int, int, bytearray]

_NO_ROW = b""
"""The key of an id no row can have: it matches nothing."""


def id_key(record_id: str, prefix: str) -> bytes:
    """The key of ``record_id`` (``<prefix>_`` and 32 hex digits) in the tables: the 16
    bytes of its hex digits.

    An id that is not one Septet makes with ``prefix`` (a typo in a request, an id of
    another kind) gets a key that matches no row, so a lookup answers nothing rather
    than failing.
    """
    digits = id_digits(record_id, prefix)
    return _NO_ROW if digits is None else bytes.fromhex(digits)


def message_key(message_id: str) -> bytes:
    """:func:`id_key` for a message id (``msg_...``)."""
    return id_key(message_id, "msg")


def delivery_key(delivery_id: str) -> bytes:
    """:func:`id_key` for a delivery id (``dlv_...``)."""
    return id_key(delivery_id, "dlv")


def message_id_of(key: bytes) -> str:
    """The message id a key stands for (the inverse of :func:`message_key`)."""
    return "msg_" + key.hex()


def delivery_id_of(key: bytes) -> str:
    """The delivery id a key stands for (the inverse of :func:`delivery_key`)."""
    return "dlv_" + key.hex()


def part_of_row(
    body: bytes, duplicates: int, row: bytes = b"", cipher: BodyCipher | None = None
) -> BufferedPart:
    """A buffered part from its row: the stored record (opened if sealed for ``row``,
    its :func:`part_aad`), with the store's repeat count."""
    if body[:1] != b"{":
        body = open_sealed(body, row, cipher)
    part = decode_part(body)
    return msgspec.structs.replace(part, duplicates=duplicates) if duplicates else part


def open_message(body: bytes, key: bytes, cipher: BodyCipher | None) -> Message:
    """The message a ``messages`` row holds: its body decoded, opened first if sealed
    (a plain body is msgspec JSON, which starts with ``{``)."""
    if body[:1] != b"{":
        body = open_sealed(body, b"msg" + key, cipher)
    return decode_message(body)


def seal_row(
    cipher: BodyCipher, row: MessageRow, raw: bytes | None
) -> tuple[MessageRow, bytes | None]:
    """A ``messages`` row and its raw payload with the body and the payload sealed
    (encryption at rest), each for its own row."""
    key = row[0]
    body = bytearray(cipher.seal(row[6], b"msg" + key))
    return (*row[:6], body), None if raw is None else cipher.seal(raw, raw_aad(key))


def raw_aad(key: bytes) -> bytes:
    """The row a raw payload is sealed for: its message's key."""
    return b"raw" + key


def part_aad(set_key: str, seq: int) -> bytes:
    """The row a buffered part is sealed for: its set and its place in it."""
    return b"part%d|%s" % (seq, set_key.encode("utf-8", "surrogatepass"))


def micros(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime counts as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def message_row(message: Message) -> MessageRow:
    """The ``messages`` row. Encoding first also proves every text field can be bound
    (msgspec refuses lone surrogates, as SQLite's binding would).

    Raises :class:`ValueError` for an id that is not one Septet makes, before anything
    is written.
    """
    body = bytearray()  # binds to SQLite cheaper than bytes (see ._sqlite_incoming)
    encode_into(message, body)
    key = message_key(message.id)
    if not key:
        raise ValueError(f"not a message id: {message.id!r}")
    return (
        key,
        message.tenant,
        message.number_used,
        message.sender_id,
        micros(message.received_at),
        0 if message.otp is None else 1,
        body,
    )


def _rows_per_statement(conn: sqlite3.Connection, width: int) -> int:
    """The largest power of two of rows whose parameters SQLite accepts at once."""
    limit = min(
        _MAX_ROWS_PER_STATEMENT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width
    )
    size = 1
    while size * 2 <= limit:
        size *= 2
    return size


def padded_chunks(
    conn: sqlite3.Connection, items: Sequence[Any], width: int
) -> Iterator[Sequence[Any]]:
    """``items`` in chunks of a power-of-two length, the last padded with repeats of
    its final item, for lookups where a repeated key changes nothing."""
    size = _rows_per_statement(conn, width)
    for start in range(0, len(items), size):
        chunk = list(items[start : start + size])
        target = 1
        while target < len(chunk):
            target *= 2
        chunk.extend([chunk[-1]] * (target - len(chunk)))
        yield chunk
