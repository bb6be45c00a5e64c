"""The stage recorder the benchmark's engine process installs (see :mod:`engine._stages`).

Each hook appends the time (``time.perf_counter()``) and a key to a list, nothing more:
an SMPP PDU's sequence number (the generator numbers its PDUs and knows which message
each belongs to), a Twilio webhook's ``MessageSid``, or the ids of the messages a store
write holds. The responses written to an SMPP bind are kept as the frames were written
and read after the run (:meth:`StageLog.from_recorder`), so the hook does not even
parse them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

import msgspec

from ..smpp import CommandId
from ..store._sqlite_writes import AddParts, CommitMessage, CommitMessages, CompletePartSet, Each

__all__ = ["BenchRecorder", "StageLog"]

_SID_FIELD: Final = b"&MessageSid="
_DELIVER_SM_RESP: Final = int(CommandId.DELIVER_SM_RESP)


class StageLog(msgspec.Struct, frozen=True, kw_only=True):
    """What the engine recorded, as parallel lists of keys and ``perf_counter`` times."""

    smpp_received: list[int]
    smpp_received_at: list[float]
    smpp_answered: list[int]
    """Sequence numbers of the deliver_sm_resp written."""
    smpp_answered_at: list[float]
    http_received: list[str]
    """``MessageSid`` of the webhook requests read."""
    http_received_at: list[float]
    http_answered: list[str]
    http_answered_at: list[float]
    decoded: list[str]
    """Ids of the messages handed to the store."""
    decoded_at: list[float]
    committed: list[str]
    committed_at: list[float]


def _message_ids(op: object) -> list[str]:
    if isinstance(op, Each):
        return [message_id for one in op.ops for message_id in _message_ids(one)]
    if isinstance(op, CommitMessage | CompletePartSet):
        return [op.message.id]
    if isinstance(op, CommitMessages):
        return [one.message.id for one in op.ops]
    if isinstance(op, AddParts) and op.complete is not None:
        # The set's message, should its parts turn out to be the whole set (else that
        # id is never stored, and a later completion is stamped with its own).
        return [op.complete.message.id]
    return []  # a part, a status, an outbox or admin write: no message of its own


def _sid(body: bytes) -> str:
    start = body.find(_SID_FIELD)
    if start < 0:
        return ""
    start += len(_SID_FIELD)
    end = body.find(b"&", start)
    return body[start : end if end >= 0 else len(body)].decode("latin-1")


class BenchRecorder:
    """Implements :class:`engine._stages.StageRecorder`; :meth:`log` gives the result."""

    def __init__(self) -> None:
        self._smpp_received: list[tuple[int, float]] = []
        self._smpp_written: list[tuple[Sequence[bytes], float]] = []
        self._http_received: list[tuple[str, float]] = []
        self._http_answered: list[tuple[str, float]] = []
        self._decoded: list[tuple[list[str], float]] = []
        self._committed: list[tuple[list[str], float]] = []

    def smpp_received(self, sequence_number: int) -> None:
        self._smpp_received.append((sequence_number, time.perf_counter()))

    def smpp_written(self, frames: Sequence[bytes]) -> None:
        self._smpp_written.append((frames, time.perf_counter()))

    def http_received(self, body: bytes) -> None:
        self._http_received.append((_sid(body), time.perf_counter()))

    def http_answered(self, body: bytes) -> None:
        self._http_answered.append((_sid(body), time.perf_counter()))

    def store_submitted(self, op: object) -> None:
        ids = _message_ids(op)
        if ids:
            self._decoded.append((ids, time.perf_counter()))

    def store_committed(self, ops: Sequence[object]) -> None:
        at = time.perf_counter()
        ids = [message_id for op in ops for message_id in _message_ids(op)]
        if ids:
            self._committed.append((ids, at))

    def log(self) -> StageLog:
        """Everything recorded so far, with the written SMPP frames read."""
        answered: list[int] = []
        answered_at: list[float] = []
        for frames, at in self._smpp_written:
            for chunk in frames:
                offset = 0
                while offset + 16 <= len(chunk):
                    length = int.from_bytes(chunk[offset : offset + 4], "big")
                    command = int.from_bytes(chunk[offset + 4 : offset + 8], "big")
                    if command == _DELIVER_SM_RESP:
                        answered.append(int.from_bytes(chunk[offset + 12 : offset + 16], "big"))
                        answered_at.append(at)
                    offset += max(16, length)
        decoded, decoded_at = _flatten(self._decoded)
        committed, committed_at = _flatten(self._committed)
        return StageLog(
            smpp_received=[key for key, _ in self._smpp_received],
            smpp_received_at=[at for _, at in self._smpp_received],
            smpp_answered=answered,
            smpp_answered_at=answered_at,
            http_received=[key for key, _ in self._http_received],
            http_received_at=[at for _, at in self._http_received],
            http_answered=[key for key, _ in self._http_answered],
            http_answered_at=[at for _, at in self._http_answered],
            decoded=decoded,
            decoded_at=decoded_at,
            committed=committed,
            committed_at=committed_at,
        )


def _flatten(entries: list[tuple[list[str], float]]) -> tuple[list[str], list[float]]:
    keys: list[str] = []
    times: list[float] = []
    for ids, at in entries:
        keys.extend(ids)
        times.extend([at] * len(ids))
    return keys, times
