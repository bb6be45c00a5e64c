"""Scoring one phase of one system: what arrived against what was sent.

Arrivals are matched to messages by the tag in the sender's number (see :mod:`stream`).
For each message sent:

* **lost**: nothing arrived for it within the grace period;
* **garbled**: something arrived, but not exactly its text in one piece: raw GSM 7-bit
  code points, UCS-2 left undecoded, a multipart message delivered as separate parts
  or reordered, a text that could not be decoded at all, a Septet webhook whose
  signature did not verify (its content is not to be trusted);
* **duplicates**: arrivals of its exact text beyond the first.

Its latency (fixed-rate phases) runs from its due time, when the SMSC wrote (or should
have written: the schedule, not the write, so a late write is the system's delay too)
its first PDU, to the arrival of its text; for a garbled message to the last thing that
arrived for it, when its consumer had all it would get. Percentiles come from an HDR
histogram in microseconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Final

import msgspec
from hdrh.histogram import HdrHistogram
from sink import Arrival
from stream import StreamMessage, parse_sender

__all__ = ["PERCENTILES", "Garble", "PhaseScore", "score_phase"]

PERCENTILES: Final = (50.0, 90.0, 99.0, 99.9)
_EXAMPLES: Final = 5


class Garble(msgspec.Struct, frozen=True, kw_only=True):
    """One garbled message, to show what went wrong."""

    index: int
    kind: str
    expected: str
    received: list[str | None]
    problems: list[str]


class PhaseScore(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one phase for one system."""

    sent: int
    arrived: int
    """Messages for which something arrived."""
    requests: int
    """Requests the sink received, theirs and strays alike."""
    lost: int
    garbled: int
    duplicates: int
    strays: int
    """Requests no sent message matches (an unknown sender)."""
    first_arrival: float | None
    last_arrival: float | None
    rate: float | None
    """Messages arrived per second, first to last arrival."""
    latency_ms: dict[str, float] | None
    """``"50"``, ``"90"``, ``"99"``, ``"99.9"``, ``"max"``: due time to arrival."""
    garbled_kinds: dict[str, int]
    examples: list[Garble]
    lost_kinds: dict[str, int] = msgspec.field(default_factory=dict)


def score_phase(
    messages: Sequence[StreamMessage],
    arrivals: Sequence[Arrival],
    due: Mapping[int, float] | None = None,
) -> PhaseScore:
    """Score ``arrivals`` against ``messages``; latencies when ``due`` (index -> due
    time, ``time.perf_counter()``) is given."""
    by_index: dict[int, list[Arrival]] = defaultdict(list)
    phase = messages[0].phase if messages else None
    strays = 0
    for arrival in sorted(arrivals, key=lambda a: a.arrival):
        tag = parse_sender(arrival.sender)
        if tag is None or tag[0] != phase or not 0 <= tag[1] < len(messages):
            strays += 1
        else:
            by_index[tag[1]].append(arrival)
    lost = garbled = duplicates = 0
    kinds: dict[str, int] = defaultdict(int)
    lost_kinds: dict[str, int] = defaultdict(int)
    examples: list[Garble] = []
    histogram = HdrHistogram(1, 3_600_000_000, 3)
    times: list[float] = []
    for message in messages:
        got = by_index.get(message.index)
        if not got:
            lost += 1
            lost_kinds[message.kind] += 1
            continue
        exact = [a for a in got if a.text == message.text and a.problem is None]
        if exact and len(exact) == len(got):
            duplicates += len(exact) - 1
            done = exact[0].arrival
        else:
            garbled += 1
            kinds[message.kind] += 1
            duplicates += max(0, len(exact) - 1)
            done = got[-1].arrival
            if len(examples) < _EXAMPLES:
                examples.append(
                    Garble(
                        index=message.index,
                        kind=message.kind,
                        expected=message.text,
                        received=[a.text for a in got],
                        problems=[a.problem for a in got if a.problem],
                    )
                )
        times.append(done)
        if due is not None and message.index in due:
            histogram.record_value(max(1, round((done - due[message.index]) * 1e6)))
    first, last = (min(times), max(times)) if times else (None, None)
    rate = None
    if first is not None and last is not None and last > first:
        rate = (len(times) - 1) / (last - first)
    latency = None
    if due is not None and histogram.get_total_count():
        latency = {f"{p:g}": histogram.get_value_at_percentile(p) / 1000 for p in PERCENTILES} | {
            "max": histogram.get_max_value() / 1000
        }
    return PhaseScore(
        sent=len(messages),
        arrived=len(times),
        requests=len(arrivals),
        lost=lost,
        garbled=garbled,
        duplicates=duplicates,
        strays=strays,
        first_arrival=first,
        last_arrival=last,
        rate=rate,
        latency_ms=latency,
        garbled_kinds=dict(kinds),
        examples=examples,
        lost_kinds=dict(lost_kinds),
    )
