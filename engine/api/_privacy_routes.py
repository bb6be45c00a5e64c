"""The endpoints of retention and privacy: a tenant's retention period and erasure.

* ``GET /v1/retention``: the period in force for the tenant's message bodies, and where
  it comes from (the tenant's own, or the config's default);
* ``PUT /v1/retention`` ``{"days": 30}`` (``null``: keep forever): the tenant's own;
  ``DELETE /v1/retention``: back to the default. Both audited.
* ``POST /v1/erasures`` ``{"number": "+15550100001"}`` or ``{"sender": "ACME"}``: erase
  everything the tenant holds for it, in one transaction, audited by the kind of subject
  and the counts; answers the counts. An operator key may add ``"allTenants": true``
  to erase in every tenant (any other key: 403).

They act on the caller's tenant (an operator's: the one its ``Septet-Tenant`` header
names), as every ``/v1`` endpoint does (see :mod:`engine.api._tenant_routes`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._privacy import MAX_SUBJECT_LENGTH
from .._retention import RetentionInfo
from ..store._privacy import ErasedCounts, ErasureSubject
from ._config_routes import _answering, _decode, _json, _Refused
from ._tenant_routes import caller_of

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = ["PRIVACY_MODELS", "privacy_operations", "privacy_routes"]

Endpoint = Callable[[Request], Awaitable[Response]]

E164 = r"^\+[1-9][0-9]{1,14}$"

Days = Annotated[int, msgspec.Meta(ge=1, le=36_500)]


class RetentionBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The tenant's own retention period: days a message body is kept after it was
    stored, or null to keep bodies forever."""

    days: Days | None


class ErasureBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """What to erase: a receiving ``number`` (E.164) or a ``sender`` (E.164 or
    alphanumeric, as messages show it), exactly one of them. ``allTenants``: in every
    tenant (an operator key only)."""

    number: Annotated[str, msgspec.Meta(pattern=E164)] | None = None
    sender: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SUBJECT_LENGTH)] | None = None
    all_tenants: bool = False


class ErasureReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an erasure took: in all, and per tenant searched. Status reports stay,
    unlinked (and without the number); they are counted as changed."""

    subject: ErasureSubject
    totals: ErasedCounts
    tenants: dict[str, ErasedCounts]


PRIVACY_MODELS: tuple[type[msgspec.Struct], ...] = (
    RetentionInfo,
    RetentionBody,
    ErasureBody,
    ErasedCounts,
    ErasureReport,
)


def privacy_routes(
    septet: Septet,
    guard: Callable[[Endpoint], Endpoint],
    read_body: Callable[[Request], Awaitable[bytes]],
) -> list[Route]:
    """The routes of this module, each behind ``guard``; ``read_body`` reads a
    request's body within the configured limit."""
    handlers = _Handlers(septet, read_body)

    def route(path: str, endpoint: Endpoint, method: str) -> Route:
        return Route(path, guard(_answering(endpoint)), methods=[method])

    return [
        route("/v1/retention", handlers.get_retention, "GET"),
        route("/v1/retention", handlers.put_retention, "PUT"),
        route("/v1/retention", handlers.reset_retention, "DELETE"),
        route("/v1/erasures", handlers.erase, "POST"),
    ]


class _Handlers:
    def __init__(self, septet: Septet, read_body: Callable[[Request], Awaitable[bytes]]) -> None:
        self._septet = septet
        self._read_body = read_body

    async def get_retention(self, request: Request) -> Response:
        return _json(await self._septet.retention(tenant=caller_of(request).tenant))

    async def put_retention(self, request: Request) -> Response:
        caller = caller_of(request)
        body = _decode(await self._read_body(request), RetentionBody)
        info = await self._septet.set_retention(body.days, tenant=caller.tenant, actor=caller.actor)
        return _json(info)

    async def reset_retention(self, request: Request) -> Response:
        caller = caller_of(request)
        return _json(await self._septet.reset_retention(tenant=caller.tenant, actor=caller.actor))

    async def erase(self, request: Request) -> Response:
        caller = caller_of(request)
        body = _decode(await self._read_body(request), ErasureBody)
        if (body.number is None) == (body.sender is None):
            raise _Refused(
                422, "Unprocessable Content", "name either a number or a sender", key="number"
            )
        if body.all_tenants and not caller.operator:
            raise _Refused(403, "Forbidden", "only an operator key erases across tenants")
        if body.sender is not None and not body.sender.isprintable():
            raise _Refused(422, "Unprocessable Content", "a sender is printable text", key="sender")
        erasure = await self._septet.erase(
            number=body.number,
            sender=body.sender,
            tenant=caller.tenant,
            all_tenants=body.all_tenants,
            actor=caller.actor,
        )
        report = ErasureReport(
            subject=erasure.subject, totals=erasure.totals, tenants=erasure.tenants
        )
        return _json(report)


# The OpenAPI description ----------------------------------------------------------------


def privacy_operations() -> dict[str, dict[str, Any]]:
    """Every path's operations, keyed as in the document."""
    from ._config_openapi import _OWN
    from ._openapi import _ERRORS, _PROBLEM_CONTENT, _operation, _ref

    def answers(model: type[msgspec.Struct], description: str, *errors: int) -> dict[str, Any]:
        found: dict[str, Any] = {
            "200": {
                "description": description,
                "content": {"application/json": {"schema": _ref(model)}},
            }
        }
        for status in sorted({*errors, 401, 500, 503}):
            found[str(status)] = _OWN.get(status) or {
                **_ERRORS[str(status)],
                "content": _PROBLEM_CONTENT,
            }
        return found

    def body(model: type[msgspec.Struct]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}

    in_force = "The retention period in force."
    return {
        "/v1/retention": {
            "get": _operation(
                "get_retention",
                "The retention period of the tenant's message bodies",
                answers(RetentionInfo, in_force),
                guarded=True,
            ),
            "put": _operation(
                "set_retention",
                "Set the tenant's own retention period (null: keep bodies forever)",
                answers(RetentionInfo, in_force, 400, 413, 422),
                body=body(RetentionBody),
                guarded=True,
            ),
            "delete": _operation(
                "reset_retention",
                "Drop the tenant's own retention period: the default applies again",
                answers(RetentionInfo, in_force),
                guarded=True,
            ),
        },
        "/v1/erasures": {
            "post": _operation(
                "erase",
                "Erase everything the tenant holds for a number or a sender",
                answers(ErasureReport, "Erased: what was taken.", 400, 413, 422),
                body=body(ErasureBody),
                guarded=True,
            )
        },
    }
