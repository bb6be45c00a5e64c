"""Retention and privacy in SQLite (``0007_retention.sql``): purging bodies past a
tenant's retention period, erasing everything held for a number or a sender, and
rewriting sealed bodies under the active key.

Every change is an op the batching writer runs (its :meth:`run` in the writer thread,
inside the batch's transaction), as the outbox's and the tenants' are:

* :class:`PurgeBodies` purges at most ``limit`` messages a transaction, so the writer is
  never held long: the text and code leave the message's record (which says
  ``purgedAt``), its raw payload is deleted, and its open deliveries become ``failed``
  (there is nothing left worth sending; a replay sends what is left). The batch that
  ends a tenant's run records how far the purge came and writes the run's audit row.
* :class:`EraseSubject` erases, in one transaction, every message of a number or a
  sender in the tenants named, with its raw payload, its deliveries and their attempt
  logs, and the buffered parts of the subject. As a deleted message does (see
  :mod:`._sqlite_manage`), an erased one leaves its carrier ids behind, so a carrier's
  retry is not stored again. Its status reports stay, unlinked, and a number's are
  stripped of the number. One audit row per tenant names the kind of subject and the
  counts, never the subject nor what the messages said.
* :class:`RotateBodies` reseals, a page at a time, what is not sealed under the active
  key (or not sealed at all).

Everything here blocks: the writer (or, for the reads, a reader) runs it in a worker
thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import msgspec

from .._crypto import MARKER, BodyCipher, open_body, open_sealed
from .._ids import new_id
from ._sqlite_outbox import from_micros
from ._sqlite_rows import (
    decode_status,
    encode,
    message_id_of,
    open_message,
    part_aad,
    raw_aad,
)
from ._sqlite_tenants import AuditStamp

__all__ = [
    "ErasedRows",
    "EraseSubject",
    "PURGED_DELIVERY_ERROR",
    "PurgeBatch",
    "PurgeBodies",
    "RetentionOp",
    "RotateBodies",
    "RotatedPage",
    "SetRetention",
    "key_usage",
    "purge_progress",
    "retention_setting",
    "subject_carrier_ids",
]

PURGED_DELIVERY_ERROR = "the message's body was purged (retention) before it was delivered"
"""The ``last_error`` of an open delivery the purge closed."""

SubjectColumn = Literal["number_used", "sender_id"]

_OPEN = "('pending', 'delivering')"


# Retention settings -------------------------------------------------------------------


class SetRetention(msgspec.Struct, frozen=True, kw_only=True):
    """Set a tenant's retention period (``days`` None: keep forever), or with
    ``inherit`` drop its own so the config's default applies; answers whether the
    setting changed (an unchanged one writes no audit row)."""

    tenant: str
    days: int | None
    inherit: bool
    stamp: AuditStamp

    def run(self, conn: sqlite3.Connection) -> bool:
        found = conn.execute(
            "SELECT body_days FROM retention_policies WHERE tenant = ?", (self.tenant,)
        ).fetchone()
        if self.inherit:
            if found is None:
                return False
            conn.execute("DELETE FROM retention_policies WHERE tenant = ?", (self.tenant,))
            self.stamp.record(conn, self.tenant, "retention.inherit", self.tenant)
            return True
        if found is not None and found[0] == self.days:
            return False
        conn.execute(
            "INSERT INTO retention_policies (tenant, body_days, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (tenant) DO UPDATE SET body_days = excluded.body_days,"
            " updated_at = excluded.updated_at",
            (self.tenant, self.days, self.stamp.now),
        )
        details = {"days": self.days, "before": None if found is None else found[0]}
        self.stamp.record(conn, self.tenant, "retention.set", self.tenant, details)
        return True


def retention_setting(conn: sqlite3.Connection, tenant: str) -> tuple[int | None, datetime] | None:
    """A tenant's own period (days, None for forever) and when it was set; None when
    it has none."""
    row = conn.execute(
        "SELECT body_days, updated_at FROM retention_policies WHERE tenant = ?", (tenant,)
    ).fetchone()
    return None if row is None else (row[0], from_micros(row[1]))


def purge_progress(conn: sqlite3.Connection, tenant: str) -> bytes:
    """The key the tenant's next purge starts at (every message below it is purged)."""
    row = conn.execute(
        "SELECT purged_below FROM retention_progress WHERE tenant = ?", (tenant,)
    ).fetchone()
    return b"" if row is None else bytes(row[0])


# The purge ----------------------------------------------------------------------------


class PurgeBatch(msgspec.Struct, frozen=True, kw_only=True):
    """What one :class:`PurgeBodies` did: ``purged`` messages; ``resume`` is where the
    next batch starts, None once the run reached its cutoff."""

    purged: int
    resume: bytes | None


class PurgeBodies(msgspec.Struct, frozen=True, kw_only=True):
    """Purge the bodies of the tenant's messages whose key is in ``[start, below)``,
    reading at most ``limit`` rows; the batch that reaches ``below`` records the
    progress and, when the run (``counted`` so far, with this batch) purged anything,
    its audit row."""

    tenant: str
    start: bytes
    below: bytes
    limit: int
    now: int
    counted: int
    days: int
    stamp: AuditStamp
    cipher: BodyCipher | None = None

    def run(self, conn: sqlite3.Connection) -> PurgeBatch:
        rows = conn.execute(
            "SELECT id, body, purged_at FROM messages"
            " WHERE tenant = ? AND id >= ? AND id < ? ORDER BY id LIMIT ?",
            (self.tenant, self.start, self.below, self.limit),
        ).fetchall()
        moment = from_micros(self.now)
        bodies: list[tuple[bytes | bytearray, int, bytes]] = []
        keys: list[tuple[bytes]] = []
        for key, body, purged_at in rows:
            if purged_at is not None:
                continue
            message = open_message(body, key, self.cipher)
            shell = encode(msgspec.structs.replace(message, content="", otp=None, purged_at=moment))
            if self.cipher is not None:
                shell = self.cipher.seal(shell, b"msg" + key)
            bodies.append((shell, self.now, key))
            keys.append((key,))
        if bodies:
            conn.executemany(
                "UPDATE messages SET body = ?, has_otp = 0, purged_at = ? WHERE id = ?", bodies
            )
            conn.executemany("DELETE FROM raw_payloads WHERE message_id = ?", keys)
            conn.executemany(
                "UPDATE deliveries SET status = 'failed', last_error = ?, updated_at = ?"
                f" WHERE message_id = ? AND status IN {_OPEN}",
                [(PURGED_DELIVERY_ERROR, self.now, key) for (key,) in keys],
            )
        if len(rows) == self.limit:
            # The smallest key after the last one read: a key and a zero byte sort
            # right after it and before every other 16-byte key.
            return PurgeBatch(purged=len(bodies), resume=bytes(rows[-1][0]) + b"\x00")
        conn.execute(
            "INSERT INTO retention_progress (tenant, purged_below) VALUES (?, ?)"
            " ON CONFLICT (tenant) DO UPDATE SET purged_below = max(purged_below,"
            " excluded.purged_below)",
            (self.tenant, self.below),
        )
        total = self.counted + len(bodies)
        if total:
            details = {"messages": total, "days": self.days}
            self.stamp.record(conn, self.tenant, "retention.purge", self.tenant, details)
        return PurgeBatch(purged=len(bodies), resume=None)


# Erasure ------------------------------------------------------------------------------


class ErasedRows(msgspec.Struct, frozen=True, kw_only=True):
    """What :class:`EraseSubject` erased, by tenant (those it named, even with nothing
    erased), and the carrier ids it left as tombstones."""

    counts: dict[str, dict[str, int]]
    message_ids: list[str]
    tombstones: list[tuple[str, str]]


class EraseSubject(msgspec.Struct, frozen=True, kw_only=True):
    """Erase every message of the tenants in ``tenants`` whose ``column`` is ``value``,
    with what hangs off it. Buffered parts belong to no tenant until their set
    completes: with ``parts_tenant`` (the tenant they would be filed under, one of
    ``tenants``) the subject's parts go too, counted with that tenant. One audit row per
    tenant (with ``operator_wide``, only those where something was erased) and, with
    ``operator_wide``, one more, of no tenant, with the totals."""

    tenants: list[str]
    column: SubjectColumn
    value: str
    parts_tenant: str | None
    operator_wide: bool
    actor: str
    now: int
    cipher: BodyCipher | None = None

    def run(self, conn: sqlite3.Connection) -> ErasedRows:
        counts: dict[str, dict[str, int]] = {}
        message_ids: list[str] = []
        tombstones: list[tuple[str, str]] = []
        for tenant in self.tenants:
            counted = self._erase_messages(conn, tenant, message_ids, tombstones)
            counted["statusReports"] += self._strip_reports(conn, tenant)
            if tenant == self.parts_tenant:
                counted["parts"] = _erase_parts(conn, self.column, self.value)
            counts[tenant] = counted
        subject = "number" if self.column == "number_used" else "sender"
        for tenant, counted in counts.items():
            if self.operator_wide and not any(counted.values()):
                continue
            self._stamp().record(conn, tenant, "erasure", subject, counted)
        if self.operator_wide:
            totals = {name: sum(c[name] for c in counts.values()) for name in _COUNTED}
            details = {**totals, "tenants": sum(1 for c in counts.values() if any(c.values()))}
            self._stamp().record(conn, None, "erasure", subject, details)
        return ErasedRows(counts=counts, message_ids=message_ids, tombstones=tombstones)

    def _stamp(self) -> AuditStamp:
        return AuditStamp(id=new_id("aud"), actor=self.actor, now=self.now)

    def _erase_messages(
        self,
        conn: sqlite3.Connection,
        tenant: str,
        message_ids: list[str],
        tombstones: list[tuple[str, str]],
    ) -> dict[str, int]:
        counted = dict.fromkeys(_COUNTED, 0)
        rows = conn.execute(
            f"SELECT id, body FROM messages WHERE tenant = ? AND {self.column} = ?",
            (tenant, self.value),
        ).fetchall()
        if not rows:
            return counted
        keys = [(bytes(key),) for key, _ in rows]
        buried = []
        for key, body in rows:
            message = open_message(body, key, self.cipher)
            message_ids.append(message_id_of(key))
            if message.carrier_message_id is not None:
                tombstones.append((message.carrier, message.carrier_message_id))
                buried.append((message.carrier, message.carrier_message_id, key, tenant, self.now))
        conn.executemany(
            "INSERT INTO message_tombstones"
            " (carrier, carrier_message_id, message_id, tenant, deleted_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            buried,
        )
        counted["messages"] = len(rows)
        counted["attempts"] = conn.executemany(
            "DELETE FROM delivery_attempts WHERE delivery_id IN"
            " (SELECT id FROM deliveries WHERE message_id = ?)",
            keys,
        ).rowcount
        counted["deliveries"] = conn.executemany(
            "DELETE FROM deliveries WHERE message_id = ?", keys
        ).rowcount
        counted["rawPayloads"] = conn.executemany(
            "DELETE FROM raw_payloads WHERE message_id = ?", keys
        ).rowcount
        reports: list[tuple[bytes, str]] = []
        for (key,) in keys:
            reports += conn.execute(
                "SELECT body, id FROM status_reports WHERE message_id = ?", (key,)
            ).fetchall()
        counted["statusReports"] = self._rewrite_reports(conn, reports)
        conn.executemany("DELETE FROM messages WHERE id = ?", keys)
        return counted

    def _strip_reports(self, conn: sqlite3.Connection, tenant: str) -> int:
        """For a number: the tenant's other status reports on it lose the number."""
        if self.column != "number_used":
            return 0
        found = [
            (body, report_id)
            for body, report_id in conn.execute(
                "SELECT body, id FROM status_reports WHERE tenant = ?", (tenant,)
            )
            if decode_status(body).number_used == self.value
        ]
        return self._rewrite_reports(conn, found)

    def _rewrite_reports(
        self, conn: sqlite3.Connection, reports: Sequence[tuple[bytes, str]]
    ) -> int:
        """Unlink ``reports`` (body, id) from their message and, for a number, strip it.
        The rows stay: a carrier's retry of a report is still recognised."""
        rewritten = []
        for body, report_id in reports:
            report = msgspec.structs.replace(decode_status(body), message_id=None)
            if self.column == "number_used":
                report = msgspec.structs.replace(report, number_used="")
            rewritten.append((encode(report), report_id))
        conn.executemany(
            "UPDATE status_reports SET message_id = NULL, body = ? WHERE id = ?", rewritten
        )
        return len(rewritten)


_COUNTED = ("messages", "rawPayloads", "deliveries", "attempts", "statusReports", "parts")


def _erase_parts(conn: sqlite3.Connection, column: SubjectColumn, value: str) -> int:
    """Delete the buffered parts whose set is of the number or sender ``value``. Their
    carrier ids stay (a retried part is "seen" and not stored again)."""
    doomed = [
        (set_key, seq)
        for set_key, seq, carrier in conn.execute("SELECT set_key, seq, carrier FROM parts")
        if _set_subject(set_key, carrier, column) == value
    ]
    conn.executemany("DELETE FROM parts WHERE set_key = ? AND seq = ?", doomed)
    return len(doomed)


def _set_subject(set_key: str, carrier: str, column: SubjectColumn) -> str | None:
    """The receiving number or the sender a set key names.

    A set key is ``source|carrier|number|kind:sender|reference/bits|total`` (see
    :func:`engine.pipeline._reassembly.set_key`). The carrier is the part's own column
    and a number holds no ``|``, so the key splits the same way whatever the sender
    holds.
    """
    for source in ("pdu", "text"):
        prefix = f"{source}|{carrier}|"
        if set_key.startswith(prefix):
            number, _, tail = set_key[len(prefix) :].partition("|")
            if column == "number_used":
                return number
            kind_sender = tail.rsplit("|", 2)[0]
            return kind_sender.partition(":")[2]
    return None


def subject_carrier_ids(
    conn: sqlite3.Connection,
    tenants: Sequence[str],
    column: SubjectColumn,
    value: str,
    cipher: BodyCipher | None,
) -> list[tuple[str, str]]:
    """The carrier ids of the messages an erasure of ``value`` would take (read before
    it, so a retry queued behind it is already refused)."""
    found: list[tuple[str, str]] = []
    for tenant in tenants:
        rows = conn.execute(
            f"SELECT id, body FROM messages WHERE tenant = ? AND {column} = ?", (tenant, value)
        )
        for key, body in rows:
            message = open_message(body, key, cipher)
            if message.carrier_message_id is not None:
                found.append((message.carrier, message.carrier_message_id))
    return found


# Rotation -----------------------------------------------------------------------------

RotatedTable = Literal["messages", "raw_payloads", "parts"]


class RotatedPage(msgspec.Struct, frozen=True, kw_only=True):
    """What one :class:`RotateBodies` did: ``rewritten`` rows; ``resume`` is where the
    next page starts (None: the table is done)."""

    rewritten: int
    resume: tuple[str | bytes, int] | None


class RotateBodies(msgspec.Struct, frozen=True, kw_only=True):
    """Reseal, under the active key, the bodies of one page of ``table`` (at most
    ``limit`` rows read, after ``after``) not sealed under it already; plain bodies
    are sealed too."""

    table: RotatedTable
    after: tuple[str | bytes, int]
    limit: int
    cipher: BodyCipher

    def run(self, conn: sqlite3.Connection) -> RotatedPage:
        head = self.cipher.active_header
        changed: list[tuple[object, ...]] = []
        if self.table == "parts":
            rows = conn.execute(
                "SELECT set_key, seq, body FROM parts WHERE (set_key, seq) > (?, ?)"
                " ORDER BY set_key, seq LIMIT ?",
                (*self.after, self.limit),
            ).fetchall()
            for set_key, seq, body in rows:
                if not bytes(body).startswith(head):
                    aad = part_aad(set_key, seq)
                    plain = _open_record(bytes(body), aad, self.cipher)
                    changed.append((self.cipher.seal(plain, aad), set_key, seq))
            conn.executemany("UPDATE parts SET body = ? WHERE set_key = ? AND seq = ?", changed)
            last: tuple[str | bytes, int] | None = (rows[-1][0], rows[-1][1]) if rows else None
        else:
            column, key_column = "body", "id"
            if self.table == "raw_payloads":
                column, key_column = "data", "message_id"
            rows = conn.execute(
                f"SELECT {key_column}, {column} FROM {self.table} WHERE {key_column} > ?"
                f" ORDER BY {key_column} LIMIT ?",
                (self.after[0], self.limit),
            ).fetchall()
            for key, body in rows:
                if bytes(body).startswith(head):
                    continue
                if self.table == "messages":
                    aad = b"msg" + key
                    plain = _open_record(bytes(body), aad, self.cipher)
                else:
                    aad = raw_aad(key)
                    plain = open_body(bytes(body), aad, self.cipher)
                changed.append((self.cipher.seal(plain, aad), key))
            conn.executemany(
                f"UPDATE {self.table} SET {column} = ? WHERE {key_column} = ?", changed
            )
            last = (bytes(rows[-1][0]), 0) if rows else None
        resume = last if len(rows) == self.limit else None
        return RotatedPage(rewritten=len(changed), resume=resume)


def _open_record(body: bytes, row: bytes, cipher: BodyCipher) -> bytes:
    """A record (msgspec JSON) as plain bytes: itself if plain, else opened."""
    return body if body[:1] == b"{" else open_sealed(body, row, cipher)


def key_usage(conn: sqlite3.Connection) -> dict[str | None, int]:
    """How many stored bodies each key id seals (None: plain), over messages, raw
    payloads and buffered parts."""
    usage: dict[str | None, int] = {}
    for table, column in (("messages", "body"), ("raw_payloads", "data"), ("parts", "body")):
        rows = conn.execute(
            f"SELECT CASE WHEN substr({column}, 1, ?2) = ?1 THEN CAST(substr({column}, ?2 + 1,"
            f" instr(substr({column}, ?2 + 1), X'00') - 1) AS TEXT) END AS key_id, count(*)"
            f" FROM {table} GROUP BY key_id",
            (MARKER, len(MARKER)),
        )
        for key_id, count in rows:
            usage[key_id] = usage.get(key_id, 0) + count
    return usage


RetentionOp = SetRetention | PurgeBodies | EraseSubject | RotateBodies
