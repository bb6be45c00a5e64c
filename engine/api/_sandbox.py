"""Simulated inbound SMS over HTTP: ``POST /v1/sandbox/messages``.

A request names one of the sandbox carrier's presets, or gives a text and its sender.
The sandbox carrier configured in the engine (a carrier with ``adapter = "sandbox"``)
makes the inbound items, as it does for a request on its socket (``septet sim send``),
and each is ingested in order as coming through that carrier, each awaited until it is
committed, so the answer lists what is already stored.

The instance that makes the items is built through the plugin registry from the
carrier's config (the engine does not import adapters), once, on first use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from ..config import CarrierConfig
from ..model import InboundItem, IngestResult, Message

__all__ = ["SandboxInjection", "SandboxRequest", "Sandboxes", "Simulator"]

_SANDBOX_ADAPTER = "sandbox"
"""The adapter whose carriers can simulate messages."""


class SandboxRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """What to simulate: a sandbox ``preset`` (such as ``otp``, ``multipart-out-of-order``,
    ``unicode-emoji``, ``flash``, ``alphanumeric``, ``spoofed``, ``duplicate-retry``,
    ``status-report``), or a ``text`` from a ``sender``; exactly one of the two."""

    preset: str | None = None
    text: str | None = None
    sender: str | None = None
    """The sender of a ``text`` (a preset sets its own)."""
    number: str | None = None
    """The receiving number, E.164; default: the sandbox's first number."""
    carrier_message_id: str | None = None
    """The carrier's id of a ``text`` (default: a fresh one); repeat one to simulate a
    carrier's retry."""
    carrier: str | None = None
    """Which sandbox carrier, by instance name; default: the first configured."""

    def for_carrier(self) -> dict[str, Any]:
        """The request as the sandbox carrier takes it (its socket's JSON object)."""
        fields: dict[str, Any] = msgspec.to_builtins(self)
        return {k: v for k, v in fields.items() if v is not None and k != "carrier"}


class SandboxInjection(msgspec.Struct, frozen=True, kw_only=True):
    """What a simulated request became, all of it committed: each item's ``outcome``
    in order (a multipart preset's first parts are ``buffered``), and the stored
    messages the items made or repeated, each once, in order (a retry of a deleted
    message is a ``duplicate`` of none)."""

    data: list[Message]
    outcomes: list[Literal["committed", "buffered", "duplicate", "status"]]

    @classmethod
    async def of(
        cls,
        results: Sequence[IngestResult],
        stored: Callable[[str], Awaitable[Message | None]],
    ) -> SandboxInjection:
        """The injection of ``results``; ``stored`` reads a message by id, to tell a
        duplicate of a stored message from one of a deleted message."""
        messages: dict[str, Message] = {}
        for result in results:
            message = result.message
            if message is None or message.id in messages:
                continue
            if result.outcome == "duplicate" and await stored(message.id) is None:
                continue
            messages[message.id] = message
        return cls(data=list(messages.values()), outcomes=[r.outcome for r in results])


@runtime_checkable
class Simulator(Protocol):
    """A carrier that makes inbound items on request (the sandbox's ``build_items``)."""

    name: str

    def build_items(self, request: Mapping[str, Any]) -> list[InboundItem]: ...


class Sandboxes:
    """The configured sandbox carriers, by instance name, built on first use."""

    def __init__(self, carriers: Sequence[CarrierConfig]) -> None:
        self._configs = {c.name: c for c in carriers if c.adapter == _SANDBOX_ADAPTER}
        self._built: dict[str, Simulator] = {}

    def __bool__(self) -> bool:
        return bool(self._configs)

    def find(self, name: str | None) -> Simulator | None:
        """The sandbox ``name`` (default: the first configured), or None."""
        if name is None:
            name = next(iter(self._configs), None)
        config = None if name is None else self._configs.get(name)
        if config is None:
            return None
        simulator = self._built.get(config.name)
        if simulator is None:
            from ..plugins import load_carrier

            carrier = load_carrier(config)
            if not isinstance(carrier, Simulator):
                return None
            simulator = self._built[config.name] = carrier
        return simulator
