"""What the webhook carrier adapters share.

* :class:`WebhookCarrierBase`: the flow every adapter follows (method check, signature or
  credential check, parse, ``emit`` each item, answer once all are stored); an adapter
  supplies the provider's parts.
* :class:`RedactedConfig`: a config Struct whose ``repr`` hides its secrets.
* :class:`PayloadError` and the refusals: :func:`bad_payload` (400), :func:`unauthorized`
  (401), :func:`stale_signature` (403), :func:`method_not_allowed` (405), all RFC 9457
  problems whose details never hold a secret.
* Reading a request: :func:`request_fields` (a form POST's body or a GET's query),
  :func:`first_values`, :func:`required`, :func:`decode_json`.
* :data:`EMPTY_XML_ANSWER`: the empty ``<Response>`` Twilio and Plivo expect.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import msgspec

from engine.plugin_api import (
    Emit,
    InboundItem,
    IngestResult,
    WebhookRequest,
    WebhookResponse,
    parse_form,
    problem_response,
)

__all__ = [
    "EMPTY_XML_ANSWER",
    "PayloadError",
    "RedactedConfig",
    "WebhookCarrierBase",
    "bad_payload",
    "decode_json",
    "first_values",
    "method_not_allowed",
    "request_fields",
    "required",
    "stale_signature",
    "unauthorized",
]

_T = TypeVar("_T")


class _VerifiableConfig(Protocol):
    @property
    def verify(self) -> bool: ...


_ConfigT = TypeVar("_ConfigT", bound=_VerifiableConfig)

_OK = WebhookResponse(status=200)

EMPTY_XML_ANSWER = WebhookResponse(
    status=200,
    content_type="application/xml",
    body=b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
)
"""An empty TwiML / Plivo XML document: "received, nothing to do"."""


class RedactedConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A carrier's settings; ``repr`` shows the fields in ``redacted_fields`` as
    ``[redacted]`` (``None`` when unset), so a config never prints a secret."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset()

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # msgspec's own repr would show every field as is; rich and pretty printers use this.
        shown: list[tuple[str, Any]] = []
        for field in self.__struct_fields__:
            value: Any = getattr(self, field)
            if field in self.redacted_fields and value is not None:
                value = "[redacted]"
            shown.append((field, value))
        return shown

    def __repr__(self) -> str:
        shown = ", ".join(f"{field}={value!r}" for field, value in self.__rich_repr__())
        return f"{type(self).__name__}({shown})"


class PayloadError(Exception):
    """A request body the adapter cannot read; its message is the 400 answer's detail."""


def bad_payload(detail: str) -> WebhookResponse:
    """400: the payload cannot be read (bad form or JSON, a missing or mistyped field)."""
    return problem_response(400, "Bad Request", detail)


def unauthorized(detail: str, *, headers: Sequence[tuple[str, str]] = ()) -> WebhookResponse:
    """401: the signature or credentials are missing or wrong."""
    return problem_response(401, "Unauthorized", detail, headers=headers)


def stale_signature(detail: str) -> WebhookResponse:
    """403: a genuine signature over a timestamp outside the tolerance (a replay, or a clock
    that is off)."""
    return problem_response(403, "Forbidden", detail)


def method_not_allowed(method: str, allowed: Sequence[str]) -> WebhookResponse:
    """405 with ``Allow``."""
    return problem_response(
        405,
        "Method Not Allowed",
        f"{method} is not accepted here; use {' or '.join(allowed)}",
        headers=[("allow", ", ".join(allowed))],
    )


def request_fields(request: WebhookRequest) -> list[tuple[str, str]]:
    """The fields a provider sent: a GET's query, or a POST's form body.

    Raises :class:`PayloadError` for a body that is not a UTF-8 form.
    """
    if request.method == "GET":
        return list(request.query)
    try:
        return list(_form_fields(request.body))
    except ValueError as exc:
        raise PayloadError(f"the body is not a form: {exc}") from None


@functools.lru_cache(maxsize=256)
def _form_fields(body: bytes) -> tuple[tuple[str, str], ...]:
    # A request's form is read twice, to check its signature and to make its item: the
    # second read of the same body costs a dictionary lookup, not another parse.
    return tuple(parse_form(body))


def first_values(fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each field's first value (providers send each field once; a repeat is ignored)."""
    values: dict[str, str] = {}
    for name, value in fields:
        values.setdefault(name, value)
    return values


def required(values: Mapping[str, str], *names: str) -> list[str]:
    """The values of ``names``, in order; :class:`PayloadError` naming every missing one."""
    missing = [name for name in names if name not in values]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise PayloadError(f"missing field{plural}: {', '.join(missing)}")
    return [values[name] for name in names]


def decode_json(decoder: msgspec.json.Decoder[_T], body: bytes) -> _T:
    """``body`` decoded into the decoder's type; :class:`PayloadError` saying what is wrong
    and where (msgspec names the path, never a value)."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"unexpected payload: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"the body is not JSON: {exc}") from None


class WebhookCarrierBase(ABC, Generic[_ConfigT]):
    """A webhook carrier's ``handle``, with the provider's parts left to the subclass.

    A subclass declares ``Config`` (whose ``verify`` turns the checks on) and
    :attr:`methods`, and implements :meth:`refusal` and :meth:`inbound_items`; it
    overrides :meth:`answer` when the provider expects more than a bare 200.
    """

    api_version: ClassVar[int] = 1
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    """The HTTP methods the provider calls with; any other is answered 405."""

    def __init__(self, name: str, config: _ConfigT) -> None:
        self.name = name
        self.config = config

    async def handle(self, request: WebhookRequest, emit: Emit) -> WebhookResponse:
        """Check the request, emit its items in order, answer once every one is stored."""
        if request.method not in self.methods:
            return method_not_allowed(request.method, self.methods)
        try:
            if self.config.verify and (refusal := self.refusal(request)) is not None:
                return refusal
            items = self.inbound_items(request)
        except PayloadError as exc:
            return bad_payload(str(exc))
        # One at a time, in order: an item is acknowledged only once it is committed.
        results = [await emit(item) for item in items]
        return self.answer(results)

    @abstractmethod
    def refusal(self, request: WebhookRequest) -> WebhookResponse | None:
        """The answer to a request that is not the provider's (401, 403), or None.

        Called only when ``config.verify`` is on, before anything is parsed for emitting.
        It may raise :class:`PayloadError` (answered 400) when the signed fields cannot
        be read, as with a form whose fields the signature covers.
        """

    @abstractmethod
    def inbound_items(self, request: WebhookRequest) -> Sequence[InboundItem]:
        """What the request carries, in order (none for an event that is not a message);
        :class:`PayloadError` for a body that cannot be read."""

    def answer(self, results: list[IngestResult]) -> WebhookResponse:
        """What the provider hears once every item is stored: a bare 200 unless overridden."""
        return _OK
