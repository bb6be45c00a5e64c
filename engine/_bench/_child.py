"""The benchmark's processes and how they talk: one line at a time over pipes.

Every process of a benchmark (the engine, the load generator, the webhook sink) is
started by the orchestrator with its standard input and output as pipes. The child
announces itself with a line (``ready ...``), the orchestrator sends commands as lines
and reads the answers as lines; bulk results go through files in the run's temporary
directory, named in the answers. End of a child's standard input means "stop now": the
pipe closes however the orchestrator ends, even killed, so no child outlives it.

Times crossing processes are ``time.perf_counter()``, which on Linux is
``clock_gettime(CLOCK_MONOTONIC)``: one clock for the whole machine, whichever process
reads it. :func:`check_clock` refuses to run otherwise, and :func:`open_child` checks
that the child's clock reading in its ``ready`` line lies between the orchestrator's
own readings around its start.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import trio

__all__ = [
    "BenchProcessError",
    "Child",
    "LineReader",
    "check_clock",
    "open_child",
    "say",
    "stdin_lines",
    "stop_process",
    "take_line",
]

_READ_BYTES: Final = 65536
_STOP_SECONDS: Final = 10.0


class BenchProcessError(RuntimeError):
    """A process of the benchmark failed, ended early or answered nonsense."""


def check_clock() -> None:
    """Refuse to run unless ``time.perf_counter()`` is the machine-wide monotonic clock."""
    info = time.get_clock_info("perf_counter")
    if "CLOCK_MONOTONIC" not in info.implementation:
        raise BenchProcessError(
            f"time.perf_counter() is {info.implementation}, not CLOCK_MONOTONIC: "
            "times taken in two processes would not compare"
        )


def take_line(buffer: bytearray) -> str | None:
    """The first whole line in ``buffer``, without its end of line, taken out of it;
    None while no line is complete."""
    end = buffer.find(b"\n")
    if end < 0:
        return None
    line = bytes(buffer[:end])
    del buffer[: end + 1]
    return line.decode()


class LineReader:
    """Lines from a trio stream, without their end of line; None at end of input."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def readline(self) -> str | None:
        while (line := take_line(self._buffer)) is None:
            data = await self._stream.receive_some(_READ_BYTES)
            if not data:
                return None
            self._buffer += data
        return line


def stdin_lines() -> LineReader:
    """This process's standard input, as lines (for a child reading its commands)."""
    return LineReader(trio.lowlevel.FdStream(os.dup(sys.stdin.fileno())))


class Child:
    """A running child process, as the orchestrator sees it."""

    def __init__(self, name: str, process: trio.Process, lines: LineReader, ready: list[str]):
        self.name = name
        self.process = process
        self.ready = ready
        """The words of its ``ready`` line after ``ready`` and the clock."""
        self._lines = lines
        self._owed: deque[str] = deque()
        """Answers to questions sent whose askers stopped waiting, oldest first."""

    @property
    def pid(self) -> int:
        return self.process.pid

    async def send(self, command: str) -> None:
        assert self.process.stdin is not None
        try:
            await self.process.stdin.send_all(f"{command}\n".encode())
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise BenchProcessError(f"the {self.name} process has ended") from None

    async def readline(self) -> str:
        line = await self._lines.readline()
        if line is None:
            raise BenchProcessError(
                f"the {self.name} process ended early (exit status {await self._status()})"
            )
        return line

    async def ask(self, command: str, answer: str) -> list[str]:
        """Send ``command``; the words after ``answer`` in the line it is answered with.

        A question whose asker was cancelled before the answer came is still answered:
        that line is read and dropped before the next question is asked, so every
        answer goes to its own question (one task asks at a time).
        """
        while self._owed:
            await self.expect(self._owed[0])
            self._owed.popleft()
        with trio.CancelScope(shield=True):  # a line to a pipe: half a command would garble
            await self.send(command)
        self._owed.append(answer)
        words = await self.expect(answer)
        self._owed.popleft()
        return words

    async def expect(self, answer: str) -> list[str]:
        line = await self.readline()
        words = line.split()
        if not words or words[0] != answer:
            raise BenchProcessError(f"the {self.name} process said {line!r}, not {answer!r}")
        return words[1:]

    async def _status(self) -> int | None:
        with trio.move_on_after(1.0):
            await self.process.wait()
        return self.process.returncode


@asynccontextmanager
async def open_child(
    name: str,
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 60.0,
) -> AsyncIterator[Child]:
    """Start ``command`` and wait for its ``ready CLOCK ...`` line; the child is stopped
    (its input closed, then killed if it does not exit) when the block ends. Its
    standard error goes to the file ``log`` (else to ours)."""
    check_clock()
    before = time.perf_counter()
    with contextlib.ExitStack() as files:
        stderr = None if log is None else files.enter_context(log.open("ab"))
        process = await trio.lowlevel.open_process(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, **(env or {})},
            # Its own session: a Ctrl-C reaches the orchestrator, which then stops the
            # children in order, rather than all at once.
            start_new_session=True,
        )
    try:
        assert process.stdout is not None
        child = Child(name, process, LineReader(process.stdout), [])
        with trio.fail_after(timeout):
            words = (await child.readline()).split()
        after = time.perf_counter()
        if len(words) < 2 or words[0] != "ready":
            raise BenchProcessError(f"the {name} process did not start (it said {words!r})")
        clock = float(words[1])
        if not before <= clock <= after:
            raise BenchProcessError(
                f"the {name} process's perf_counter ({clock}) is not between the "
                f"orchestrator's ({before}, {after}): the two do not share a clock"
            )
        child.ready = words[2:]
        yield child
    finally:
        with trio.CancelScope(shield=True):
            await stop_process(process)


async def stop_process(process: trio.Process, seconds: float = _STOP_SECONDS) -> None:
    """Close ``process``'s input (it exits), wait ``seconds``, then kill it."""
    if process.stdin is not None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await process.stdin.aclose()
    with trio.move_on_after(seconds):
        await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()


def say(*words: object) -> None:
    """Write one line to the orchestrator (a child's standard output)."""
    print(*words, flush=True)
