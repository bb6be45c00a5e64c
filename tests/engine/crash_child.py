"""A child process for the crash test: ingest through the embedding API until killed.

Usage: ``python crash_child.py DATA_DIR START RETRY_FROM``. It first re-sends ids
``RETRY_FROM .. START-1`` (a carrier retrying what it may not have heard acknowledged),
then sends new ids from ``START`` on, 32 at a time. After each ``ingest`` returns it
prints ``ack <id> <outcome>``, so the parent knows exactly what was acknowledged.
"""

from __future__ import annotations

import sys

import trio

import engine
from engine.config import Config, StoreConfig
from engine.model import InboundText

CONCURRENCY = 32


def item(index: int) -> InboundText:
    return InboundText(
        carrier="crashtest",
        number="+15550001111",
        sender="+15550002222",
        text=f"Your verification code is {index % 1_000_000:06d}",
        carrier_message_id=f"m{index}",
    )


async def main(data_dir: str, start: int, retry_from: int) -> None:
    config = Config(data_dir=data_dir, store=StoreConfig(batch_ms=1.0))
    async with engine.open(config) as septet:
        print("ready", flush=True)

        async def send(index: int, limiter: trio.CapacityLimiter) -> None:
            async with limiter:
                result = await septet.ingest(item(index))
                print(f"ack {index} {result.outcome}", flush=True)

        limiter = trio.CapacityLimiter(CONCURRENCY)
        async with trio.open_nursery() as nursery:
            for index in range(retry_from, start):
                nursery.start_soon(send, index, limiter)
            index = start
            while True:
                await limiter.acquire()
                limiter.release()
                nursery.start_soon(send, index, limiter)
                index += 1
                await trio.lowlevel.checkpoint()


if __name__ == "__main__":
    trio.run(main, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
