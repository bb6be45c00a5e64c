"""The HTTP load generator: signed Twilio webhooks, in a process of its own.

``python -m engine._bench._http_generator URL AUTH_TOKEN CONNECTIONS MIX`` opens
``CONNECTIONS`` kept-alive connections to the engine's ``twilio`` carrier at ``URL``
(:class:`~._http_load.HttpLoad`) and says ``ready CLOCK``. Then, one line each (see
:mod:`._child`):

* ``run START COUNT RATE DRAIN PATH``: sign the webhooks of messages ``START`` to
  ``START + COUNT - 1`` (each with its own ``MessageSid``), then post them open loop at
  ``RATE`` a second (a due request waits for a free connection; its latency counts
  from when it was due), saying ``progress SENT ANSWERED`` as it goes and ``ran N`` once
  the :class:`~._records.GeneratorRun` is in ``PATH``. Requests still unanswered
  ``DRAIN`` seconds after the last answer are given up;
* end of input: the generator exits at once, mid-run included.
"""

from __future__ import annotations

import os
import selectors
import sys
import time
from pathlib import Path

import msgspec

from ._child import check_clock, say, take_line
from ._collector import collector_paused
from ._http_load import HttpLoad, ParentGoneError, sign_requests, twilio_signature
from ._messages import Mix, twilio_fields
from ._records import GeneratorRun

__all__: list[str] = []


class _Commands:
    """Lines from standard input, read with blocking waits between runs."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._selector = selectors.DefaultSelector()
        self._selector.register(fd, selectors.EVENT_READ)

    def readline(self) -> str | None:
        while (line := take_line(self._buffer)) is None:
            self._selector.select()
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            if not data:
                return None
            self._buffer += data
        return line


def _run(load: HttpLoad, url: str, token: str, mix: Mix, words: list[str]) -> None:
    start, count = int(words[0]), int(words[1])
    rate, drain, path = float(words[2]), float(words[3]), words[4]
    forms = [twilio_fields(index, mix) for index in range(start, start + count)]
    load.load(sign_requests(url, forms, twilio_signature(token)), start)
    load.drain_seconds = drain
    records = load.run_phase(
        "run",
        count / rate,
        rate,
        lambda sent, answered: say("progress", sent, answered),
        total=count,
    )
    run = GeneratorRun(
        indices=records.indices,
        due=records.due,
        sent=records.sent,
        answered=records.answered,
        ok=records.ok,
        sequence_numbers=[],
        message_ids=[],
        errors=records.errors,
        cpu_seconds=records.cpu_seconds,
    )
    Path(path).write_bytes(msgspec.msgpack.encode(run))
    say("ran", count)


def main(argv: list[str]) -> int:
    check_clock()
    url, token, connections = argv[0], argv[1], int(argv[2])
    mix = msgspec.json.decode(argv[3], type=Mix) if len(argv) > 3 else Mix()
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    load = HttpLoad(url, connections, 10.0, watch_fd=stdin)
    commands = _Commands(stdin)
    say("ready", repr(time.perf_counter()))
    try:
        while (line := commands.readline()) is not None:
            command, *words = line.split()
            if command == "run":
                with collector_paused():
                    _run(load, url, token, mix, words)
            else:
                say("unknown", command)
    except (ParentGoneError, KeyboardInterrupt):
        return 130
    finally:
        load.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
