"""The sandbox carrier: simulated inbound SMS for demos, QA and tests.

It listens on a Unix socket (``socket`` in its config) and speaks JSON lines: one
request object per line, one response object per line, in order, on a connection
that stays open for as many requests as the client sends.

Requests (exactly one of ``preset``, ``text`` and ``pdu``)::

    {"preset": "multipart-out-of-order", "number": "+15550100001"}
    {"text": "Your code is 123456", "sender": "+15557654321",
     "number": "+15550100001", "carrierMessageId": "abc-1"}
    {"pdu": "0407d0c2a07309...", "number": "+15550100001"}      (hex, or a list of hex)

``number`` is the receiving number (default: the first of ``numbers``);
``carrierMessageId`` is optional for ``text``. The presets are listed in
:data:`PRESETS`. :meth:`SandboxCarrier.build_items` makes the items of a request given
as a mapping, for other ways in (the REST API's ``POST /v1/sandbox/messages``).

For each inbound item a request builds, the sandbox awaits the engine's ``emit``, which
returns once the item is committed; only after the last one does it answer, as a
carrier acknowledges only after the commit::

    {"results": [<IngestResult>, ...]}

A request that cannot be understood is answered ``{"error": {"code": "bad_request",
"message": "..."}}`` and the connection stays usable. If the engine refuses an item (it
is closing, the store is unavailable, a PDU does not decode) the answer is
``{"error": {"code": "not_committed", "message": "..."}, "results": [...]}`` with the
results of the items committed before it: send the request again to retry.

With ``auto_rate`` above zero the sandbox also generates random presets at that many
messages per second on average (demo traffic), retrying an item while the store is
unavailable as a real carrier would.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import random
import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

import msgspec
import trio

from engine.plugin_api import (
    Emit,
    InboundItem,
    InboundPdu,
    InboundText,
    IngestResult,
    StoreError,
)

from ._sandbox_presets import PRESETS as _PRESETS
from ._sandbox_presets import PresetContext, new_carrier_message_id

__all__ = [
    "PRESETS",
    "SandboxCarrier",
    "SandboxConfig",
    "SandboxRequestError",
    "sandbox_send",
]

PRESETS: Mapping[str, str] = {name: preset.description for name, preset in _PRESETS.items()}
"""Preset name -> what it sends."""

_MAX_LINE = 1 << 20
_MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with the terminating NUL


class SandboxConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of one sandbox carrier instance."""

    socket: str | None = None
    """Unix socket to listen on for requests; None: no socket (only ``auto_rate`` traffic)."""
    numbers: tuple[str, ...] = ("+15550100001",)
    """Receiving numbers: the default ``number`` of a request, and auto traffic's numbers."""
    auto_rate: float = 0.0
    """Generated demo messages per second, on average; 0 turns generation off."""
    seed: int | None = None
    """Seed for generated content (codes, variants, part order); random when None."""

    def __post_init__(self) -> None:
        if not self.numbers:
            raise ValueError("numbers must name at least one receiving number")
        if not (math.isfinite(self.auto_rate) and self.auto_rate >= 0):
            raise ValueError("auto_rate must be a finite number of messages per second, >= 0")
        if self.socket is not None and len(os.fsencode(self.socket)) > _MAX_SOCKET_PATH:
            raise ValueError(f"socket path is longer than {_MAX_SOCKET_PATH} bytes")


class SandboxRequestError(Exception):
    """The sandbox answered a request with an error; ``results`` were committed before it."""

    def __init__(self, code: str, message: str, results: list[dict[str, Any]]) -> None:
        self.code = code
        self.message = message
        self.results = results
        super().__init__(f"{code}: {message}")


class _Request(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    preset: str | None = None
    text: str | None = None
    pdu: str | list[str] | None = None
    number: str | None = None
    sender: str | None = None
    carrier_message_id: str | None = None


class _BadRequest(ValueError):
    pass


_request_decoder = msgspec.json.Decoder(_Request)
_encoder = msgspec.json.Encoder()


class SandboxCarrier:
    """A carrier that simulates inbound traffic; see the module docstring."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[SandboxConfig]] = SandboxConfig

    def __init__(self, name: str, config: SandboxConfig) -> None:
        self.name = name
        self.config = config
        self._rng = random.Random(config.seed)

    async def run(
        self, emit: Emit, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve the socket and generate traffic until cancelled; started once listening."""
        path = self.config.socket
        listener = await _open_unix_listener(path) if path is not None else None
        inode = os.stat(path).st_ino if path is not None else None
        try:
            async with trio.open_nursery() as nursery:
                if listener is not None:
                    handler = partial(self._serve_connection, emit)
                    nursery.start_soon(trio.serve_listeners, handler, [listener])
                if self.config.auto_rate > 0:
                    nursery.start_soon(self._generate_traffic, emit)
                task_status.started()
                await trio.sleep_forever()
        finally:
            if listener is not None:
                with trio.CancelScope(shield=True):
                    await listener.aclose()
            if path is not None:
                _remove_if_same(path, inode)

    def build_items(self, request: Mapping[str, Any]) -> list[InboundItem]:
        """The inbound items ``request`` (a request object of the socket, as a mapping)
        makes, in the order this sandbox emits them; emit each and await it, in order,
        to ingest them as the sandbox does. Raises :class:`ValueError` for a request it
        cannot understand."""
        try:
            decoded = msgspec.convert(request, _Request)
        except msgspec.ValidationError as exc:
            raise _BadRequest(str(exc)) from None
        return self._build_items(decoded)

    def _build_items(self, request: _Request) -> list[InboundItem]:
        kinds = [k for k in ("preset", "text", "pdu") if getattr(request, k) is not None]
        if len(kinds) != 1:
            raise _BadRequest("a request has exactly one of 'preset', 'text' and 'pdu'")
        number = request.number or self.config.numbers[0]
        if request.preset is not None:
            if request.sender is not None or request.carrier_message_id is not None:
                raise _BadRequest("a preset sets its own sender and carrierMessageId")
            return self._preset_items(request.preset, number)
        if request.text is not None:
            if not request.sender:
                raise _BadRequest("a text request needs a 'sender'")
            return [
                InboundText(
                    carrier=self.name,
                    number=number,
                    sender=request.sender,
                    text=request.text,
                    carrier_message_id=request.carrier_message_id or new_carrier_message_id(),
                    sent_at=datetime.now(UTC),
                )
            ]
        if request.sender is not None:
            raise _BadRequest("a PDU carries its own sender")
        hexes = [request.pdu] if isinstance(request.pdu, str) else list(request.pdu or ())
        if not hexes:
            raise _BadRequest("'pdu' is an empty list")
        try:
            pdus = [bytes.fromhex(text) for text in hexes]
        except ValueError as exc:
            raise _BadRequest(f"'pdu' is not hex: {exc}") from None
        message_id = request.carrier_message_id or new_carrier_message_id()
        return [
            InboundPdu(
                carrier=self.name,
                number=number,
                pdu=pdu,
                carrier_message_id=message_id if len(pdus) == 1 else f"{message_id}-{index}",
            )
            for index, pdu in enumerate(pdus, 1)
        ]

    def _preset_items(self, name: str, number: str) -> list[InboundItem]:
        preset = _PRESETS.get(name)
        if preset is None:
            raise _BadRequest(f"unknown preset {name!r}; presets: {', '.join(_PRESETS)}")
        context = PresetContext(
            carrier=self.name, number=number, rng=self._rng, now=datetime.now(UTC)
        )
        return preset.build(context)

    async def _answer(self, line: bytes, emit: Emit) -> dict[str, Any]:
        try:
            items = self._build_items(_request_decoder.decode(line))
        except (msgspec.DecodeError, ValueError) as exc:
            # ValueError: a _BadRequest, or encode_deliver refusing a sender or text.
            return {"error": {"code": "bad_request", "message": str(exc)}}
        results: list[IngestResult] = []
        for item in items:
            try:
                results.append(await emit(item))
            except Exception as exc:
                # Not committed, so not acknowledged: the client decides whether to retry.
                message = f"{type(exc).__name__}: {exc}"
                return {"error": {"code": "not_committed", "message": message}, "results": results}
        return {"results": results}

    async def _serve_connection(self, emit: Emit, stream: trio.SocketStream) -> None:
        async with stream:
            reader = _LineReader(stream)
            try:
                while (line := await reader.next_line()) is not None:
                    if line.strip():
                        response = await self._answer(line, emit)
                        await stream.send_all(_encoder.encode(response) + b"\n")
            except _LineTooLong:
                error = {"code": "bad_request", "message": f"line longer than {_MAX_LINE} bytes"}
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await stream.send_all(_encoder.encode({"error": error}) + b"\n")
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the client went away; whatever it sent last was committed or not

    async def _generate_traffic(self, emit: Emit) -> None:
        while True:
            await trio.sleep(self._rng.expovariate(self.config.auto_rate))
            name = self._rng.choice(list(_PRESETS))
            for item in self._preset_items(name, self._rng.choice(self.config.numbers)):
                await _emit_until_committed(emit, item)


async def sandbox_send(
    socket_path: str | os.PathLike[str], request: Mapping[str, Any], *, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Send one request to a running sandbox and return its results (JSON objects).

    Raises :class:`SandboxRequestError` when the sandbox answers with an error,
    ``OSError`` when nothing listens on ``socket_path`` and ``trio.TooSlowError`` after
    ``timeout`` seconds.
    """
    with trio.fail_after(timeout):
        stream = await trio.open_unix_socket(os.fspath(socket_path))
        async with stream:
            await stream.send_all(_encoder.encode(request) + b"\n")
            line = await _LineReader(stream).next_line()
    if line is None:
        raise SandboxRequestError("closed", "the sandbox closed the connection unanswered", [])
    response = msgspec.json.decode(line)
    if "error" in response:
        error = response["error"]
        raise SandboxRequestError(error["code"], error["message"], response.get("results", []))
    results: list[dict[str, Any]] = response["results"]
    return results


class _LineTooLong(Exception):
    pass


class _LineReader:
    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def next_line(self) -> bytes | None:
        """The next line without its newline; the unterminated rest at EOF; None after."""
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > _MAX_LINE:
                raise _LineTooLong
            chunk = await self._stream.receive_some(65536)
            if not chunk:
                rest, self._buffer = bytes(self._buffer), bytearray()
                return rest or None
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line


async def _emit_until_committed(emit: Emit, item: InboundItem) -> None:
    delay = 0.5
    while True:
        try:
            await emit(item)
        except StoreError:
            await trio.sleep(delay)  # a carrier retries until it hears the ack
            delay = min(delay * 2, 30.0)
        else:
            return


async def _open_unix_listener(path: str) -> trio.SocketListener:
    await _remove_stale_socket(path)
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    try:
        await sock.bind(path)
        os.chmod(path, 0o600)  # before listen(): no one connects while it is still open
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return trio.SocketListener(sock)


async def _remove_stale_socket(path: str) -> None:
    """Remove a socket file left by a sandbox that died; refuse to touch anything else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(errno.EEXIST, "exists and is not a socket; not replacing it", path)
    with trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM) as probe:
        try:
            await probe.connect(path)
        except ConnectionRefusedError:
            os.unlink(path)
            return
        except FileNotFoundError:
            return
    raise OSError(errno.EADDRINUSE, "another process is listening on this socket", path)


def _remove_if_same(path: str, inode: int | None) -> None:
    try:
        if os.lstat(path).st_ino == inode:
            os.unlink(path)
    except FileNotFoundError:
        pass
