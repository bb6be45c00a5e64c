"""From what the processes recorded to the benchmark's result: join, check, measure.

The stages of one message are recorded in three processes under different keys, and
joined here, after the run, so that recording them costs the engine almost nothing:

* the generator knows each message's index, when it was due, when the sender had its
  answer and (SMPP) the sequence number of each of its PDUs;
* the engine knows when it read each PDU (by sequence number) or webhook request (by
  ``MessageSid``, which is derived from the index) and wrote its answer, and when each
  message id was handed to the store and committed;
* the inbox and the webhook sink hold each message's id and text, and the text ends
  with the message's tag (``#index``): that links a message id to its index, and tells
  whether the text arrived exactly as sent.

A message's ``received`` is its first PDU's, its ``acknowledged`` its last answer's (a
multipart message is acknowledged when all its parts are), its ``delivered`` the first
arrival of its id at the sink. Latencies are recorded in HDR histograms, in µs.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import msgspec
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from ._messages import Mix, kind_of, message_sid, message_text, tag_of
from ._records import EngineReport, GeneratorRun, InboxEntry
from ._sink import SinkRecords

__all__ = [
    "INTERVALS",
    "Accounting",
    "IngestPath",
    "Joined",
    "Latency",
    "Run",
    "Step",
    "account",
    "histogram",
    "join",
    "judge_step",
    "latency",
]

_MAX_MICROS: Final = 60_000_000
IngestPath = Literal["embed", "http", "smpp"]

INTERVALS: Final = (
    ("due → received", "due", "received"),
    ("received → decoded", "received", "decoded"),
    ("decoded → committed", "decoded", "committed"),
    ("committed → acknowledged", "committed", "acknowledged"),
    ("committed → delivered", "committed", "delivered"),
    ("due → acknowledged", "due", "acknowledged"),
    ("due → delivered", "due", "delivered"),
    ("due → answer read by the sender", "due", "answered"),
)
"""The latencies reported: a name, and the stages it runs from and to."""

_ORDER: Final = ("due", "received", "decoded", "committed", "acknowledged")


@dataclass
class Run:
    """One paced run of the generator, as the orchestrator saw it."""

    label: str
    """``warm-up``, ``measured`` or ``step N``."""
    rate: float
    generator: GeneratorRun
    sink: SinkRecords | None
    measured: bool


class Latency(msgspec.Struct, frozen=True, kw_only=True):
    """One latency's distribution, in milliseconds, and its HDR histogram."""

    count: int
    min_ms: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    hdr: str
    """The HdrHistogram (µs), in its standard compressed base64 form."""


class Accounting(msgspec.Struct, frozen=True, kw_only=True):
    """What became of every message sent, warm-up included."""

    sent: int
    acknowledged: int
    """Every part answered as stored, as the sender saw it."""
    stored: int
    """Messages of the inbox that are one of those sent, with their text exact."""
    lost: int
    """Sent and not in the inbox (acknowledged or not)."""
    garbled: int
    """In the inbox with a text other than the one sent, or with no readable tag."""
    duplicated: int
    """Inbox messages beyond the first for the same message sent."""
    delivered: int | None = None
    """Fan-out: messages whose webhook reached the receiver."""
    lost_in_delivery: int | None = None
    """Fan-out: stored, never delivered."""
    garbled_in_delivery: int | None = None
    duplicate_deliveries: int | None = None
    """Fan-out: webhooks beyond the first for the same message (retries)."""
    bad_signatures: int | None = None


def histogram() -> HdrHistogram:
    return HdrHistogram(1, _MAX_MICROS, 3)


def latency(values: Iterable[float]) -> tuple[Latency, HdrHistogram]:
    """The distribution of ``values`` (seconds)."""
    hist = histogram()
    for seconds in values:
        hist.record_value(min(_MAX_MICROS, max(1, round(seconds * 1e6))))

    def ms(value: float) -> float:
        return round(float(value) / 1000.0, 3)

    count = hist.get_total_count()
    return (
        Latency(
            count=count,
            min_ms=ms(hist.get_min_value()) if count else 0.0,
            mean_ms=ms(hist.get_mean_value()) if count else 0.0,
            p50_ms=ms(hist.get_value_at_percentile(50)),
            p90_ms=ms(hist.get_value_at_percentile(90)),
            p99_ms=ms(hist.get_value_at_percentile(99)),
            p999_ms=ms(hist.get_value_at_percentile(99.9)),
            max_ms=ms(hist.get_max_value()),
            hdr=hist.encode().decode("ascii"),
        ),
        hist,
    )


@dataclass
class Joined:
    """Every measured message's stages (``perf_counter`` seconds; NaN when unknown)."""

    indices: list[int] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    out_of_order: int = 0
    """Messages whose known stages are not in order (a defect of the harness or the
    engine: it should be 0)."""
    missing_stages: Counter[str] = field(default_factory=Counter)
    """Measured, acknowledged messages without a timestamp for a stage."""


def _first(keys: Sequence[str] | Sequence[int], times: Sequence[float]) -> dict[object, float]:
    found: dict[object, float] = {}
    for key, at in zip(keys, times, strict=True):
        if key not in found:
            found[key] = at
    return found


def _last(keys: Sequence[str] | Sequence[int], times: Sequence[float]) -> dict[object, float]:
    return dict(zip(keys, times, strict=True))


def _by_tag(entries: Iterable[InboxEntry]) -> dict[int | None, list[InboxEntry]]:
    grouped: dict[int | None, list[InboxEntry]] = defaultdict(list)
    for entry in entries:
        grouped[tag_of(entry.content)].append(entry)
    return grouped


def join(path: IngestPath, runs: Sequence[Run], report: EngineReport) -> Joined:
    """The stages of every message of the measured runs (see the module docstring)."""
    stages = report.stages
    received: dict[object, float]
    acknowledged: dict[object, float]
    if path == "smpp":
        received = _first(stages.smpp_received, stages.smpp_received_at)
        acknowledged = _last(stages.smpp_answered, stages.smpp_answered_at)
    else:
        received = _first(stages.http_received, stages.http_received_at)
        acknowledged = _last(stages.http_answered, stages.http_answered_at)
    decoded = _last(stages.decoded, stages.decoded_at)
    committed = _first(stages.committed, stages.committed_at)
    ids = {tag: entries[0].id for tag, entries in _by_tag(report.inbox).items()}
    joined = Joined()
    for run in runs:
        if not run.measured:
            continue
        arrivals: dict[object, float] = {}
        if run.sink is not None:
            for at, message_id in zip(run.sink.arrivals, run.sink.message_ids, strict=True):
                arrivals[message_id] = min(at, arrivals.get(message_id, math.inf))
        gen = run.generator
        for slot, index in enumerate(gen.indices):
            message_id = ids.get(index, "")
            times = {
                "due": gen.due[slot],
                "answered": gen.answered[slot],
                "decoded": decoded.get(message_id, math.nan),
                "committed": committed.get(message_id, math.nan),
                "delivered": arrivals.get(message_id, math.nan)
                if run.sink is not None
                else math.nan,
            }
            if path == "embed":
                times["received"] = gen.sent[slot]
                times["acknowledged"] = gen.answered[slot]
            elif path == "smpp":
                sequences = gen.sequence_numbers[slot]
                got = [received.get(n, math.nan) for n in sequences]
                answers = [acknowledged.get(n, math.nan) for n in sequences]
                times["received"] = min(got) if got else math.nan
                times["acknowledged"] = max(answers) if answers else math.nan
            else:
                times["received"] = received.get(message_sid(index), math.nan)
                times["acknowledged"] = acknowledged.get(message_sid(index), math.nan)
            known = [times[name] for name in _ORDER if not math.isnan(times[name])]
            if any(b < a for a, b in itertools.pairwise(known)) or (
                not math.isnan(times["delivered"]) and times["delivered"] < times["committed"]
            ):
                joined.out_of_order += 1
            if gen.ok[slot]:
                for name in (*_ORDER, "delivered"):
                    if name == "delivered" and run.sink is None:
                        continue
                    if math.isnan(times[name]):
                        joined.missing_stages[name] += 1
            joined.indices.append(index)
            for name, at in times.items():
                joined.stages[name].append(at)
    return joined


def account(mix: Mix, runs: Sequence[Run], inbox: Sequence[InboxEntry]) -> Accounting:
    """What became of every message sent (see :class:`Accounting`)."""
    sent = [index for run in runs for index in run.generator.indices]
    wanted = set(sent)
    stored = garbled = duplicated = 0
    grouped = _by_tag(inbox)
    for tag, entries in grouped.items():
        if tag is None or tag not in wanted:
            garbled += len(entries)
            continue
        expected = message_text(tag, kind_of(tag, mix))
        exact = [entry for entry in entries if entry.content == expected]
        garbled += len(entries) - len(exact)
        if exact:
            stored += 1
            duplicated += len(exact) - 1
    lost = sum(1 for index in wanted if index not in grouped)
    acknowledged = sum(sum(run.generator.ok) for run in runs)
    result = Accounting(
        sent=len(sent),
        acknowledged=acknowledged,
        stored=stored,
        lost=lost,
        garbled=garbled,
        duplicated=duplicated,
    )
    sinks = [run.sink for run in runs if run.sink is not None]
    if not sinks:
        return result
    delivered: set[int] = set()
    seen_ids: Counter[str] = Counter()
    bad_content = bad_signatures = 0
    for records in sinks:
        bad_signatures += records.bad_signatures
        for message_id, content in zip(records.message_ids, records.contents, strict=True):
            seen_ids[message_id] += 1
            tag = tag_of(content)
            if tag is None or tag not in wanted or content != message_text(tag, kind_of(tag, mix)):
                bad_content += 1
            else:
                delivered.add(tag)
    stored_tags = {tag for tag in grouped if tag is not None and tag in wanted}
    return msgspec.structs.replace(
        result,
        delivered=len(delivered),
        lost_in_delivery=len(stored_tags - delivered),
        garbled_in_delivery=bad_content,
        duplicate_deliveries=sum(n - 1 for n in seen_ids.values()),
        bad_signatures=bad_signatures,
    )


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One run of ``--find-max``, and whether it kept the bound (as the report keeps it)."""

    rate: float
    messages: int
    p99_ms: float
    """End to end: due to delivered (fan-out) or to the sender's answer."""
    answered: int
    delivered: int | None
    sustained: bool
    reason: str
    """Why it was not sustained, or ``""``."""
    engine_cpu_seconds: float


def _end_to_end(run: GeneratorRun, sink: SinkRecords | None) -> tuple[list[float], int | None]:
    """Seconds from due to delivered (fan-out) or to the sender's answer, of each message
    of ``run`` that got there; and how many were delivered (fan-out)."""
    if sink is None:
        return [
            a - d for a, d in zip(run.answered, run.due, strict=True) if not math.isnan(a)
        ], None
    due = dict(zip(run.indices, run.due, strict=True))
    first: dict[int, float] = {}
    for at, content in zip(sink.arrivals, sink.contents, strict=True):
        tag = tag_of(content)
        if tag in due and at < first.get(tag, math.inf):
            first[tag] = at
    return [at - due[tag] for tag, at in first.items()], len(first)


def judge_step(bound: float, rate: float, run: GeneratorRun, sink: SinkRecords | None) -> Step:
    """Whether a ``--find-max`` step at ``rate`` kept p99 end to end within ``bound`` ms
    with every message answered (and delivered) within the drain time."""
    values, delivered = _end_to_end(run, sink)
    summary, _ = latency(values)
    count = len(run.indices)
    answered = sum(run.ok)
    reason = ""
    if answered < count:
        reason = f"{count - answered} of {count} not acknowledged within the drain time"
    elif delivered is not None and delivered < count:
        reason = f"{count - delivered} of {count} not delivered within the drain time"
    elif summary.p99_ms > bound:
        reason = f"p99 {summary.p99_ms:.2f} ms > {bound:g} ms"
    return Step(
        rate=rate,
        messages=count,
        p99_ms=summary.p99_ms,
        answered=answered,
        delivered=delivered,
        sustained=not reason,
        reason=reason,
        engine_cpu_seconds=0.0,
    )
