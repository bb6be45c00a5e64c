"""The SQLite store's retention and privacy methods: the async face of
:mod:`._sqlite_retention`, mixed into :class:`~engine.store.SqliteStore`.

Each method submits ops to the store's one writer, so a purge, an erasure or a
rotation commits in the writer's transactions like every other write: the purge and the
rotation a bounded batch at a time (ingest goes on between two batches), an erasure at
once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar, cast

from .._crypto import BodyCipher
from .._ids import id_floor, new_id
from ._privacy import ErasedCounts, Erasure, ErasureSubject, KeyUsage, RetentionSetting
from ._sqlite_manage import CarrierKey
from ._sqlite_retention import (
    ErasedRows,
    EraseSubject,
    PurgeBatch,
    PurgeBodies,
    RetentionOp,
    RotateBodies,
    RotatedPage,
    RotatedTable,
    SetRetention,
    SubjectColumn,
    key_usage,
    purge_progress,
    retention_setting,
    subject_carrier_ids,
)
from ._sqlite_rows import message_key, micros
from ._sqlite_tenants import AuditStamp

if TYPE_CHECKING:
    from ._sqlite_writer import BatchWriter
    from ._sqlite_writes import WriteOp

__all__ = ["SqlitePrivacy"]

T = TypeVar("T")

_COLUMNS: dict[ErasureSubject, SubjectColumn] = {"number": "number_used", "sender": "sender_id"}
_ROTATED: tuple[RotatedTable, ...] = ("messages", "raw_payloads", "parts")


class SqlitePrivacy:
    """Retention settings, the purge, erasure and key rotation of a SQLite store."""

    _writer: BatchWriter
    _cipher: BodyCipher | None
    _tombstones: set[CarrierKey]

    if TYPE_CHECKING:

        async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T: ...

    async def _submit(self, op: RetentionOp) -> object:
        # The writer runs any op that is not a message write as ``op.run(conn)``, in the
        # batch's transaction.
        return await self._writer.submit(cast("WriteOp", op))

    async def retention_setting(self, tenant: str) -> RetentionSetting | None:
        found = await self._read(lambda conn: retention_setting(conn, tenant))
        return None if found is None else RetentionSetting(days=found[0], updated_at=found[1])

    async def set_retention(
        self, tenant: str, days: int | None, *, inherit: bool = False, actor: str
    ) -> bool:
        if days is not None and days < 1:
            raise ValueError("a retention period is at least one day")
        op = SetRetention(tenant=tenant, days=days, inherit=inherit, stamp=_stamp(actor))
        return cast(bool, await self._submit(op))

    async def purge_bodies(
        self, tenant: str, *, stored_before: datetime, days: int, batch: int, actor: str
    ) -> int:
        """See :class:`._sqlite_retention.PurgeBodies`: the run resumes where the last
        one ended, and reads at most ``batch`` messages a transaction."""
        if batch < 1:
            raise ValueError("batch must be at least 1")
        # Ids start with the milliseconds they were made at (a naive time counts as UTC).
        below = message_key(id_floor("msg", micros(stored_before) / 1e6))
        start = await self._read(lambda conn: purge_progress(conn, tenant))
        if start >= below:
            return 0
        stamp = _stamp(actor)
        purged = 0
        resume: bytes | None = start
        while resume is not None:
            op = PurgeBodies(
                tenant=tenant,
                start=resume,
                below=below,
                limit=batch,
                now=stamp.now,
                counted=purged,
                days=days,
                stamp=stamp,
                cipher=self._cipher,
            )
            done = cast(PurgeBatch, await self._submit(op))
            purged += done.purged
            resume = done.resume
        return purged

    async def erase(
        self,
        tenants: Sequence[str],
        subject: ErasureSubject,
        value: str,
        *,
        parts_tenant: str | None,
        operator_wide: bool = False,
        actor: str,
    ) -> Erasure:
        """See :class:`._sqlite_retention.EraseSubject`."""
        column = _COLUMNS[subject]
        named = list(dict.fromkeys(tenants))
        if parts_tenant is not None and parts_tenant not in named:
            raise ValueError("parts_tenant must be one of the tenants erased")
        # Buried before the erasure is queued, as a delete does: a carrier's retry
        # queued behind it must not be stored again.
        known = await self._read(
            lambda conn: subject_carrier_ids(conn, named, column, value, self._cipher)
        )
        fresh = [key for key in known if key not in self._tombstones]
        self._tombstones.update(fresh)
        op = EraseSubject(
            tenants=named,
            column=column,
            value=value,
            parts_tenant=parts_tenant,
            operator_wide=operator_wide,
            actor=actor,
            now=micros(datetime.now(UTC)),
            cipher=self._cipher,
        )
        try:
            erased = cast(ErasedRows, await self._submit(op))
        except BaseException:
            self._tombstones.difference_update(fresh)  # nothing was erased
            raise
        self._tombstones.update(erased.tombstones)
        counts = {tenant: _counts(found) for tenant, found in erased.counts.items()}
        totals = {
            name: sum(found.get(name, 0) for found in erased.counts.values())
            for name in ("messages", "rawPayloads", "deliveries", "attempts", "statusReports")
        }
        totals["parts"] = sum(found.get("parts", 0) for found in erased.counts.values())
        return Erasure(
            subject=subject,
            totals=_counts(totals),
            tenants=counts,
            message_ids=tuple(erased.message_ids),
        )

    async def rotate_bodies(self, *, batch: int) -> int:
        cipher = self._cipher
        if cipher is None:
            raise ValueError("no encryption key is configured ([store] encryption_keys)")
        if batch < 1:
            raise ValueError("batch must be at least 1")
        rewritten = 0
        for table in _ROTATED:
            after: tuple[str | bytes, int] | None = ("", -1) if table == "parts" else (b"", 0)
            while after is not None:
                op = RotateBodies(table=table, after=after, limit=batch, cipher=cipher)
                page = cast(RotatedPage, await self._submit(op))
                rewritten += page.rewritten
                after = page.resume
        return rewritten

    async def key_usage(self) -> KeyUsage:
        usage = await self._read(key_usage)
        plain = usage.pop(None, 0)
        return KeyUsage(keys={key: count for key, count in usage.items() if key}, plain=plain)


def _counts(found: dict[str, int]) -> ErasedCounts:
    return ErasedCounts(
        messages=found.get("messages", 0),
        raw_payloads=found.get("rawPayloads", 0),
        deliveries=found.get("deliveries", 0),
        attempts=found.get("attempts", 0),
        status_reports=found.get("statusReports", 0),
        parts=found.get("parts", 0),
    )


def _stamp(actor: str) -> AuditStamp:
    return AuditStamp(id=new_id("aud"), actor=actor, now=micros(datetime.now(UTC)))
