"""Retention of message bodies: each tenant's period, and the purge that enforces it.

A tenant's period is its own (set over the REST API or :meth:`Septet.set_retention
<engine.Septet.set_retention>`) or, when it set none, ``[retention] default_days``;
None keeps bodies forever. A message's age counts from when Septet stored it.

The purge runs in the engine's nursery: once at start, then every ``[retention]
interval_seconds``. For each tenant with a period it purges the bodies of the messages
stored more than that many days ago (see :meth:`~engine.store.Store.purge_bodies`), a
bounded batch per transaction, resuming where its last run ended. A run that purged
something for a tenant writes one audit row there (``retention.purge``, by the actor
``retention``) with the count. A run that fails (the inbox cannot be written, a body
sealed under a key that is not configured) is logged and tried again at the next
interval; it never stops the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec
import trio

from ._logging import get_logger
from .config import Config
from .errors import EngineClosedError, StoreError
from .store import Store

__all__ = ["PURGE_ACTOR", "RetentionInfo", "purge_expired", "retention_info", "run_purge"]

PURGE_ACTOR = "retention"
"""The audit log's actor for the purge's rows."""

_log = get_logger("septet.retention")


class RetentionInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The retention period in force for a tenant's message bodies.

    ``days`` None keeps them forever. ``source`` says where it comes from: the
    tenant's own setting (``tenant``, set at ``updatedAt``) or the config's default
    (``default``, ``defaultDays``)."""

    tenant: str
    days: int | None
    source: Literal["tenant", "default"]
    default_days: int | None
    updated_at: datetime | None = None


async def retention_info(store: Store, config: Config, tenant: str) -> RetentionInfo:
    """The period in force for ``tenant``."""
    default = config.retention.default_days
    own = await store.retention_setting(tenant)
    if own is None:
        return RetentionInfo(tenant=tenant, days=default, source="default", default_days=default)
    return RetentionInfo(
        tenant=tenant,
        days=own.days,
        source="tenant",
        default_days=default,
        updated_at=own.updated_at,
    )


async def purge_expired(store: Store, config: Config, *, now: datetime) -> dict[str, int]:
    """One run of the purge at ``now``: for each tenant with a period, the bodies of
    the messages stored more than its days before ``now``. Answers how many were
    purged, by tenant (only those with something purged)."""
    purged: dict[str, int] = {}
    for tenant in await _tenant_ids(store, config):
        info = await retention_info(store, config, tenant)
        if info.days is None:
            continue
        count = await store.purge_bodies(
            tenant,
            stored_before=now - timedelta(days=info.days),
            days=info.days,
            batch=config.retention.batch_rows,
            actor=PURGE_ACTOR,
        )
        if count:
            purged[tenant] = count
    return purged


async def run_purge(
    store: Store,
    config: Config,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Purge at once, then every ``[retention] interval_seconds``, until cancelled."""
    task_status.started()
    while True:
        try:
            purged = await purge_expired(store, config, now=clock())
        except (StoreError, EngineClosedError) as error:
            _log.warning("purge failed; retrying next round", error=str(error))
        else:
            if purged:
                _log.info("purged message bodies", tenants=purged)
        await trio.sleep(config.retention.interval_seconds)


async def _tenant_ids(store: Store, config: Config) -> Sequence[str]:
    """Every tenant, the one messages are filed under by default first."""
    ids = [config.tenant]
    ids += [tenant.id for tenant in await store.tenants() if tenant.id != config.tenant]
    return ids
