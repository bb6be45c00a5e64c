"""The outbox workers: one per destination, delivering what the inbox committed.

A message and its deliveries are written in one transaction (the pipeline asks the
:class:`~engine.delivery.Router` which destinations it goes to); from then on the
delivery is the store's, and a :class:`DestinationWorker` moves it along:

* it **claims** due deliveries in batches (a claim is a lease: a worker that dies leaves
  them to be claimed again, and at start the engine hands back what a crash left);
* each attempt calls the adapter's ``deliver`` under the destination's timeout, within
  its concurrency limit and token bucket, unless its circuit breaker is open;
* every attempt is logged (time, duration, outcome, status code, error, response
  excerpt) in the same write that moves the delivery on: ``delivered``; ``pending``
  again at the time the retry schedule gives (exponential, jittered, honouring
  ``Retry-After`` within bounds, a minute at least after a 429 or a timeout); or
  ``failed`` when retries are exhausted or the answer was permanent (the dead letter,
  kept for replay);
* an answer that says the target is gone (``410 Gone``) disables the destination: its
  deliveries wait, held, until an operator enables it again.

A new message's delivery skips the claim (the direct path, :meth:`DestinationWorker.reserve`):
it is written already claimed by the worker and starts the moment the commit returns, in a
slot reserved before the commit; when every slot is taken, up to ``max_concurrency`` more
wait in the worker's queue and each takes the slot of the next attempt to finish. A queued
delivery that cannot go then (the worker stopping, the breaker open, its lease near its end)
stays claimed in the store until its lease ends, and is then claimed like any other.

Workers wake as soon as a delivery for them commits (:meth:`DestinationWorker.wake`),
otherwise when the next delivery falls due, and at least every
:data:`POLL_SECONDS` (another process may have replayed something).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog
import trio

from .._metrics import EngineMetrics
from ..errors import DeliveryError, PermanentDeliveryError, RetryableDeliveryError, StoreError
from ..model import Delivery, DeliveryAttempt, DeliveryReceipt
from ._policy import DestinationPolicy

if TYPE_CHECKING:  # the store and plugin_api import modules of this package
    from ..plugin_api import Destination
    from ..store import ClaimedDelivery, Store

__all__ = ["DEPTH_SECONDS", "POLL_SECONDS", "DestinationWorker", "report_outbox_depth"]

POLL_SECONDS = 5.0
"""The longest a worker sleeps without looking at the store."""
DEPTH_SECONDS = 5.0
"""How often the outbox's depth and oldest age are read into the metrics."""
_CLAIM_BATCH = 64
_STORE_BACKOFF_MIN = 0.5
_STORE_BACKOFF_MAX = 30.0
"""Seconds between tries while the store fails, doubling from the first to the last."""
_ERROR_CHARS = 500
"""Errors are cut to this many characters in the attempt log."""

_log = structlog.get_logger("septet.delivery")


class DestinationWorker:
    """Delivers the outbox of one destination of one tenant; :meth:`run` in the engine's
    nursery."""

    def __init__(
        self,
        name: str,
        adapter: Destination,
        policy: DestinationPolicy,
        store: Store,
        metrics: EngineMetrics,
        *,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        deleted: Callable[[str], bool] = lambda message_id: False,
        tenant: str | None = None,
        receiving: bool = True,
    ) -> None:
        """``deleted`` says whether a message was deleted since its delivery was claimed:
        such a delivery is dropped before its attempt (its row went with the message).

        ``tenant``: the tenant whose deliveries to ``name`` this worker claims (None:
        those of every tenant). ``receiving``: the destination is the receiving
        tenant's (``Config.tenant``), so its metrics are labelled by its name alone and
        its disabled state is kept as the receiving tenant's; another tenant's are
        labelled ``tenant/name``."""
        self.name = name
        self.tenant = tenant
        self._hold_tenant = None if receiving else tenant
        """The tenant the store keeps this destination's disabled state under."""
        self.label = name if receiving or tenant is None else f"{tenant}/{name}"
        """The destination's label in metrics and logs."""
        self._deleted = deleted
        self._adapter = adapter
        self._policy = policy
        self._store = store
        self._metrics = metrics
        self._now = wall_clock
        self._schedule = policy.retry_schedule()
        self._breaker = policy.circuit_breaker()
        self._bucket = policy.token_bucket()
        self._slots = trio.Semaphore(policy.concurrency)
        """One per attempt in flight (released by the attempt's own task)."""
        self._wakeup = trio.Event()
        self._attempts: trio.Nursery | None = None
        self._head_due: datetime | None = None
        """Ordered: when the delivery holding the others back is due again, as this
        worker scheduled it (None when unknown)."""
        self.disabled: str | None = None
        """Why the destination is disabled, or None while it delivers."""
        self._stopping = False
        self._reserved = 0
        """Reservations :meth:`reserve` handed out whose delivery has not started or been
        released: ``_reserved_slots`` of them hold a slot, the others a place in the queue
        (reservations are interchangeable: a start takes a slot first, a release a place)."""
        self._reserved_slots = 0
        self._queued: deque[ClaimedDelivery] = deque()
        """Deliveries committed as claimed by this worker while every slot was taken, in
        commit order: each takes the slot of the next attempt to finish."""
        self._queue_limit = 0 if self._bucket is not None else policy.concurrency
        """At most this many reserved or queued without a slot: one more round of attempts,
        so a queued delivery starts well within its lease (none under a rate limit, which
        the store's claims pace)."""
        self._unreserved = trio.Event()
        self.stopped = trio.Event()
        """Set once :meth:`run` has returned."""

    def wake(self) -> None:
        """A delivery for this destination was committed (or replayed): look now."""
        self._wakeup.set()

    # The direct path: a new message's delivery is written already claimed by this worker
    # and attempted the moment the message commits (or, every slot taken, as soon as one
    # is free), with no claim in between. Only when an attempt could start right away
    # anyway but for the slot: a token, a closed breaker, not disabled, and no ordering
    # to keep.

    def reserve(self) -> bool:
        """Hold a slot for a delivery about to be committed, or else a place in the queue
        behind the attempts in flight; False when it must go through the store."""
        if (
            self._attempts is None
            or self._stopping
            or self.disabled is not None
            or self._policy.ordered
            or self._breaker.state != "closed"
        ):
            return False
        try:
            self._slots.acquire_nowait()
        except trio.WouldBlock:
            # Every slot is taken: queue it, unless the queue is full or the claim loop
            # waits for a slot (deliveries are waiting in the store: they go first).
            places = self._reserved - self._reserved_slots + len(self._queued)
            if places >= self._queue_limit or self._slots.statistics().tasks_waiting:
                return False
            self._reserved += 1
            return True
        if self._bucket is not None and self._bucket.take(trio.current_time()) > 0:
            self._slots.release()
            return False
        self._reserved += 1
        self._reserved_slots += 1
        return True

    def release(self) -> None:
        """Give back what :meth:`reserve` held (the message was not committed)."""
        if self._reserved == self._reserved_slots:
            self._reserved_slots -= 1
            self._pass_slot()
        self._settle_reservation()

    def start(self, claimed: ClaimedDelivery) -> None:
        """Attempt a delivery committed as claimed by this worker: now, in a reserved slot,
        or else when the next attempt in flight gives its slot up."""
        slot = self._reserved_slots > 0
        if slot:
            self._reserved_slots -= 1
        self._settle_reservation()
        if self._attempts is None:  # stopped meanwhile: the lease hands it back later
            if slot:
                self._slots.release()
            return
        if not slot:
            try:
                self._slots.acquire_nowait()  # one was given up since the reservation
            except trio.WouldBlock:
                self._queued.append(claimed)
                return
        self._attempts.start_soon(self._attempt, claimed)

    def _pass_slot(self) -> None:
        """An attempt gave its slot up: to the next queued delivery, if it may still go."""
        while self._queued:
            claimed = self._queued.popleft()
            lease_end = claimed.created_at + timedelta(seconds=self.lease_seconds)
            late = self._now() + timedelta(seconds=self._policy.timeout_seconds) >= lease_end
            if (
                self._attempts is None
                or self._stopping
                or self.disabled is not None
                or self._breaker.state != "closed"
                or late
                or trio.current_effective_deadline() == -math.inf  # the engine is stopping
            ):
                # Not now: it stays claimed in the store until its lease ends, and is then
                # claimed again like any due delivery (the same id, attempt 1).
                _log.info(
                    "queued delivery left to its lease", destination=self.label, delivery=claimed.id
                )
                continue
            self._attempts.start_soon(self._attempt, claimed)
            return
        self._slots.release()

    def _settle_reservation(self) -> None:
        self._reserved -= 1
        if not self._reserved:
            self._unreserved.set()

    def stop(self) -> None:
        """Claim nothing more; :meth:`run` returns once the attempts in flight (and the
        deliveries reserved for it) have finished, each within the policy's timeout.

        For replacing or removing a destination while the engine runs: what this worker
        did not claim stays in the store, for the next worker of the name.
        """
        self._stopping = True
        self._wakeup.set()

    @property
    def lease_seconds(self) -> float:
        """How long a claim lasts: long enough for an attempt to finish and report."""
        return 2 * self._policy.timeout_seconds + 30.0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as attempts:
                self._attempts = attempts
                task_status.started()
                backoff = _STORE_BACKOFF_MIN
                while not self._stopping:
                    try:
                        await self._claim_and_start(attempts)
                    except StoreError as exc:
                        # The inbox cannot be read or written right now (a full or read-only
                        # disk): nothing is lost, the deliveries wait in the store. Try again
                        # later, backing off, rather than stopping the engine.
                        _log.warning(
                            "outbox unavailable, retrying", destination=self.label, error=str(exc)
                        )
                        with trio.move_on_after(backoff):
                            await trio.sleep_forever()
                        backoff = min(backoff * 2, _STORE_BACKOFF_MAX)
                    else:
                        backoff = _STORE_BACKOFF_MIN
                # Stopped: a message committed now may still hold a slot reserved here,
                # and its attempt belongs to this worker.
                while self._reserved:
                    self._unreserved = trio.Event()
                    await self._unreserved.wait()
        finally:
            self._attempts = None
            self.stopped.set()

    async def _claim_and_start(self, attempts: trio.Nursery) -> None:
        self._wakeup = trio.Event()
        if self.disabled is not None:
            await self._wakeup.wait()
            return
        limit = _CLAIM_BATCH
        probing = self._breaker.state != "closed"
        if probing:
            retry_at = self._breaker.retry_at
            if retry_at is not None and trio.current_time() < retry_at:
                with trio.move_on_at(retry_at):
                    await self._wakeup.wait()
                return
            # The cooldown is over: one probe may go, but the breaker is told only once
            # a delivery is claimed for it. Spending the probe on an empty claim would
            # hold the breaker half-open, and every delivery back, until the probe
            # counted as lost.
            limit = 1
        await self._slots.acquire()  # claim only what can start now
        room = 1 + self._slots.value
        try:
            claimed = await self._store.claim_deliveries(
                self.name,
                now=self._now(),
                lease_seconds=self.lease_seconds,
                limit=1 if self._policy.ordered else min(limit, room),
                ordered=self._policy.ordered,
                tenant=self.tenant,
            )
        except BaseException:
            self._pass_slot()
            raise
        if not claimed:
            self._pass_slot()
            await self._sleep_until_due()
            return
        if probing:
            self._breaker.allow(trio.current_time())  # takes the half-open probe
        for index, delivery in enumerate(claimed):
            if index:
                # Room was counted before the claim, but the direct path may have taken
                # slots meanwhile: the claimed ones wait their turn (their lease holds).
                await self._slots.acquire()
            await self._respect_rate_limit()
            attempts.start_soon(self._attempt, delivery)

    async def _respect_rate_limit(self) -> None:
        if self._bucket is None:
            return
        while (wait := self._bucket.take(trio.current_time())) > 0:
            await trio.sleep(wait)

    async def _sleep_until_due(self) -> None:
        due = await self._store.next_due(self.name, tenant=self.tenant)
        now = self._now()
        if self._policy.ordered and due is not None and due <= now:
            # Nothing was claimable, yet a delivery is due: one behind the oldest, which
            # was not due and holds it back. Sleep until the oldest is due (when this
            # worker scheduled it; else a poll's length), not for 0 s again and again.
            due = self._head_due
            if due is not None and due <= now:
                self._head_due = None  # due by now: claim it at once, but only once
        wait = POLL_SECONDS
        if due is not None:
            wait = min(wait, max(0.0, (due - now).total_seconds()))
        with trio.move_on_after(wait):
            await self._wakeup.wait()

    async def _attempt(self, claimed: ClaimedDelivery) -> None:
        held = True

        def release() -> None:
            # The slot bounds requests in flight: it is given back as soon as the answer
            # is in, not after the outcome's write.
            nonlocal held
            if held:
                held = False
                self._pass_slot()

        try:
            await self._attempt_held(claimed, release)
        except StoreError as exc:
            # The outcome could not be recorded: the delivery stays claimed until its
            # lease ends and is then attempted again (at least once, same id).
            _log.warning(
                "delivery outcome not recorded; it will be retried after its lease",
                destination=self.label,
                delivery=claimed.id,
                error=str(exc),
            )
        finally:
            release()

    async def _attempt_held(self, claimed: ClaimedDelivery, release: Callable[[], None]) -> None:
        if self._deleted(claimed.message.id):
            # Claimed before the delete (waiting for a slot, the rate limit, or handed
            # over at commit): its row is gone with the message, and it is not sent.
            _log.info("delivery dropped: its message was deleted", delivery=claimed.id)
            await trio.lowlevel.checkpoint()
            return
        delivery = Delivery(
            id=claimed.id,
            destination=self.name,
            message=claimed.message,
            attempt=claimed.attempt,
            created_at=claimed.created_at,
        )
        started_at = self._now()
        started = time.perf_counter()
        receipt: DeliveryReceipt | None = None
        error: BaseException | None = None
        with trio.move_on_after(self._policy.timeout_seconds) as deadline:
            try:
                receipt = await self._adapter.deliver(delivery)
            except DeliveryError as exc:
                error = exc
            except trio.Cancelled:
                if deadline.cancel_called:
                    raise  # the timeout: classified below
                # The engine is stopping: log the attempt as cut short and make the
                # delivery due again, so the next start sends it at once and the log
                # shows every request the target may have seen.
                with trio.CancelScope(shield=True):
                    interrupted = RetryableDeliveryError("interrupted: the engine stopped")
                    duration_ms = (time.perf_counter() - started) * 1000
                    await self._finish(
                        claimed,
                        started_at,
                        duration_ms,
                        None,
                        interrupted,
                        "retry",
                        due_at=self._now(),
                        retry_step=claimed.retry_step,
                    )
                raise
            except Exception as exc:  # an adapter's bug must not lose the delivery
                _log.exception("destination adapter raised", destination=self.label)
                error = RetryableDeliveryError(f"the adapter raised {type(exc).__name__}: {exc}")
        if deadline.cancelled_caught:
            error = RetryableDeliveryError(
                f"no answer within {self._policy.timeout_seconds:g} s", throttled=True
            )
        duration_ms = (time.perf_counter() - started) * 1000
        monotonic = trio.current_time()
        release()
        with trio.CancelScope(shield=True):  # the outcome is recorded even at shutdown
            if error is None:
                if self._breaker.state != "closed":
                    self._wakeup.set()  # the probe went through: the rest may go now
                self._breaker.record_success(monotonic)
                await self._finish(claimed, started_at, duration_ms, receipt, None, "delivered")
                self._metrics.count_delivery(
                    self.label, "delivered", claimed.message.received_at, duration_ms / 1000
                )
                return
            await self._failed(claimed, started_at, duration_ms, error, monotonic)

    async def _failed(
        self,
        claimed: ClaimedDelivery,
        started_at: datetime,
        duration_ms: float,
        error: BaseException,
        monotonic: float,
    ) -> None:
        if isinstance(error, PermanentDeliveryError) and error.disable:
            reason = f"disabled by the destination's answer: {_text(error)}"
            await self._store.set_destination_disabled(self.name, reason, tenant=self._hold_tenant)
            self.disabled = reason
            _log.warning("destination disabled", destination=self.label, reason=_text(error))
            await self._finish(
                claimed, started_at, duration_ms, None, error, "held", due_at=self._now()
            )
            self._metrics.count_delivery(self.label, "held", None, duration_ms / 1000)
            return
        if isinstance(error, PermanentDeliveryError):
            # The target answered (or the delivery itself is at fault): not an outage.
            # Reported all the same, so a half-open probe refused for good decides.
            self._breaker.record_success(monotonic)
        else:
            self._breaker.record_failure(monotonic)
        delay = self._schedule.next_delay(claimed.retry_step + 1, error)
        if delay is None or not math.isfinite(delay):
            await self._finish(claimed, started_at, duration_ms, None, error, "failed")
            self._metrics.count_delivery(self.label, "failed", None, duration_ms / 1000)
            return
        due_at = self._now() + timedelta(seconds=delay)
        await self._finish(claimed, started_at, duration_ms, None, error, "retry", due_at=due_at)
        self._metrics.count_delivery(self.label, "retry", None, duration_ms / 1000)

    async def _finish(
        self,
        claimed: ClaimedDelivery,
        started_at: datetime,
        duration_ms: float,
        receipt: DeliveryReceipt | None,
        error: BaseException | None,
        outcome: str,
        *,
        due_at: datetime | None = None,
        retry_step: int | None = None,
    ) -> None:
        if self._policy.ordered:
            self._head_due = due_at if outcome == "retry" else None
        status_code = receipt.status_code if receipt is not None else None
        response = receipt.response if receipt is not None else None
        if isinstance(error, DeliveryError):
            status_code, response = error.status_code, error.response
        attempt = DeliveryAttempt(
            delivery_id=claimed.id,
            attempt=claimed.attempt,
            started_at=started_at,
            duration_ms=round(duration_ms, 3),
            outcome=outcome,  # type: ignore[arg-type]
            status_code=status_code,
            error=None if error is None else _text(error),
            response=response,
        )
        if outcome == "delivered":
            # Nothing waits on a delivered one (unless ordered, where the next waits for
            # it): its write may share the next message's commit rather than add one.
            await self._store.finish_attempt(
                attempt, status="delivered", lazy=not self._policy.ordered
            )
        elif outcome == "failed":
            await self._store.finish_attempt(attempt, status="failed")
        elif outcome == "held":
            await self._store.finish_attempt(attempt, status="pending", due_at=due_at)
        else:
            step = claimed.retry_step + 1 if retry_step is None else retry_step
            await self._store.finish_attempt(
                attempt, status="pending", due_at=due_at, retry_step=step
            )
        if outcome != "delivered" or self._policy.ordered:
            # A retry may be due before the worker meant to look again, and a finished
            # ordered head lets the next one go. (A delivered one needs no look: a worker
            # waiting for a slot got it when the attempt gave the slot back.)
            self._wakeup.set()


def _text(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


async def report_outbox_depth(
    store: Store,
    metrics: EngineMetrics,
    destinations: Iterable[str],
    *,
    tenant: str | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep the queue-depth and oldest-age gauges of ``destinations`` (of ``tenant``,
    or with None of every tenant) current (read again on every round: a live
    collection may gain and lose names)."""
    task_status.started()
    while True:
        depth = await store.outbox_depth(tenant)
        now = datetime.now(UTC)
        for name in destinations:
            count, oldest = depth.get(name, (0, now))
            metrics.outbox_depth.labels(name).set(count)
            metrics.outbox_oldest.labels(name).set(max(0.0, (now - oldest).total_seconds()))
        await trio.sleep(DEPTH_SECONDS)
