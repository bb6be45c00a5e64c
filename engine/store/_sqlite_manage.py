"""Managing the inbox in SQLite: deleting a message, and the tombstones it leaves.

:class:`DeleteMessage` is a write op the batching writer runs (its :meth:`run` in the
writer thread, inside the batch's transaction), so a message goes with everything that
hangs off it at once, or not at all:

* the message row and its raw payload;
* its deliveries, whatever their state, and their attempt logs: an open one (``pending``,
  or ``delivering`` and due again when its lease ends) can no longer be claimed, and
  none is left for a replay that would have no message to send. An attempt already under
  way is not recalled; its outcome updates no delivery;
* the link of its status reports, which stay (the carrier's word about the message):
  ``message_id`` is cleared in the row and in the stored record;
* not its carrier ids: they stay in ``carrier_ids``, naming the deleted id, so a retried
  part is "seen" and ignored, and its own carrier id is written to
  ``message_tombstones``, which the store loads when it opens (:func:`load_tombstones`)
  and checks before a message commit, so a carrier's retry of the whole message is a
  duplicate and nothing is stored.

Everything here blocks: the writer (or, for :func:`load_tombstones`, the opener) runs it
in a worker thread.
"""

from __future__ import annotations

import sqlite3

import msgspec

from .._crypto import BodyCipher
from ._sqlite_rows import decode_status, encode, open_message

__all__ = ["CarrierKey", "DeleteMessage", "load_tombstones"]

CarrierKey = tuple[str, str]
"""(carrier, carrier message id)."""


class DeleteMessage(msgspec.Struct, frozen=True):
    """Delete the message ``key`` of ``tenant`` (see the module docstring); answers
    whether there was one."""

    tenant: str
    key: bytes
    now: int
    cipher: BodyCipher | None = None
    """Opens a sealed body (encryption at rest), for its carrier id."""

    def run(self, conn: sqlite3.Connection) -> bool:
        row = conn.execute(
            "SELECT body FROM messages WHERE id = ? AND tenant = ?", (self.key, self.tenant)
        ).fetchone()
        if row is None:
            return False
        message = open_message(row[0], self.key, self.cipher)
        if message.carrier_message_id is not None:
            conn.execute(
                "INSERT INTO message_tombstones"
                " (carrier, carrier_message_id, message_id, tenant, deleted_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (message.carrier, message.carrier_message_id, self.key, self.tenant, self.now),
            )
        conn.execute(
            "DELETE FROM delivery_attempts WHERE delivery_id IN"
            " (SELECT id FROM deliveries WHERE message_id = ?)",
            (self.key,),
        )
        conn.execute("DELETE FROM deliveries WHERE message_id = ?", (self.key,))
        reports = conn.execute(
            "SELECT id, body FROM status_reports WHERE message_id = ?", (self.key,)
        ).fetchall()
        conn.executemany(
            "UPDATE status_reports SET message_id = NULL, body = ? WHERE id = ?",
            [
                (encode(msgspec.structs.replace(decode_status(body), message_id=None)), report)
                for report, body in reports
            ],
        )
        conn.execute("DELETE FROM raw_payloads WHERE message_id = ?", (self.key,))
        conn.execute("DELETE FROM messages WHERE id = ?", (self.key,))
        return True


def load_tombstones(conn: sqlite3.Connection) -> set[CarrierKey]:
    """The carrier ids of every deleted message."""
    return {
        (carrier, carrier_id)
        for carrier, carrier_id in conn.execute(
            "SELECT carrier, carrier_message_id FROM message_tombstones"
        )
    }
