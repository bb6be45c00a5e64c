"""The ingest path: decode, normalize, reassemble, dedupe, extract, commit, notify.

``Pipeline.ingest`` returns only once the store has made the item durable, so a carrier
that acknowledges after ``emit`` returns acknowledges only what is committed. Single
ingests that start in the same scheduling round (a webhook server's concurrent
requests, an embedding application's producers) are gathered into one
``ingest_each``: the first of them yields once, so that the others of the round join
it, then ingests them all in one decode, one native extraction and one store write, and
hands each caller its own answer. An ingest alone in its round takes the direct path
(its decode and extraction are single native calls), at the cost of that one yield.
A caller cancelled while its item waits to be gathered leaves without it, nothing
stored. An ingest cannot be cut short once its item reached the store: a caller that is
cancelled mid-way still gets its item finished (committed, or not at all) before the
cancellation lands, so a part is never stored without its set being completed and a
committed message is never hidden from watchers. A message or status report is one
store write, which the store answers before a cancellation lands; a part takes several
steps (a lock, its write, maybe its set's completion), so it runs in a shielded cancel
scope.

``Pipeline.ingest_each`` is the batched path for carriers that receive bursts: the
single-part texts and PDUs of a list are decoded and their codes extracted in one native
call and committed in one store write, with the messages of the sets whose parts all came
in the list (no task, lock wait or write of their own per set); every other item takes
the ``ingest`` path. It
answers each item on its own (a result, or the exception that item met), so a carrier
can acknowledge the items that are durable and refuse the others. ``Pipeline.ingest_many``
is the same path for a caller that treats the list as a whole: one bad PDU refuses the
list before anything is stored, and any other failure is raised.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import NamedTuple, cast

import msgspec
import trio
from outcome import Error, Value

from .. import codec, otp
from .._ids import new_id
from .._metrics import EngineMetrics
from ..config import Config
from ..errors import CodecError, EngineClosedError, StoreError
from ..model import (
    InboundItem,
    InboundPdu,
    InboundStatus,
    InboundText,
    IngestResult,
    Message,
    Otp,
    StatusReport,
)
from ..store import (
    BufferedPart,
    NewDelivery,
    PartAdded,
    PartsAdded,
    Store,
    WholeSet,
    Written,
)
from ._normalize import normalize_number, normalize_sender, region_of, sent_time, utc_time
from ._reassembly import (
    Draft,
    bound_raw,
    decode_inbound_pdus,
    decode_part,
    draft_from_pdu,
    draft_from_set,
    draft_from_text,
    encode_part,
    is_binary,
    part_fingerprint,
    pdu_sender,
    set_key,
)

__all__ = ["Pipeline"]

_Prepared = tuple[codec.Sms | CodecError | None, Otp | None]


class _Part(NamedTuple):
    """A part of a concatenated message, ready to add to its set."""

    key: str
    seq: int
    total: int
    item: InboundPdu | InboundText
    """The item as stored: number (and a text's sender) normalized."""


class _Status(NamedTuple):
    """A status report to commit."""

    item: InboundStatus
    number: str


class _Single(NamedTuple):
    """A single-part message to commit."""

    draft: Draft
    found: Otp | None


Outbox = tuple[str | NewDelivery, ...]
"""A new message's deliveries: destination names, or deliveries already claimed."""


class _Whole(NamedTuple):
    """A set whose parts all came in one list: written with the list's messages."""

    members: list[tuple[int, _Part]]
    """The parts, each with its index in the list."""
    parts: list[BufferedPart]
    """The parts as the store keeps them, in the order of ``members``."""
    write: WholeSet
    destinations: Outbox
    lock: _SetLock
    """The set's lock, held from before the write until its results are in."""


_ROUNDED: dict[float, float] = {}
_RECENT_SETS = 4096
"""Completed sets remembered, so a late copy of one of their parts is a duplicate."""


def _model_otp(found: otp.Otp | None) -> Otp | None:
    if found is None:
        return None
    confidence = _ROUNDED.get(found.confidence)
    if confidence is None:  # a handful of distinct scores: round each once
        confidence = _ROUNDED[found.confidence] = round(found.confidence, 4)
    return Otp(code=found.code, confidence=confidence, origin=found.origin)


def prepare_batch(jobs: list[InboundPdu | str]) -> list[_Prepared]:
    """Decode the PDUs and extract the codes of single-part texts, one native call each."""
    decoded = iter(decode_inbound_pdus([j for j in jobs if isinstance(j, InboundPdu)]))
    results: list[_Prepared] = []
    texts: list[str] = []
    slots: list[int] = []
    for job in jobs:
        sms: codec.Sms | CodecError | None = None
        if isinstance(job, str):
            text: str | None = job
        else:
            sms = next(decoded)
            text = None
            if isinstance(sms, codec.Sms) and sms.kind != "status_report" and sms.concat is None:
                text = sms.text if sms.encoding != "8bit" else None
        if text is not None:
            slots.append(len(results))
            texts.append(text)
        results.append((sms, None))
    if texts:
        for slot, found in zip(slots, otp.extract_many(texts), strict=True):
            results[slot] = (results[slot][0], _model_otp(found))
    return results


class Pipeline:
    """Turns inbound items into committed messages, parts and status reports."""

    def __init__(
        self,
        config: Config,
        store: Store,
        metrics: EngineMetrics,
        on_commit: Callable[[Message, Outbox], None],
        route: Callable[[Message], Outbox] | None = None,
        on_abandon: Callable[[Outbox], None] | None = None,
    ) -> None:
        """``route`` plans the outbox of a new message (written in the message's
        transaction); ``on_commit`` hears of each committed message with its outbox, and
        ``on_abandon`` of an outbox that was not written (the message was a duplicate, or
        its commit failed)."""
        self._store = store
        self._metrics = metrics
        self._on_commit = on_commit
        self._route = route
        self._on_abandon = on_abandon
        self._tenant = config.tenant
        self._owners: Mapping[str, str] = {}
        """Receiving number -> tenant, for the numbers rented out (see ``use_owners``)."""
        self._region = config.default_region
        self._raw_limit = config.raw_limit_bytes
        self._ttl = timedelta(seconds=config.reassembly.ttl_seconds)
        self._closing = False
        self._in_flight = 0
        self._drained = trio.Event()
        self._locks: dict[str, _Held] = {}
        self._touched: dict[str, int] = {}
        self._tick = 0
        self._gathering: list[_Joined] | None = None
        """The single ingests joining this round's leader (None: no round is gathering)."""
        self._recent: OrderedDict[str, tuple[Message, frozenset[bytes | str]]] = OrderedDict()

    def use_owners(self, owners: Mapping[str, str]) -> None:
        """File each message to a number of ``owners`` under that number's tenant (its
        lessee, or a quarantine), every other message under ``Config.tenant``. Replaced
        whole, never changed in place: an item is filed by the snapshot in force when
        it is built, one dict lookup each."""
        self._owners = owners

    def _tenant_of(self, number: str) -> str:
        return self._owners.get(number, self._tenant)

    # --- the entry point ---------------------------------------------------------

    async def ingest(self, item: InboundItem) -> IngestResult:
        """Make ``item`` durable and say what it became; raises if nothing was stored."""
        if self._closing:
            raise EngineClosedError("the engine is shutting down")
        self._in_flight += 1
        try:
            return await self._ingest_gathered(item)
        finally:
            self._in_flight -= 1
            if self._closing and not self._in_flight:
                self._drained.set()

    async def _ingest_gathered(self, item: InboundItem) -> IngestResult:
        """:meth:`ingest` ``item`` together with the single ingests that start in the same
        scheduling round (see the module's docs)."""
        if self._gathering is not None:  # another ingest of this round leads: join it
            joined = _Joined(item, trio.lowlevel.current_task())
            round_ = self._gathering
            round_.append(joined)

            def abort(_: object) -> trio.lowlevel.Abort:
                if joined.taken:  # in the leader's batch: its answer comes before the cancel
                    return trio.lowlevel.Abort.FAILED
                round_.remove(joined)
                return trio.lowlevel.Abort.SUCCEEDED

            return cast(IngestResult, await trio.lowlevel.wait_task_rescheduled(abort))
        gathering: list[_Joined] = []
        self._gathering = gathering
        try:
            # Every task runnable in this round runs before the leader resumes.
            await trio.lowlevel.cancel_shielded_checkpoint()
        finally:
            self._gathering = None
        if not gathering:
            return await self._ingest_counted(item, None)
        for joined in gathering:
            joined.taken = True
        items = [item, *(joined.item for joined in gathering)]
        try:
            outcomes = await self._ingest_each(items, indexed=False)
        except BaseException as error:  # not an item's failure: the engine's own
            failure = (
                error
                if isinstance(error, Exception)
                else EngineClosedError("the engine stopped before this item was stored")
            )
            for joined in gathering:
                trio.lowlevel.reschedule(joined.task, Error(_own_instance(failure)))
            raise
        for joined, answer in zip(gathering, outcomes[1:], strict=True):
            trio.lowlevel.reschedule(
                joined.task, Error(answer) if isinstance(answer, Exception) else Value(answer)
            )
        mine = outcomes[0]
        if isinstance(mine, Exception):
            raise mine
        return mine

    async def ingest_many(self, items: Sequence[InboundItem]) -> list[IngestResult]:
        """:meth:`ingest` for every item, returning once all are durable; results in order.

        Every PDU is decoded first: if one cannot be, its :class:`CodecError` (naming
        the item's index) is raised and nothing of the list is stored. The rest is
        :meth:`ingest_each`: when an item fails, the others are still ingested and the
        first failure (by index) is raised once all are done; some items may then be
        stored, so the caller must acknowledge none of them (a carrier's retry is
        deduplicated).
        """
        if self._closing:
            raise EngineClosedError("the engine is shutting down")
        self._in_flight += 1
        try:
            with trio.CancelScope(shield=True):
                slots, prepared, bad = self._decode_batch(items)
                if bad:
                    raise min(bad.items())[1]
                outcomes = await self._ingest_outcomes(items, slots, prepared, bad)
        finally:
            self._in_flight -= 1
            if self._closing and not self._in_flight:
                self._drained.set()
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome
        return cast(list[IngestResult], outcomes)

    async def ingest_each(self, items: Sequence[InboundItem]) -> list[IngestResult | Exception]:
        """:meth:`ingest` for every item, answering each on its own, in order: its
        :class:`IngestResult` (the item is durable) or the exception it met (nothing of it
        is stored). Returns once every item is answered.

        The single-part texts and PDUs are decoded together and committed in one store
        write, so a repeat within the list is a duplicate of its first occurrence; a PDU
        that cannot be decoded gets its :class:`CodecError` (naming its index) and is left
        out. Should that write fail, each of its items gets its own instance of the error.
        The other items (parts, status reports) are then ingested concurrently, each as
        :meth:`ingest` would (any part of a set in the list may be the one that completes
        it). Once begun, the list is finished before a cancellation lands. Once shutdown
        began, every item gets an :class:`EngineClosedError`.
        """
        return await self._ingest_each(items, indexed=True)

    async def _ingest_each(
        self, items: Sequence[InboundItem], *, indexed: bool
    ) -> list[IngestResult | Exception]:
        """:meth:`ingest_each`; ``indexed``: a PDU's :class:`CodecError` names its index
        in ``items`` (not for gathered single ingests, whose callers gave one item each)."""
        if self._closing:
            return [EngineClosedError("the engine is shutting down") for _ in items]
        self._in_flight += 1
        try:
            with trio.CancelScope(shield=True):
                slots, prepared, bad = self._decode_batch(items, indexed=indexed)
                outcomes = await self._ingest_outcomes(items, slots, prepared, bad)
        finally:
            self._in_flight -= 1
            if self._closing and not self._in_flight:
                self._drained.set()
        return outcomes

    async def _ingest_counted(self, item: InboundItem, prepared: _Prepared | None) -> IngestResult:
        started = perf_counter()
        try:
            result = await self._ingest(item, prepared)
        except CodecError:
            self._metrics.count_error("pdu")
            raise
        except StoreError:
            self._metrics.count_error("store")
            raise
        except EngineClosedError:
            raise
        except Exception:
            self._metrics.count_error("internal")
            raise
        self._metrics.count_ingested(item.carrier, result.outcome, perf_counter() - started)
        return result

    def _decode_batch(
        self, items: Sequence[InboundItem], *, indexed: bool = True
    ) -> tuple[list[int], list[_Prepared], dict[int, CodecError]]:
        """The indexes of the single-part texts and PDUs, each one's decoded PDU and code,
        and the PDUs that cannot be decoded (counted), by index (each error naming its
        index when ``indexed``)."""
        jobs: list[InboundPdu | str] = []
        slots: list[int] = []
        for i, item in enumerate(items):
            if isinstance(item, InboundPdu):
                jobs.append(item)
                slots.append(i)
            elif isinstance(item, InboundText) and (
                item.segment is None or item.segment.total <= 1
            ):
                jobs.append("" if is_binary(item) else item.text)  # "" holds no code
                slots.append(i)
        prepared = prepare_batch(jobs) if jobs else []
        bad: dict[int, CodecError] = {}
        for i, (sms, _) in zip(slots, prepared, strict=True):
            if isinstance(sms, CodecError):
                self._metrics.count_error("pdu")
                if indexed:
                    error = type(sms)(sms.reason, sms.offset, index=i)
                    error.__cause__ = sms
                    sms = error
                else:
                    sms = _unindexed(sms)
                bad[i] = sms
        return slots, prepared, bad

    async def _ingest_outcomes(
        self,
        items: Sequence[InboundItem],
        slots: list[int],
        prepared: list[_Prepared],
        bad: dict[int, CodecError],
    ) -> list[IngestResult | Exception]:
        """Each item's result or failure, in order (``bad`` are answered as they are).

        The single-part messages go in one store write, and in it the sets whose parts
        are all in the list (each with the message its parts make, when nothing else is
        adding to the set); the other parts of a set in the list go together, in a write
        of their own beside it; then the status reports (which may refer to a message of
        the list) and the other parts.
        """
        outcomes: list[IngestResult | Exception | None] = [None] * len(items)
        for i, error in bad.items():
            outcomes[i] = error
        if bad:
            kept = [(i, job) for i, job in zip(slots, prepared, strict=True) if i not in bad]
            slots = [i for i, _ in kept]
            prepared = [job for _, job in kept]
        taken = set(slots)
        slow: list[tuple[int, _Prepared | None]] = [
            (i, None) for i in range(len(items)) if i not in taken and i not in bad
        ]
        fast: list[int] = []
        now = datetime.now(UTC)
        sets: list[list[tuple[int, _Part]]] = []
        alone = slow

        async def together(members: list[tuple[int, _Part]]) -> None:
            begun = perf_counter()
            answer: list[IngestResult] | Exception
            try:
                answer = await self._add_parts_shielded([part for _, part in members], now)
            except Exception as error:
                answer = error
            self._set_answered(items, members, outcomes, answer, perf_counter() - begun)

        async def one(i: int, job: _Prepared | None) -> None:
            try:
                outcomes[i] = await self._ingest_counted(items[i], job)
            except Exception as error:
                outcomes[i] = error

        try:
            batch = self._fast_batch(items, slots, prepared, fast, slow)
        except Exception as error:
            # Nothing of the batch is stored; an item that did not reach it yet (the batch
            # failed while being built) is not stored either.
            self._batch_failed(error, None, slots, slow, outcomes)
            batch = []
        else:
            sets, alone = self._sets_of(items, slow, now)
        wholes = self._whole_sets(sets, now)
        if sets:
            async with trio.open_nursery() as nursery:
                for members in sets:
                    nursery.start_soon(together, members)
                if batch or wholes:
                    await self._commit_batch(items, batch, fast, slots, slow, outcomes, wholes, now)
        elif batch or wholes:
            # No nursery: leaving one is a trip through the scheduler, even when empty.
            await self._commit_batch(items, batch, fast, slots, slow, outcomes, wholes, now)
        if alone:
            # After the batch: a status report in the list can find its message.
            async with trio.open_nursery() as nursery:
                for i, job in alone:
                    nursery.start_soon(one, i, job)
        assert all(outcome is not None for outcome in outcomes)
        return cast(list[IngestResult | Exception], outcomes)

    async def _commit_batch(
        self,
        items: Sequence[InboundItem],
        batch: list[tuple[Message, bytes | None]],
        fast: list[int],
        slots: list[int],
        slow: list[tuple[int, _Prepared | None]],
        outcomes: list[IngestResult | Exception | None],
        wholes: list[_Whole],
        now: datetime,
    ) -> None:
        """Commit the single-part messages ``batch`` (of the items ``fast``) and the
        ``wholes`` sets in one store write, and answer their items."""
        started = perf_counter()
        routes: list[Outbox] | None = None
        written: Sequence[Written] | Exception
        sets: Sequence[PartsAdded | Exception]
        try:
            if self._route is not None:
                route = self._route
                routes = [route(message) for message, _ in batch]
            if wholes:
                answer = await self._store.commit_batch(
                    batch, destinations=routes, sets=[whole.write for whole in wholes]
                )
                written, sets = answer.messages, answer.sets
            else:
                written, sets = await self._store.commit_messages(batch, destinations=routes), ()
        except Exception as error:
            written = error
            sets = [_own_instance(error) for _ in wholes]  # each item its own instance
        except BaseException:
            for whole in wholes:
                whole.lock.release()
                self._abandon(whole.destinations)
            raise
        if isinstance(written, Exception):
            if batch:
                self._batch_failed(written, routes, slots, slow, outcomes)
        else:
            self._messages_written(items, fast, routes, written, outcomes, started)
        if wholes:
            await self._wholes_written(items, wholes, sets, outcomes, now, started)

    def _messages_written(
        self,
        items: Sequence[InboundItem],
        fast: list[int],
        routes: list[Outbox] | None,
        written: Sequence[Written],
        outcomes: list[IngestResult | Exception | None],
        started: float,
    ) -> None:
        """Answer the items ``fast`` with their messages' answers ``written``."""
        seconds = perf_counter() - started
        counts: dict[tuple[str, str], int] = {}
        on_commit = self._on_commit
        for n, (i, answer) in enumerate(zip(fast, written, strict=True)):
            if answer.outcome == "duplicate":
                if routes is not None:
                    self._abandon(routes[n])
                result = IngestResult(outcome="duplicate", message=answer.message)
            else:
                on_commit(answer.message, () if routes is None else routes[n])
                result = IngestResult(outcome="committed", message=answer.message)
            outcomes[i] = result
            key = (items[i].carrier, result.outcome)
            counts[key] = counts.get(key, 0) + 1
        for (carrier, outcome), count in counts.items():
            self._metrics.count_ingested(carrier, outcome, seconds, count)

    def _whole_sets(self, sets: list[list[tuple[int, _Part]]], now: datetime) -> list[_Whole]:
        """Take out of ``sets`` those whose parts are the whole set, to be written with
        the list's messages: the store adds them as :meth:`_add_parts` would (one write
        for the parts and their message), only without a task, a write and a wait of
        their own. Left in ``sets``: a set with parts missing, one that completed
        lately (its parts may be late copies), one another task is adding to or
        flushing, and one whose message cannot be built (its error comes on the way
        :meth:`_add_parts` goes)."""
        wholes: list[_Whole] = []
        left: list[list[tuple[int, _Part]]] = []
        for members in sets:
            first = members[0][1]
            key = first.key
            if (
                len(members) != first.total
                or key in self._recent
                or key in self._locks
                or {part.seq for _, part in members} != set(range(1, first.total + 1))
            ):
                left.append(members)
                continue
            try:
                parts = self._buffered([part for _, part in members], now)
                message, raw, destinations = self._set_message(
                    tuple(sorted(parts, key=lambda p: p.seq))
                )
            except Exception:
                left.append(members)
                continue
            lock = self._set_lock(key)
            lock.take_free()
            self._touch(key)
            write = WholeSet(parts=parts, message=message, raw=raw, destinations=destinations)
            wholes.append(_Whole(members, parts, write, destinations, lock))
        sets[:] = left
        return wholes

    async def _wholes_written(
        self,
        items: Sequence[InboundItem],
        wholes: list[_Whole],
        answers: Sequence[PartsAdded | Exception],
        outcomes: list[IngestResult | Exception | None],
        now: datetime,
        started: float,
    ) -> None:
        """Answer the parts of each of ``wholes`` from its write's answer, as
        :meth:`_add_parts` would have; then give its lock back."""
        for whole, answer in zip(wholes, answers, strict=True):
            members = whole.members
            results: list[IngestResult] | Exception
            try:
                try:
                    if isinstance(answer, Exception):
                        self._abandon(whole.destinations)
                        raise answer
                    results = await self._set_results(whole.parts, answer, whole.destinations)
                finally:
                    whole.lock.release()
                if len(results) < len(members):
                    # The store stopped at the part that completed the set (with parts it
                    # held from before): the others are added after its completion.
                    rest = [part for _, part in members[len(results) :]]
                    results += await self._add_parts(rest, now)
            except Exception as error:
                results = error
            self._set_answered(items, members, outcomes, results, perf_counter() - started)

    def _set_answered(
        self,
        items: Sequence[InboundItem],
        members: list[tuple[int, _Part]],
        outcomes: list[IngestResult | Exception | None],
        answer: list[IngestResult] | Exception,
        seconds: float,
    ) -> None:
        """Answer the items of one set's ``members`` with their results, or each with
        (its own instance of) the error that kept them from being stored."""
        if isinstance(answer, Exception):
            self._count_failure(answer)
            for n, (i, _) in enumerate(members):
                outcomes[i] = answer if n == 0 else _own_instance(answer)
            return
        for (i, _), result in zip(members, answer, strict=True):
            outcomes[i] = result
            self._metrics.count_ingested(items[i].carrier, result.outcome, seconds)

    def _batch_failed(
        self,
        error: Exception,
        routes: list[Outbox] | None,
        slots: list[int],
        slow: list[tuple[int, _Prepared | None]],
        outcomes: list[IngestResult | Exception | None],
    ) -> None:
        """The single-part messages' write failed (or its batch could not be built):
        nothing of it is stored, and each of its items is answered with the error."""
        self._abandon_all(routes)
        self._count_failure(error)
        later = {i for i, _ in slow}
        failed = [i for i in slots if i not in later]
        for n, i in enumerate(failed):
            outcomes[i] = error if n == 0 else _own_instance(error)

    def _count_failure(self, error: Exception) -> None:
        """Count a write that failed for several items at once (not a shutdown)."""
        if not isinstance(error, EngineClosedError):
            self._metrics.count_error("store" if isinstance(error, StoreError) else "internal")

    def _sets_of(
        self, items: Sequence[InboundItem], slow: list[tuple[int, _Prepared | None]], now: datetime
    ) -> tuple[list[list[tuple[int, _Part]]], list[tuple[int, _Prepared | None]]]:
        """The parts among ``slow`` that share a set with another (each seq once per
        set), by set, to be added together; the other items, to be ingested alone."""
        sets: dict[str, list[tuple[int, _Part]]] = {}
        alone: list[tuple[int, _Prepared | None]] = []
        jobs = dict(slow)
        for i, job in slow:
            try:
                planned = self._plan(items[i], job, now)
            except Exception:  # raised again, and answered, when ingested alone
                alone.append((i, job))
                continue
            if not isinstance(planned, _Part) or not 1 <= planned.seq <= planned.total:
                alone.append((i, job))
                continue
            members = sets.setdefault(planned.key, [])
            if any(part.seq == planned.seq for _, part in members):
                alone.append((i, job))  # a repeat: alone, after or before its twin
            else:
                members.append((i, planned))
        together: list[list[tuple[int, _Part]]] = []
        for members in sets.values():
            if len(members) > 1:
                together.append(members)
            else:
                alone.append((members[0][0], jobs[members[0][0]]))
        return together, alone

    def _fast_batch(
        self,
        items: Sequence[InboundItem],
        slots: list[int],
        prepared: list[_Prepared],
        fast: list[int],
        slow: list[tuple[int, _Prepared | None]],
    ) -> list[tuple[Message, bytes | None]]:
        """The messages of the single-part items, ready to commit (their slots go into
        ``fast``); the items that turned out multipart or status reports go to ``slow``."""
        now = datetime.now(UTC)
        owners, tenant = self._owners, self._tenant
        limit = self._raw_limit
        batch: list[tuple[Message, bytes | None]] = []
        for i, job in zip(slots, prepared, strict=True):
            item = items[i]
            sms, found = job
            number = normalize_number(item.number, self._region)
            region = region_of(number) or self._region
            received_at = utc_time(item.received_at, now)
            if isinstance(item, InboundText):
                sender, _ = normalize_sender(
                    item.sender, region, alphanumeric=item.sender_alphanumeric
                )
                draft = draft_from_text(item, number, sender, received_at)
            else:
                assert isinstance(item, InboundPdu)
                assert isinstance(sms, codec.Sms)
                if sms.kind == "status_report" or sms.concat is not None:
                    slow.append((i, job))
                    continue
                draft = draft_from_pdu(item, sms, number, region, received_at)
            fast.append(i)
            message = draft.finish(new_id("msg"), owners.get(number, tenant), found)
            batch.append((message, bound_raw(draft.raw, limit)))
        return batch

    def _abandon(self, outbox: Outbox) -> None:
        if outbox and self._on_abandon is not None:
            self._on_abandon(outbox)

    def _abandon_all(self, routes: list[Outbox] | None) -> None:
        for outbox in routes or ():
            self._abandon(outbox)

    async def drain(self) -> None:
        """Refuse new items and wait for those in flight to finish."""
        self._closing = True
        if self._in_flight:
            await self._drained.wait()

    async def _ingest(self, item: InboundItem, prepared: _Prepared | None = None) -> IngestResult:
        now = datetime.now(UTC)
        planned = self._plan(item, prepared, now)
        if isinstance(planned, _Part):
            return (await self._add_parts_shielded([planned], now))[0]
        if isinstance(planned, _Status):
            return await self._commit_status(planned.item, planned.number, now)
        return await self._commit(planned.draft, planned.found)

    def _plan(
        self, item: InboundItem, prepared: _Prepared | None, now: datetime
    ) -> _Part | _Status | _Single:
        """What ingesting ``item`` takes: a part to add to its set, a status report or a
        single message to commit. Raises the item's :class:`CodecError`."""
        number = normalize_number(item.number, self._region)
        if isinstance(item, InboundStatus):
            return _Status(item, number)
        region = region_of(number) or self._region
        received_at = utc_time(item.received_at, now)
        if isinstance(item, InboundText):
            sender, kind = normalize_sender(
                item.sender, region, alphanumeric=item.sender_alphanumeric
            )
            segment = item.segment
            if segment is None or segment.total <= 1:
                draft = draft_from_text(item, number, sender, received_at)
                text = draft.otp_text
                return _Single(draft, None if text is None else _model_otp(otp.extract(text)))
            key = set_key(
                "text",
                item.carrier,
                number,
                sender,
                kind,
                segment.reference,
                segment.reference_bits,
                segment.total,
            )
            stored = msgspec.structs.replace(
                item,
                number=number,
                sender=sender,
                received_at=received_at,
                raw=bound_raw(item.raw, self._raw_limit),
            )
            return _Part(key, segment.seq, segment.total, stored)
        sms, found = prepared if prepared is not None else prepare_batch([item])[0]
        if isinstance(sms, CodecError):
            raise _unindexed(sms)
        assert sms is not None
        if sms.kind == "status_report":
            return _Status(_status_of_pdu(item, sms), number)
        concat = sms.concat
        if concat is None:
            return _Single(draft_from_pdu(item, sms, number, region, received_at), found)
        sender, kind = pdu_sender(sms, region)
        key = set_key(
            "pdu",
            item.carrier,
            number,
            sender,
            kind,
            concat.reference,
            concat.reference_bits,
            concat.total,
        )
        stored_pdu = msgspec.structs.replace(item, number=number, received_at=received_at)
        return _Part(key, concat.seq, concat.total, stored_pdu)

    # --- commits -----------------------------------------------------------------

    async def _commit(self, draft: Draft, found: Otp | None) -> IngestResult:
        message = draft.finish(new_id("msg"), self._tenant_of(draft.number_used), found)
        destinations = () if self._route is None else self._route(message)
        try:
            written = await self._store.commit_message(
                message, raw=bound_raw(draft.raw, self._raw_limit), destinations=destinations
            )
        except BaseException:
            self._abandon(destinations)
            raise
        if written.outcome == "duplicate":
            self._abandon(destinations)
            return IngestResult(outcome="duplicate", message=written.message)
        self._on_commit(written.message, destinations)
        return IngestResult(outcome="committed", message=written.message)

    async def _commit_status(self, item: InboundStatus, number: str, now: datetime) -> IngestResult:
        report = StatusReport(
            id=new_id("sr"),
            tenant=self._tenant_of(number),
            carrier=item.carrier,
            number_used=number,
            refers_to=item.refers_to,
            status=item.status,
            message_id=None,
            carrier_message_id=item.carrier_message_id,
            error_code=item.error_code,
            reported_at=sent_time(item.reported_at),
            received_at=utc_time(item.received_at, now),
        )
        stored = await self._store.commit_status(report)
        if stored.id != report.id:  # the carrier sent this report before
            return IngestResult(outcome="duplicate", status_report=stored)
        return IngestResult(outcome="status", status_report=stored)

    # --- concatenated messages -----------------------------------------------------

    def _set_lock(self, key: str) -> _SetLock:
        # One task at a time adds to, completes or flushes a given set.
        return _SetLock(self._locks, key)

    def _touch(self, key: str) -> None:
        self._tick += 1
        self._touched[key] = self._tick

    async def _add_parts_shielded(
        self, parts: Sequence[_Part], now: datetime
    ) -> list[IngestResult]:
        # Several steps (a lock, the parts' write, maybe the set's completion): once
        # begun, they finish before a cancellation lands.
        with trio.CancelScope(shield=True):
            results = await self._add_parts(parts, now)
        return results

    async def _add_parts(self, parts: Sequence[_Part], now: datetime) -> list[IngestResult]:
        """Add ``parts`` (of one set, distinct seqs) to their set, in order; each one's
        result, as if each had been added alone, one after the other.

        They go to the store in one write. When they are the whole set (its parts
        arrived together, as an SMSC or a modem usually sends them), the message is
        built from them and committed in that same write: one commit for the whole
        message instead of one per part and one more for the set.
        """
        results: list[IngestResult | None] = [None] * len(parts)
        todo = list(range(len(parts)))
        key = parts[0].key
        while todo:
            recent = self._recent.get(key)
            if recent is not None:
                for n in todo:
                    if part_fingerprint(parts[n].item) in recent[1]:  # a late copy
                        results[n] = IngestResult(outcome="duplicate", message=recent[0])
                todo = [n for n in todo if results[n] is None]
                if not todo:
                    break
            buffered = self._buffered([parts[n] for n in todo], now)
            async with self._set_lock(key):
                self._touch(key)
                done = await self._add_to_set(buffered)
            for n, result in zip(todo, done, strict=False):
                results[n] = result
            # The parts after the one that completed the set come after its completion.
            todo = todo[len(done) :]
        return cast(list[IngestResult], results)

    def _buffered(self, parts: Sequence[_Part], now: datetime) -> list[BufferedPart]:
        """``parts`` as the store keeps them until their set completes."""
        expires_at = now + self._ttl
        return [
            BufferedPart(
                set_key=part.key,
                seq=part.seq,
                total=part.total,
                carrier=part.item.carrier,
                carrier_message_id=part.item.carrier_message_id,
                received_at=part.item.received_at or now,
                expires_at=expires_at,
                payload=encode_part(part.item),
            )
            for part in parts
        ]

    async def _add_to_set(self, parts: list[BufferedPart]) -> list[IngestResult]:
        """Under the set's lock: store ``parts``; the results of those the store took
        (all of them, or those up to the one that completed the set)."""
        total = parts[0].total
        seqs = {part.seq for part in parts}
        whole = len(parts) > 1 and seqs == set(range(1, total + 1))
        planned = self._set_message(tuple(sorted(parts, key=lambda p: p.seq))) if whole else None
        message, raw, destinations = planned or (None, None, ())
        try:
            if len(parts) == 1:
                answer = PartsAdded(added=(await self._store.add_part(parts[0]),))
            else:
                answer = await self._store.add_parts(
                    parts, message=message, raw=raw, destinations=destinations
                )
        except BaseException:
            self._abandon(destinations)
            raise
        return await self._set_results(parts, answer, destinations)

    async def _set_results(
        self, parts: list[BufferedPart], answer: PartsAdded, destinations: Outbox
    ) -> list[IngestResult]:
        """Under the set's lock, once the store added ``parts``: the results of those it
        took (all of them, or those up to the one that completed the set)."""
        if answer.written is None:
            self._abandon(destinations)
        results: list[IngestResult] = []
        for part, added in zip(parts, answer.added, strict=False):
            results.append(await self._part_result(part, added, answer.written, destinations))
        return results

    async def _part_result(
        self,
        part: BufferedPart,
        added: PartAdded,
        written: Written | None,
        destinations: Outbox,
    ) -> IngestResult:
        if added.outcome == "seen" and added.message_id is not None:
            number = decode_part(part.payload).number
            original = await self._store.get_message(self._tenant_of(number), added.message_id)
            return IngestResult(outcome="duplicate", message=original)
        if added.outcome == "stored":
            self._metrics.parts_buffered.inc()
        if len({p.seq for p in added.parts}) < part.total:
            return IngestResult(outcome="buffered" if added.outcome == "stored" else "duplicate")
        # Complete: by this part (with its set's write, or now), or by a retry after a
        # failed completion.
        if written is not None:
            message = self._set_completed(added.parts, written, destinations)
        else:
            message = await self.complete_set(added.parts)
        if added.outcome != "stored":
            return IngestResult(outcome="duplicate", message=message)
        return IngestResult(outcome="committed", message=message)

    def _set_message(self, parts: tuple[BufferedPart, ...]) -> tuple[Message, bytes | None, Outbox]:
        """The message a set's parts make, its raw payload and its planned outbox."""
        number = decode_part(parts[0].payload).number
        region = region_of(number) or self._region
        duplicates = sum(part.duplicates for part in parts)  # counted by the store
        draft = draft_from_set(parts, number, region, duplicates)
        found = None if draft.otp_text is None else _model_otp(otp.extract(draft.otp_text))
        message = draft.finish(new_id("msg"), self._tenant_of(number), found)
        raw = bound_raw(draft.raw, self._raw_limit)
        destinations = () if self._route is None else self._route(message)
        return message, raw, destinations

    async def complete_set(self, parts: tuple[BufferedPart, ...]) -> Message:
        """Commit the message a set makes (flagged ``incomplete`` when parts are missing)."""
        message, raw, destinations = self._set_message(parts)
        try:
            written = await self._store.complete_part_set(
                parts[0].set_key, message, raw=raw, destinations=destinations
            )
        except BaseException:
            self._abandon(destinations)
            raise
        return self._set_completed(parts, written, destinations)

    def _set_completed(
        self, parts: tuple[BufferedPart, ...], written: Written, destinations: Outbox
    ) -> Message:
        """After a set's message was committed (or found a duplicate): the bookkeeping."""
        key = parts[0].set_key
        self._metrics.parts_buffered.dec(len(parts))
        self._recent[key] = (
            written.message,
            frozenset(part_fingerprint(decode_part(p.payload)) for p in parts),
        )
        if len(self._recent) > _RECENT_SETS:
            self._recent.popitem(last=False)
        if written.outcome == "inserted":
            self._on_commit(written.message, destinations)
        else:
            self._abandon(destinations)
        return written.message

    async def flush_sets(self, *, now: datetime, expired_only: bool) -> int:
        """Commit the stored sets that are complete (not when ``expired_only``) or expired.

        Sets touched by an ingest since they were listed are left for the next round.
        """
        listed_at = self._tick
        sets = await self._store.part_sets(expired_before=now if expired_only else None)
        if not expired_only:
            self._metrics.parts_buffered.set(sum(len(parts) for parts in sets))
        flushed = 0
        for parts in sets:
            if not parts:
                continue
            key = parts[0].set_key
            complete = len({p.seq for p in parts}) >= parts[0].total
            if not (complete or min(p.expires_at for p in parts) < now):
                continue
            # Shielded: a set is committed whole before a cancellation (shutdown) lands.
            with trio.CancelScope(shield=True):
                flushed += await self._flush_set(key, parts, listed_at)
        self._touched = {k: v for k, v in self._touched.items() if v > listed_at}
        return flushed

    async def _flush_set(self, key: str, parts: tuple[BufferedPart, ...], listed_at: int) -> int:
        async with self._set_lock(key):
            if self._touched.get(key, 0) > listed_at:
                return 0  # changed since listed: the next round sees it as it is now
            self._touch(key)
            await self.complete_set(parts)
            return 1


class _Joined:
    """A single ingest waiting in its round's batch (see ``Pipeline._ingest_gathered``)."""

    __slots__ = ("item", "taken", "task")

    def __init__(self, item: InboundItem, task: trio.lowlevel.Task) -> None:
        self.item = item
        self.task = task
        self.taken = False
        """In the leader's batch: past the point where a cancellation could withdraw it."""


def _unindexed(error: CodecError) -> CodecError:
    """``error`` as a single item's: the batch decode named the item's index in its
    batch, which means nothing to a caller who gave one item."""
    if error.index is None:
        return error
    return type(error)(error.reason, error.offset)


def _own_instance(error: Exception) -> Exception:
    """A copy of ``error`` for another item the same failure hit, so that no two items
    share an exception object (raising one changes its traceback)."""
    try:
        twin = copy.copy(error)
    except Exception:  # an exception class that cannot be rebuilt from its args
        return error
    twin.__cause__ = error.__cause__
    twin.__context__ = error.__context__
    twin.__suppress_context__ = error.__suppress_context__
    return twin


def _status_of_pdu(item: InboundPdu, sms: codec.Sms) -> InboundStatus:
    return InboundStatus(
        carrier=item.carrier,
        number=item.number,
        refers_to=None if sms.message_reference is None else str(sms.message_reference),
        status="unknown" if sms.status is None else f"0x{sms.status:02x}",
        carrier_message_id=item.carrier_message_id,
        reported_at=sms.discharge_time,
        received_at=item.received_at,
        raw=item.pdu,
    )


class _Held:
    """A set's lock and how many tasks hold it or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = trio.Lock()
        self.users = 0


class _SetLock:
    """``async with``: hold the lock of one set, dropped from ``locks`` once no task holds
    it or waits for it (a class, not a generator: it is taken for every set)."""

    __slots__ = ("_held", "_key", "_locks")

    def __init__(self, locks: dict[str, _Held], key: str) -> None:
        self._locks = locks
        self._key = key
        held = locks.get(key)
        if held is None:
            held = locks[key] = _Held()
        self._held = held

    async def __aenter__(self) -> None:
        self._held.users += 1
        lock = self._held.lock
        try:
            # Free (the usual case): taken without a trip through the scheduler, which
            # ``acquire`` makes even then and which would cost every set a task step.
            lock.acquire_nowait()
        except trio.WouldBlock:
            try:
                await lock.acquire()
            except BaseException:
                self._leave()
                raise

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    def take_free(self) -> None:
        """Hold the lock now: no task holds it or waits for it (the caller knows)."""
        self._held.users += 1
        self._held.lock.acquire_nowait()

    def release(self) -> None:
        """Give the lock back (held by :meth:`take_free` or ``async with``)."""
        self._held.lock.release()
        self._leave()

    def _leave(self) -> None:
        self._held.users -= 1
        if not self._held.users:
            del self._locks[self._key]
