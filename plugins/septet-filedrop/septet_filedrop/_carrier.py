"""The filedrop carrier: each file dropped into a directory is an inbound SMS.

* ``*.json``: one message as a JSON object in Septet's inbound text shape, camelCase:
  ``{"number": "+15550100001", "sender": "+15557654321", "text": "Your code is 1234"}``,
  optionally ``carrierMessageId``, ``sentAt``, ``segment``... (``carrier`` is this
  instance's name).
* ``*.pdu``: SMS TPDUs in hex, one per line (blank lines and ``#`` comments ignored),
  received on the configured ``number``.

A file is deleted only once ``emit`` returned for everything in it, that is once the
engine committed it. A file that cannot be read as a message, or that the engine
refuses, moves to ``rejected/`` next to a ``.error`` note saying why: nothing is dropped
silently. While the engine's store is unavailable the file stays and is tried again.

Write files under a name starting with ``.`` (or elsewhere on the same filesystem) and
rename them into place, so the carrier never reads a half-written file.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import msgspec
import trio

from engine.plugin_api import (
    Emit,
    EngineClosedError,
    InboundItem,
    InboundPdu,
    InboundText,
    StoreError,
)

__all__ = ["FileDropCarrier", "FileDropConfig"]


class FileDropConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of one filedrop carrier instance."""

    directory: str
    """The directory to watch; created (with ``rejected/``) when missing."""
    poll_seconds: float = 0.5
    """How often the directory is scanned."""
    number: str | None = None
    """The receiving number of ``*.pdu`` files (a PDU does not carry it)."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.poll_seconds) and self.poll_seconds > 0):
            raise ValueError("poll_seconds must be a positive number of seconds")


class _Rejected(Exception):
    """The file is not a message this carrier can hand over."""


class FileDropCarrier:
    """Turns files dropped into ``directory`` into inbound messages; see the module doc."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[FileDropConfig]] = FileDropConfig

    def __init__(self, name: str, config: FileDropConfig) -> None:
        self.name = name
        self.config = config
        self.directory = trio.Path(config.directory)

    async def run(
        self, emit: Emit, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Scan the directory every ``poll_seconds`` until cancelled."""
        await (self.directory / "rejected").mkdir(parents=True, exist_ok=True)
        task_status.started()
        while True:
            await self.take_files(emit)
            await trio.sleep(self.config.poll_seconds)

    async def take_files(self, emit: Emit) -> None:
        """Emit and remove every waiting file once, in name order."""
        for path in sorted(await self.directory.iterdir()):
            if path.name.startswith(".") or path.suffix not in (".json", ".pdu"):
                continue
            if not await path.is_file():
                continue
            if not await self._take_file(emit, path):
                return  # the engine cannot commit now: try again on the next scan

    async def _take_file(self, emit: Emit, path: trio.Path) -> bool:
        try:
            data = await path.read_bytes()
            # The same file read again after a crash gets the same ids (the engine then
            # answers duplicate); a new file under an old name does not.
            identity = f"{path.name}@{(await path.stat()).st_mtime_ns}"
        except FileNotFoundError:
            return True  # taken by someone else meanwhile
        try:
            items = self._items(path.suffix, data, identity)
        except _Rejected as exc:
            await self._reject(path, str(exc))
            return True
        for item in items:
            try:
                await emit(item)
            except (StoreError, EngineClosedError):
                return False
            except Exception as exc:
                # The engine refused the content (a PDU that does not decode, say).
                await self._reject(path, f"the engine refused it: {type(exc).__name__}: {exc}")
                return True
        await path.unlink(missing_ok=True)
        return True

    def _items(self, suffix: str, data: bytes, identity: str) -> list[InboundItem]:
        if suffix == ".json":
            return [self._text_item(data, identity)]
        if self.config.number is None:
            raise _Rejected("PDU files need the carrier's 'number' setting (the receiving number)")
        try:
            lines = [line.strip() for line in data.decode("ascii").splitlines()]
            pdus = [bytes.fromhex(line) for line in lines if line and not line.startswith("#")]
        except ValueError as exc:
            raise _Rejected(f"not hex PDUs, one per line: {exc}") from None
        if not pdus:
            raise _Rejected("no PDU in the file")
        return [
            InboundPdu(
                carrier=self.name,
                number=self.config.number,
                pdu=pdu,
                carrier_message_id=identity if len(pdus) == 1 else f"{identity}#{index}",
            )
            for index, pdu in enumerate(pdus, 1)
        ]

    def _text_item(self, data: bytes, identity: str) -> InboundText:
        try:
            fields: Any = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise _Rejected(f"not JSON: {exc}") from None
        if not isinstance(fields, dict):
            raise _Rejected("the JSON is not an object")
        fields = {"carrierMessageId": identity, "raw": data, **fields, "carrier": self.name}
        try:
            return msgspec.convert(fields, InboundText)
        except msgspec.ValidationError as exc:
            raise _Rejected(f"not an inbound text message: {exc}") from None

    async def _reject(self, path: trio.Path, reason: str) -> None:
        rejected = self.directory / "rejected"
        target = rejected / path.name
        attempt = 0
        while await target.exists() or await target.with_name(target.name + ".error").exists():
            attempt += 1
            target = rejected / f"{path.name}.{attempt}"
        await target.with_name(target.name + ".error").write_text(reason + "\n", encoding="utf-8")
        await path.rename(target)
