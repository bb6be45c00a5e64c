"""Fixtures for the store tests: every store kind, and records to put in them.

The conformance suite asks for ``store`` (an open, empty inbox) or ``open_test_store``
(to open an inbox by name, again and again). Both are parametrized by ``STORE_KINDS``:
a new store kind adds one entry there and one opener below, and no test changes.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine._ids import new_id
from engine.model import Message, Otp, StatusReport
from engine.store import BufferedPart, Store, open_sqlite_store

STORE_KINDS = ["sqlite"]

OpenTestStore = Callable[..., AbstractAsyncContextManager[Store]]

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _sqlite_opener(tmp_path: Path) -> OpenTestStore:
    @asynccontextmanager
    async def open_named(name: str = "inbox", **options: Any) -> AsyncIterator[Store]:
        async with open_sqlite_store(tmp_path / f"{name}.db", **options) as store:
            yield store

    return open_named


_OPENERS: dict[str, Callable[[Path], OpenTestStore]] = {"sqlite": _sqlite_opener}


@pytest.fixture(params=STORE_KINDS)
def open_test_store(request: pytest.FixtureRequest, tmp_path: Path) -> OpenTestStore:
    """``open_test_store(name="inbox")``: the inbox ``name`` of this test, opened again
    with what it held when it was last closed (a new name is a new, empty inbox)."""
    return _OPENERS[request.param](tmp_path)


@pytest.fixture
async def store(open_test_store: OpenTestStore) -> AsyncIterator[Store]:
    async with open_test_store() as opened:
        yield opened


_counter = itertools.count()


def make_message(**fields: Any) -> Message:
    """A message with a fresh id and a fresh carrier id, unless ``fields`` say otherwise."""
    n = next(_counter)
    values: dict[str, Any] = {
        "id": new_id("msg"),
        "tenant": "acme",
        "number_used": "+15550000001",
        "sender_id": "+15550000002",
        "content": f"message {n}",
        "encoding": "text",
        "parts": 1,
        "received_at": T0 + timedelta(seconds=n),
        "sent_at": None,
        "carrier": "sandbox",
        "carrier_message_id": f"cm-{n}",
        "otp": None,
    }
    values.update(fields)
    return Message(**values)


def make_otp(code: str = "123456") -> Otp:
    return Otp(code=code, confidence=0.9, origin="keyword")


def make_part(set_key: str, seq: int, total: int = 3, **fields: Any) -> BufferedPart:
    values: dict[str, Any] = {
        "set_key": set_key,
        "seq": seq,
        "total": total,
        "carrier": "sandbox",
        "carrier_message_id": f"{set_key}-part-{seq}",
        "received_at": T0,
        "expires_at": T0 + timedelta(hours=1),
        "payload": f"payload {seq}".encode(),
    }
    values.update(fields)
    return BufferedPart(**values)


def make_report(**fields: Any) -> StatusReport:
    n = next(_counter)
    values: dict[str, Any] = {
        "id": new_id("dlr"),
        "tenant": "acme",
        "carrier": "sandbox",
        "number_used": "+15550000001",
        "refers_to": None,
        "status": "DELIVRD",
        "message_id": None,
        "carrier_message_id": f"dlr-{n}",
        "error_code": None,
        "reported_at": None,
        "received_at": T0 + timedelta(seconds=n),
    }
    values.update(fields)
    return StatusReport(**values)


@pytest.fixture
def records() -> Any:
    """The record factories, for test modules (conftest is not imported by name)."""

    class Records:
        message = staticmethod(make_message)
        otp = staticmethod(make_otp)
        part = staticmethod(make_part)
        report = staticmethod(make_report)
        t0 = T0

    return Records
