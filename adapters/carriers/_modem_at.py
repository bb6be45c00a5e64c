"""The AT command session of the modem carrier: lines in, commands out, URCs aside.

An :class:`AtSession` owns a byte stream to a modem (a serial device, or anything that
speaks AT). Its reader task splits what arrives into lines and sorts each one:

* the echo of the command being run (a modem echoes until ``ATE0`` takes effect);
* a final result (``OK``, ``ERROR``, ``+CME ERROR: ...``, ``+CMS ERROR: ...``) that ends
  the command;
* an unsolicited result code (URC: ``+CMTI``, ``+CMT`` with its PDU line, ``+CDS``,
  ``RING``, Huawei's ``^RSSI``...), handed to ``on_urc`` even when it arrives in the
  middle of a command's response;
* an information line of the command's response (``+CMGL: ...`` and its PDU line).

A line is a URC when no command is waiting, or when it starts with ``+`` or ``^`` and
names another command than the one waiting (``+CPIN: READY`` answers ``AT+CPIN?`` but is
a URC during ``AT+CMGL``), or when it is one of the bare words modems announce
themselves with (``RDY``, ``SMS DONE``, ``Call Ready``).

The helpers :func:`parse_storage_index`, :func:`parse_pdu_header`,
:func:`split_fields` and :func:`pdu_framing` read the fields of 3GPP TS 27.005 PDU-mode responses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import trio

__all__ = [
    "AtError",
    "AtSession",
    "AtTimeoutError",
    "DeviceGoneError",
    "Urc",
    "parse_pdu_header",
    "parse_storage_index",
    "pdu_framing",
    "split_fields",
]

_MAX_LINE: Final = 8192
_FINAL_OK: Final = frozenset({"OK"})
_FINAL_ERRORS: Final = frozenset(
    {"ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "COMMAND NOT SUPPORT"}
)
_TWO_LINE_URCS: Final = ("+CMT:", "+CDS:", "+CBM:")
_BARE_URCS: Final = frozenset(
    {
        "RDY",
        "RING",
        "SMS DONE",
        "PB DONE",
        "Call Ready",
        "SMS Ready",
        "START",
        "NORMAL POWER DOWN",
        "POWERED DOWN",
    }
)
_HEX = re.compile(r"^[0-9A-Fa-f]+$")

# Numeric error codes (3GPP TS 27.007 §9.2 and 27.005 §3.2.5) as the words verbose
# mode (AT+CMEE=2) uses, so a check reads the same whichever mode the modem is in.
_CME_REASONS: Final = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "sim not inserted",
    11: "sim pin required",
    12: "sim puk required",
    13: "sim failure",
    14: "sim busy",
    15: "sim wrong",
    16: "incorrect password",
    17: "sim pin2 required",
    18: "sim puk2 required",
}
_CMS_REASONS: Final = {
    302: "operation not allowed",
    303: "operation not supported",
    310: "sim not inserted",
    311: "sim pin required",
    313: "sim failure",
    314: "sim busy",
    315: "sim wrong",
    316: "sim puk required",
    321: "invalid memory index",
    322: "memory full",
    340: "no +cnma acknowledgement expected",
}


class AtError(Exception):
    """The modem answered a command with an error instead of ``OK``."""

    def __init__(self, command: str, result: str) -> None:
        self.command = command
        self.result = result
        kind, _, detail = result.partition(": ")
        detail = detail.strip()
        code = int(detail) if detail.isdigit() else None
        table = _CME_REASONS if kind == "+CME ERROR" else _CMS_REASONS
        self.code = code
        """The numeric error code, when the modem gave one."""
        self.reason = (table.get(code, detail) if code is not None else detail).lower()
        """What went wrong in words (``sim busy``), whichever way the modem said it."""
        super().__init__(f"{command.split('=')[0]}: {result}")

    def means(self, *reasons: str) -> bool:
        """Whether the error is one of ``reasons`` (lower-case words, matched in part)."""
        return any(reason in self.reason for reason in reasons)


class AtTimeoutError(Exception):
    """A command got no final result in time: the session is out of step."""


class DeviceGoneError(Exception):
    """The device closed (EOF, EIO): unplugged, powered off or reset."""


@dataclass(frozen=True)
class Urc:
    """An unsolicited result code; ``pdu`` is the hex line that follows ``+CMT``/``+CDS``."""

    line: str
    pdu: str | None = None

    @property
    def name(self) -> str:
        """``+CMTI``, ``^SMMEMFULL``, ``RDY``: what the code is, without its values."""
        return self.line.split(":", 1)[0].strip()

    @property
    def value(self) -> str:
        """What follows the colon, stripped (empty for a bare word)."""
        return self.line.split(":", 1)[1].strip() if ":" in self.line else ""


@dataclass
class _Pending:
    command: str
    prefix: str | None
    lines: list[str] = field(default_factory=list)
    result: str | None = None
    done: trio.Event = field(default_factory=trio.Event)


def _response_prefix(command: str) -> str | None:
    """``+CMGL:`` for ``AT+CMGL=4``: the prefix of the command's information lines."""
    body = command[2:] if command[:2].upper() == "AT" else command
    if not body or body[0] not in "+^":
        return None
    name = re.split(r"[=?]", body, maxsplit=1)[0]
    return name.upper() + ":"


class AtSession:
    """One AT conversation over ``stream``; run :meth:`run` in a nursery first.

    ``on_urc`` is called (synchronously, from the reader) for every URC in arrival
    order; it must not block.
    """

    def __init__(self, stream: trio.abc.Stream, on_urc: Callable[[Urc], None]) -> None:
        self._stream = stream
        self._on_urc = on_urc
        self._lock = trio.Lock()
        self._pending: _Pending | None = None
        self._urc_header: str | None = None
        self._gone = False

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read until the device goes away, then raise :class:`DeviceGoneError`."""
        task_status.started()
        buffer = bytearray()
        try:
            while True:
                chunk = await self._stream.receive_some(4096)
                if not chunk:
                    raise DeviceGoneError("the device closed (end of file)")
                buffer += chunk
                for line in _take_lines(buffer):
                    self._dispatch(line)
                if len(buffer) > _MAX_LINE:
                    del buffer[:]  # noise without a line end; a real line is far shorter
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise DeviceGoneError(f"the device stopped answering ({exc.__cause__ or exc})") from exc
        finally:
            self._gone = True
            pending = self._pending
            if pending is not None:
                pending.done.set()

    async def command(self, command: str, timeout: float) -> list[str]:
        """Send ``command`` and return its information lines once it answers ``OK``.

        Raises :class:`AtError` for an error result, :class:`AtTimeoutError` when no
        final result comes within ``timeout`` seconds, :class:`DeviceGoneError` when the
        device goes away first.
        """
        async with self._lock:
            if self._gone:
                raise DeviceGoneError("the device is gone")
            pending = self._pending = _Pending(command, _response_prefix(command))
            try:
                await self._stream.send_all(command.encode("ascii") + b"\r")
                with trio.move_on_after(timeout):
                    await pending.done.wait()
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise DeviceGoneError(f"the device cannot be written ({exc})") from exc
            finally:
                self._pending = None
            if pending.result is None:
                if self._gone:
                    raise DeviceGoneError("the device went away during " + command)
                raise AtTimeoutError(f"no answer to {command.split('=')[0]} in {timeout:g} s")
            if pending.result != "OK":
                raise AtError(command, pending.result)
            return pending.lines

    def _dispatch(self, line: str) -> None:
        header = self._urc_header
        if header is not None:
            self._urc_header = None
            if _HEX.match(line):
                self._on_urc(Urc(header, line))
                return
            self._on_urc(Urc(header))  # a header without its PDU: reported as it is
        pending = self._pending
        if pending is None or pending.result is not None:
            self._unsolicited(line)
            return
        if not pending.lines and line.upper() == pending.command.upper():
            return  # the echo
        if line in _FINAL_OK or line in _FINAL_ERRORS or _is_error_result(line):
            pending.result = line
            pending.done.set()
            return
        if pending.prefix is not None and line.upper().startswith(pending.prefix):
            pending.lines.append(line)
        elif _looks_unsolicited(line):
            self._unsolicited(line)
        else:
            pending.lines.append(line)

    def _unsolicited(self, line: str) -> None:
        if line.startswith(_TWO_LINE_URCS):
            self._urc_header = line
            return
        if line == "OK" or line.upper().startswith("AT"):
            return  # a late answer or an echo nobody waits for
        self._on_urc(Urc(line))


def _take_lines(buffer: bytearray) -> list[str]:
    """The complete lines at the start of ``buffer`` (removed from it), blank ones skipped."""
    lines: list[str] = []
    while True:
        ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
        if not ends:
            # The "> " prompt has no line end; receiving never needs it, so drop it.
            if buffer.strip() == b">":
                del buffer[:]
            return lines
        end = min(ends)
        raw = bytes(buffer[:end])
        del buffer[: end + 1]
        text = raw.decode("latin-1").strip()
        if text:
            lines.append(text)


def _is_error_result(line: str) -> bool:
    return line.startswith(("+CME ERROR:", "+CMS ERROR:"))


def _looks_unsolicited(line: str) -> bool:
    return line[:1] in ("+", "^") or line in _BARE_URCS


def parse_storage_index(value: str) -> tuple[str, int] | None:
    """``("SM", 3)`` from ``"SM",3`` (the values of ``+CMTI`` and ``+CDSI``)."""
    parts = [part.strip().strip('"') for part in value.split(",")]
    if len(parts) < 2 or not parts[-1].isdigit():
        return None
    return parts[0].upper(), int(parts[-1])


def parse_pdu_header(value: str) -> tuple[int | None, int] | None:
    """The first field and the length (the last field) of a PDU-mode header's values:
    ``(stat, length)`` for ``+CMGR: <stat>,[<alpha>],<length>``, ``(None, length)`` for
    ``+CMT: [<alpha>],<length>`` and ``+CDS: <length>``.

    Modems differ in the middle (``1,,25``, ``1,"",25``, ``0,23`` without the alpha
    field), never in the first and last fields, so only those are read.
    """
    fields = split_fields(value)
    if not fields or not fields[-1].isdigit():
        return None
    first = int(fields[0]) if len(fields) > 1 and fields[0].isdigit() else None
    return first, int(fields[-1])


def split_fields(value: str) -> list[str]:
    """The comma-separated fields of a result's values; commas inside quotes (a
    phonebook name in ``<alpha>``) do not separate."""
    fields: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            fields.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    fields.append("".join(current).strip())
    return fields


def pdu_framing(pdu: bytes, tpdu_length: int) -> tuple[bool | None, int | None]:
    """``(smsc, tpdu_length)`` for an ``InboundPdu``, from the ``<length>`` the modem gave.

    27.005 says the hex is the SMSC block and the TPDU, ``<length>`` the TPDU's octets;
    some modems print a bare TPDU (``+CDS``) and a few print a wrong length. A length
    that matches neither framing is not passed on, so the decoder detects the framing.
    """
    if len(pdu) == tpdu_length:
        return False, tpdu_length
    if pdu and len(pdu) == tpdu_length + 1 + pdu[0]:
        return True, tpdu_length
    return None, None
