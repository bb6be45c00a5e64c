"""Test-fire: one sample message delivered to a destination now, outside the outbox.

The sample is built like a committed message (its code extracted as the pipeline does)
and flagged ``test``; it goes through the destination's own adapter once, within the
policy's timeout, with no delivery row, retry, attempt log, breaker or rate limit. The
outcome is answered, not raised: a target that refuses or cannot be reached is a result.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Literal

import msgspec
import structlog
import trio

from . import otp
from ._ids import new_id
from .errors import DeliveryError, PermanentDeliveryError
from .model import Delivery, DeliveryReceipt, Message
from .pipeline._pipeline import _model_otp
from .plugin_api import Destination

__all__ = ["TestResult", "fire_test"]

_TEXT_CHARS = 500
"""Test results cut the target's answer and the error to this many characters."""
_SAMPLE_NUMBER = "+12025550123"
_SAMPLE_SENDER = "Septet"
_SAMPLE_TEXT = "Septet test message: your code is 271828"

_log = structlog.get_logger("septet.delivery")


class TestResult(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One test delivery's outcome; nothing of it is stored."""

    destination: str
    outcome: Literal["delivered", "retryable", "permanent"]
    """``delivered``; ``retryable``: the outbox would try again; ``permanent``: it would
    not (the target refused the message for good)."""
    status_code: int | None
    duration_ms: float
    response: str | None
    """The start of the target's answer, redacted by the adapter."""
    error: str | None
    message: Message
    """The sample sent (flagged ``test``)."""


async def fire_test(
    adapter: Destination,
    name: str,
    tenant: str,
    timeout: float,
    *,
    content: str | None = None,
    sender: str | None = None,
    number: str | None = None,
) -> TestResult:
    """Deliver a sample message (``content``, ``sender``, ``number`` or sample values)
    to the destination ``name`` through ``adapter`` once; how it went."""
    message = _sample(tenant, content, sender, number)
    now = datetime.now(UTC)
    delivery = Delivery(
        id=new_id("dlv"), destination=name, message=message, attempt=1, created_at=now
    )
    receipt: DeliveryReceipt | None = None
    error: BaseException | None = None
    started = time.perf_counter()
    with trio.move_on_after(timeout) as deadline:
        try:
            receipt = await adapter.deliver(delivery)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:
            _log.exception("destination adapter raised", destination=name)
            error = RuntimeError(f"the adapter raised {type(exc).__name__}: {exc}")
    if deadline.cancelled_caught:
        error = RuntimeError(f"no answer within {timeout:g} s")
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    status_code = None if receipt is None else receipt.status_code
    response = None if receipt is None else receipt.response
    if isinstance(error, DeliveryError):
        status_code, response = error.status_code, error.response
    outcome: Literal["delivered", "retryable", "permanent"] = "delivered"
    if error is not None:
        outcome = "permanent" if isinstance(error, PermanentDeliveryError) else "retryable"
    _log.info(
        "destination test-fired",
        destination=name,
        outcome=outcome,
        status_code=status_code,
        duration_ms=duration_ms,
    )
    return TestResult(
        destination=name,
        outcome=outcome,
        status_code=status_code,
        duration_ms=duration_ms,
        response=_cut(response),
        error=None if error is None else _cut(str(error) or type(error).__name__),
        message=message,
    )


def _sample(tenant: str, content: str | None, sender: str | None, number: str | None) -> Message:
    """A message shaped like a committed one, flagged ``test``."""
    text = _SAMPLE_TEXT if content is None else content
    now = datetime.now(UTC)
    return Message(
        id=new_id("msg"),
        tenant=tenant,
        number_used=_SAMPLE_NUMBER if number is None else number,
        sender_id=_SAMPLE_SENDER if sender is None else sender,
        content=text,
        encoding="text",
        parts=1,
        received_at=now,
        sent_at=now,
        carrier="test",
        carrier_message_id=None,
        otp=_model_otp(otp.extract(text)),
        flags=("test",),
    )


def _cut(text: str | None) -> str | None:
    if text is None or len(text) <= _TEXT_CHARS:
        return text
    return text[: _TEXT_CHARS - 1] + "…"
