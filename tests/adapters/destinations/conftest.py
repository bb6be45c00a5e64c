"""Fixtures for the destination adapters: a receiving HTTP server and deliveries to send."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from http_server import HttpTestServer, open_http_server

from engine.model import Delivery, Message, Otp

MakeDelivery = Callable[..., Delivery]


@pytest.fixture
async def server() -> AsyncIterator[HttpTestServer]:
    async with open_http_server() as server:
        yield server


@pytest.fixture
def make_delivery() -> MakeDelivery:
    """Build a delivery; keyword arguments replace fields of its message."""

    def make(*, delivery_id: str = "dlv_2b9QdT7x", attempt: int = 1, **fields: Any) -> Delivery:
        message: dict[str, Any] = {
            "id": "msg_2b9QdS4v",
            "tenant": "default",
            "number_used": "+15550100001",
            "sender_id": "+15557654321",
            "content": "Your code is 123456. Do not share it.",
            "encoding": "gsm7",
            "parts": 1,
            "received_at": datetime(2025, 1, 1, 12, 0, tzinfo=UTC),
            "sent_at": datetime(2025, 1, 1, 11, 59, 58, tzinfo=UTC),
            "carrier": "sandbox",
            "carrier_message_id": "sb-1",
            "otp": Otp(code="123456", confidence=0.98, origin="keyword"),
        }
        message.update(fields)
        return Delivery(
            id=delivery_id,
            destination="conformance",
            message=Message(**message),
            attempt=attempt,
            created_at=datetime(2025, 1, 1, 12, 0, 1, tzinfo=UTC),
        )

    return make
