"""The SMPP carrier: an SMPP 3.4 ESME that receives SMS from one or more SMSCs.

For each configured SMSC the carrier opens ``binds`` connections (TCP, or TLS with
``tls = true``) and binds each as a ``receiver`` or ``transceiver``. Each bind then:

* takes the ``deliver_sm`` and ``data_sm`` PDUs that arrive together (all that one
  read of the socket brings, up to half the ``window`` at a time, but not cut between
  two parts of a set; the window counts every PDU in flight) in one task, turns each
  into an ``InboundText`` (or an ``InboundStatus`` for a delivery receipt; see
  :mod:`adapters.carriers._smpp_mapping` for the decoding rules) and hands them to
  ``emit.many`` as one list, which the engine commits in one write;
* answers each PDU from its own outcome: ``ESME_ROK`` only for an item that is
  committed. A commit that failed (the store is unavailable, the engine is closing) is
  answered ``ESME_RX_T_APPN``, a temporary error, so the SMSC sends the message again;
  content that cannot be decoded is answered ``ESME_RX_P_APPN`` (or a more precise
  status) while the rest of its batch is stored, a PDU that does not decode gets its
  ``_resp`` or a ``generic_nack`` with the error; nothing that is not stored is
  acknowledged. Responses go out as their batch is answered, so out of order across
  batches, as SMPP allows;
* answers the SMSC's ``enquire_link`` and sends its own every ``enquire_link_seconds``;
  one left unanswered for ``response_timeout_seconds`` means the link is dead;
* after the link ends (dead, closed, ``unbind`` from the SMSC, refused bind) connects
  again after a backoff that starts at ``reconnect_min_seconds`` and doubles up to
  ``reconnect_max_seconds``, with jitter. A refused bind (a wrong password, say) is
  logged as an error with the SMSC's status and retried on that backoff, never in a
  tight loop.

When the engine stops, each bind stops taking messages, lets those in flight finish and
be answered, sends ``unbind`` and waits for ``unbind_resp`` up to
``response_timeout_seconds``, then closes. The carrier reports that it started once
every bind made its first attempt, bound or not: an SMSC that is down does not keep the
engine from starting.

SMPP gives a deliver_sm no id of its own, so messages carry no ``carrierMessageId``;
a message whose answer was lost (the link broke after the commit) is stored again
when the SMSC resends it. Delivery receipts carry an id stable across resends and are
stored once.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Sequence
from typing import ClassVar

import structlog
import trio

from engine.errors import CodecError
from engine.plugin_api import Emit, EngineClosedError, InboundItem, IngestResult, StoreError
from engine.smpp import CommandStatus

from ._smpp_config import SmppConfig, SmscConfig
from ._smpp_link import LINK_ERRORS, BindRefusedError, Received, SmppLink
from ._smpp_mapping import ContentError, inbound_item

__all__ = ["SmppCarrier", "SmppConfig", "SmscConfig"]

_ROK = CommandStatus.ESME_ROK
_TEMPORARY = CommandStatus.ESME_RX_T_APPN
_PERMANENT = CommandStatus.ESME_RX_P_APPN


class SmppCarrier:
    """Receives SMS over SMPP 3.4 binds; see the module docstring."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[SmppConfig]] = SmppConfig

    def __init__(self, name: str, config: SmppConfig) -> None:
        self.name = name
        self.config = config
        self._log = structlog.get_logger("septet.carriers.smpp").bind(carrier=name)

    async def run(
        self, emit: Emit, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run every bind until cancelled, then end each one gracefully."""
        binds = [
            _Bind(self.name, smsc, index, emit, self._log)
            for smsc in self.config.smscs
            for index in range(smsc.binds)
        ]
        grace = 2 * max(smsc.response_timeout_seconds for smsc in self.config.smscs)
        shields: list[trio.CancelScope] = []
        async with trio.open_nursery() as nursery:
            try:
                await nursery.start(_run_shielded, binds, shields)
                task_status.started()
                await trio.sleep_forever()
            finally:
                # The binds run shielded, so that the messages in flight are answered and
                # the unbind goes out; the grace period bounds how long that may take.
                for shield in shields:
                    shield.deadline = trio.current_time() + grace
                for bind in binds:
                    bind.stop()


async def _run_shielded(
    binds: list[_Bind],
    shields: list[trio.CancelScope],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    with trio.CancelScope(shield=True) as shield:
        shields.append(shield)
        async with trio.open_nursery() as nursery:
            for bind in binds:
                nursery.start_soon(bind.run)
            for bind in binds:
                await bind.first_attempt.wait()
            task_status.started()


class _Bind:
    """One bind to one SMSC, connected again whenever it ends, until stopped."""

    def __init__(
        self,
        carrier: str,
        smsc: SmscConfig,
        index: int,
        emit: Emit,
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self._carrier = carrier
        self._smsc = smsc
        self._emit = emit
        self._log = log.bind(smsc=f"{smsc.host}:{smsc.port}", bind=index)
        self._stopping = False
        self._scope: trio.CancelScope | None = None
        self._link: SmppLink | None = None
        self._tls = _tls_context(smsc) if smsc.tls else None
        self.first_attempt = trio.Event()
        """Set once the first attempt to bind ended, bound or not."""

    def stop(self) -> None:
        """End gracefully: a bound link unbinds, a connection attempt or a wait is cancelled."""
        self._stopping = True
        if self._link is not None:
            self._link.stop()
        elif self._scope is not None:
            self._scope.cancel()

    async def run(self) -> None:
        smsc = self._smsc
        delay = smsc.reconnect_min_seconds
        while not self._stopping:
            with trio.CancelScope() as self._scope:
                bound = await self._attempt()
                if bound:
                    delay = smsc.reconnect_min_seconds
            self._scope = None
            self.first_attempt.set()
            if self._stopping:
                break
            wait = delay * random.uniform(0.5, 1.0)
            self._log.info("smpp.reconnect_wait", seconds=round(wait, 3))
            with trio.CancelScope() as self._scope:
                await trio.sleep(wait)
            self._scope = None
            delay = min(delay * 2, smsc.reconnect_max_seconds)
        self.first_attempt.set()

    async def _attempt(self) -> bool:
        """Connect, bind and serve; True if the bind succeeded (however the link ended)."""
        smsc = self._smsc
        try:
            with trio.fail_after(smsc.response_timeout_seconds):
                stream = await _open_stream(smsc, self._tls)
        except (OSError, trio.TooSlowError, ssl.SSLError, trio.BrokenResourceError) as error:
            self._log.warning("smpp.connect_failed", error=str(error) or type(error).__name__)
            return False
        bound = False
        try:
            link = SmppLink(stream, smsc)
            await link.bind()
            bound = True
            self._log.info("smpp.bound", mode=smsc.bind)
            self.first_attempt.set()
            self._link = link
            if self._stopping:
                link.stop()
            try:
                await link.serve(self._receive)
            finally:
                self._link = None
            if link.peer_unbound:
                self._log.info("smpp.unbound_by_smsc")
            else:
                self._log.info("smpp.unbound", answered=link.unbind_answered)
        except BindRefusedError as error:
            self._log.error("smpp.bind_refused", status=error.command_status, error=str(error))
        except LINK_ERRORS as error:
            self._log.warning(
                "smpp.link_lost", error=str(error) or type(error).__name__, bound=bound
            )
        finally:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)
        return bound

    async def _receive(self, received: Sequence[Received]) -> list[int]:
        """Emit deliver_sm and data_sm PDUs that arrived together as one list; the status
        to answer each with, in order."""
        statuses: list[int] = []
        items: list[InboundItem] = []
        slots: list[int] = []
        for pdu, frame in received:
            try:
                item = inbound_item(self._carrier, self._smsc, pdu, frame)
            except ContentError as error:
                self._log.warning(
                    "smpp.undecodable", error=str(error), sequence=pdu.sequence_number
                )
                statuses.append(error.command_status)
                continue
            slots.append(len(statuses))
            statuses.append(_TEMPORARY)  # until its outcome says otherwise
            items.append(item)
        if not items:
            return statuses
        outcomes = await self._emit_many(items)
        if outcomes is None:
            return statuses  # not committed: each is answered with the temporary error
        not_committed: list[Exception] = []
        for slot, outcome in zip(slots, outcomes, strict=True):
            if isinstance(outcome, IngestResult):
                statuses[slot] = _ROK
            elif isinstance(outcome, StoreError | EngineClosedError):
                not_committed.append(outcome)
            elif isinstance(outcome, CodecError):
                self._log.warning("smpp.undecodable", error=str(outcome))
                statuses[slot] = _PERMANENT
            else:
                sequence = received[slot][0].sequence_number
                self._log.error("smpp.emit_failed", sequence=sequence, exc_info=outcome)
        if not_committed:
            self._log.warning(
                "smpp.not_committed", error=str(not_committed[0]), count=len(not_committed)
            )
        return statuses

    async def _emit_many(self, items: list[InboundItem]) -> list[IngestResult | Exception] | None:
        """``emit.many``; None when the call itself failed (the items are not acknowledged)."""
        try:
            outcomes = await self._emit.many(items)
        except Exception:
            self._log.exception("smpp.emit_failed", count=len(items))
            return None
        if len(outcomes) != len(items):
            self._log.error("smpp.emit_failed", count=len(items), outcomes=len(outcomes))
            return None
        return outcomes


async def _open_stream(smsc: SmscConfig, context: ssl.SSLContext | None) -> trio.abc.Stream:
    stream = await trio.open_tcp_stream(smsc.host, smsc.port)
    if context is None:
        return stream
    tls = trio.SSLStream(stream, context, server_hostname=smsc.host)
    try:
        await tls.do_handshake()
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return tls


def _tls_context(smsc: SmscConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=smsc.tls_ca_file)
    if not smsc.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
