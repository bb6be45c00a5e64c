"""The records of retention and privacy every store keeps: a tenant's retention period,
what an erasure took, and which keys seal the stored bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

__all__ = ["ErasedCounts", "Erasure", "ErasureSubject", "KeyUsage", "RetentionSetting"]

ErasureSubject = Literal["number", "sender"]
"""What an erasure is about: a receiving number, or a sender (E.164 or alphanumeric)."""


class RetentionSetting(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A tenant's own retention period for message bodies: ``days`` None keeps them
    forever."""

    days: int | None
    updated_at: datetime


class ErasedCounts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """How many rows of each kind an erasure took (status reports: unlinked and, for a
    number, stripped of it; they stay so a carrier's retry of one is recognised)."""

    messages: int = 0
    raw_payloads: int = 0
    deliveries: int = 0
    attempts: int = 0
    status_reports: int = 0
    parts: int = 0


class Erasure(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """What :meth:`~engine.store.Store.erase` took: in all (``totals``) and per tenant
    named; ``message_ids`` are the erased messages' ids."""

    subject: ErasureSubject
    totals: ErasedCounts
    tenants: dict[str, ErasedCounts]
    message_ids: tuple[str, ...] = ()


class KeyUsage(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """How many stored bodies (messages, raw payloads, buffered parts) each key id
    seals, and how many are plain: a key may leave the config once it seals none."""

    keys: dict[str, int]
    plain: int
