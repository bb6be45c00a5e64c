"""The JSON bodies the HTTP surface answers with, beyond the Structs of :mod:`engine.model`.

The app encodes its answers with these and :mod:`engine.api._openapi` documents them
from the same types, so the bytes on the wire and the published schemas cannot drift.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from ..model import DeliveryAttempt, DeliveryRecord, Message

__all__ = [
    "AttemptList",
    "DeliveryPage",
    "DestinationEnabled",
    "Health",
    "MessagePage",
    "MessageWait",
    "Problem",
    "Replayed",
]


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | msgspec.UnsetType = msgspec.UNSET


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """The process serves (``ok``) or the inbox answers reads (``ready``)."""

    status: Literal["ok", "ready"]


class MessagePage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of messages, newest first; ``next`` is the ``before`` cursor of the next
    page, null on the last one."""

    data: list[Message]
    next: str | None


class MessageWait(msgspec.Struct, frozen=True, kw_only=True):
    """The message a long poll waited for, or null when its timeout passed first."""

    data: Message | None


class DeliveryPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of deliveries; ``next`` is the ``after`` cursor of the next page, null on
    the last one."""

    data: list[DeliveryRecord]
    next: str | None


class AttemptList(msgspec.Struct, frozen=True, kw_only=True):
    """Every attempt of one delivery, oldest first."""

    data: list[DeliveryAttempt]


class Replayed(msgspec.Struct, frozen=True, kw_only=True):
    """How many deliveries were queued again."""

    replayed: int


class DestinationEnabled(msgspec.Struct, frozen=True, kw_only=True):
    """The destination takes deliveries again."""

    destination: str
    enabled: bool
