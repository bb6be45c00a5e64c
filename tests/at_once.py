"""Calling one coroutine function with many arguments at once, each call in a task of
its own, all started in one scheduling round (as concurrent callers would)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio


async def each_at_once(call: Callable[[Any], Awaitable[Any]], args: Sequence[Any]) -> list[Any]:
    """``call(arg)`` for every one of ``args``, concurrently; each call's result or the
    exception it raised, in the order of ``args``."""
    answers: list[Any] = [None] * len(args)

    async def one(i: int) -> None:
        try:
            answers[i] = await call(args[i])
        except Exception as error:
            answers[i] = error

    async with trio.open_nursery() as nursery:
        for i in range(len(args)):
            nursery.start_soon(one, i)
    return answers
