"""The GSM modem carrier: SMS received by a modem on a serial device, over AT commands.

One instance drives one device (a USB modem's AT port, a serial module) holding one
SIM: give each modem its own ``[[carriers]]`` entry, with the SIM's number. The device
is opened with termios in raw mode and read through trio's file-descriptor streams.

At each connection the carrier runs the startup dialogue (3GPP TS 27.005/27.007):
``AT``, ``ATE0``, ``AT+CMEE=2``, ``AT+CPIN?`` (and the configured PIN when the SIM
asks for one: a PIN the SIM refuses is never sent again, since a few wrong tries lock
the SIM), ``AT+CMGF=0`` (PDU mode), ``AT+CSMS=1`` (phase 2+, when the modem has it),
``AT+CPMS`` (the storage) and ``AT+CNMI`` (new-message indications), then reads
everything stored with ``AT+CMGL=4``, so nothing received while Septet was down is lost.

Then it receives:

* ``+CMTI: <mem>,<index>``: the message is read (``AT+CMGR``), emitted, and deleted
  (``AT+CMGD``) only once ``emit`` returned, that is once it is committed;
* ``+CMT`` (``delivery = "direct"``, which needs phase 2+): emitted, then acknowledged
  with ``AT+CNMA``; a message that could not be committed gets ``AT+CNMA=2``, and the
  network delivers it again later;
* ``+CDS`` (and ``+CDSI`` from storage): status reports, emitted as PDUs, which the
  engine stores as status reports with the TP-MR of the message they report on;
* memory-full indications (``^SMMEMFULL``, ``+QIND: "smsfull"``, ``+CMS ERROR: 322``):
  everything stored is read and deleted, which frees room for what the network holds;
* every ``poll_seconds`` a scan of the storage, in case an indication was lost.

Unsolicited codes that arrive in the middle of a command's response are set aside and
handled after it. Messages stored for sending (``<stat>`` 2 and 3) are left alone.

A message whose commit fails stays on the SIM and is tried again by the next scan.
Each PDU's ``carrierMessageId`` is ``tpdu-`` and the start of the SHA-256 of its TPDU,
so a message read again after a restart that came between its commit and its delete
is answered as a duplicate, never stored twice.

When the device goes away (end of file, an I/O error, a modem that stops answering or
announces a restart), the carrier closes it, logs it, and opens it again after an
exponential backoff with jitter, running the startup dialogue again. Use a stable path
(``/dev/serial/by-id/...``) so that a modem that comes back as another ``ttyUSB`` is
still found.

A SIM that needs what the carrier must not try (a PUK, a refused PIN, a PIN when none is
configured) raises :class:`ModemSimError`: at startup the engine refuses to start;
later the carrier logs the error and leaves the modem alone until a restart.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from typing import ClassVar, Literal

import structlog
import trio

from engine.plugin_api import Emit

from ._modem_at import AtError, AtTimeoutError, DeviceGoneError
from ._modem_link import ModemLink, ModemRestartedError, ModemSimError, SimState
from ._modem_serial import BAUD_RATES, open_serial
from ._webhook_common import RedactedConfig

__all__ = ["ModemCarrier", "ModemConfig", "ModemSimError"]

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PIN = re.compile(r"^[0-9]{4,8}$")
_RECONNECT_ON = (
    OSError,
    DeviceGoneError,
    AtTimeoutError,
    AtError,
    ModemRestartedError,
    trio.BrokenResourceError,
)


class ModemConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one modem: one device, one SIM. ``repr`` hides the PIN."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"pin"})

    device: str
    """The modem's AT port, e.g. ``/dev/serial/by-id/usb-Quectel_EC25-if02-port0``."""
    number: str
    """The SIM's own number, E.164 (``+447700900123``): the receiving number."""
    baud_rate: int = 115200
    """Serial speed; USB modems ignore it, serial modules need theirs."""
    pin: str | None = None
    """The SIM's PIN (4 to 8 digits), sent only when the SIM asks for it, never twice
    after a refusal. Never logged."""
    storage: Literal["SM", "ME", "MT"] = "SM"
    """Where the modem stores messages: the SIM, the modem's memory, or both."""
    delivery: Literal["stored", "direct"] = "stored"
    """``stored``: messages go to ``storage`` and are announced by ``+CMTI``;
    ``direct``: they are handed over at once (``+CMT``) and acknowledged with
    ``+CNMA`` after the commit (falls back to ``stored`` on a modem without phase 2+)."""
    status_reports: bool = True
    """Ask for status reports (``+CDS``) of messages the SIM sent."""
    command_timeout_seconds: float = 10.0
    """How long one AT command may take before the modem counts as unresponsive."""
    poll_seconds: float = 60.0
    """How often the storage is read anyway, in case an indication was lost."""
    sim_ready_seconds: float = 30.0
    """How long the SIM may stay busy (starting, after its PIN) before a reconnect."""
    reconnect_min_seconds: float = 1.0
    """The first wait before opening the device again after it went away."""
    reconnect_max_seconds: float = 60.0
    """The longest wait between attempts (the wait doubles up to it, with jitter)."""

    def __post_init__(self) -> None:
        if not self.device:
            raise ValueError("device must name the modem's serial device")
        if not _E164.match(self.number):
            raise ValueError("number must be the SIM's number in E.164 form, like +447700900123")
        if self.baud_rate not in BAUD_RATES:
            rates = ", ".join(str(rate) for rate in BAUD_RATES)
            raise ValueError(f"baud_rate must be one of {rates}")
        if self.pin is not None and not _PIN.match(self.pin):
            raise ValueError("pin must be 4 to 8 digits")
        for key in (
            "command_timeout_seconds",
            "poll_seconds",
            "sim_ready_seconds",
            "reconnect_min_seconds",
            "reconnect_max_seconds",
        ):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a finite number of seconds above 0")
        if self.reconnect_max_seconds < self.reconnect_min_seconds:
            raise ValueError("reconnect_max_seconds must not be below reconnect_min_seconds")


class ModemCarrier:
    """SMS from a GSM modem on a serial device; see the module docstring."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[ModemConfig]] = ModemConfig

    def __init__(self, name: str, config: ModemConfig) -> None:
        self.name = name
        self.config = config
        self._state = SimState()
        self._log = structlog.get_logger("septet.carriers.modem").bind(
            carrier=name, device=config.device
        )

    async def run(
        self, emit: Emit, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Receive until cancelled, reconnecting as needed.

        Started once the modem is configured, or once a first attempt failed for a
        reason a reconnect may cure (the device is absent): the carrier then keeps
        trying in the background. A :class:`ModemSimError` before that is raised.
        """
        started = False
        delay = self.config.reconnect_min_seconds

        def ready() -> None:
            nonlocal started, delay
            delay = self.config.reconnect_min_seconds
            self._log.info("modem.ready", number=self.config.number)
            if not started:
                started = True
                task_status.started()

        while True:
            try:
                await self._connect_once(emit, ready)
            except BaseException as exc:
                error = _reconnect_reason(exc)
                if isinstance(error, ModemSimError):
                    if not started:
                        raise error from None
                    self._log.error("modem.sim_locked", error=str(error))
                    await trio.sleep_forever()
                wait = 0.0 if isinstance(error, ModemRestartedError) else delay
                wait *= random.uniform(0.5, 1.0)  # jitter: modems on one hub do not stampede
                self._log.warning(
                    "modem.disconnected",
                    error=f"{type(error).__name__}: {error}",
                    retry_in=round(wait, 3),
                )
                if not started:
                    started = True
                    task_status.started()
                await trio.sleep(wait)
                delay = min(delay * 2, self.config.reconnect_max_seconds)

    async def _connect_once(self, emit: Emit, ready: Callable[[], None]) -> None:
        stream = open_serial(self.config.device, self.config.baud_rate)
        async with stream:
            link = ModemLink(self.name, self.config, stream, self._state, self._log)
            await link.run(emit, ready)


def _reconnect_reason(exc: BaseException) -> BaseException:
    """The error a reconnect answers (or a :class:`ModemSimError`); re-raises the rest."""
    leaves: list[BaseException] = []
    pending = [exc]
    while pending:
        current = pending.pop()
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        else:
            leaves.append(current)
    for leaf in leaves:
        if isinstance(leaf, ModemSimError):
            return leaf
    if leaves and all(isinstance(leaf, _RECONNECT_ON) for leaf in leaves):
        return leaves[0]
    raise exc
