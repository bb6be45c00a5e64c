"""A GSM modem on a pseudo-terminal, for testing modem carriers without hardware.

:func:`open_modem_emulator` opens a pty pair, points a symlink (:attr:`ModemEmulator.path`)
at its device side, and answers AT commands (3GPP TS 27.005/27.007, PDU mode) on the
other side in the manner of a :class:`ModemDialect`: :data:`QUECTEL_EC25`,
:data:`SIMCOM_SIM800`, :data:`SIMCOM_SIM7600` or :data:`HUAWEI_E3372`. Dialects differ
in what they announce at boot, how they print an empty ``<alpha>`` field, whether they
echo at power-up, which storages they have, whether ``+CDS`` carries an SMSC block,
which ``+CNMI`` status-report routings they accept, how they answer a read of an empty
index, and how (if at all) they say the storage is full.

The SIM's storage outlives the pty: :meth:`ModemEmulator.vanish` unplugs the modem (the
pty closes, the symlink goes) and :meth:`ModemEmulator.reappear` plugs it in again on a
new pty behind the same path, with its settings reset as after a power cycle.

On the network side a test can store PDUs (:meth:`~ModemEmulator.store`), deliver an
SMS as the modem's ``+CNMI`` settings route it (:meth:`~ModemEmulator.receive_sms`:
stored with ``+CMTI``, or directly with ``+CMT`` and, in phase 2+, held until ``+CNMA``),
deliver a status report (:meth:`~ModemEmulator.receive_status_report`), send any
unsolicited line, or hold one for the middle of the next response to a command
(``during=``). A full storage refuses new messages, which the network keeps and delivers
once room is made. Scripted answers (:meth:`~ModemEmulator.script`) replay captured
transcripts exactly. Everything the carrier did is there to inspect: ``commands``,
``deleted``, ``acks``; :meth:`~ModemEmulator.wait_until` waits for a condition without
sleeping.
"""

from __future__ import annotations

import os
import re
import tempfile
import tty
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

import trio

__all__ = [
    "HUAWEI_E3372",
    "MODEM_DIALECTS",
    "QUECTEL_EC25",
    "SIMCOM_SIM7600",
    "SIMCOM_SIM800",
    "ModemDialect",
    "ModemEmulator",
    "StoredSms",
    "open_modem_emulator",
]


@dataclass(frozen=True, kw_only=True)
class ModemDialect:
    """How one family of modems behaves; build a variant with ``dataclasses.replace``."""

    name: str
    identity: tuple[str, str, str]
    """What ``AT+CGMI``, ``AT+CGMM`` and ``AT+CGMR`` answer (``ATI`` answers all three)."""
    echo: bool = True
    """Whether commands are echoed at power-up (``ATE1``)."""
    boot_urcs: tuple[str, ...] = ()
    """Announced at power-up with a SIM that needs no PIN."""
    locked_boot_urcs: tuple[str, ...] = ()
    """Announced at power-up with a SIM that waits for its PIN."""
    unlocked_urcs: tuple[str, ...] = ()
    """Announced once the SIM took its PIN and the SMS part is ready."""
    storages: tuple[tuple[str, int], ...] = (("SM", 30), ("ME", 50))
    """Storage names with their capacity, the first one the default."""
    report_storage: str | None = None
    """Where ``+CNMI`` ``<ds>`` 2 stores a status report (``+CDSI``); None: ds 2 refused."""
    cnmi_ds: tuple[int, ...] = (0, 1, 2)
    """The ``<ds>`` values ``AT+CNMI`` accepts."""
    phase2plus: bool = True
    """Whether ``AT+CSMS=1`` is accepted (then ``+CMT``/``+CDS`` wait for ``+CNMA``)."""
    empty_alpha: str = ""
    """How an absent ``<alpha>`` is printed: ``+CMGL: 1,0,,24`` or ``+CMGL: 1,0,"",24``."""
    cds_smsc: bool = True
    """Whether the PDU of a ``+CDS`` starts with an SMSC block (else a bare TPDU)."""
    empty_read_error: bool = False
    """``AT+CMGR`` of an empty index: ``+CMS ERROR: 321`` (else a bare ``OK``)."""
    memory_full_urc: str | None = None
    """Sent when a message finds the storage full; ``{storage}`` is replaced."""
    idle_urcs: tuple[str, ...] = ()
    """Status lines the modem sends on its own (signal, network mode)."""


QUECTEL_EC25 = ModemDialect(
    name="Quectel EC25",
    identity=("Quectel", "EC25", "EC25EFAR06A06M4G"),
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE"),
    locked_boot_urcs=("RDY", "+CFUN: 1", "+CPIN: SIM PIN"),
    unlocked_urcs=("+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
    storages=(("SM", 50), ("ME", 255), ("MT", 305)),
    report_storage="SR",
    memory_full_urc='+QIND: "smsfull","{storage}"',
    idle_urcs=('+QIND: "csq",20,99',),
)
"""Quectel EC25 (LTE Cat 4): ``RDY``, ``+QIND`` indications, empty ``<alpha>``."""

SIMCOM_SIM800 = ModemDialect(
    name="SIMCom SIM800",
    identity=("SIMCOM_Ltd", "SIMCOM_SIM800L", "Revision:1418B04SIM800L24"),
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),
    locked_boot_urcs=("RDY", "+CFUN: 1", "+CPIN: SIM PIN"),
    unlocked_urcs=("+CPIN: READY", "Call Ready", "SMS Ready"),
    storages=(("SM", 30), ("ME", 50)),
    cnmi_ds=(0, 1),
    empty_alpha='""',
    idle_urcs=("+CREG: 1",),
)
"""SIMCom SIM800 (2G): ``Call Ready``/``SMS Ready``, quoted empty ``<alpha>``, status
reports only as ``+CDS`` (``<ds>`` 0 or 1), no storage-full indication."""

SIMCOM_SIM7600 = ModemDialect(
    name="SIMCom SIM7600",
    identity=("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", "LE20B04SIM7600M22"),
    boot_urcs=("RDY", "+CPIN: READY", "SMS DONE", "PB DONE"),
    locked_boot_urcs=("RDY", "+CPIN: SIM PIN"),
    unlocked_urcs=("+CPIN: READY", "SMS DONE", "PB DONE"),
    storages=(("SM", 30), ("ME", 100), ("MT", 130)),
    report_storage="SM",
    empty_alpha='""',
    idle_urcs=("+CREG: 1",),
)
"""SIMCom SIM7600 (LTE): ``SMS DONE``/``PB DONE``, quoted empty ``<alpha>``."""

HUAWEI_E3372 = ModemDialect(
    name="Huawei E3372",
    identity=("huawei", "E3372", "22.315.01.00.00"),
    boot_urcs=("^SIMST: 1", "^SRVST: 2"),
    locked_boot_urcs=("^SIMST: 255",),
    unlocked_urcs=("^SIMST: 1", "^SRVST: 2"),
    storages=(("SM", 30), ("ME", 100)),
    report_storage="SR",  # announced by +CDSI but not readable: Huawei documents this
    cds_smsc=False,
    empty_read_error=True,
    memory_full_urc='^SMMEMFULL: "{storage}"',
    idle_urcs=("^RSSI: 18", "^MODE: 5,4", '^HCSQ: "LTE",52,48,147,20'),
)
"""Huawei E3372 (stick mode): ``^`` status codes, bare-TPDU ``+CDS``, ``^SMMEMFULL``,
an error for a read of an empty index."""

MODEM_DIALECTS: Mapping[str, ModemDialect] = {
    "quectel-ec25": QUECTEL_EC25,
    "simcom-sim800": SIMCOM_SIM800,
    "simcom-sim7600": SIMCOM_SIM7600,
    "huawei-e3372": HUAWEI_E3372,
}
"""The built-in dialects by a short name (for parametrized tests)."""


@dataclass
class StoredSms:
    """A message in the emulated storage, as ``+CMGL``/``+CMGR`` print it."""

    stat: int
    """0 received unread, 1 received read, 2 stored unsent, 3 stored sent."""
    pdu: str
    """Hex: the SMSC block and the TPDU."""
    length: int
    """The TPDU's length in octets (the ``<length>`` field)."""


_CME = {4: "operation not supported", 11: "SIM PIN required", 12: "SIM PUK required"}
_CME |= {14: "SIM busy", 16: "incorrect password"}
_CMS = {302: "operation not allowed", 303: "operation not supported", 311: "SIM PIN required"}
_CMS |= {314: "SIM busy", 321: "invalid memory index", 340: "no +CNMA acknowledgement expected"}
_PIN_TRIES = 3
_SMS_COMMANDS = ("+CPMS", "+CMGL", "+CMGR", "+CMGD", "+CNMI", "+CSMS", "+CNMA")


def _smsc_block(number: str | None) -> bytes:
    """The SMSC address block of 27.005 for ``+digits`` (``00`` for None)."""
    if not number:
        return b"\x00"
    digits = number.lstrip("+")
    toa = 0x91 if number.startswith("+") else 0x81
    padded = digits + ("F" if len(digits) % 2 else "")
    swapped = bytes.fromhex("".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2)))
    return bytes([1 + len(swapped), toa]) + swapped


@dataclass
class _Settings:
    """What a power cycle resets."""

    echo: bool
    cmee: int = 0
    cmgf: int = 0
    csms: int = 0
    cnmi: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    memories: list[str] = field(default_factory=list)


class ModemEmulator:
    """An emulated modem; get one from :func:`open_modem_emulator`."""

    def __init__(
        self, dialect: ModemDialect, path: str, *, pin: str | None, sms_busy_after_pin: int
    ) -> None:
        self.dialect = dialect
        self.path = path
        """The device path to configure the carrier with (a symlink to the pty)."""
        self.pin = pin
        self.commands: list[str] = []
        """Every command received, in order, as sent (without the CR)."""
        self.deleted: list[tuple[str, int]] = []
        """``(storage, index)`` of each ``AT+CMGD`` that deleted a message."""
        self.acks: list[str] = []
        """Each ``+CNMA`` that acknowledged a direct delivery (``AT+CNMA``, ``AT+CNMA=2``)."""
        self.pin_attempts = 0
        self.storage: dict[str, dict[int, StoredSms]] = {name: {} for name, _ in dialect.storages}
        if dialect.report_storage is not None:
            self.storage.setdefault(dialect.report_storage, {})
        self._capacity = dict(dialect.storages)
        self._sim = "SIM PIN" if pin is not None else "READY"
        self._pin_tries = _PIN_TRIES
        self._busy_after_pin = sms_busy_after_pin
        self._sms_busy = 0
        self._settings = self._power_on_settings()
        self._awaiting_ack: tuple[bytes, str | None, bool] | None = None
        self._after: list[str] = []
        self._network: deque[tuple[bytes, str | None]] = deque()
        self._held: list[tuple[str, list[str]]] = []
        self._scripts: dict[str, deque[list[str]]] = {}
        self._changed = trio.Event()
        self._write_lock = trio.Lock()
        self._stream: trio.lowlevel.FdStream | None = None
        self._slave_fd: int | None = None
        self._scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None

    # --- what a test inspects -------------------------------------------------------

    @property
    def present(self) -> bool:
        """Whether the device is plugged in."""
        return self._stream is not None

    @property
    def indications_enabled(self) -> bool:
        """Whether new messages are announced (``AT+CNMI`` with ``<mt>`` 1 or 2)."""
        return self._settings.cnmi[1] in (1, 2)

    @property
    def direct_delivery(self) -> bool:
        """Whether new messages go straight to the carrier (``+CMT``)."""
        return self._settings.cnmi[1] == 2

    def messages(self, storage: str | None = None) -> dict[int, StoredSms]:
        """The messages in ``storage`` (the default one), by index."""
        return dict(self.storage[storage or self.dialect.storages[0][0]])

    @property
    def network_queue(self) -> int:
        """Messages the network holds: refused by a full storage, or awaiting a retry."""
        return len(self._network)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds, re-checked after every change the emulator sees.

        Raises ``trio.TooSlowError`` after ``timeout`` seconds.
        """
        with trio.fail_after(timeout):
            while not predicate():
                await self._changed.wait()

    # --- the network side -------------------------------------------------------------

    def store(
        self,
        tpdu: bytes,
        *,
        smsc: str | None = None,
        stat: int = 0,
        storage: str | None = None,
        index: int | None = None,
    ) -> int:
        """Put a message in storage without announcing it; returns its index."""
        name = storage or self.dialect.storages[0][0]
        slots = self.storage[name]
        if index is None:
            index = self._free_index(name)
            if index is None:
                raise ValueError(f"storage {name} is full")
        slots[index] = StoredSms(stat, (_smsc_block(smsc) + tpdu).hex().upper(), len(tpdu))
        self._touch()
        return index

    async def receive_sms(
        self, tpdu: bytes, *, smsc: str | None = None, during: str | None = None
    ) -> int | None:
        """The network delivers an SMS-DELIVER, routed as ``AT+CNMI`` says.

        Returns the index it was stored at, or None when it went directly (``+CMT``) or
        waits at the network (a full storage, an earlier ``+CMT`` not yet acknowledged).
        With ``during``, the unsolicited lines are held for the middle of the next
        response to a command starting with it (``"AT+CMGL"``).
        """
        if self._awaiting_ack is not None or self._network:
            self._network.append((tpdu, smsc))  # the network delivers in order
            self._touch()
            return None
        return await self._route_sms(tpdu, smsc, during)

    async def receive_status_report(
        self,
        tpdu: bytes,
        *,
        smsc: str | None = None,
        route: Literal["auto", "direct", "stored"] = "auto",
        during: str | None = None,
    ) -> int | None:
        """The network delivers an SMS-STATUS-REPORT: ``+CDS`` when ``<ds>`` is 1 (or
        ``route="direct"``), stored with ``+CDSI`` when it is 2 (or ``route="stored"``);
        with ``<ds>`` 0 it is dropped, as the modem would. Returns the stored index."""
        ds = self._settings.cnmi[3]
        if route == "direct" or (route == "auto" and ds == 1):
            pdu = (_smsc_block(smsc) if self.dialect.cds_smsc else b"") + tpdu
            if self._settings.csms == 1:
                self._awaiting_ack = (tpdu, smsc, True)
            await self._announce([f"+CDS: {len(tpdu)}", pdu.hex().upper()], during)
            return None
        if route == "stored" or ds == 2:
            name = self.dialect.report_storage or self.dialect.storages[0][0]
            index = self.store(tpdu, smsc=smsc, storage=name)
            await self._announce([f'+CDSI: "{name}",{index}'], during)
            return index
        return None

    async def send_urc(self, *lines: str, during: str | None = None) -> None:
        """Send unsolicited lines now, or in the next response to ``during``."""
        await self._announce(list(lines), during)

    async def network_retry(self) -> None:
        """The network tries again what it holds (as it does after a memory-available
        notice or a while after an error), as far as there is room."""
        while self._network and self._awaiting_ack is None and self._network_ready():
            tpdu, smsc = self._network.popleft()
            await self._route_sms(tpdu, smsc, None)

    def script(self, command: str, lines: Sequence[str]) -> None:
        """Answer the next ``command`` (exact text, any case) with ``lines``, final result
        included, as a captured transcript has it."""
        self._scripts.setdefault(command.upper(), deque()).append(list(lines))

    # --- the device ---------------------------------------------------------------------

    async def vanish(self) -> None:
        """Unplug: the pty closes (the carrier reads EOF or EIO) and the path goes away."""
        # Everything of this pty is let go before the first await, so a reappear()
        # running meanwhile never has its new pty or symlink taken down by this one.
        scope, stream, slave = self._scope, self._stream, self._slave_fd
        self._scope = self._stream = self._slave_fd = None
        if scope is not None:
            scope.cancel()
        if slave is not None:
            os.close(slave)
        if stream is not None and os.path.islink(self.path):
            os.unlink(self.path)
        self._give_back_unacknowledged()
        self._settings = self._power_on_settings()
        self._touch()
        if stream is not None:
            await stream.aclose()

    async def reappear(self) -> None:
        """Plug in again: a new pty behind the same path, settings as after power-up,
        the SIM locked again when it has a PIN."""
        assert self._nursery is not None, "use open_modem_emulator"
        if self._stream is not None:
            await self.vanish()
        master, slave = os.openpty()
        tty.setraw(slave)  # no line discipline: what the carrier writes arrives as is
        self._slave_fd = slave
        self._stream = trio.lowlevel.FdStream(master)
        temporary = self.path + ".new"
        os.symlink(os.ttyname(slave), temporary)
        os.replace(temporary, self.path)
        if self.pin is not None and self._sim != "SIM PUK":
            self._sim = "SIM PIN"  # powered off: the SIM asks again
        self._scope = await self._nursery.start(self._serve, self._stream)
        await self._write(
            self.dialect.locked_boot_urcs if self._sim != "READY" else self.dialect.boot_urcs
        )
        self._touch()

    async def reboot(self) -> None:
        """Restart in place (same pty): settings reset, boot codes announced."""
        self._settings = self._power_on_settings()
        if self.pin is not None and self._sim == "READY":
            self._sim = "SIM PIN"
        await self._write(
            self.dialect.locked_boot_urcs if self._sim != "READY" else self.dialect.boot_urcs
        )
        self._touch()

    async def _serve(
        self, stream: trio.lowlevel.FdStream, *, task_status: trio.TaskStatus[trio.CancelScope]
    ) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            buffer = b""
            while True:
                try:
                    chunk = await stream.receive_some(4096)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                if not chunk:
                    return
                buffer += chunk
                while (end := _line_end(buffer)) >= 0:
                    raw, buffer = buffer[:end], buffer[end + 1 :]
                    command = raw.decode("latin-1").strip()
                    if command:
                        await self._run_command(command, raw)

    async def _run_command(self, command: str, raw: bytes) -> None:
        self.commands.append(command)
        lines = self._answer(command)
        for i, (prefix, held) in enumerate(self._held):
            if command.upper().startswith(prefix):
                del self._held[i]
                at = 1 if len(lines) > 1 else 0
                lines[at:at] = held
                break
        echo = raw + b"\r" if self._settings.echo else b""
        await self._write(lines, prefix=echo)
        after, self._after = self._after, []
        if after:
            await self._write(after)
        self._touch()  # after the answer: a test waiting for a command sees it answered
        upper = command.upper()
        if upper.startswith("AT+CMGD") or (upper.startswith("AT+CNMA") and "=2" not in upper):
            await self.network_retry()  # room was made, or the last +CMT was taken

    # --- answering commands ---------------------------------------------------------------

    def _answer(self, command: str) -> list[str]:
        scripted = self._scripts.get(command.upper())
        if scripted:
            return scripted.popleft()
        upper = command.upper()
        if not upper.startswith("AT"):
            return ["ERROR"]
        body = command[2:]
        name = re.split(r"[=?]", body, maxsplit=1)[0].upper()
        argument = body[len(name) :]
        if name in ("", "Z"):
            if name == "Z":
                self._settings = self._power_on_settings()
            return ["OK"]
        if name in ("E0", "E1", "E"):
            self._settings.echo = name == "E1"
            return ["OK"]
        if name == "I":
            return [*self.dialect.identity, "OK"]
        identity = {"+CGMI": 0, "+CGMM": 1, "+CGMR": 2}.get(name)
        if identity is not None:
            return [self.dialect.identity[identity], "OK"]
        if name == "+CMEE":
            return self._set_number("cmee", argument, (0, 1, 2))
        if name == "+CPIN":
            return self._cpin(argument)
        if name == "+CMGF":
            return self._set_number("cmgf", argument, (0, 1))
        if name in ("+CSQ", "+CREG"):
            return ["+CSQ: 20,99" if name == "+CSQ" else "+CREG: 0,1", "OK"]
        if name in _SMS_COMMANDS:
            if self._sim != "READY":
                return [self._cms(311)]
            if self._sms_busy:
                self._sms_busy -= 1
                return [self._cms(314)]
            return self._sms_command(name, argument)
        return ["ERROR"]

    def _sms_command(self, name: str, argument: str) -> list[str]:
        values = _values(argument[1:]) if argument.startswith("=") else []
        if name == "+CSMS":
            if argument == "?":
                return [f"+CSMS: {self._settings.csms},1,1,1", "OK"]
            if values not in (["0"], ["1"]) or (values == ["1"] and not self.dialect.phase2plus):
                return [self._cms(303)]
            self._settings.csms = int(values[0])
            return ["+CSMS: 1,1,1", "OK"]
        if name == "+CPMS":
            return self._cpms(argument, values)
        if name == "+CNMI":
            return self._cnmi(values)
        if name == "+CNMA":
            if self._awaiting_ack is None or self._settings.csms != 1:
                return [self._cms(340)]
            self.acks.append("AT+CNMA" + argument)
            if values and values[0] == "2":  # RP-ERROR: the network keeps it for later
                self._give_back_unacknowledged()
            self._awaiting_ack = None
            return ["OK"]
        memory = self._settings.memories[0]
        slots = self.storage[memory]
        if name == "+CMGL":
            wanted = int(values[0]) if values and values[0].isdigit() else 4
            lines: list[str] = []
            for index in sorted(slots):
                listed = slots[index]
                if wanted in (4, listed.stat):
                    alpha = self.dialect.empty_alpha
                    lines += [f"+CMGL: {index},{listed.stat},{alpha},{listed.length}", listed.pdu]
                    listed.stat = 1 if listed.stat == 0 else listed.stat
            return [*lines, "OK"]
        if not values or not values[0].isdigit():
            return [self._cms(302)]
        index = int(values[0])
        if name == "+CMGR":
            sms = slots.get(index)
            if sms is None:
                return [self._cms(321)] if self.dialect.empty_read_error else ["OK"]
            line = f"+CMGR: {sms.stat},{self.dialect.empty_alpha},{sms.length}"
            sms.stat = 1 if sms.stat == 0 else sms.stat
            return [line, sms.pdu, "OK"]
        # +CMGD=<index>[,<delflag>]; delflag 4 empties the storage
        doomed = sorted(slots) if len(values) > 1 and values[1] == "4" else [index]
        if index not in slots and len(doomed) == 1:
            return [self._cms(321)] if self.dialect.empty_read_error else ["OK"]
        for number in doomed:
            del slots[number]
            self.deleted.append((memory, number))
        return ["OK"]

    def _cpin(self, argument: str) -> list[str]:
        if argument == "?":
            return [f"+CPIN: {self._sim}", "OK"]
        if not argument.startswith("="):
            return ["ERROR"]
        if self._sim == "READY":
            return [self._cme(4)]
        if self._sim == "SIM PUK":
            return [self._cme(12)]
        self.pin_attempts += 1
        if _values(argument[1:])[:1] != [self.pin]:
            self._pin_tries -= 1
            if not self._pin_tries:
                self._sim = "SIM PUK"
            return [self._cme(16)]
        self._sim = "READY"
        self._pin_tries = _PIN_TRIES
        self._sms_busy = self._busy_after_pin
        self._after.extend(self.dialect.unlocked_urcs)  # the SIM announces it has started
        return ["OK"]

    def _cpms(self, argument: str, values: list[str]) -> list[str]:
        settings = self._settings
        if argument == "?":
            parts = [f'"{m}",{len(self.storage[m])},{self._size(m)}' for m in settings.memories]
            return ["+CPMS: " + ",".join(parts), "OK"]
        if not values or len(values) > 3 or any(v not in self._capacity for v in values):
            return [self._cms(302)]
        settings.memories[: len(values)] = values
        counts = [f"{len(self.storage[m])},{self._size(m)}" for m in settings.memories]
        return ["+CPMS: " + ",".join(counts), "OK"]

    def _cnmi(self, values: list[str]) -> list[str]:
        if not values or not all(v.isdigit() for v in values):
            return [self._cms(303)]
        numbers = [int(v) for v in values] + [0] * (5 - len(values))
        mode, mt, _, ds, _ = numbers[:5]
        if mode > 3 or mt > 3 or ds not in self.dialect.cnmi_ds:
            return [self._cms(303)]
        self._settings.cnmi = (mode, mt, numbers[2], ds, numbers[4])
        return ["OK"]

    def _set_number(self, key: str, argument: str, allowed: tuple[int, ...]) -> list[str]:
        name = key.upper()
        if argument == "?":
            return [f"+{name}: {getattr(self._settings, key)}", "OK"]
        values = _values(argument[1:]) if argument.startswith("=") else []
        if len(values) != 1 or not values[0].isdigit() or int(values[0]) not in allowed:
            return ["ERROR"]
        setattr(self._settings, key, int(values[0]))
        return ["OK"]

    # --- helpers ---------------------------------------------------------------------------

    def _give_back_unacknowledged(self) -> None:
        # An SMS the carrier did not acknowledge stays with the network, first in line; a
        # status report is not sent again.
        if self._awaiting_ack is not None and not self._awaiting_ack[2]:
            self._network.appendleft(self._awaiting_ack[:2])
        self._awaiting_ack = None

    def _power_on_settings(self) -> _Settings:
        default = self.dialect.storages[0][0]
        return _Settings(echo=self.dialect.echo, memories=[default, default, default])

    def _size(self, storage: str) -> int:
        return self._capacity.get(storage, 10)

    def _free_index(self, storage: str) -> int | None:
        used = self.storage[storage]
        # Indexes count from 0 on Quectel and Huawei, from 1 on SIMCom.
        first = 1 if self.dialect.name.startswith("SIMCom") else 0
        for index in range(first, first + self._size(storage)):
            if index not in used:
                return index
        return None

    def _network_ready(self) -> bool:
        mt = self._settings.cnmi[1]
        return mt == 2 or self._free_index(self._settings.memories[2]) is not None

    async def _route_sms(self, tpdu: bytes, smsc: str | None, during: str | None) -> int | None:
        settings = self._settings
        if settings.cnmi[1] == 2:
            pdu = _smsc_block(smsc) + tpdu
            if settings.csms == 1:
                self._awaiting_ack = (tpdu, smsc, False)
            alpha = self.dialect.empty_alpha
            await self._announce([f"+CMT: {alpha},{len(tpdu)}", pdu.hex().upper()], during)
            return None
        memory = settings.memories[2]
        if self._free_index(memory) is None:
            self._network.append((tpdu, smsc))
            full = self.dialect.memory_full_urc
            if full is not None:
                await self._announce([full.format(storage=memory)], during)
            self._touch()
            return None
        index = self.store(tpdu, smsc=smsc, storage=memory)
        if settings.cnmi[1] == 1:
            await self._announce([f'+CMTI: "{memory}",{index}'], during)
        return index

    async def _announce(self, lines: list[str], during: str | None) -> None:
        if during is not None:
            self._held.append((during.upper(), lines))
        else:
            await self._write(lines)
        self._touch()

    async def _write(self, lines: Sequence[str], *, prefix: bytes = b"") -> None:
        stream = self._stream
        if stream is None:
            return  # unplugged: nobody hears it
        data = prefix + b"".join(b"\r\n" + line.encode("latin-1") + b"\r\n" for line in lines)
        async with self._write_lock:
            with suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.send_all(data)

    def _cme(self, code: int) -> str:
        return self._error("+CME ERROR", code, _CME)

    def _cms(self, code: int) -> str:
        return self._error("+CMS ERROR", code, _CMS)

    def _error(self, kind: str, code: int, words: Mapping[int, str]) -> str:
        mode = self._settings.cmee
        if mode == 0:
            return "ERROR"
        return f"{kind}: {words[code] if mode == 2 else code}"

    def _touch(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


def _line_end(buffer: bytes) -> int:
    ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
    return min(ends) if ends else -1


def _values(text: str) -> list[str]:
    return [value.strip().strip('"') for value in text.split(",")] if text else []


@asynccontextmanager
async def open_modem_emulator(
    dialect: ModemDialect = QUECTEL_EC25,
    *,
    pin: str | None = None,
    sms_busy_after_pin: int = 1,
    directory: str | os.PathLike[str] | None = None,
) -> AsyncIterator[ModemEmulator]:
    """Run an emulated modem until the block exits; configure the carrier with its
    :attr:`~ModemEmulator.path`.

    ``pin``: the SIM waits for this PIN at power-up (three wrong tries ask for the PUK).
    ``sms_busy_after_pin``: how many SMS commands answer "SIM busy" after the PIN, as a
    SIM still loading its messages does. ``directory``: where the device symlink goes
    (a new temporary directory by default).
    """
    with tempfile.TemporaryDirectory(prefix="septet-modem-") as temporary:
        path = os.path.join(os.fspath(directory) if directory else temporary, "modem")
        emulator = ModemEmulator(dialect, path, pin=pin, sms_busy_after_pin=sms_busy_after_pin)
        async with trio.open_nursery() as nursery:
            emulator._nursery = nursery
            await emulator.reappear()
            try:
                yield emulator
            finally:
                await emulator.vanish()
                nursery.cancel_scope.cancel()
