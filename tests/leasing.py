"""Numbers for rent in tests: a clock the test moves, an engine config whose leases and
sweeps follow it, and short ways to stock numbers, lease one and text it.

::

    clock = Clock()
    async with engine.open(numbers_config(tmp_path), clock=clock) as septet:
        await stock_numbers(septet, NUMBER)
        await lease_number(septet, "acme", NUMBER)
        message = await receive_text(septet, NUMBER)
        clock.advance(days=1)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import engine
from engine.config import Config, NumbersConfig
from engine.model import InboundText, Message
from engine.store import Prices, Term

START = datetime(2025, 1, 30, 9, 0, tzinfo=UTC)
NUMBER = "+447700900123"
OTHER = "+447700900124"
HOUR = Term(unit="hour", count=1)
DAY = Term(unit="day", count=1)
_ids = iter(range(1_000_000))


class Clock:
    """The time leases run by, moved by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def numbers_config(tmp_path: Path, **fields: Any) -> Config:
    """An engine in ``tmp_path`` whose numbers cool off for 48 hours and whose sweeper
    looks for work every 50 ms."""
    numbers = NumbersConfig(cooling_off_hours=48, watch_seconds=0.05)
    return Config(data_dir=str(tmp_path), numbers=numbers, **fields)


async def receive_text(
    septet: engine.Septet, number: str, body: str = "Your code is 482913"
) -> Message:
    """Receive ``body`` for ``number`` from carrier ``tw``, each time with a new carrier
    message id; the message stored."""
    result = await septet.ingest(
        InboundText(
            carrier="tw",
            number=number,
            sender="Acme",
            text=body,
            carrier_message_id=f"m{next(_ids)}",
        )
    )
    assert result.message is not None
    return result.message


async def stock_numbers(septet: engine.Septet, *numbers: str) -> None:
    """Put ``numbers`` up for rent through carrier ``tw``: 5 an hour, 100 a day, GBP."""
    for number in numbers:
        await septet.numbers.add_number(
            number, country="GB", carrier="tw", prices=Prices(hour=5, day=100), currency="GBP"
        )


async def lease_number(
    septet: engine.Septet, tenant: str, number: str, term: Term = DAY, **options: Any
) -> str:
    """Quote ``number`` to ``tenant`` for ``term`` and confirm the quote; the lease id."""
    quote = await septet.numbers.quote(tenant, number, term, **options)
    return (await septet.numbers.lease(tenant, quote.id)).id
