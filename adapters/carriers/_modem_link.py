"""One connection to a GSM modem: the startup dialogue, then receiving until it drops.

:class:`ModemLink` runs over an open device. :meth:`ModemLink.run` configures the modem
(echo off, verbose errors, the SIM PIN, PDU mode, phase 2+ acknowledgements, storage,
new-message indications), reads everything stored, then serves URCs and periodic scans
in one worker, so that no two reads of the same storage overlap. It returns only by
raising: :class:`~._modem_at.DeviceGoneError` when the device goes,
:class:`~._modem_at.AtTimeoutError` when the modem stops answering,
:class:`ModemRestartedError` when it announces a reboot (its settings are gone), or
:class:`ModemSimError` for a SIM that needs what Septet must not try again.

Every message is emitted before anything acknowledges it to the modem: a stored one is
deleted (``AT+CMGD``) and a directly delivered one acknowledged (``AT+CNMA``) only after
``emit`` returned. When ``emit`` raises, a stored message stays where it is (the next
scan retries it) and a direct one gets a negative acknowledgement (``AT+CNMA=2``), so
the network delivers it again later.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import trio

from engine.plugin_api import Emit, InboundPdu, PluginError

from ._modem_at import (
    AtError,
    AtSession,
    AtTimeoutError,
    Urc,
    parse_pdu_header,
    parse_storage_index,
    pdu_framing,
    split_fields,
)

if TYPE_CHECKING:
    from .modem import ModemConfig

__all__ = ["ModemLink", "ModemRestartedError", "ModemSimError", "SimState"]

_RESTART_URCS: Final = frozenset(
    {"RDY", "START", "^SYSSTART", "+CPIN: SIM PIN", "+CPIN: NOT READY", "+CPIN: SIM PUK"}
)
_SMS_READY_URCS: Final = frozenset({"SMS DONE", "SMS Ready", "+QIND: SMS DONE"})
_RECEIVED: Final = frozenset({0, 1})
"""``<stat>`` 0 and 1 (received unread, read); 2 and 3 are stored outgoing messages."""
_SYNC_TRIES: Final = 3
_BUSY_PAUSE: Final = 0.5


class ModemSimError(PluginError):
    """The SIM needs something Septet must not try on its own: a PIN it refused or
    does not have, a PUK. Fix the SIM or the ``pin`` setting and restart."""


class ModemRestartedError(Exception):
    """The modem announced a restart (``RDY``, ``+CPIN: SIM PIN``...): configure again."""


class SimState:
    """What outlives one connection: whether the SIM refused the PIN, and the
    storages other than the configured one that indications have named."""

    def __init__(self) -> None:
        self.pin_refused = False
        self.extra_storages: set[str] = set()


class ModemLink:
    """One modem connection; see the module docstring."""

    def __init__(
        self, name: str, config: ModemConfig, stream: trio.abc.Stream, state: SimState, log: Any
    ) -> None:
        self._name = name
        self._config = config
        self._state = state
        self._log = log
        self._timeout = config.command_timeout_seconds
        self._send_job, self._jobs = trio.open_memory_channel[Urc | None](math.inf)
        self._scan_queued = False
        self._configured = False
        self._phase2plus = False
        self._storage = config.storage
        self.at = AtSession(stream, self._queue_urc)

    async def run(self, emit: Emit, on_ready: Callable[[], None]) -> None:
        """Configure the modem, call ``on_ready``, then receive until the link fails."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.at.run)
            await self._configure()
            on_ready()
            nursery.start_soon(self._poll)
            self._queue_scan()  # what arrived while nobody listened
            async for job in self._jobs:
                try:
                    if job is None:
                        self._scan_queued = False
                        await self._scan_all(emit)
                    else:
                        await self._handle_urc(job, emit)
                except AtError as exc:
                    self._log.warning("modem.command_failed", error=str(exc))

    # --- startup -------------------------------------------------------------------

    async def _configure(self) -> None:
        await self._sync()
        await self.at.command("ATE0", self._timeout)
        await self._optional("AT+CMEE=2")
        await self._unlock_sim()
        await self.at.command("AT+CMGF=0", self._timeout)
        await self._select_storage()  # first: it waits out a SIM still loading its messages
        # Phase 2+: the modem waits for +CNMA before acknowledging a +CMT/+CDS to the
        # network, which is what lets Septet acknowledge only after the commit.
        self._phase2plus = await self._optional("AT+CSMS=1")
        await self._enable_indications()
        self._configured = True

    async def _sync(self) -> None:
        # A modem that was mid-boot or mid-command when we opened may ignore a first AT.
        for attempt in range(_SYNC_TRIES):
            try:
                await self.at.command("AT", min(self._timeout, 2.0))
                return
            except AtTimeoutError:
                if attempt == _SYNC_TRIES - 1:
                    raise
            except AtError:
                pass  # noise on the line before the modem listened; try again

    async def _optional(self, command: str) -> bool:
        try:
            await self.at.command(command, self._timeout)
        except AtError as exc:
            self._log.info("modem.command_unsupported", command=command, error=exc.reason)
            return False
        return True

    async def _unlock_sim(self) -> None:
        deadline = trio.current_time() + self._config.sim_ready_seconds
        pin_sent = False
        while True:
            try:
                lines = await self.at.command("AT+CPIN?", self._timeout)
            except AtError as exc:
                if not exc.means("sim busy", "not ready") or trio.current_time() > deadline:
                    raise
                await trio.sleep(_BUSY_PAUSE)
                continue
            states = [line.split(":", 1)[1].strip().upper() for line in lines if ":" in line]
            state = states[-1] if states else ""
            if state == "READY":
                return
            if "PUK" in state:
                raise ModemSimError(f"the SIM is locked ({state}): unlock it with its PUK")
            if state != "SIM PIN":
                raise ModemSimError(f"the SIM asks for {state or 'something unknown'}")
            if pin_sent:  # accepted; the SIM is still starting
                if trio.current_time() > deadline:
                    raise AtTimeoutError("the SIM did not become ready after its PIN")
                await trio.sleep(_BUSY_PAUSE)
                continue
            await self._enter_pin()
            pin_sent = True

    async def _enter_pin(self) -> None:
        pin = self._config.pin
        if self._state.pin_refused:
            raise ModemSimError("the SIM refused the configured PIN before; it is not retried")
        if pin is None:
            raise ModemSimError("the SIM asks for a PIN and no pin is configured")
        try:
            await self.at.command(f'AT+CPIN="{pin}"', self._timeout)
        except AtError as exc:
            if exc.means("incorrect password", "puk", "wrong"):
                # Never again: each wrong try brings the SIM closer to its PUK lock.
                self._state.pin_refused = True
                raise ModemSimError(
                    "the SIM refused the configured PIN; it is not retried"
                ) from None
            raise
        self._log.info("modem.pin_accepted")

    async def _select_storage(self) -> None:
        storage = self._storage
        deadline = trio.current_time() + self._config.sim_ready_seconds
        # All three storages (read/delete, write, received); older modems take fewer.
        choices = [",".join([f'"{storage}"'] * count) for count in (3, 2, 1)]
        for n, arguments in enumerate(choices):
            while True:
                try:
                    await self.at.command(f"AT+CPMS={arguments}", self._timeout)
                    return
                except AtError as exc:
                    if exc.means("sim busy", "not ready") and trio.current_time() < deadline:
                        await trio.sleep(_BUSY_PAUSE)  # the SIM's SMS part is still loading
                        continue
                    if n == len(choices) - 1:
                        raise
                    break

    async def _enable_indications(self) -> None:
        direct = self._config.delivery == "direct"
        if direct and not self._phase2plus:
            self._log.warning(
                "modem.direct_unavailable",
                reason="no phase 2+ (AT+CSMS=1): the modem would acknowledge before the commit",
                using="stored",
            )
            direct = False
        mt = 2 if direct else 1
        reports = (1, 0) if self._config.status_reports else (0,)
        for ds in reports:
            for mode in (2, 1):
                if await self._optional(f"AT+CNMI={mode},{mt},0,{ds},0"):
                    return
        self._log.warning("modem.no_indications", using="polling only")

    # --- receiving -----------------------------------------------------------------

    def _queue_urc(self, urc: Urc) -> None:
        if not self._configured and (urc.line in _RESTART_URCS or urc.line in _SMS_READY_URCS):
            return  # the boot we are configuring after
        self._send_job.send_nowait(urc)

    def _queue_scan(self) -> None:
        if not self._scan_queued:
            self._scan_queued = True
            self._send_job.send_nowait(None)

    async def _poll(self) -> None:
        # A safety net: an indication lost on the line still gets its message read.
        while True:
            await trio.sleep(self._config.poll_seconds)
            self._queue_scan()

    async def _handle_urc(self, urc: Urc, emit: Emit) -> None:
        name = urc.name
        if name in ("+CMTI", "+CDSI"):
            where = parse_storage_index(urc.value)
            if where is None:
                self._log.warning("modem.unreadable_urc", line=urc.line)
                self._queue_scan()
            else:
                await self._read_stored(where[0], where[1], emit)
        elif name in ("+CMT", "+CDS"):
            await self._deliver_direct(urc, emit)
        elif _is_memory_full(urc.line):
            self._log.warning("modem.memory_full", line=urc.line)
            self._queue_scan()
        elif urc.line in _SMS_READY_URCS:
            self._queue_scan()
        elif urc.line in _RESTART_URCS:
            raise ModemRestartedError(f"the modem restarted ({urc.line})")
        else:
            self._log.debug("modem.urc", line=urc.line)

    async def _read_stored(self, storage: str, index: int, emit: Emit) -> None:
        if storage != self._storage:
            self._state.extra_storages.add(storage)
        async with self._reading(storage) as selected:
            if not selected:
                return
            try:
                lines = await self.at.command(f"AT+CMGR={index}", self._timeout)
            except AtError as exc:
                if exc.means("invalid memory index"):
                    return  # already read and deleted (by a scan)
                raise
            entries = _pdu_entries(lines, indexed=False)
            for _, stat, length, pdu in entries[:1]:
                await self._take_stored(storage, index, stat, length, pdu, emit)

    async def _scan_all(self, emit: Emit) -> None:
        for storage in [self._storage, *sorted(self._state.extra_storages - {self._storage})]:
            async with self._reading(storage) as selected:
                if not selected:
                    continue
                lines = await self.at.command("AT+CMGL=4", self._timeout)
                for index, stat, length, pdu in _pdu_entries(lines, indexed=True):
                    if index is not None:
                        await self._take_stored(storage, index, stat, length, pdu, emit)

    @asynccontextmanager
    async def _reading(self, storage: str) -> AsyncIterator[bool]:
        """Read and delete from ``storage`` (yields False when the modem refuses it)."""
        if storage == self._storage:
            yield True
            return
        try:
            await self.at.command(f'AT+CPMS="{storage}"', self._timeout)
        except AtError as exc:
            self._log.warning("modem.storage_unreadable", storage=storage, error=exc.reason)
            yield False
            return
        try:
            yield True
        finally:
            await self.at.command(f'AT+CPMS="{self._storage}"', self._timeout)

    async def _take_stored(
        self, storage: str, index: int, stat: int | None, length: int, pdu: str, emit: Emit
    ) -> None:
        if stat is not None and stat not in _RECEIVED:
            return  # a message stored for sending; not ours to take or delete
        item = self._inbound(pdu, length, source=f"{storage}/{index}")
        if item is None or not await self._emit(item, emit, storage=storage, index=index):
            return  # left where it is: the next scan (or restart) tries again
        await self.at.command(f"AT+CMGD={index}", self._timeout)

    async def _deliver_direct(self, urc: Urc, emit: Emit) -> None:
        header = parse_pdu_header(urc.value)
        item = None
        if header is not None and urc.pdu is not None:
            item = self._inbound(urc.pdu, header[1], source=urc.name)
        committed = item is not None and await self._emit(item, emit, source=urc.name)
        if not self._phase2plus:
            return  # the modem acknowledged it already; nothing to answer
        try:
            # Negative: the network keeps the message and delivers it again later.
            await self.at.command("AT+CNMA" if committed else "AT+CNMA=2", self._timeout)
        except AtError as exc:
            self._log.warning("modem.ack_refused", error=exc.reason, committed=committed)

    def _inbound(self, pdu_hex: str, length: int, *, source: str) -> InboundPdu | None:
        try:
            pdu = bytes.fromhex(pdu_hex)
        except ValueError:
            self._log.error("modem.unreadable_pdu", source=source, pdu=pdu_hex)
            return None
        smsc, tpdu_length = pdu_framing(pdu, length)
        tpdu = pdu[1 + pdu[0] :] if smsc and pdu else pdu
        return InboundPdu(
            carrier=self._name,
            number=self._config.number,
            pdu=pdu,
            smsc=smsc,
            tpdu_length=tpdu_length,
            # The same TPDU read again (committed, then the device went before the
            # delete) is the same message: the engine answers it as a duplicate.
            carrier_message_id="tpdu-" + hashlib.sha256(tpdu).hexdigest()[:32],
        )

    async def _emit(self, item: InboundPdu, emit: Emit, **where: object) -> bool:
        try:
            await emit(item)
        except Exception as exc:
            self._log.error(
                "modem.not_committed",
                error=f"{type(exc).__name__}: {exc}",
                pdu=item.pdu.hex(),
                **where,
            )
            return False
        return True


def _pdu_entries(
    lines: list[str], *, indexed: bool
) -> list[tuple[int | None, int | None, int, str]]:
    """``(index, stat, length, pdu)`` of each header and PDU line pair of a ``+CMGL``
    (``indexed``) or ``+CMGR`` response."""
    entries: list[tuple[int | None, int | None, int, str]] = []
    header: list[str] | None = None
    for line in lines:
        if line.startswith(("+CMGL:", "+CMGR:")):
            header = split_fields(line.split(":", 1)[1])
            continue
        if header is None or not header[-1].isdigit():
            continue
        numbers = [int(field) if field.isdigit() else None for field in header]
        if indexed:
            index, stat = numbers[0], numbers[1] if len(numbers) > 2 else None
        else:
            index, stat = None, numbers[0] if len(numbers) > 1 else None
        entries.append((index, stat, int(header[-1]), line))
        header = None
    return entries


def _is_memory_full(line: str) -> bool:
    upper = line.upper()
    if upper.startswith("+CMS ERROR"):
        return "322" in upper or "MEMORY FULL" in upper
    return "SMSFULL" in upper or "MEMFULL" in upper or "SMS FULL" in upper
