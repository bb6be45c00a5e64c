"""Everything a plugin author imports: the one stable surface for carriers and destinations.

A plugin is a class registered under an entry point of its distribution::

    [project.entry-points."septet.carriers"]
    mycarrier = "my_package.carrier:MyCarrier"

The entry-point name is the adapter's name in Septet's config. The class declares:

* ``api_version``: the :data:`API_VERSION` it was written for; the engine refuses a
  plugin whose major version it does not speak, and says so;
* ``Config``: a frozen msgspec Struct for its settings, validated before anything
  starts (a bad key is reported with its path);
* a constructor ``__init__(self, name: str, config: Config)``, where ``name`` is the
  instance name from the config (one adapter may run several times);

and implements :class:`Carrier` or :class:`Destination`.

A carrier runs inside the engine's nursery. It receives traffic however its network
delivers it (an HTTP webhook, an SMPP bind, a modem), turns each item into an
:data:`InboundItem` and awaits ``emit(item)``, which returns only once the item is
durably committed. Only then may the carrier acknowledge it to the network. If
``emit`` raises, nothing was stored: the carrier must not acknowledge, so the
network retries. A carrier that receives bursts and answers each item on its own
hands a list to ``emit.many(items)`` instead: one outcome per item, in order (see
:class:`Emit`).

A destination delivers one :class:`Delivery` (a message and the delivery's stable id)
per call, answers a :class:`DeliveryReceipt` for the attempt log, and classifies
failures: :class:`RetryableDeliveryError` or :class:`PermanentDeliveryError`. The
engine owns retries, backoff, rate limits and circuit breakers.

A destination that speaks HTTP builds on the shared client rather than its own:
:func:`open_http_client` (an :class:`HttpClient`: HTTP/1.1 with kept-alive connections,
guarded against SSRF by an :class:`HttpTargetPolicy`, no redirects, bounded by a total
timeout), :func:`post_json` for one attempt with a bounded, redacted answer (or
:meth:`HttpClient.request` for another method: an :class:`HttpAnswer`), and
:func:`classify_http_response` for what the answer means.
Its ``Config`` extends :class:`HttpDestinationConfig` (the URL, timeouts and policy
settings) and checks the URL with :func:`validate_target_url`. :mod:`signing` signs
what it sends the Standard Webhooks way (``signing.headers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

import msgspec
import trio

from . import signing
from ._webhooks import (
    WebhookCarrier,
    WebhookRequest,
    WebhookResponse,
    parse_form,
    problem_response,
)
from .delivery._http import HttpAnswer, HttpClient, open_http_client
from .delivery._responses import (
    HttpTargetResponse,
    classify_http_response,
    parse_retry_after,
    post_json,
)
from .delivery._targets import (
    HttpDestinationConfig,
    HttpTargetPolicy,
    redact_url,
    validate_target_url,
)
from .errors import (
    ConfigError,
    EngineClosedError,
    PermanentDeliveryError,
    PluginError,
    RetryableDeliveryError,
    SignatureError,
    StoreError,
    TimestampToleranceError,
)
from .model import (
    Delivery,
    DeliveryReceipt,
    InboundItem,
    InboundPdu,
    InboundStatus,
    InboundText,
    IngestResult,
    Message,
    Otp,
    Segment,
)

__all__ = [
    "API_VERSION",
    "Carrier",
    "ConfigError",
    "Delivery",
    "DeliveryReceipt",
    "Destination",
    "Emit",
    "EngineClosedError",
    "HttpAnswer",
    "HttpClient",
    "HttpDestinationConfig",
    "HttpTargetPolicy",
    "HttpTargetResponse",
    "InboundItem",
    "InboundPdu",
    "InboundStatus",
    "InboundText",
    "IngestResult",
    "Message",
    "Otp",
    "PermanentDeliveryError",
    "PluginError",
    "RetryableDeliveryError",
    "Segment",
    "SignatureError",
    "StoreError",
    "TimestampToleranceError",
    "WebhookCarrier",
    "WebhookRequest",
    "WebhookResponse",
    "classify_http_response",
    "open_http_client",
    "parse_form",
    "parse_retry_after",
    "post_json",
    "problem_response",
    "redact_url",
    "signing",
    "validate_target_url",
]

API_VERSION = 1
"""The plugin API this engine speaks. A plugin declaring another major version is refused."""


class Emit(Protocol):
    """How a carrier hands inbound items to the engine: the ``emit`` its ``run`` gets.

    ``await emit(item)`` returns the item's :class:`IngestResult` once it is durable:
    then acknowledge it. It raises when nothing was stored (:class:`StoreError`,
    :class:`EngineClosedError`, a ``CodecError`` for a PDU that cannot be decoded):
    then do not acknowledge, so that the network sends it again.

    ``await emit.many(items)`` does the same for a list, faster: the single-part
    messages of the list are decoded together and committed in one store write. It
    answers one outcome per item, in order, and raises none of them: an
    :class:`IngestResult` for an item that is durable (acknowledge it), or the
    exception that item met for one of which nothing was stored (answer it as
    ``emit`` raising it would be answered). Failures are per item: a PDU that cannot
    be decoded does not keep the others from being stored, and when the store write
    fails every item in it gets its own exception. A repeat within the list is a
    duplicate of its first occurrence.
    """

    async def __call__(self, item: InboundItem, /) -> IngestResult:
        """Make ``item`` durable; raises if nothing was stored."""
        ...

    async def many(self, items: Sequence[InboundItem], /) -> list[IngestResult | Exception]:
        """Make each of ``items`` durable; each one's result or exception, in order."""
        ...


@runtime_checkable
class Carrier(Protocol):
    """A source of inbound SMS, run by the engine for as long as it runs."""

    api_version: ClassVar[int]
    Config: ClassVar[type[msgspec.Struct]]
    name: str

    async def run(
        self, emit: Emit, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Receive traffic and ``emit`` each item until cancelled.

        Call ``task_status.started()`` once ready to receive (listening, bound,
        connected), so the engine can report that it is up.
        """
        ...


@runtime_checkable
class Destination(Protocol):
    """Where messages go: a webhook, a chat, a mailbox."""

    api_version: ClassVar[int]
    Config: ClassVar[type[msgspec.Struct]]
    name: str

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        """Deliver one message; raise a :class:`RetryableDeliveryError` or a
        :class:`PermanentDeliveryError` when it could not be delivered.

        ``delivery.id`` is the same on every attempt: pass it on where the target can
        deduplicate (a webhook id, a Message-ID). The engine bounds each call with the
        destination's total timeout; a cancelled call is retried later.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; called once when the engine stops."""
        ...
