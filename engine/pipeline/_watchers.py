"""Live message streams: watchers see each message once its commit returned.

Every watcher has a bounded buffer. Publishing never blocks ingest: when a watcher's
buffer is full it stops receiving and is marked as lagging; once it has read what it
holds, it catches up from the store (messages after a cursor, oldest first) and goes
on live. Ids say when a message was made, and messages commit in about that order but
not exactly, so catching up starts :data:`HORIZON` seconds before the lag began (or
before the subscription, for a replay) and skips the ids it has already yielded. A
message whose ingest took longer than the horizon could be missed by a lagging watcher.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import trio

from .._ids import id_floor
from ..model import Message

__all__ = ["HORIZON", "MessageFilter", "MessageStream", "WatcherHub"]

HORIZON = 60.0
"""Seconds: how much earlier than the newest id a message can still commit."""
_PAGE = 500


class MessageFilter:
    """Which messages a watcher wants; ``None`` matches anything."""

    __slots__ = ("has_otp", "number", "sender", "since", "tenant")

    def __init__(
        self,
        *,
        tenant: str | None = None,
        number: str | None = None,
        sender: str | None = None,
        since: datetime | None = None,
        has_otp: bool | None = None,
    ) -> None:
        self.tenant = tenant
        self.number = number
        self.sender = sender
        self.since = since
        self.has_otp = has_otp

    def matches(self, message: Message) -> bool:
        return (
            (self.tenant is None or message.tenant == self.tenant)
            and (self.number is None or message.number_used == self.number)
            and (self.sender is None or message.sender_id == self.sender)
            and (self.since is None or message.received_at >= self.since)
            and (self.has_otp is None or (message.otp is not None) == self.has_otp)
        )


class _Subscription:
    __slots__ = ("filter", "lagged_at", "receive", "send")

    def __init__(self, message_filter: MessageFilter, buffer: int) -> None:
        self.filter = message_filter
        self.send, self.receive = trio.open_memory_channel[Message](buffer)
        self.lagged_at: float | None = None


class WatcherHub:
    """Hands each committed message to the watchers that want it, without waiting."""

    def __init__(self, buffer: int = 1024) -> None:
        self._buffer = buffer
        self._subscriptions: set[_Subscription] = set()
        self._closed = False

    def publish(self, message: Message) -> None:
        if not self._subscriptions:
            return
        for sub in self._subscriptions:
            if sub.lagged_at is None and sub.filter.matches(message):
                try:
                    sub.send.send_nowait(message)
                except trio.WouldBlock:
                    sub.lagged_at = time.time()

    def subscribe(self, message_filter: MessageFilter) -> _Subscription:
        sub = _Subscription(message_filter, self._buffer)
        if self._closed:
            sub.send.close()
        else:
            self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: _Subscription) -> None:
        self._subscriptions.discard(sub)
        sub.send.close()
        sub.receive.close()

    def close(self) -> None:
        """End every watch: their iterations stop once they read what they hold."""
        self._closed = True
        for sub in self._subscriptions:
            sub.send.close()


Replay = Callable[[MessageFilter, str, int], Awaitable[Sequence[Message]]]
"""``replay(filter, after_id, limit)``: stored matches after an id, oldest first."""


class _SeenIds:
    """Ids already yielded that could come again: those younger than the horizon."""

    def __init__(self) -> None:
        self._ids: set[str] = set()

    def first_time(self, message_id: str) -> bool:
        if message_id in self._ids:
            return False
        self._ids.add(message_id)
        if len(self._ids) > 50_000:
            floor = id_floor(message_id.partition("_")[0], time.time() - 2 * HORIZON)
            self._ids = {i for i in self._ids if i.partition("_")[2] >= floor.partition("_")[2]}
        return True


class MessageStream:
    """Stored messages after ``after`` (when given), then live ones: no gaps, no repeats.

    The subscription starts when the stream is made, so nothing committed after that is
    missed however late the first read comes. Iterate it with ``async for``; it ends
    when the engine stops. ``aclose`` (or ``async with``) ends it early; a stream left
    unfinished is released when it is garbage collected.
    """

    def __init__(
        self, hub: WatcherHub, replay: Replay, message_filter: MessageFilter, *, after: str | None
    ) -> None:
        self._hub = hub
        self._replay = replay
        self._filter = message_filter
        self._after = after
        self._cursor = after
        self._page: deque[Message] = deque()
        self._seen = _SeenIds()
        self._sub: _Subscription | None = hub.subscribe(message_filter)

    def __aiter__(self) -> MessageStream:
        return self

    async def __anext__(self) -> Message:
        while True:
            message = await self._next_candidate()
            if self._seen.first_time(message.id):
                return message

    async def _next_candidate(self) -> Message:
        sub = self._sub
        if sub is None:
            raise StopAsyncIteration
        if self._page:
            return self._page.popleft()
        while self._cursor is not None:
            page = await self._replay(self._filter, self._cursor, _PAGE)
            self._cursor = page[-1].id if len(page) == _PAGE else None
            if page:
                self._page.extend(page)
                return self._page.popleft()
        try:
            return sub.receive.receive_nowait()
        except trio.WouldBlock:
            if sub.lagged_at is not None:  # missed some: catch up from the store
                floor = id_floor("msg", sub.lagged_at - HORIZON)
                self._cursor = floor if self._after is None else max(floor, self._after)
                sub.lagged_at = None
                return await self._next_candidate()
        except trio.EndOfChannel:
            pass
        else:  # pragma: no cover - receive_nowait either returns or raises
            raise AssertionError
        try:
            return await sub.receive.receive()
        except trio.EndOfChannel:
            self._close()
            raise StopAsyncIteration from None

    def _close(self) -> None:
        if self._sub is not None:
            self._hub.unsubscribe(self._sub)
            self._sub = None

    async def aclose(self) -> None:
        """Stop following; the iteration ends."""
        self._close()

    async def __aenter__(self) -> MessageStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._close()

    def __del__(self) -> None:
        self._close()
