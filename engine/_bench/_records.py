"""What the benchmark's processes hand back to the orchestrator, as msgpack files."""

from __future__ import annotations

import msgspec

from ._recorder import StageLog

__all__ = ["EngineReport", "GeneratorRun", "InboxEntry", "Usage"]


class GeneratorRun(msgspec.Struct, frozen=True, kw_only=True):
    """One paced run of a load generator, one entry per message in each list."""

    indices: list[int]
    due: list[float]
    """``perf_counter`` when the message was due (open loop)."""
    sent: list[float]
    """When its first byte went out (or, embedded, when ``ingest`` was called)."""
    answered: list[float]
    """When the generator had its last acknowledgement; NaN without one."""
    ok: list[bool]
    """Every part acknowledged as stored (``ESME_ROK``, ``200`` with TwiML, committed)."""
    sequence_numbers: list[list[int]]
    """SMPP: the sequence number of each of its PDUs; empty lists otherwise."""
    message_ids: list[str]
    """Embedded: the id ``ingest`` answered with (empty when it failed); empty otherwise."""
    errors: dict[str, int]
    """What went wrong, by kind (``status 0x00000014``, ``no answer``...)."""
    cpu_seconds: float
    """The generator's CPU time over the run."""


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """A process's resource usage at one moment (``getrusage`` of itself)."""

    user_seconds: float
    system_seconds: float
    max_rss_bytes: int
    at: float
    """``perf_counter`` when it was read."""


class InboxEntry(msgspec.Struct, frozen=True, array_like=True):
    id: str
    content: str
    carrier_message_id: str | None
    parts: int


class EngineReport(msgspec.Struct, frozen=True, kw_only=True):
    """What the engine process hands back when it stops."""

    stages: StageLog
    inbox: list[InboxEntry]
    usage: Usage
    retried_deliveries: int
    """Delivery attempts that failed and were scheduled again (fan-out)."""
