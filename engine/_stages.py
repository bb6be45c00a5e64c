"""Stage timestamps of inbound messages, for ``septet bench``; nothing at all unless asked.

A benchmark wants to know where a message's time goes between the carrier's socket and
the carrier's acknowledgement: when the carrier had the request or PDU (received), when
the pipeline had decoded and normalised it and handed it to the store (decoded), when the
store answered the commit (committed), and when the acknowledgement was written
(acknowledged). The few places on the ingest path where those moments happen call the
installed :data:`RECORDER`, guarded so that without one they cost one global load and
one comparison::

    if _stages.RECORDER is not None:
        _stages.RECORDER.smpp_received(pdu.sequence_number)

Only the benchmark's engine process installs a recorder (:func:`install`); a serving
engine never has one. A hook hands the recorder what it has in hand (a sequence number,
a request body, a store write) and the recorder takes the time itself and keeps what it
needs to join the stages of one message later: a hook does no lookup, parsing or I/O
that the recorder can leave for after the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["RECORDER", "StageRecorder", "install"]


class StageRecorder(Protocol):
    """What the ingest path reports; every method is called on the engine's trio thread
    and must return at once (append a timestamp and a key, nothing more)."""

    def smpp_received(self, sequence_number: int) -> None:
        """A deliver_sm or data_sm was read off an SMPP bind."""

    def smpp_written(self, frames: Sequence[bytes]) -> None:
        """These frames (responses among them) were written to an SMPP bind."""

    def http_received(self, body: bytes) -> None:
        """A carrier's webhook request with this body was read and parsed."""

    def http_answered(self, body: bytes) -> None:
        """The answer to the webhook request with this body was written."""

    def store_submitted(self, op: object) -> None:
        """A write reached the store's writer: the pipeline is done with its messages."""

    def store_committed(self, ops: Sequence[object]) -> None:
        """These writes were committed together and are about to be answered."""


RECORDER: StageRecorder | None = None
"""The installed recorder, or None (always, outside a benchmark)."""


def install(recorder: StageRecorder | None) -> None:
    """Make ``recorder`` the one the ingest path reports to (None: stop reporting)."""
    global RECORDER
    RECORDER = recorder
