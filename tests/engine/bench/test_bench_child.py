"""The orchestrator's line protocol with its child processes, against a real child."""

from __future__ import annotations

import sys
import textwrap
import time

import pytest
import trio

from engine._bench._child import open_child

pytestmark = pytest.mark.trio

# A child that answers each command line after a pause, numbering its answers.
_SLOW_ECHO = textwrap.dedent(
    """
    import sys, time
    print("ready", time.perf_counter(), flush=True)
    for n, line in enumerate(sys.stdin):
        time.sleep(0.2)
        print(line.split()[0], n, flush=True)
    """
)


async def test_an_answer_whose_asker_was_cancelled_does_not_answer_the_next_question() -> None:
    async with open_child("echo", [sys.executable, "-c", _SLOW_ECHO], timeout=30) as child:
        with trio.move_on_after(0.05) as scope:
            await child.ask("count", "count")
        assert scope.cancelled_caught  # asked, then stopped waiting for the answer
        started = time.perf_counter()
        # The late "count 0" is read and dropped; "flush" gets its own answer.
        assert await child.ask("flush", "flush") == ["1"]
        assert time.perf_counter() - started >= 0.2
        # Cancelled again, then once more while still reading that owed answer (so
        # without asking): the answer stays owed, and is dropped in its turn.
        with trio.move_on_after(0.05):
            await child.ask("count", "count")
        with trio.move_on_after(0.05):
            await child.ask("count", "count")
        assert await child.ask("flush", "flush") == ["3"]
