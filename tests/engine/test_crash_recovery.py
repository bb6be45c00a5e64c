"""``kill -9`` the engine while it ingests: nothing acknowledged is lost or doubled.

A separate process ingests continuously through the embedding API and prints each
acknowledgement; this test kills it with SIGKILL at a random moment, 20 times, each new
run first re-sending the previous run's tail as a carrier would. Afterwards every
acknowledged message is in the inbox exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import trio

import engine
from engine.config import Config

CYCLES = 20
CHILD = Path(__file__).with_name("crash_child.py")


def run_cycle(data_dir: Path, start: int, retry_from: int, rng: random.Random) -> dict[int, str]:
    errors = data_dir.parent / "child-stderr.txt"
    with errors.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(data_dir), str(start), str(retry_from)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert proc.stdout is not None
    for line in proc.stdout:  # log lines may come first
        if line.strip() == "ready":
            break
    else:
        proc.wait(timeout=60)
        raise AssertionError(f"the child never became ready: {errors.read_text()[-2000:]}")
    time.sleep(rng.uniform(0.02, 0.4))
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    acked: dict[int, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "ack":  # a line cut by the kill is not an ack
            acked[int(parts[1])] = parts[2]
    return acked


async def stored_ids(data_dir: Path) -> list[str]:
    ids: list[str] = []
    async with engine.open(Config(data_dir=str(data_dir))) as septet:
        after: str | None = None
        while True:
            page = await septet.messages(after=after, oldest_first=True, limit=1000)
            if not page:
                return ids
            ids.extend(m.carrier_message_id or "" for m in page)
            after = page[-1].id


def test_kill_9_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    data_dir = tmp_path / "data"
    acknowledged: set[int] = set()
    start = 0
    retry_from = 0
    for cycle in range(CYCLES):
        acked = run_cycle(data_dir, start, retry_from, rng)
        retried = {i for i in acked if i < start}
        # A retry of something already stored must come back as a duplicate.
        for index in retried & acknowledged:
            assert acked[index] == "duplicate", (cycle, index, acked[index])
        acknowledged |= set(acked)
        new = [i for i in acked if i >= start]
        # The next run re-sends this run's tail, acknowledged or not, as a carrier would.
        retry_from = max(start, max(new, default=start) - 20)
        start = max(new, default=start) + 1_000
    assert len(acknowledged) > CYCLES  # the runs did real work
    ids = trio.run(stored_ids, data_dir)
    assert len(ids) == len(set(ids)), "a message was stored twice"
    missing = {f"m{i}" for i in acknowledged} - set(ids)
    assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
