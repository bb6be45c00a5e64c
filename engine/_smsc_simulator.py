"""An SMSC on 127.0.0.1 speaking SMPP 3.4, for testing and benchmarking SMPP carriers.

:func:`open_smsc_simulator` listens on an ephemeral port (TLS too, given an
``ssl.SSLContext``) and accepts binds (``bind_receiver``, ``bind_transceiver``,
``bind_transmitter``) from the accounts it was given; a wrong system_id or password is
answered ``ESME_RBINDFAIL``. Each bound connection is an :class:`EsmeSession`, which a
test drives as an SMSC would:

* :meth:`~EsmeSession.deliver` sends a deliver_sm or data_sm and waits for its response,
  :meth:`~EsmeSession.deliver_many` sends many, keeping at most ``window`` unanswered,
  and :meth:`~EsmeSession.deliver_nowait` sends one at once, outside the window (an
  open-loop load);
  every response is recorded in :attr:`~EsmeSession.responses` with its status and
  timings (:class:`EsmeResponse`), under the sequence number the simulator gave the PDU;
* :meth:`~EsmeSession.unbind` ends the session politely, :meth:`~EsmeSession.drop`
  cuts the connection (mid-window, if messages are unanswered), and
  :meth:`~EsmeSession.send_raw` writes any bytes, malformed frames included;
* the ESME's ``enquire_link`` is answered (unless ``answer_enquire_link`` is false, to
  play a dead link); with ``enquire_link_seconds`` the simulator sends its own;
* everything the ESME sent is in :attr:`~EsmeSession.received`;
  :meth:`~EsmeSession.wait_until` waits for a condition without sleeping.

PDUs are built with the classes of :mod:`engine.smpp` (any ``sequence_number``: the
simulator numbers what it sends), or with the helpers :func:`text_deliver_sms` (a text,
split into parts with a UDH or SAR TLVs, or sent whole in ``message_payload``) and
:func:`receipt_deliver_sm` (a delivery receipt).
"""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

import trio

from ._gsm7 import gsm7_encode, ucs2_encode
from .errors import SmppError
from .smpp import (
    BindResp,
    CommandId,
    CommandStatus,
    DataSm,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    FrameReader,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    TlvTag,
    Unbind,
    UnbindResp,
    decode_pdu,
    error_response,
)

__all__ = [
    "EsmeSession",
    "EsmeResponse",
    "SessionClosedError",
    "SmscSimulator",
    "open_smsc_simulator",
    "receipt_deliver_sm",
    "text_deliver_sms",
]

_BINDS = {
    CommandId.BIND_RECEIVER: CommandId.BIND_RECEIVER_RESP,
    CommandId.BIND_TRANSMITTER: CommandId.BIND_TRANSMITTER_RESP,
    CommandId.BIND_TRANSCEIVER: CommandId.BIND_TRANSCEIVER_RESP,
}
_MAX_SEQUENCE = 0x7FFF_FFFF
# The connection is gone, or its stream cannot be split into frames any more.
_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, SmppError)


class SessionClosedError(Exception):
    """The session ended before the ESME answered."""


@dataclass
class EsmeResponse:
    """What the ESME answered to one PDU the simulator sent."""

    sequence_number: int
    command_id: int
    """The command of the PDU sent (``CommandId.DELIVER_SM``...)."""
    sent_at: float
    """``time.perf_counter()`` when the PDU was written."""
    command_status: int | None = None
    """The answer's status; None while unanswered."""
    answered_at: float | None = None
    answer: Pdu | None = None

    @property
    def latency(self) -> float | None:
        """Seconds from sending to the answer, or None while unanswered."""
        return None if self.answered_at is None else self.answered_at - self.sent_at


@dataclass
class _Pending:
    response: EsmeResponse
    done: trio.Event = field(default_factory=trio.Event)
    holds_window: bool = False
    """Whether its answer (or the session's end) gives its window slot back."""


class EsmeSession:
    """One bound ESME connection. Made by the simulator; see the module docstring."""

    def __init__(
        self, stream: trio.abc.Stream, system_id: str, bind: str, window: int, answer_links: bool
    ) -> None:
        self.system_id = system_id
        self.bind = bind
        """``bind_receiver``, ``bind_transceiver`` or ``bind_transmitter``."""
        self.responses: dict[int, EsmeResponse] = {}
        """Every PDU sent, by sequence number, with the ESME's answer once it came."""
        self.received: list[Pdu] = []
        """Every PDU the ESME sent after binding, in order."""
        self.malformed: list[SmppError] = []
        """Frames from the ESME that did not decode."""
        self.ended = trio.Event()
        """Set when the connection closed (by either side)."""
        self.answer_enquire_link = answer_links
        """Answer the ESME's ``enquire_link``; false plays a link that went silent."""
        self._stream = stream
        self._window = trio.Semaphore(window)
        self._outbox, self._queued = trio.open_memory_channel[bytes](math.inf)
        self._pending: dict[int, _Pending] = {}
        self._sequence = 0
        self._changed = trio.Event()
        self._send_lock = trio.Lock()

    # --- what a test calls --------------------------------------------------------------

    async def deliver(self, pdu: DeliverSm | DataSm | bytes) -> EsmeResponse:
        """Send one deliver_sm or data_sm (or its encoded bytes) and wait for the answer.

        Raises :class:`SessionClosedError` if the session ends first.
        """
        async with self._window:
            pending = self._send_request(pdu)
            await self._await(pending)
        return pending.response

    async def deliver_many(self, pdus: Iterable[DeliverSm | DataSm | bytes]) -> list[EsmeResponse]:
        """Send every PDU in turn, at most ``window`` unanswered at once; the answers, in
        the order sent. Raises :class:`SessionClosedError` if the session ends first."""
        # No task per PDU: an answer gives its slot back as it is read (see _handle), so
        # the simulator costs a benchmark's ESME as little of the machine as it can.
        sent: list[_Pending] = []
        for pdu in pdus:
            try:
                self._window.acquire_nowait()
            except trio.WouldBlock:
                await self._window.acquire()
            try:
                sent.append(self._send_request(pdu, holds_window=True))
            except BaseException:
                self._window.release()
                raise
        for pending in sent:
            await self._await(pending)
        return [pending.response for pending in sent]

    def deliver_nowait(self, pdu: DeliverSm | DataSm | bytes) -> EsmeResponse:
        """Send one deliver_sm or data_sm now, outside the window, without waiting.

        The answer fills the returned :class:`EsmeResponse` when it comes (and
        :meth:`wait_until` wakes). An open-loop load writes each PDU at its due time
        whatever the ESME has answered so far, so a slow ESME builds a backlog instead
        of slowing the sender down. Raises :class:`SessionClosedError` if the session
        has ended.
        """
        return self._send_request(pdu).response

    async def send_raw(self, data: bytes) -> None:
        """Write ``data`` as it is: a hand-made or deliberately malformed frame."""
        self._write(data)
        await trio.lowlevel.checkpoint()

    async def enquire_link(self, timeout: float = 5.0) -> EsmeResponse:
        """Send ``enquire_link`` and wait for the answer (``trio.TooSlowError`` after
        ``timeout`` seconds)."""
        with trio.fail_after(timeout):
            pending = self._send_request(EnquireLink(sequence_number=0).encode())
            await self._await(pending)
        return pending.response

    async def unbind(self, timeout: float = 5.0) -> EsmeResponse:
        """Send ``unbind``, wait for ``unbind_resp`` and close the connection."""
        try:
            with trio.fail_after(timeout):
                pending = self._send_request(Unbind(sequence_number=0).encode())
                await self._await(pending)
        finally:
            await self.drop()
        return pending.response

    async def drop(self) -> None:
        """Close the connection at once, answered or not."""
        self._outbox.close()
        await trio.aclose_forcefully(self._stream)
        self._end()

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` holds, checked whenever the ESME sends something or
        the session ends (``trio.TooSlowError`` after ``timeout`` seconds)."""
        with trio.fail_after(timeout):
            while not condition():
                await self._changed.wait()

    def statuses(self) -> list[int | None]:
        """The status of every answer so far (None: unanswered), in sequence order."""
        return [self.responses[n].command_status for n in sorted(self.responses)]

    # --- the connection ------------------------------------------------------------------

    def _send_request(
        self, pdu: DeliverSm | DataSm | bytes, *, holds_window: bool = False
    ) -> _Pending:
        if self.ended.is_set():
            raise SessionClosedError("the session has ended")
        frame = bytearray(pdu if isinstance(pdu, bytes) else pdu.encode())
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        frame[12:16] = self._sequence.to_bytes(4, "big")
        command_id = int.from_bytes(frame[4:8], "big")
        response = EsmeResponse(self._sequence, command_id, time.perf_counter())
        pending = _Pending(response, holds_window=holds_window)
        self._pending[self._sequence] = pending
        self.responses[self._sequence] = pending.response
        self._write(bytes(frame))
        return pending

    async def _await(self, pending: _Pending) -> None:
        await pending.done.wait()
        if pending.response.answered_at is None:
            raise SessionClosedError("the session ended before the ESME answered")

    def _write(self, frame: bytes) -> None:
        try:
            self._outbox.send_nowait(frame)
        except trio.ClosedResourceError:
            raise SessionClosedError("the session has ended") from None

    async def _write_queued(self) -> None:
        async for first in self._queued:
            chunks = [first]
            while True:
                try:
                    chunks.append(self._queued.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            await self._stream.send_all(b"".join(chunks))

    async def _enquire_periodically(self, seconds: float) -> None:
        with suppress(SessionClosedError):
            while True:
                await trio.sleep(seconds)
                self._write(self._numbered(EnquireLink(sequence_number=0).encode()))

    def _numbered(self, frame: bytes) -> bytes:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return frame[:12] + self._sequence.to_bytes(4, "big") + frame[16:]

    def _handle(self, pdu: Pdu) -> None:
        self.received.append(pdu)
        if pdu.command_id & 0x8000_0000:
            pending = self._pending.pop(pdu.sequence_number, None)
            if pending is not None:
                pending.response.command_status = pdu.command_status
                pending.response.answered_at = time.perf_counter()
                pending.response.answer = pdu
                pending.done.set()
                if pending.holds_window:
                    self._window.release()
        elif isinstance(pdu, EnquireLink):
            if self.answer_enquire_link:
                self._write(EnquireLinkResp(sequence_number=pdu.sequence_number).encode())
        elif isinstance(pdu, Unbind):
            self._write(UnbindResp(sequence_number=pdu.sequence_number).encode())
            self._outbox.close()
        elif isinstance(pdu, SubmitSm):
            answer = SubmitSmResp(
                sequence_number=pdu.sequence_number, message_id=f"{len(self.received):x}"
            )
            self._write(answer.encode())

    def _end(self) -> None:
        self.ended.set()
        for pending in self._pending.values():
            pending.done.set()
            if pending.holds_window:
                self._window.release()
        self._pending.clear()
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _serve(self, reader: FrameReader, enquire_link_seconds: float | None) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write_then_stop, nursery)
                if enquire_link_seconds is not None:
                    nursery.start_soon(self._enquire_periodically, enquire_link_seconds)
                with suppress(*_GONE):
                    await self._read(reader)
                nursery.cancel_scope.cancel()
        finally:
            await trio.aclose_forcefully(self._stream)
            self._end()

    async def _write_then_stop(self, nursery: trio.Nursery) -> None:
        # The queue closes after an unbind_resp or a drop: then the session is over.
        with suppress(*_GONE):
            await self._write_queued()
        nursery.cancel_scope.cancel()

    async def _read(self, reader: FrameReader) -> None:
        while True:
            for frame in reader:
                try:
                    pdu = decode_pdu(frame)
                except SmppError as error:
                    self.malformed.append(error)
                    self._write(error_response(error))
                else:
                    self._handle(pdu)
                self._notify()
            data = await self._stream.receive_some(65536)
            if not data:
                return
            reader.feed(bytes(data))


@dataclass
class SmscSimulator:
    """The listening SMSC; made by :func:`open_smsc_simulator`."""

    host: str
    port: int
    accounts: Mapping[str, str]
    """system_id -> password of the ESMEs allowed to bind."""
    window: int
    sessions: list[EsmeSession] = field(default_factory=list)
    """Every session bound so far, the ended ones included."""
    bind_attempts: list[tuple[str, int]] = field(default_factory=list)
    """(system_id, status answered) of every bind, refused ones included."""
    answer_enquire_link: bool = True
    """Whether new sessions answer ``enquire_link`` (:attr:`EsmeSession.answer_enquire_link`)."""
    enquire_link_seconds: float | None = None
    _changed: trio.Event = field(default_factory=trio.Event)

    async def wait_for_session(self, count: int = 1, timeout: float = 5.0) -> EsmeSession:
        """Wait until ``count`` sessions have bound in all; returns the last one."""
        await self.wait_until(lambda: len(self.sessions) >= count, timeout)
        return self.sessions[count - 1]

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` holds, checked after every bind attempt."""
        with trio.fail_after(timeout):
            while not condition():
                await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _serve_connection(self, stream: trio.abc.Stream) -> None:
        reader = FrameReader()
        try:
            with trio.fail_after(30):
                frame = await _first_frame(stream, reader)
            pdu = decode_pdu(frame)
        except (SmppError, trio.BrokenResourceError, trio.TooSlowError, EOFError):
            await trio.aclose_forcefully(stream)
            return
        resp_id = _BINDS.get(CommandId(pdu.command_id)) if pdu.command_id in _BINDS else None
        system_id = getattr(pdu, "system_id", "")
        if resp_id is None:
            status = CommandStatus.ESME_RINVBNDSTS
        elif self.accounts.get(system_id) != getattr(pdu, "password", None):
            status = CommandStatus.ESME_RBINDFAIL
        else:
            status = CommandStatus.ESME_ROK
        answer = BindResp(
            command_id=resp_id or CommandId.GENERIC_NACK,
            sequence_number=pdu.sequence_number,
            command_status=status,
            system_id="SEPTETSIM" if status == CommandStatus.ESME_ROK else None,
        )
        self.bind_attempts.append((system_id, status))
        self._notify()
        try:
            await stream.send_all(answer.encode())
        except trio.BrokenResourceError:
            status = CommandStatus.ESME_RBINDFAIL
        if status != CommandStatus.ESME_ROK:
            await trio.aclose_forcefully(stream)
            return
        session = EsmeSession(
            stream, system_id, pdu.command_name, self.window, self.answer_enquire_link
        )
        self.sessions.append(session)
        self._notify()
        await session._serve(reader, self.enquire_link_seconds)


async def _first_frame(stream: trio.abc.Stream, reader: FrameReader) -> bytes:
    while (frame := reader.next_frame()) is None:
        data = await stream.receive_some(65536)
        if not data:
            raise EOFError
        reader.feed(bytes(data))
    return frame


@asynccontextmanager
async def open_smsc_simulator(
    accounts: Mapping[str, str] | None = None,
    *,
    window: int = 64,
    ssl_context: ssl.SSLContext | None = None,
    enquire_link_seconds: float | None = None,
    answer_enquire_link: bool = True,
) -> AsyncIterator[SmscSimulator]:
    """Run an SMSC on 127.0.0.1 until the block exits; see the module docstring.

    ``accounts`` maps system_id to password (default ``{"septet": "secret"}``);
    ``window`` bounds the unanswered PDUs of :meth:`EsmeSession.deliver_many`;
    ``ssl_context`` (a server context) makes it speak TLS; ``enquire_link_seconds`` makes
    it send its own ``enquire_link``.
    """
    listeners: list[trio.abc.Listener[trio.abc.Stream]]
    tcp = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = tcp[0].socket.getsockname()[1]
    if ssl_context is not None:
        listeners = [trio.SSLListener(listener, ssl_context) for listener in tcp]
    else:
        listeners = list(tcp)
    simulator = SmscSimulator(
        host="127.0.0.1",
        port=port,
        accounts=dict(accounts if accounts is not None else {"septet": "secret"}),
        window=window,
        answer_enquire_link=answer_enquire_link,
        enquire_link_seconds=enquire_link_seconds,
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, simulator._serve_connection, listeners)
        try:
            yield simulator
        finally:
            nursery.cancel_scope.cancel()
            for session in simulator.sessions:
                session._end()


def text_deliver_sms(
    text: str,
    *,
    sender: str,
    number: str,
    coding: Literal["gsm7", "ucs2", "latin1"] = "gsm7",
    split: Literal["udh", "udh16", "sar", "payload"] | None = None,
    reference: int = 1,
    part_octets: int | None = None,
    data_sm: bool = False,
) -> list[DeliverSm | DataSm]:
    """The deliver_sm (or data_sm) PDUs of ``text`` from ``sender`` to ``number``.

    ``coding``: unpacked GSM 7-bit (``data_coding`` 0), UCS-2 (8) or Latin-1 (3).
    ``split``: None sends one ``short_message``; ``udh``/``udh16`` split into parts with
    an 8-/16-bit concatenation UDH (``esm_class`` 0x40), ``sar`` with the SAR TLVs;
    ``payload`` sends it whole in ``message_payload``. ``part_octets`` is the size of a
    part's text (153 septets for GSM 7-bit, 134 octets for UCS-2 by default); a UCS-2
    split may cut a surrogate pair, as networks do. A sender starting with ``+`` goes
    out as an international number (TON 1), a non-numeric one as alphanumeric (TON 5).
    """
    encoded, data_coding = _encode_text(text, coding)
    size = part_octets or (134 if coding == "ucs2" else 153)
    splits = split in ("udh", "udh16", "sar")
    chunks = _chunks(text, encoded, coding, size) if splits else [encoded]
    total = len(chunks)
    source_ton = 1 if sender.startswith("+") else 0 if sender.isdigit() else 5
    dest_ton = 1 if number.startswith("+") else 0
    pdus: list[DeliverSm | DataSm] = []
    for seq, chunk in enumerate(chunks, start=1):
        esm_class, body = 0, chunk
        tlvs: list[Tlv] = []
        if total > 1 and split == "udh":
            esm_class, body = 0x40, bytes([5, 0, 3, reference & 0xFF, total, seq]) + chunk
        elif total > 1 and split == "udh16":
            ref = (reference & 0xFFFF).to_bytes(2, "big")
            esm_class, body = 0x40, bytes([6, 8, 4]) + ref + bytes([total, seq]) + chunk
        elif total > 1 and split == "sar":
            tlvs = [
                Tlv(TlvTag.SAR_MSG_REF_NUM, reference & 0xFFFF),
                Tlv(TlvTag.SAR_TOTAL_SEGMENTS, total),
                Tlv(TlvTag.SAR_SEGMENT_SEQNUM, seq),
            ]
        if split == "payload" or data_sm:
            tlvs.append(Tlv(TlvTag.MESSAGE_PAYLOAD, body))
            body = b""
        source = sender.removeprefix("+")
        destination = number.removeprefix("+")
        source_npi = 0 if source_ton == 5 else 1
        if data_sm:
            pdus.append(
                DataSm(
                    sequence_number=0,
                    source_addr=source,
                    source_addr_ton=source_ton,
                    source_addr_npi=source_npi,
                    destination_addr=destination,
                    dest_addr_ton=dest_ton,
                    dest_addr_npi=1,
                    esm_class=esm_class,
                    data_coding=data_coding,
                    tlvs=tlvs,
                )
            )
        else:
            pdus.append(
                DeliverSm(
                    sequence_number=0,
                    source_addr=source,
                    source_addr_ton=source_ton,
                    source_addr_npi=source_npi,
                    destination_addr=destination,
                    dest_addr_ton=dest_ton,
                    dest_addr_npi=1,
                    esm_class=esm_class,
                    data_coding=data_coding,
                    short_message=body,
                    tlvs=tlvs,
                )
            )
    return pdus


def receipt_deliver_sm(
    message_id: str,
    *,
    sender: str,
    number: str,
    stat: str = "DELIVRD",
    err: str = "000",
    submit_date: str = "2401011200",
    done_date: str = "2401011201",
    state: int | None = 2,
    text_id: str | None = None,
) -> DeliverSm:
    """A delivery receipt (``esm_class`` 0x04) for the message ``message_id`` we sent.

    The text is the SMPP 3.4 Appendix B form with ``text_id`` as its id (default
    ``message_id``); ``receipted_message_id`` is ``message_id`` and ``message_state`` is
    ``state`` (None leaves both TLVs out). ``sender`` is the recipient of the original
    message, ``number`` its sender (ours).
    """
    body = (
        f"id:{text_id or message_id} sub:001 dlvrd:001 submit date:{submit_date} "
        f"done date:{done_date} stat:{stat} err:{err} text:"
    ).encode("latin-1")
    tlvs: list[Tlv] = []
    if state is not None:
        tlvs = [Tlv(TlvTag.RECEIPTED_MESSAGE_ID, message_id), Tlv(TlvTag.MESSAGE_STATE, state)]
    return DeliverSm(
        sequence_number=0,
        source_addr=sender.removeprefix("+"),
        source_addr_ton=1 if sender.startswith("+") else 0,
        destination_addr=number.removeprefix("+"),
        dest_addr_ton=1 if number.startswith("+") else 0,
        esm_class=0x04,
        short_message=body,
        tlvs=tlvs,
    )


def _encode_text(text: str, coding: str) -> tuple[bytes, int]:
    if coding == "gsm7":
        return gsm7_encode(text), 0x00
    if coding == "ucs2":
        return ucs2_encode(text), 0x08
    return text.encode("latin-1"), 0x03


def _chunks(text: str, encoded: bytes, coding: str, size: int) -> list[bytes]:
    if coding != "gsm7":
        step = size - size % 2 if coding == "ucs2" else size
        return [encoded[at : at + step] for at in range(0, len(encoded), step)] or [b""]
    # GSM 7-bit: whole characters per part, so an ESC pair is never cut in two.
    chunks: list[bytes] = []
    current = b""
    for char in text:
        septets = gsm7_encode(char)
        if len(current) + len(septets) > size:
            chunks.append(current)
            current = b""
        current += septets
    chunks.append(current)
    return chunks
