"""What every store does: the `Store` protocol and the records it keeps.

A store is the source of truth. Every write is durable when its coroutine returns
(the SQLite store commits, in batches, before answering), and every write that must
be atomic is one call: a message with its carrier ids, a completed part set replaced
by its message, a status report linked to its message.

Stores are scoped by tenant on reads; ids are globally unique, time-sortable strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import msgspec

from ..model import Message, StatusReport

__all__ = ["BufferedPart", "MessageQuery", "PartAdded", "Store", "Written"]


class BufferedPart(msgspec.Struct, frozen=True, kw_only=True):
    """One part of a concatenated message, kept until its set completes or expires.

    ``set_key`` names the set (carrier, receiving number, sender with its type,
    reference and its width, total); ``payload`` is the inbound item as the pipeline
    encoded it, opaque to the store, so the set can be rebuilt after a restart.
    """

    set_key: str
    seq: int
    total: int
    carrier: str
    carrier_message_id: str | None
    received_at: datetime
    expires_at: datetime
    payload: bytes


class PartAdded(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to :meth:`Store.add_part`.

    ``stored``: the part is durable; ``duplicate``: a part with this seq is already in
    the set (nothing written); ``seen``: the carrier id was already stored, as a part or
    as a message (nothing written; ``message_id`` names the message when the set
    completed). ``parts`` are all parts of the set now stored, ordered by seq.
    """

    outcome: Literal["stored", "duplicate", "seen"]
    parts: tuple[BufferedPart, ...] = ()
    message_id: str | None = None


class Written(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a message write: ``inserted``, or ``duplicate`` with the original."""

    outcome: Literal["inserted", "duplicate"]
    message: Message


class MessageQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which messages to list: always one tenant; newest first unless ``oldest_first``.

    ``after`` / ``before`` are message ids (exclusive bounds; ids sort by time), so a
    caller pages with the last id it saw and a watcher follows with ``after``; a bound
    that is not a message id raises :class:`ValueError`.
    """

    tenant: str
    number: str | None = None
    sender: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: str | None = None
    before: str | None = None
    has_otp: bool | None = None
    limit: int = 100
    oldest_first: bool = False


@runtime_checkable
class Store(Protocol):
    """The inbox. Every method is safe to call from many tasks at once."""

    async def commit_message(self, message: Message, *, raw: bytes | None = None) -> Written:
        """Insert ``message`` (and ``raw``, the payload kept for audit) in one transaction.

        If ``(message.carrier, message.carrier_message_id)`` is already stored (as a
        message or as a completed part), nothing is written and the original is returned
        with outcome ``duplicate``.
        """
        ...

    async def commit_messages(
        self, messages: Sequence[tuple[Message, bytes | None]]
    ) -> Sequence[Written]:
        """:meth:`commit_message` for each ``(message, raw)``, answered in order, all
        durable when this returns, written in one transaction (or one batch).

        A message whose carrier id an earlier one of the same list already holds is a
        ``duplicate`` of that earlier one, as if they had been committed one by one.
        Should the list fail, none of it is stored.
        """
        ...

    async def add_part(self, part: BufferedPart) -> PartAdded:
        """Store one part of a concatenated message durably (see :class:`PartAdded`)."""
        ...

    async def complete_part_set(
        self, set_key: str, message: Message, *, raw: bytes | None = None
    ) -> Written:
        """In one transaction: insert ``message``, map every part's carrier id to it,
        and delete the set's buffered parts."""
        ...

    async def part_sets(
        self, *, expired_before: datetime | None = None
    ) -> Sequence[tuple[BufferedPart, ...]]:
        """Every buffered set (parts ordered by seq), or only those whose earliest
        ``expires_at`` is before ``expired_before``."""
        ...

    async def commit_status(self, report: StatusReport) -> StatusReport:
        """Store a status report; ``message_id`` is filled in when ``refers_to`` names a
        stored message of that carrier. A report with the same carrier and
        ``carrier_message_id`` as a stored one is not written again; the stored one is
        returned."""
        ...

    async def get_message(self, tenant: str, message_id: str) -> Message | None:
        """The message with this id, if it belongs to ``tenant``."""
        ...

    async def find_by_carrier_id(
        self, tenant: str, carrier: str, carrier_message_id: str
    ) -> Message | None:
        """The message a carrier id (of the message or of one of its parts) maps to."""
        ...

    async def list_messages(self, query: MessageQuery) -> Sequence[Message]:
        """Messages matching ``query``, at most ``query.limit``."""
        ...

    async def status_reports(self, tenant: str, message_id: str) -> Sequence[StatusReport]:
        """The status reports linked to a message, oldest first."""
        ...

    async def raw_payload(self, tenant: str, message_id: str) -> bytes | None:
        """The raw payload kept with a message for audit."""
        ...

    async def aclose(self) -> None:
        """Finish the writes in flight, then close. Idempotent."""
        ...
