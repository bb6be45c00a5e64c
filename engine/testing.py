"""Test helpers for plugin authors, in the spirit of ``trio.testing``.

* :func:`open_carrier_harness` runs a carrier in a nursery with a recording ``emit``,
  waits until it has started, and hands back a :class:`CarrierHarness` holding what it
  emitted.
* :func:`check_carrier_class` and :func:`check_destination_class` check that a class
  keeps the plugin contract (``api_version``, a frozen msgspec ``Config``, the
  constructor, the Protocol's shape) and return the instance they built.
* :func:`check_carrier_runs` checks that a carrier starts, says so, and stops promptly
  when cancelled.

The harness's ``emit`` is a test double of the engine, not the engine: it stores
nothing, decodes nothing and reassembles nothing. It answers at once, like this:
``duplicate`` for an item whose (carrier, carrier message id) it has seen before,
``status`` for a status report, ``buffered`` for one segment of a concatenated text,
and ``committed`` with a :class:`~engine.model.Message` made from the item otherwise
(for a PDU, the message's sender and content are empty). Pass ``respond`` to answer
differently: to hold ``emit`` until the test lets it return, or to raise
:class:`~engine.errors.StoreError` the way an engine does when it cannot commit.

``emit.many(items)`` records the items in order, then answers each with ``respond``,
concurrently, turning what one raises into its outcome (as the engine's
``many`` does). Pass ``respond_many`` to answer whole lists instead, for example with
a running engine's :meth:`~engine.Septet.ingest_each`.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import trio

from . import _ids
from ._modem_emulator import (
    HUAWEI_E3372,
    MODEM_DIALECTS,
    QUECTEL_EC25,
    SIMCOM_SIM800,
    SIMCOM_SIM7600,
    ModemDialect,
    ModemEmulator,
    StoredSms,
    open_modem_emulator,
)
from ._smsc_simulator import (
    EsmeResponse,
    EsmeSession,
    SessionClosedError,
    SmscSimulator,
    open_smsc_simulator,
    receipt_deliver_sm,
    text_deliver_sms,
)
from .model import (
    InboundItem,
    InboundPdu,
    InboundStatus,
    InboundText,
    IngestResult,
    Message,
    StatusReport,
)
from .plugin_api import API_VERSION, Carrier, Destination, Emit

__all__ = [
    "CarrierHarness",
    "EsmeResponse",
    "EsmeSession",
    "HUAWEI_E3372",
    "MODEM_DIALECTS",
    "ModemDialect",
    "ModemEmulator",
    "QUECTEL_EC25",
    "SIMCOM_SIM7600",
    "SIMCOM_SIM800",
    "SessionClosedError",
    "SmscSimulator",
    "StoredSms",
    "check_carrier_class",
    "check_carrier_runs",
    "check_destination_class",
    "open_carrier_harness",
    "open_modem_emulator",
    "open_smsc_simulator",
    "receipt_deliver_sm",
    "text_deliver_sms",
]


_Respond = Callable[[InboundItem], Awaitable[IngestResult]]
_RespondMany = Callable[[Sequence[InboundItem]], Awaitable[list[IngestResult | Exception]]]


class CarrierHarness:
    """What a carrier under test emitted. Made by :func:`open_carrier_harness`."""

    def __init__(
        self, respond: _Respond | None = None, respond_many: _RespondMany | None = None
    ) -> None:
        self.items: list[InboundItem] = []
        """Every item the carrier emitted, in order, including ones still being answered."""
        self.results: list[IngestResult] = []
        """The answers ``emit`` returned, in the order it returned them (for a list given
        to ``emit.many``: its items' results, in the list's order, once all are answered)."""
        self.batches: list[int] = []
        """The length of every list given to ``emit.many``, in order."""
        self.emit: Emit = _RecordingEmit(self)
        """The ``emit`` the carrier runs with: records each item, then answers it."""
        self._respond = respond if respond is not None else self._answer_like_the_engine
        self._respond_many = respond_many
        self._seen: dict[tuple[str, str], Message | None] = {}
        self._changed = trio.Event()

    def _record(self, items: Sequence[InboundItem]) -> None:
        self.items.extend(items)
        self._changed.set()
        self._changed = trio.Event()

    async def _emit(self, item: InboundItem) -> IngestResult:
        self._record((item,))
        result = await self._respond(item)
        self.results.append(result)
        return result

    async def _emit_many(self, items: Sequence[InboundItem]) -> list[IngestResult | Exception]:
        self.batches.append(len(items))
        self._record(items)
        if self._respond_many is not None:
            outcomes = await self._respond_many(items)
        else:
            outcomes = await self._answer_each(items)
        self.results.extend(o for o in outcomes if isinstance(o, IngestResult))
        return outcomes

    async def _answer_each(self, items: Sequence[InboundItem]) -> list[IngestResult | Exception]:
        outcomes: list[IngestResult | Exception | None] = [None] * len(items)

        async def answer(index: int, item: InboundItem) -> None:
            try:
                outcomes[index] = await self._respond(item)
            except Exception as error:
                outcomes[index] = error

        async with trio.open_nursery() as nursery:
            for index, item in enumerate(items):
                nursery.start_soon(answer, index, item)
        return [outcome for outcome in outcomes if outcome is not None]

    async def wait_for_items(self, count: int, timeout: float = 5.0) -> list[InboundItem]:
        """Wait until the carrier has emitted ``count`` items in all; returns them all.

        Raises ``trio.TooSlowError`` after ``timeout`` seconds.
        """
        with trio.fail_after(timeout):
            while len(self.items) < count:
                await self._changed.wait()
        return list(self.items)

    async def _answer_like_the_engine(self, item: InboundItem) -> IngestResult:
        await trio.lowlevel.checkpoint()
        key = (item.carrier, item.carrier_message_id) if item.carrier_message_id else None
        if key is not None and key in self._seen:
            return IngestResult(outcome="duplicate", message=self._seen[key])
        message: Message | None = None
        if isinstance(item, InboundStatus):
            result = IngestResult(outcome="status", status_report=_status_report(item))
        elif isinstance(item, InboundText) and item.segment is not None:
            result = IngestResult(outcome="buffered")
        else:
            message = _message(item)
            result = IngestResult(outcome="committed", message=message)
        if key is not None:
            self._seen[key] = message
        return result


class _RecordingEmit:
    """The harness's :class:`~engine.plugin_api.Emit`."""

    __slots__ = ("_harness",)

    def __init__(self, harness: CarrierHarness) -> None:
        self._harness = harness

    async def __call__(self, item: InboundItem, /) -> IngestResult:
        return await self._harness._emit(item)

    async def many(self, items: Sequence[InboundItem], /) -> list[IngestResult | Exception]:
        return await self._harness._emit_many(items)


@asynccontextmanager
async def open_carrier_harness(
    carrier: Carrier,
    *,
    respond: _Respond | None = None,
    respond_many: _RespondMany | None = None,
    start_timeout: float = 5.0,
) -> AsyncIterator[CarrierHarness]:
    """Run ``carrier`` until the block exits, with a recording ``emit``.

    Waits for the carrier's ``task_status.started()`` (``trio.TooSlowError`` after
    ``start_timeout`` seconds), yields the :class:`CarrierHarness`, and cancels the
    carrier when the block exits. An exception from the carrier (or the block) comes
    out of the block as itself, not in an ExceptionGroup, unless there are several.
    ``respond`` replaces the engine double's answer to one item, ``respond_many`` its
    answer to a list given to ``emit.many`` (see the module docstring).
    """
    harness = CarrierHarness(respond, respond_many)
    try:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(start_timeout):
                await nursery.start(_run_carrier, carrier, harness.emit)
            try:
                yield harness
            finally:
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # The nursery is ours, not the caller's: one error comes out as itself.
        if len(group.exceptions) != 1:
            raise
        only = group.exceptions[0]
        raise only from only.__cause__


async def check_carrier_runs(carrier: Carrier, *, timeout: float = 5.0) -> None:
    """Check that ``carrier`` starts, signals it, and returns within ``timeout`` seconds of
    being cancelled. Raises ``AssertionError`` or ``trio.TooSlowError``.

    A carrier that shields itself from cancellation forever hangs this check (as it would
    hang the engine's shutdown); run it under a test timeout.
    """
    async with open_carrier_harness(carrier, start_timeout=timeout):
        await trio.sleep(0)
        cancelled_at = trio.current_time()
    stopped_in = trio.current_time() - cancelled_at
    _require(stopped_in <= timeout, f"the carrier took {stopped_in:.1f}s to stop after cancel")


def check_carrier_class(cls: type[Any], config: Mapping[str, Any]) -> Carrier:
    """Check that ``cls`` keeps the carrier plugin contract; returns the instance built
    with ``config`` (a plugin's settings as in the config file). Raises ``AssertionError``."""
    instance = _check_plugin_class(cls, config)
    _require(isinstance(instance, Carrier), f"{cls.__name__} lacks a member of Carrier")
    _require(inspect.iscoroutinefunction(cls.run), f"{cls.__name__}.run is not `async def`")
    parameters = inspect.signature(cls.run).parameters
    _require("task_status" in parameters, f"{cls.__name__}.run takes no task_status")
    return instance  # type: ignore[no-any-return]


def check_destination_class(cls: type[Any], config: Mapping[str, Any]) -> Destination:
    """Check that ``cls`` keeps the destination plugin contract; returns the instance
    built with ``config``. Raises ``AssertionError``."""
    instance = _check_plugin_class(cls, config)
    _require(isinstance(instance, Destination), f"{cls.__name__} lacks a member of Destination")
    for method in ("deliver", "aclose"):
        _require(
            inspect.iscoroutinefunction(getattr(cls, method)),
            f"{cls.__name__}.{method} is not `async def`",
        )
    return instance  # type: ignore[no-any-return]


def _check_plugin_class(cls: type[Any], config: Mapping[str, Any]) -> Any:
    _require(inspect.isclass(cls), f"{cls!r} is not a class")
    name = cls.__name__
    declared = getattr(cls, "api_version", None)
    _require(declared == API_VERSION, f"{name}.api_version is {declared!r}, not {API_VERSION}")
    config_type: Any = getattr(cls, "Config", None)
    _require(
        inspect.isclass(config_type) and issubclass(config_type, msgspec.Struct),
        f"{name}.Config is not a msgspec Struct",
    )
    _require(config_type.__struct_config__.frozen, f"{name}.Config is not frozen=True")
    parsed = msgspec.convert(dict(config), config_type)
    instance = cls("conformance", parsed)
    _require(getattr(instance, "name", None) == "conformance", f"{name} does not keep its name")
    return instance


async def _run_carrier(
    carrier: Carrier,
    emit: Emit,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    await carrier.run(emit, task_status=task_status)


def _require(condition: bool, message: str) -> None:
    # Not `assert`: the checks hold under `python -O` too.
    if not condition:
        raise AssertionError(message)


def _message(item: InboundText | InboundPdu) -> Message:
    now = datetime.now(UTC)
    text = item if isinstance(item, InboundText) else None
    return Message(
        id=_ids.new_id("msg"),
        tenant="default",
        number_used=item.number,
        sender_id=text.sender if text else "",
        content=text.text if text else "",
        encoding=text.encoding if text else "text",
        parts=1,
        received_at=item.received_at or now,
        sent_at=text.sent_at if text else None,
        carrier=item.carrier,
        carrier_message_id=item.carrier_message_id,
        otp=None,
        flags=text.flags if text else (),
    )


def _status_report(item: InboundStatus) -> StatusReport:
    return StatusReport(
        id=_ids.new_id("sr"),
        tenant="default",
        carrier=item.carrier,
        number_used=item.number,
        refers_to=item.refers_to,
        status=item.status,
        message_id=None,
        carrier_message_id=item.carrier_message_id,
        error_code=item.error_code,
        reported_at=item.reported_at,
        received_at=item.received_at or datetime.now(UTC),
    )
