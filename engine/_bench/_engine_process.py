"""The engine under benchmark, in a process of its own.

``python -m engine._bench._engine_process PLAN`` opens the engine with the configuration
the orchestrator wrote to the file ``PLAN`` (a fresh SQLite data directory, the carrier
of the scenario, the webhook destination of a fan-out), installs the stage recorder
(:mod:`._recorder`), says ``ready CLOCK API_URL`` and obeys, one line each (see :mod:`._child`):

* ``usage``: ``usage JSON``, its CPU time and peak memory now (:class:`~._records.Usage`);
* ``run START COUNT RATE DRAIN PATH`` (the embedded path only): ingest messages ``START`` to
  ``START + COUNT - 1`` open loop at ``RATE`` a second through the Python API, saying
  ``progress SENT ANSWERED`` as it goes and ``ran N`` once the
  :class:`~._records.GeneratorRun` is in ``PATH``;
* ``stop PATH``: read the inbox back, close the engine, write the
  :class:`~._records.EngineReport` to ``PATH`` and say ``stopped``.

The embedded path has no other process to generate its load: the Python API is a call
inside the engine's own process, so the generator shares the engine's interpreter and
trio thread, and its cost is part of the engine's CPU time.
"""

from __future__ import annotations

import math
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import trio

from .. import _stages
from .._logging import configure_logging
from ..config import Config, LogConfig
from ..model import IngestResult
from ._child import LineReader, check_clock, say, stdin_lines
from ._messages import Mix, embed_items
from ._pacing import run_paced
from ._recorder import BenchRecorder
from ._records import EngineReport, GeneratorRun, InboxEntry, Usage

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = ["EnginePlan", "usage_now"]

_INBOX_PAGE = 1000


class EnginePlan(msgspec.Struct, frozen=True, kw_only=True):
    config: Config
    embed_carrier: str = "bench"
    mix: Mix = msgspec.field(default_factory=Mix)
    destination: str | None = None
    """The fan-out destination's name, whose retries are counted."""


def usage_now() -> Usage:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return Usage(
        user_seconds=own.ru_utime,
        system_seconds=own.ru_stime,
        max_rss_bytes=own.ru_maxrss * 1024,  # Linux reports KiB
        at=time.perf_counter(),
    )


async def _embed_run(
    septet: Septet, plan: EnginePlan, start: int, count: int, rate: float, drain: float
) -> GeneratorRun:
    items = [
        embed_items(index, plan.mix, plan.embed_carrier) for index in range(start, start + count)
    ]
    due = [math.nan] * count
    sent = [math.nan] * count
    answered = [math.nan] * count
    ok = [False] * count
    message_ids = [""] * count
    errors: dict[str, int] = {}
    started = done = 0
    cpu = time.process_time()

    async def one(slot: int, when: float) -> None:
        nonlocal done, started
        started += 1
        due[slot] = when
        sent[slot] = time.perf_counter()
        parts = items[slot]
        # Given up on once the run's last message was due ``drain`` seconds ago.
        last_due = when + (count - 1 - slot) / rate
        results: list[IngestResult] | None = None
        failure = "no answer"
        with trio.move_on_at(trio.current_time() + (last_due + drain - time.perf_counter())):
            try:
                if len(parts) == 1:
                    results = [await septet.ingest(parts[0])]
                else:
                    results = list(await septet.ingest_many(parts))
            except Exception as error:
                failure = type(error).__name__
        if results is None:
            errors[failure] = errors.get(failure, 0) + 1
        else:
            answered[slot] = time.perf_counter()
            ok[slot] = all(isinstance(r, IngestResult) for r in results)
            for result in results:
                if result.message is not None and result.outcome == "committed":
                    message_ids[slot] = result.message.id
        done += 1

    await run_paced(count, rate, one, lambda: say("progress", started, done))
    return GeneratorRun(
        indices=list(range(start, start + count)),
        due=due,
        sent=sent,
        answered=answered,
        ok=ok,
        sequence_numbers=[[] for _ in range(count)],
        message_ids=message_ids,
        errors=errors,
        cpu_seconds=time.process_time() - cpu,
    )


async def _inbox(septet: Septet) -> list[InboxEntry]:
    entries: list[InboxEntry] = []
    after: str | None = None
    while page := await septet.messages(limit=_INBOX_PAGE, oldest_first=True, after=after):
        entries.extend(InboxEntry(m.id, m.content, m.carrier_message_id, m.parts) for m in page)
        after = page[-1].id
    return entries


async def _serve(plan: EnginePlan, commands: LineReader) -> None:
    from .._engine import open as open_engine

    recorder = BenchRecorder()
    _stages.install(recorder)
    Path(plan.config.data_dir).mkdir(parents=True, exist_ok=True)
    async with open_engine(plan.config) as septet:
        say("ready", repr(time.perf_counter()), septet.api_url or "-")
        while (line := await commands.readline()) is not None:
            command, *words = line.split()
            if command == "usage":
                say("usage", msgspec.json.encode(usage_now()).decode())
            elif command == "run":
                start, count = int(words[0]), int(words[1])
                rate, drain, path = float(words[2]), float(words[3]), words[4]
                run = await _embed_run(septet, plan, start, count, rate, drain)
                Path(path).write_bytes(msgspec.msgpack.encode(run))
                say("ran", count)
            elif command == "stop":
                inbox = await _inbox(septet)
                retried = 0
                if plan.destination is not None:
                    value = septet.metrics.registry.get_sample_value(
                        "septet_delivery_attempts_total",
                        {"destination": plan.destination, "outcome": "retry"},
                    )
                    retried = int(value or 0)
                usage = usage_now()
                stages = recorder.log()
                _stages.install(None)
                report = EngineReport(
                    stages=stages, inbox=inbox, usage=usage, retried_deliveries=retried
                )
                Path(words[0]).write_bytes(msgspec.msgpack.encode(report))
                break
            else:
                say("unknown", command)
    say("stopped")


def main(argv: list[str]) -> int:
    check_clock()
    plan = msgspec.json.decode(Path(argv[0]).read_bytes(), type=EnginePlan)
    configure_logging(LogConfig(level="warning"))
    try:
        trio.run(_serve, plan, stdin_lines())
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
