"""What the REST route modules share: their route tables, refusals and JSON answers.

Each ``/v1`` route module (destinations and routes, tenants, numbers, privacy) builds
its routes with :func:`guarded_routes`: every endpoint behind the app's guard (a key
with the route's scope, within its rate), with what it refuses answered as an RFC 9457
problem document by :func:`answering`. A handler refuses by raising :class:`Refused`,
or an engine error that a refusal table translates (:data:`ENGINE_REFUSALS`, plus the
module's own, tried first). Handlers read their bodies through :class:`RouteHandlers`,
so a body that is not JSON is a 400 and one that does not fit its Struct a 422 whose
``key`` names the bad field, the same everywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import _validation_error_key
from ..errors import ConfigError, DefinitionConflictError, StaleVersionError
from ._config_envelopes import ValidationProblem
from ._openapi import MAX_LIMIT

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = [
    "ENGINE_REFUSALS",
    "Endpoint",
    "ReadBody",
    "Refusal",
    "Refused",
    "RouteHandlers",
    "answering",
    "decode_json",
    "guarded_routes",
    "invalid",
    "json_response",
    "next_page",
    "page_limit",
    "query_flag",
]

T = TypeVar("T")
Endpoint = Callable[[Request], Awaitable[Response]]
ReadBody = Callable[[Request], Awaitable[bytes]]
"""Reads a request's body within the configured limit (413 beyond it)."""

_encode = msgspec.json.Encoder().encode
_JSON = "application/json"
_PROBLEM = "application/problem+json"


class Refused(Exception):
    """A request answered with a problem document; a 422's ``key`` names the bad field."""

    def __init__(self, status: int, title: str, detail: str, key: str | None = None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.key = key
        super().__init__(detail)

    def response(self) -> Response:
        document: object
        if self.status == 422:
            document = ValidationProblem(
                title=self.title, status=self.status, detail=self.detail, key=self.key
            )
        else:
            document = {"type": "about:blank", "title": self.title, "status": self.status}
            document["detail"] = self.detail
        return Response(_encode(document), status_code=self.status, media_type=_PROBLEM)


def invalid(detail: str, key: str | None) -> Refused:
    """A 422: the request cannot be used as sent; ``key`` names the bad field."""
    return Refused(422, "Unprocessable Content", detail, key)


Refusal = tuple[type[Exception], Callable[[Any], Refused]]
"""An exception an endpoint may raise, and the refusal that answers it."""

ENGINE_REFUSALS: tuple[Refusal, ...] = (
    (ConfigError, lambda exc: invalid(exc.reason, exc.key)),
    # Before DefinitionConflictError: a stale version is one, answered more precisely.
    (StaleVersionError, lambda exc: Refused(412, "Precondition Failed", str(exc))),
    (DefinitionConflictError, lambda exc: Refused(409, "Conflict", str(exc))),
)
"""The engine's errors every route module answers: a definition that cannot be used
(422), a version that is not the one asked for (412), a change the state refuses (409)."""


def answering(endpoint: Endpoint, refusals: Sequence[Refusal] = ()) -> Endpoint:
    """``endpoint`` with its refusals answered as problem documents: a :class:`Refused`
    as itself, an exception of ``refusals`` (tried first, in order) or of
    :data:`ENGINE_REFUSALS` as the refusal its entry makes of it."""
    table = (*refusals, *ENGINE_REFUSALS)
    caught = tuple(kind for kind, _ in table)

    async def answering(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Refused as refused:
            return refused.response()
        except caught as exc:
            refusal = next(make for kind, make in table if isinstance(exc, kind))
            return refusal(exc).response()

    return answering


def guarded_routes(
    guard: Callable[[Endpoint], Endpoint],
    table: Iterable[tuple[str, Endpoint, str]],
    refusals: Sequence[Refusal] = (),
) -> list[Route]:
    """A route for each ``(path, endpoint, method)`` of ``table``, behind ``guard`` and
    :func:`answering` with ``refusals``."""
    return [
        Route(path, guard(answering(endpoint, refusals)), methods=[method])
        for path, endpoint, method in table
    ]


class RouteHandlers:
    """The endpoints of a route module: what they act on, and how they read a body."""

    def __init__(self, septet: Septet, read_body: ReadBody) -> None:
        self._septet = septet
        self._read_body = read_body

    async def _decoded(self, request: Request, kind: type[T], *, default: T | None = None) -> T:
        """The request's body as a ``kind``; ``default`` for a blank body, when given."""
        raw = await self._read_body(request)
        if default is not None and not raw.strip():
            return default
        return decode_json(raw, kind)


def decode_json(raw: bytes, kind: type[T]) -> T:
    """``raw`` as a ``kind``: 400 if it is not JSON, 422 (``key``: the bad field) if it
    does not fit."""
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        key, reason = _validation_error_key(exc)
        raise invalid(reason, key) from None
    except msgspec.DecodeError:
        raise Refused(400, "Bad Request", "the body is not valid JSON") from None


def json_response(
    value: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(_encode(value), status_code=status, media_type=_JSON, headers=headers)


def query_flag(text: str | None, key: str) -> bool:
    """A true-or-false query parameter, false when absent."""
    if text is None or text in ("false", "0"):
        return False
    if text in ("true", "1"):
        return True
    raise Refused(400, "Bad Request", f"{key} must be true or false")


def page_limit(text: str | None) -> int:
    """How many items a page holds: 50 by default, at most :data:`MAX_LIMIT`."""
    if text is None:
        return 50
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT):
        raise Refused(400, "Bad Request", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def next_page(
    found: list[T], limit: int, cursor_of: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """The page of ``found`` (read with ``limit + 1``), and the cursor of the next page:
    its last item's, null on the last page."""
    page = found[:limit]
    return page, cursor_of(page[-1]) if len(found) > limit and page else None
