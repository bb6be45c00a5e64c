"""One SMPP session over a connected stream: bind, receive, keep alive, unbind.

:class:`SmppLink` owns the stream's reading and writing once bound:

* the deliver_sm and data_sm PDUs that arrive together (everything decoded from one
  read of the socket) go to the handler as one batch in one task, up to half the window
  a batch; at most ``window`` are in flight, counting every PDU of every batch (the rest
  wait in the socket: TCP tells the SMSC to slow down); a batch's responses go out when
  the handler answers it, so responses may leave out of order across batches, as SMPP
  allows. Half a window a batch keeps the link busy: while one half is committed the
  next is decoded, and the SMSC refills the first half's room while the second commits
  (one batch of the whole window left the store, the engine and the SMSC taking turns).
  A full batch is not cut between two parts of a set that came together, so that the
  set is committed whole, as one message;
* while the handler is answering two batches, what arrives gathers instead of going in
  read by read, and goes as one batch when one of them is answered (or at once when it
  fills half the window, or the window is full). An idle link hands each read over at
  once; a busy one hands over fewer, larger batches, which cost less per message (a
  task, a store write and a send each, whatever their size);
* a response goes out at once from the task that has it, straight through the socket
  (plain TCP), when nothing else is being written or waits to be; otherwise (and over
  TLS, and for what the socket did not take) one task writes what is queued, joined into
  one write, in order;
* ``enquire_link`` from the SMSC is answered; ours goes out every
  ``enquire_link_seconds``, and one left unanswered for ``response_timeout_seconds``
  ends the link (:class:`LinkDeadError`);
* a frame that does not decode is answered with its ``_resp`` or a ``generic_nack``
  carrying the error status, and the link reads on; a stream that cannot be split into
  frames any more ends the link;
* an ``unbind`` from the SMSC lets the messages in flight finish, is answered, and ends
  the link; :meth:`SmppLink.stop` does the same from our side: no new message is taken
  (those that still arrive are answered ``ESME_RX_T_APPN``), the ones in flight finish
  and are answered, then ``unbind`` is sent and its answer awaited, briefly.

:meth:`SmppLink.serve` returns after such a graceful end and raises for a broken one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable, Sequence

import trio

from engine import _stages
from engine.errors import SmppError
from engine.smpp import (
    Bind,
    BindResp,
    CommandId,
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    FrameReader,
    GenericNack,
    Pdu,
    Unbind,
    UnbindResp,
    decode_pdu,
    error_response,
)

from ._smpp_config import SmscConfig
from ._smpp_mapping import more_parts_follow

__all__ = [
    "LINK_ERRORS",
    "BindRefusedError",
    "LinkClosedError",
    "LinkDeadError",
    "MessageHandler",
    "Received",
    "SmppLink",
]

Received = tuple[DeliverSm | DataSm, bytes]
"""A deliver_sm or data_sm and its whole frame."""

MessageHandler = Callable[[Sequence[Received]], Awaitable[list[int]]]
"""Takes the deliver_sm and data_sm PDUs that arrived together; answers the
``command_status`` to send for each, in the same order."""

_BIND_COMMANDS = {
    "receiver": CommandId.BIND_RECEIVER,
    "transceiver": CommandId.BIND_TRANSCEIVER,
}
_READ_SIZE = 65536
_UDHI = 0x40
"""esm_class: the short message starts with a user data header (GSM 03.40 UDHI)."""
_MAX_SEQUENCE = 0x7FFF_FFFF
_ANSWERED_AT_ONCE = 2
"""Batches the handler answers at a time before what arrives gathers (under load, fewer
and larger batches: each one costs a task, a store write and a send, whatever its size)."""


class LinkClosedError(Exception):
    """The SMSC closed the connection."""


class LinkDeadError(Exception):
    """The SMSC did not answer a request in time."""


class BindRefusedError(Exception):
    """The SMSC answered the bind with an error status."""

    def __init__(self, command_status: int) -> None:
        self.command_status = command_status
        try:
            name = CommandStatus(command_status).name
        except ValueError:
            name = f"0x{command_status:08X}"
        super().__init__(f"the SMSC refused the bind: {name}")


LINK_ERRORS = (
    OSError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    trio.TooSlowError,
    SmppError,
    LinkClosedError,
    LinkDeadError,
)
"""What ends a link: the runner logs it and connects again after a backoff."""


class _Rest(bytes):
    """What a direct write left of a frame: written by the writer task, not recorded
    again (the frame was, when its start went out)."""


class _Reply:
    __slots__ = ("done", "pdu")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.pdu: Pdu | None = None


class SmppLink:
    """An SMPP session on ``stream``; see the module docstring."""

    def __init__(self, stream: trio.abc.Stream, smsc: SmscConfig) -> None:
        self._stream = stream
        self._smsc = smsc
        self._reader = FrameReader()
        self._outbox, self._queued = trio.open_memory_channel[bytes](math.inf)
        self._written = trio.Event()
        self._fd = stream.socket.fileno() if isinstance(stream, trio.SocketStream) else None
        """The socket, for writing a response without a trip through the writer task;
        None over TLS, and once the session ended (the descriptor may then be reused)."""
        self._writing = False
        """The writer task is sending: a direct write now would jump the queue."""
        self._unsent = 0
        """Frames queued for the writer task and not taken yet."""
        self._sequence = 0
        self._waiting: dict[int, _Reply] = {}
        self._window = trio.Semaphore(smsc.window)
        self._most_in_batch = -(-smsc.window // 2)  # half, rounded up
        self._in_flight = 0
        self._gathered: list[Received] = []
        """The batch being gathered: read, not handed to the handler yet."""
        self._answering = 0
        """Batches handed to the handler and not answered yet."""
        self._idle = trio.Event()
        self._closing = False
        self._stop_asked = trio.Event()
        self._failure: BaseException | None = None
        self._tasks: trio.Nursery | None = None
        self._keep_alive_scope = trio.CancelScope()
        self.peer_unbound = False
        """Whether the SMSC ended the session with an ``unbind``."""
        self.unbind_answered = False
        """Whether the SMSC answered our ``unbind`` (after :meth:`stop`)."""

    # --- bind ------------------------------------------------------------------------

    async def bind(self) -> BindResp:
        """Send the bind and wait for its answer; raises :class:`BindRefusedError`."""
        smsc = self._smsc
        sequence = self._next_sequence()
        request = Bind(
            command_id=_BIND_COMMANDS[smsc.bind],
            sequence_number=sequence,
            system_id=smsc.system_id,
            password=smsc.password,
            system_type=smsc.system_type,
            addr_ton=smsc.addr_ton,
            addr_npi=smsc.addr_npi,
            address_range=smsc.address_range,
        )
        await self._stream.send_all(request.encode())
        with trio.fail_after(smsc.response_timeout_seconds):
            while True:
                pdu = decode_pdu(await self._next_frame())
                if pdu.sequence_number == sequence and isinstance(pdu, BindResp | GenericNack):
                    if pdu.command_status != CommandStatus.ESME_ROK or isinstance(pdu, GenericNack):
                        raise BindRefusedError(pdu.command_status)
                    return pdu
                if isinstance(pdu, EnquireLink):
                    answer = EnquireLinkResp(sequence_number=pdu.sequence_number)
                    await self._stream.send_all(answer.encode())

    # --- serving ---------------------------------------------------------------------

    def stop(self) -> None:
        """Begin the graceful end: finish what is in flight, unbind, return from serve."""
        self._stop_asked.set()

    async def serve(self, handler: MessageHandler) -> None:
        """Receive until the session ends; returns after a graceful end, raises otherwise."""
        try:
            async with trio.open_nursery() as nursery:
                self._tasks = nursery
                nursery.start_soon(self._guarded, self._write_queued)
                nursery.start_soon(self._guarded, self._keep_alive)
                nursery.start_soon(self._guarded, self._finish_when_asked)
                nursery.start_soon(self._guarded, self._read, handler)
        finally:
            self._fd = None  # the caller closes the stream next
        if self._failure is not None:
            raise self._failure

    async def _guarded(self, work: Callable[..., Awaitable[None]], *args: object) -> None:
        try:
            await work(*args)
        except LINK_ERRORS as error:
            if self._failure is None:
                self._failure = error
            self._cancel_all()

    def _cancel_all(self) -> None:
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()

    async def _read(self, handler: MessageHandler) -> None:
        while True:
            frame = self._reader.next_frame()
            if frame is None:
                # All that one read brought is taken: it goes in now, unless the handler
                # is busy with as many batches as it takes at once; then what arrives
                # meanwhile gathers, and goes when one of them is answered.
                if self._answering < _ANSWERED_AT_ONCE:
                    self._dispatch(handler)
                try:
                    frame = await self._next_frame()
                except LinkClosedError:
                    if not self._closing:
                        raise
                    # Hung up while the session ends: whoever waits for an answer stops waiting.
                    for reply in self._waiting.values():
                        reply.done.set()
                    return
            try:
                pdu = decode_pdu(frame)
            except SmppError as error:
                # The frame's bounds were sound, so the stream reads on after the answer.
                self._queue(error_response(error))
                continue
            if isinstance(pdu, DeliverSm | DataSm):
                if self._closing:
                    self._queue(_response(pdu, CommandStatus.ESME_RX_T_APPN))
                    continue
                try:
                    self._window.acquire_nowait()
                except trio.WouldBlock:
                    # The window is full: nothing more can join what gathered, so it goes
                    # in now; this one waits for room.
                    self._dispatch(handler)
                    await self._window.acquire()
                    if self._closing:  # the session began to end while this one waited
                        self._window.release()
                        self._queue(_response(pdu, CommandStatus.ESME_RX_T_APPN))
                        continue
                self._in_flight += 1
                self._gathered.append((pdu, frame))
                if _stages.RECORDER is not None:
                    _stages.RECORDER.smpp_received(pdu.sequence_number)
                # A full batch goes, but not between two parts of a set that came
                # together: a set split over two batches is stored part by part, where
                # one whole is committed as one message with its neighbours.
                if len(self._gathered) >= self._most_in_batch and not more_parts_follow(pdu):
                    self._dispatch(handler)
            elif isinstance(pdu, EnquireLink):
                self._queue(EnquireLinkResp(sequence_number=pdu.sequence_number).encode())
            elif isinstance(pdu, Unbind):
                self.peer_unbound = True
                self._closing = True
                assert self._tasks is not None
                self._tasks.start_soon(self._guarded, self._finish_peer_unbind, pdu)
            elif pdu.command_id & 0x8000_0000:
                answered = self._waiting.pop(pdu.sequence_number, None)
                if answered is not None:
                    answered.pdu = pdu
                    answered.done.set()
            else:  # a bind or submit_sm: not a request an ESME serves
                refusal = SmppError(
                    f"{pdu.command_name} is not served by this ESME",
                    0,
                    command_status=CommandStatus.ESME_RINVCMDID,
                    sequence_number=pdu.sequence_number,
                    command_id=pdu.command_id,
                )
                self._queue(error_response(refusal))

    def _dispatch(self, handler: MessageHandler) -> None:
        """Start answering the gathered batch (if any) in a task of its own.

        Parts of concatenated messages go in a batch of their own: a part is stored
        before its set completes, which takes more than one store write, and the whole
        messages that arrived with it are answered as soon as they are committed, not
        after the parts' writes.
        """
        batch = self._gathered
        if not batch:
            return
        self._gathered = []
        assert self._tasks is not None
        parts = [received for received in batch if _is_part(received[0])]
        if parts and len(parts) < len(batch):
            whole = [received for received in batch if not _is_part(received[0])]
            self._answering += 2
            self._tasks.start_soon(self._answer, handler, whole)
            self._tasks.start_soon(self._answer, handler, parts)
        else:
            self._answering += 1
            self._tasks.start_soon(self._answer, handler, batch)

    async def _answer(self, handler: MessageHandler, batch: list[Received]) -> None:
        try:
            try:
                statuses = await handler(batch)
            finally:
                self._answering -= 1
                if self._answering < _ANSWERED_AT_ONCE:
                    self._dispatch(handler)  # what gathered meanwhile
            # The batch's answers go to the writer as one chunk: one hand-over, one send.
            self._queue(
                b"".join(
                    _response(pdu, status) for (pdu, _), status in zip(batch, statuses, strict=True)
                )
            )
        finally:
            for _ in batch:
                self._window.release()
            self._in_flight -= len(batch)
            if not self._in_flight:
                self._idle.set()
                self._idle = trio.Event()

    async def _write_queued(self) -> None:
        try:
            async for first in self._queued:
                chunks = [first]
                while True:
                    try:
                        chunks.append(self._queued.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                self._unsent -= len(chunks)
                self._writing = True
                try:
                    await self._stream.send_all(b"".join(chunks) if len(chunks) > 1 else first)
                finally:
                    self._writing = False
                if _stages.RECORDER is not None:
                    _stages.RECORDER.smpp_written([c for c in chunks if not isinstance(c, _Rest)])
        finally:
            self._written.set()

    async def _keep_alive(self) -> None:
        with self._keep_alive_scope:
            while True:
                await trio.sleep(self._smsc.enquire_link_seconds)
                await self._request(_encode_enquire_link, "enquire_link")

    # --- the graceful end --------------------------------------------------------------

    async def _finish_when_asked(self) -> None:
        await self._stop_asked.wait()
        if self.peer_unbound:
            return  # already ending
        self._closing = True
        self._keep_alive_scope.cancel()
        await self._wait_idle()
        try:
            await self._request(_encode_unbind, "unbind")
            self.unbind_answered = True
        except LinkDeadError:
            self.unbind_answered = False  # no answer in time: the link closes anyway
        await self._close_outbox()

    async def _finish_peer_unbind(self, unbind: Unbind) -> None:
        self._keep_alive_scope.cancel()
        await self._wait_idle()
        self._queue(UnbindResp(sequence_number=unbind.sequence_number).encode())
        await self._close_outbox()

    async def _wait_idle(self) -> None:
        while self._in_flight:
            await self._idle.wait()

    async def _close_outbox(self) -> None:
        self._fd = None
        self._outbox.close()
        await self._written.wait()
        self._cancel_all()

    # --- plumbing ----------------------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def _queue(self, frame: bytes) -> None:
        if self._fd is not None and not self._writing and not self._unsent:
            frame = self._write_now(self._fd, frame)
            if not frame:
                return
        try:
            self._outbox.send_nowait(frame)
        except trio.ClosedResourceError:
            return  # the session has ended: the SMSC sends again what was not answered
        self._unsent += 1

    @staticmethod
    def _write_now(fd: int, frame: bytes) -> bytes:
        """Write what the socket takes of ``frame`` now; what is left for the writer task."""
        try:
            sent = os.write(fd, frame)
        except OSError:  # full (BlockingIOError), or broken: the writer task meets that
            return frame  # error and ends the link
        if _stages.RECORDER is not None:
            _stages.RECORDER.smpp_written([frame])  # out, as far as the engine can tell
        return _Rest(frame[sent:]) if sent < len(frame) else b""

    async def _request(self, encode: Callable[[int], bytes], what: str) -> Pdu:
        sequence = self._next_sequence()
        reply = self._waiting[sequence] = _Reply()
        self._queue(encode(sequence))
        with trio.move_on_after(self._smsc.response_timeout_seconds):
            await reply.done.wait()
        self._waiting.pop(sequence, None)
        if reply.pdu is None:
            timeout = self._smsc.response_timeout_seconds
            raise LinkDeadError(f"the SMSC did not answer {what} within {timeout:g}s")
        return reply.pdu

    async def _next_frame(self) -> bytes:
        while True:
            frame = self._reader.next_frame()
            if frame is not None:
                return frame
            data = await self._stream.receive_some(_READ_SIZE)
            if not data:
                raise LinkClosedError("the SMSC closed the connection")
            self._reader.feed(data if isinstance(data, bytes) else bytes(data))


def _encode_enquire_link(sequence: int) -> bytes:
    return EnquireLink(sequence_number=sequence).encode()


def _encode_unbind(sequence: int) -> bytes:
    return Unbind(sequence_number=sequence).encode()


def _response(pdu: DeliverSm | DataSm, status: int) -> bytes:
    if isinstance(pdu, DeliverSm):
        return DeliverSmResp(sequence_number=pdu.sequence_number, command_status=status).encode()
    return DataSmResp(sequence_number=pdu.sequence_number, command_status=status).encode()


def _is_part(pdu: DeliverSm | DataSm) -> bool:
    """Whether ``pdu`` is one part of a concatenated message (a UDH or SAR TLVs)."""
    return bool(pdu.esm_class & _UDHI) or pdu.sar is not None
