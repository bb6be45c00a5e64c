"""The SMPP load generator: an SMSC sending deliver_sm, in a process of its own.

``python -m engine._bench._smpp_generator WINDOW MIX`` runs :mod:`engine.testing`'s
SMSC simulator on 127.0.0.1 and says ``ready CLOCK PORT``; the engine's ``smpp`` carrier
binds to it (system_id and password ``bench``). Then, one line each (see
:mod:`._child`):

* ``bind SECONDS``: wait for the bind, say ``bound``;
* ``run START COUNT RATE DRAIN PATH``: send messages ``START`` to ``START + COUNT - 1``
  open loop at ``RATE`` a second over the one bind, each message's PDUs (one, or its
  parts, together) as soon as it is due and the window lets them go: at most ``WINDOW``
  deliver_sm unanswered, as an SMSC keeps to the window it agreed. A message waiting
  for room in the window is late, and its latency counts from when it was due. A
  message still unanswered ``DRAIN`` seconds after the run's last was due is given up.
  It says ``progress SENT ANSWERED`` as it goes and ``ran N`` once the
  :class:`~._records.GeneratorRun` is in ``PATH``;
* end of input: the generator exits (the engine unbinds first, when it stops).

Every PDU is encoded before the run starts, so encoding costs the run nothing.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import msgspec
import trio

from ..smpp import CommandStatus
from ..testing import EsmeSession, SessionClosedError, open_smsc_simulator
from ._child import LineReader, check_clock, say, stdin_lines
from ._collector import collector_paused
from ._messages import Mix, smpp_frames
from ._pacing import run_paced
from ._records import GeneratorRun

__all__ = ["ACCOUNT"]

ACCOUNT = ("bench", "bench")
"""The system_id and password the engine binds with."""


async def _run(
    session: EsmeSession,
    window: int,
    mix: Mix,
    start: int,
    count: int,
    rate: float,
    drain: float,
) -> GeneratorRun:
    frames = [smpp_frames(index, mix) for index in range(start, start + count)]
    # The window, taken a whole message at a time and in the order messages fell due,
    # so that the parts of a concatenated message go out together, as an SMSC sends
    # them (the simulator's own window, per PDU, would let a backlog come between them).
    slots = trio.Semaphore(window)
    turn = trio.Lock()
    due = [math.nan] * count
    sent = [math.nan] * count
    answered = [math.nan] * count
    ok = [False] * count
    sequences: list[list[int]] = [[] for _ in range(count)]
    errors: dict[str, int] = {}
    started = done = 0
    cpu = time.process_time()

    async def one(slot: int, when: float) -> None:
        nonlocal done, started
        due[slot] = when
        started += 1
        # Given up on once the run's last message was due ``drain`` seconds ago.
        last_due = when + (count - 1 - slot) / rate
        deadline = trio.current_time() + (last_due + drain - time.perf_counter())
        responses = None
        held = 0
        try:
            with trio.move_on_at(deadline):
                async with turn:
                    # A message with more parts than the window can hold waits, for
                    # the rest, on the simulator's window as its first parts are answered.
                    for _ in range(min(window, len(frames[slot]))):
                        await slots.acquire()
                        held += 1
                responses = await session.deliver_many(frames[slot])
        except SessionClosedError:
            errors["session closed"] = errors.get("session closed", 0) + 1
            done += 1
            return
        finally:
            for _ in range(held):
                slots.release()
        if responses is None:
            errors["no answer"] = errors.get("no answer", 0) + 1
            done += 1
            return
        sequences[slot] = [r.sequence_number for r in responses]
        sent[slot] = responses[0].sent_at
        times = [r.answered_at for r in responses]
        answered[slot] = math.nan if None in times else max(t for t in times if t is not None)
        ok[slot] = True
        for response in responses:
            if response.command_status != CommandStatus.ESME_ROK:
                ok[slot] = False
                kind = f"status 0x{response.command_status or 0:08x}"
                errors[kind] = errors.get(kind, 0) + 1
        done += 1

    await run_paced(count, rate, one, lambda: say("progress", started, done))
    return GeneratorRun(
        indices=list(range(start, start + count)),
        due=due,
        sent=sent,
        answered=answered,
        ok=ok,
        sequence_numbers=sequences,
        message_ids=[],
        errors=errors,
        cpu_seconds=time.process_time() - cpu,
    )


async def _serve(window: int, mix: Mix, commands: LineReader) -> None:
    system_id, password = ACCOUNT
    async with open_smsc_simulator({system_id: password}, window=window) as smsc:
        say("ready", repr(time.perf_counter()), smsc.port)
        session: EsmeSession | None = None
        while (line := await commands.readline()) is not None:
            command, *words = line.split()
            if command == "bind":
                session = await smsc.wait_for_session(timeout=float(words[0]))
                say("bound")
            elif command == "run" and session is not None:
                start, count = int(words[0]), int(words[1])
                rate, drain, path = float(words[2]), float(words[3]), words[4]
                with collector_paused():
                    run = await _run(session, window, mix, start, count, rate, drain)
                Path(path).write_bytes(msgspec.msgpack.encode(run))
                say("ran", count)
            else:
                say("unknown", command)


def main(argv: list[str]) -> int:
    check_clock()
    window = int(argv[0])
    mix = msgspec.json.decode(argv[1], type=Mix) if len(argv) > 1 else Mix()
    try:
        trio.run(_serve, window, mix, stdin_lines())
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
