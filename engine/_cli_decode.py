"""``septet decode``: PDUs from a modem's output to JSON lines.

It reads PDUs as a GSM modem prints them in PDU mode and writes one
JSON object per line for each message: every decoded field and the one-time code.
Input lines may be bare hex (with or without the SMSC block) or the modem's own
output: a ``+CMT:``, ``+CMGR:``, ``+CMGL:`` or ``+CDS:`` line followed by the hex
line, in which case the ``<length>`` field tells whether an SMSC block is present.
Other modem chatter (``OK``, blank lines) is ignored.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO

import msgspec

from . import codec, otp
from .errors import CodecError, ReassemblyError

__all__ = ["add_decode_command", "run_decode"]

# `+CMT: [<alpha>],<length>`, `+CMGR: <stat>,[<alpha>],<length>`,
# `+CMGL: <index>,<stat>,[<alpha>],<length>`, `+CDS: <length>`: the length is the last field.
_MODEM_HEADER = re.compile(r"^\+(CMT|CMGR|CMGL|CDS):\s*(?P<fields>.*)$", re.IGNORECASE)
_HEX_LINE = re.compile(r"^[0-9A-Fa-f\s]+$")
_IGNORED = frozenset({"OK", "ERROR", ""})

_json = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class _PduLine:
    """One PDU found in the input, with where it came from."""

    hex: str
    line: int
    tpdu_length: int | None
    header: str | None


def _length_from_header(fields: str) -> int | None:
    last = fields.rsplit(",", 1)[-1].strip()
    return int(last) if last.isdigit() else None


def _read_pdus(lines: Iterable[str]) -> Iterator[_PduLine | tuple[int, str]]:
    """Yield the PDUs in modem output, or ``(line, text)`` for a line that is not one."""
    pending: tuple[str, int | None] | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        header = _MODEM_HEADER.match(line)
        if header is not None:
            pending = (line, _length_from_header(header["fields"]))
            continue
        if line.upper() in _IGNORED:
            continue
        if _HEX_LINE.match(line):
            text, length = pending if pending is not None else (None, None)
            yield _PduLine("".join(line.split()), number, length, text)
        else:
            yield (number, line)
        pending = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _address(address: codec.Address | None) -> dict[str, object] | None:
    if address is None:
        return None
    return {"value": address.value, "kind": address.kind, "ton": address.ton, "npi": address.npi}


def _validity(sms: codec.Sms) -> object:
    vp = sms.validity_period
    if isinstance(vp, timedelta):
        return {"relativeSeconds": int(vp.total_seconds())}
    if isinstance(vp, datetime):
        return {"absolute": vp.isoformat()}
    if isinstance(vp, bytes):
        return {"enhanced": vp.hex()}
    return None


def _otp(text: str | None) -> dict[str, object] | None:
    found = otp.extract(text) if text else None
    if found is None:
        return None
    return {
        "code": found.code,
        "confidence": round(found.confidence, 3),
        "span": [found.start, found.end],
        "origin": found.origin,
    }


def _sms_to_json(sms: codec.Sms) -> dict[str, object]:
    """Every decoded field of ``sms`` as JSON-ready values (camelCase keys)."""
    concat = sms.concat
    mwi = sms.mwi
    return {
        "kind": sms.kind,
        "smsc": _address(sms.smsc),
        "sender": _address(sms.sender),
        "recipient": _address(sms.recipient),
        "firstOctet": sms.first_octet,
        "moreMessages": sms.more_messages,
        "loopPrevention": sms.loop_prevention,
        "replyPath": sms.reply_path,
        "statusReport": sms.status_report,
        "rejectDuplicates": sms.reject_duplicates,
        "validityPeriod": _validity(sms),
        "messageReference": sms.message_reference,
        "pid": sms.pid,
        "dcs": sms.dcs,
        "encoding": sms.encoding,
        "messageClass": sms.message_class,
        "compressed": sms.compressed,
        "autoDelete": sms.auto_delete,
        "mwi": None
        if mwi is None
        else {"active": mwi.active, "kind": mwi.kind, "store": mwi.store},
        "sentAt": _iso(sms.sent_at),
        "dischargeTime": _iso(sms.discharge_time),
        "status": sms.status,
        "udl": sms.udl,
        "udh": [{"iei": e.iei, "data": e.data.hex()} for e in sms.udh],
        "indications": [
            {"kind": i.kind, "count": i.count, "store": i.store, "profile": i.profile}
            for i in sms.indications
        ],
        "concat": None
        if concat is None
        else {
            "reference": concat.reference,
            "referenceBits": concat.reference_bits,
            "total": concat.total,
            "seq": concat.seq,
        },
        "ports": None
        if sms.ports is None
        else {"destination": sms.ports[0], "source": sms.ports[1]},
        "lockingShift": sms.locking_shift,
        "singleShift": sms.single_shift,
        "text": sms.text,
        "userData": None if sms.text is not None else sms.user_data.hex(),
        "flags": sorted(sms.flags),
        "otp": _otp(sms.text),
    }


def _reassembled_to_json(message: codec.Reassembled) -> dict[str, object]:
    """A joined concatenated message: its text, completeness and the decoded parts."""
    first = message.parts[0]
    return {
        "kind": "concatenated",
        "sender": _address(first.sender),
        "encoding": sorted({p.encoding for p in message.parts}),
        "sentAt": _iso(first.sent_at),
        "total": message.total,
        "present": message.present,
        "missing": message.missing,
        "complete": message.complete,
        "duplicates": message.duplicates,
        "text": message.text,
        "userData": None if message.text is not None else message.user_data.hex(),
        "flags": sorted(message.flags),
        "otp": _otp(message.text),
        "parts": [_sms_to_json(p) for p in message.parts],
    }


def _error_json(err: CodecError | ReassemblyError, item: _PduLine | None) -> dict[str, object]:
    body: dict[str, object] = {"type": type(err).__name__, "message": str(err)}
    if isinstance(err, CodecError):
        body["reason"] = err.reason
        body["offset"] = err.offset
    if item is not None:
        body["line"] = item.line
        body["input"] = item.hex
    return {"error": body}


class _Decoder:
    """Decodes PDU lines and writes JSON lines; optionally joins concatenated parts."""

    def __init__(self, out: TextIO, err: TextIO, *, join: bool, smsc: bool | None) -> None:
        self.out = out
        self.err = err
        self.join = join
        self.smsc = smsc
        self.failures = 0
        # (sender value, ton, reference, bits, total) -> parts in arrival order
        self.partial: dict[tuple[str, int, int, int, int], list[codec.Sms]] = {}

    def write(self, obj: dict[str, object]) -> None:
        self.out.write(_json.encode(obj).decode())
        self.out.write("\n")

    def fail(self, err: CodecError | ReassemblyError, item: _PduLine | None) -> None:
        self.failures += 1
        where = f"line {item.line}: " if item is not None else ""
        self.err.write(f"septet decode: {where}{err}\n")
        self.write(_error_json(err, item))

    def feed(self, item: _PduLine) -> None:
        try:
            sms = codec.decode_pdu(item.hex, smsc=self.smsc, tpdu_length=item.tpdu_length)
        except CodecError as exc:
            self.fail(exc, item)
            return
        concat = sms.concat
        if not self.join or concat is None:
            self.write(_sms_to_json(sms))
            return
        key = (
            sms.address.value,
            sms.address.ton,
            concat.reference,
            concat.reference_bits,
            concat.total,
        )
        parts = self.partial.setdefault(key, [])
        parts.append(sms)
        if len({p.concat.seq for p in parts if p.concat is not None}) == concat.total:
            del self.partial[key]
            self.emit(parts)

    def emit(self, parts: list[codec.Sms]) -> None:
        try:
            self.write(_reassembled_to_json(codec.reassemble(parts)))
        except ReassemblyError as exc:
            self.fail(exc, None)

    def finish(self) -> None:
        # Incomplete sets are never dropped: they are printed with what arrived.
        for parts in self.partial.values():
            self.emit(parts)
        self.partial.clear()


def run_decode(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    smsc = {"auto": None, "yes": True, "no": False}[args.smsc]
    decoder = _Decoder(out, err, join=args.join, smsc=smsc)
    if args.pdus:
        lines: Iterable[str] = args.pdus
    else:
        if stdin.isatty():
            err.write(
                "septet decode: reading PDUs from standard input, one per line (Ctrl-D ends)\n"
            )
        lines = stdin
    for item in _read_pdus(lines):
        if isinstance(item, _PduLine):
            decoder.feed(item)
        else:
            number, text = item
            decoder.failures += 1
            err.write(f"septet decode: line {number}: not a PDU: {text[:60]!r}\n")
            decoder.write({"error": {"type": "NotAPdu", "line": number, "input": text}})
    decoder.finish()
    return 1 if decoder.failures else 0


def add_decode_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``septet decode`` to the command line."""
    decode = commands.add_parser(
        "decode",
        help="decode SMS PDUs (hex) into JSON, one object per line",
        description=(
            "Decode SMS PDUs as a modem prints them in PDU mode (+CMT/+CMGR/+CMGL/+CDS output "
            "or bare hex, with or without the SMSC block) and print one JSON object per "
            "message with every decoded field and the one-time code."
        ),
    )
    decode.add_argument("pdus", nargs="*", help="PDUs in hex; read from standard input if none")
    decode.add_argument(
        "--smsc",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether the hex starts with the SMSC address block (default: auto)",
    )
    decode.add_argument(
        "--join",
        action="store_true",
        help="join the parts of concatenated messages and print the whole message",
    )
