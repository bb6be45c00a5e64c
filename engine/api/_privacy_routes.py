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
names), as every ``/v1`` endpoint does (see :mod:`engine.api._gatekeeper`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._privacy import MAX_SUBJECT_LENGTH
from .._retention import RetentionInfo
from ..store._privacy import ErasedCounts, ErasureSubject
from ._gatekeeper import caller_of
from ._routing import Endpoint, ReadBody, Refused, RouteHandlers, guarded_routes, json_response

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = ["PRIVACY_MODELS", "privacy_operations", "privacy_routes"]

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
    read_body: ReadBody,
) -> list[Route]:
    """The routes of this module, each behind ``guard``; ``read_body`` reads a
    request's body within the configured limit."""
    handlers = _Handlers(septet, read_body)
    table = [
        ("/v1/retention", handlers.get_retention, "GET"),
        ("/v1/retention", handlers.put_retention, "PUT"),
        ("/v1/retention", handlers.reset_retention, "DELETE"),
        ("/v1/erasures", handlers.erase, "POST"),
    ]
    return guarded_routes(guard, table)


class _Handlers(RouteHandlers):
    async def get_retention(self, request: Request) -> Response:
        return json_response(await self._septet.retention(tenant=caller_of(request).tenant))

    async def put_retention(self, request: Request) -> Response:
        caller = caller_of(request)
        body = await self._decoded(request, RetentionBody)
        info = await self._septet.set_retention(body.days, tenant=caller.tenant, actor=caller.actor)
        return json_response(info)

    async def reset_retention(self, request: Request) -> Response:
        caller = caller_of(request)
        return json_response(
            await self._septet.reset_retention(tenant=caller.tenant, actor=caller.actor)
        )

    async def erase(self, request: Request) -> Response:
        caller = caller_of(request)
        body = await self._decoded(request, ErasureBody)
        if (body.number is None) == (body.sender is None):
            raise Refused(
                422, "Unprocessable Content", "name either a number or a sender", key="number"
            )
        if body.all_tenants and not caller.operator:
            raise Refused(403, "Forbidden", "only an operator key erases across tenants")
        if body.sender is not None and not body.sender.isprintable():
            raise Refused(422, "Unprocessable Content", "a sender is printable text", key="sender")
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
        return json_response(report)


# The OpenAPI description ----------------------------------------------------------------


def privacy_operations() -> dict[str, dict[str, Any]]:
    """Every path's operations, keyed as in the document."""
    from ._config_openapi import _OWN
    from ._openapi import _json_body, _json_ok, _operation, _responses

    def answers(model: type[msgspec.Struct], description: str, *errors: int) -> dict[str, Any]:
        return _responses(_json_ok(model, description), *errors, 401, 503, own=_OWN)

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
                body=_json_body(RetentionBody),
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
                body=_json_body(ErasureBody),
                guarded=True,
            )
        },
    }
