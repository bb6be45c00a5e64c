"""The embedding API's retention and privacy methods, mixed into :class:`engine.Septet`:
a tenant's retention period, the purge, erasure of a number or a sender, and the
rotation of encryption-at-rest keys."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ._retention import RetentionInfo, purge_expired, retention_info
from .config import Config
from .store import Store
from .store._privacy import Erasure, KeyUsage

if TYPE_CHECKING:
    from .pipeline import MessageFilter

__all__ = ["MAX_SUBJECT_LENGTH", "PrivacyMethods"]

MAX_SUBJECT_LENGTH = 64
"""The longest number or sender an erasure takes."""
_ACTOR = "embedder"  # the embedding API's actor in the audit log, as for every change


class PrivacyMethods:
    """Retention, erasure and key rotation, on the engine's store."""

    config: Config
    _store: Store
    _deleted: OrderedDict[str, None]

    if TYPE_CHECKING:

        def _filter(
            self, tenant: str | None, number: str | None, sender: str | None
        ) -> MessageFilter: ...

    async def retention(self, *, tenant: str | None = None) -> RetentionInfo:
        """The retention period in force for ``tenant``'s message bodies (default: the
        tenant messages are filed under): its own, or ``[retention] default_days``."""
        return await retention_info(self._store, self.config, tenant or self.config.tenant)

    async def set_retention(
        self, days: int | None, *, tenant: str | None = None, actor: str = _ACTOR
    ) -> RetentionInfo:
        """Keep ``tenant``'s message bodies ``days`` days after they were stored (None:
        forever), whatever the default; audited. The next purge applies it."""
        if days is not None and not 1 <= days <= 36_500:
            raise ValueError("a retention period is 1 to 36500 days")
        tenant = tenant or self.config.tenant
        await self._store.set_retention(tenant, days, actor=actor)
        return await self.retention(tenant=tenant)

    async def reset_retention(
        self, *, tenant: str | None = None, actor: str = _ACTOR
    ) -> RetentionInfo:
        """Drop ``tenant``'s own retention period: ``[retention] default_days`` applies
        again; audited when it had one."""
        tenant = tenant or self.config.tenant
        await self._store.set_retention(tenant, None, inherit=True, actor=actor)
        return await self.retention(tenant=tenant)

    async def purge_expired(self, *, now: datetime | None = None) -> dict[str, int]:
        """Run the purge once, as at ``now`` (default: now): the bodies of messages
        stored more than their tenant's period ago go. Answers how many, by tenant. The
        engine runs it by itself every ``[retention] interval_seconds``."""
        return await purge_expired(self._store, self.config, now=now or datetime.now(UTC))

    async def erase(
        self,
        *,
        number: str | None = None,
        sender: str | None = None,
        tenant: str | None = None,
        all_tenants: bool = False,
        actor: str = _ACTOR,
    ) -> Erasure:
        """Erase everything ``tenant`` holds for a receiving ``number`` or a ``sender``
        (E.164 or alphanumeric; normalized as messages are): its messages with their raw
        payloads, deliveries and attempt logs, and its buffered parts; its status
        reports lose their link (and a number). In one transaction, audited per tenant
        by the kind of subject and the counts, never the subject itself.

        A carrier's retry of an erased message is not stored again (as after
        :meth:`delete_message`), and a delivery already held by a worker is dropped.
        With ``all_tenants`` (an operator's erasure) every tenant is searched. Raises
        :class:`ValueError` unless exactly one of ``number`` and ``sender`` is given,
        printable and at most :data:`MAX_SUBJECT_LENGTH` characters."""
        if (number is None) == (sender is None):
            raise ValueError("name either a number or a sender to erase")
        given = number if number is not None else sender
        assert given is not None
        if not given.strip() or len(given) > MAX_SUBJECT_LENGTH or not given.isprintable():
            raise ValueError(
                f"a number or sender is 1 to {MAX_SUBJECT_LENGTH} printable characters"
            )
        found = self._filter(None, number, sender)
        value = found.number if number is not None else found.sender
        assert value is not None
        receiving = self.config.tenant
        if all_tenants:
            tenants = [receiving, *(t.id for t in await self._store.tenants() if t.id != receiving)]
        else:
            tenants = [tenant or receiving]
        erasure = await self._store.erase(
            tenants,
            "number" if number is not None else "sender",
            value,
            # Buffered parts are filed under the receiving tenant once their set completes.
            parts_tenant=receiving if receiving in tenants else None,
            operator_wide=all_tenants,
            actor=actor,
        )
        from ._engine import _DELETED_REMEMBERED  # the engine imports this module

        for message_id in erasure.message_ids:
            self._deleted[message_id] = None
        while len(self._deleted) > _DELETED_REMEMBERED:
            self._deleted.popitem(last=False)
        return erasure

    async def rotate_encryption_keys(self, *, batch: int = 500) -> int:
        """Reseal every stored body not sealed under the active key (the first of
        ``[store] encryption_keys``), ``batch`` rows a transaction, ingest going on
        between them; answers how many were rewritten. Raises :class:`ValueError` when
        no key is configured."""
        return await self._store.rotate_bodies(batch=batch)

    async def encryption_key_usage(self) -> KeyUsage:
        """How many stored bodies each key seals, and how many are plain: a key that
        seals none may leave the config."""
        return await self._store.key_usage()
