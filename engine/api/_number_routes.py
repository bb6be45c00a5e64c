"""The REST endpoints of number rental: the inventory, getting a number, leases, the
ledger and the quarantine.

Getting a number is search, lease, confirm:

1. ``GET /v1/numbers?country=GB&capability=sms``: the numbers available to lease;
2. ``POST /v1/numbers/{number}/lease`` with ``{"term": {"unit": "day", "count": 7},
   "autoRenew": false}``: a quote (201): the price, held for ``[numbers]
   quote_seconds`` under a quote id; nothing is leased or charged yet;
3. ``POST /v1/leases`` with ``{"quoteId": "quo_..."}``: confirms it (201): the number is
   the tenant's from this answer on, charged the quoted price. Confirming the same
   quote again answers the same lease; a number leased meanwhile by someone else, or an
   expired quote, is a 409.

Then ``GET /v1/leases`` lists the tenant's leases with the time each has left
(``?all=true``: ended ones too), ``GET /v1/leases/{id}`` reads one, ``PATCH`` sets
``autoRenew``, ``POST .../renew`` extends it from its expiry (``{"term": ...}``,
default its own term) and ``POST .../release`` ends it now. The ledger:
``GET /v1/billing/charges`` (``?month=YYYY-MM``, paged) and
``GET /v1/billing/statements/{YYYY-MM}`` as JSON, or CSV with ``Accept: text/csv`` or
``?format=csv``.

Operators: ``GET|POST /v1/inventory``, ``GET|PATCH|DELETE /v1/inventory/{number}`` and
``GET /v1/quarantine/messages`` (messages to numbers nobody leased, with why).

Another tenant's lease or quote answers 404, a number not for rent 404, one leased or
cooling off 409, a term that cannot be leased 422 (``key`` names the field).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, cast, get_args

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._billing import Statement
from .._ids import id_digits
from .._numbers import InvalidTermError, LeaseInfo, NumberConflictError, QuarantinedMessage
from ..store import (
    CAPABILITIES,
    Capability,
    Charge,
    LeaseQuote,
    NumberQuery,
    NumberState,
    Prices,
    RentalNumber,
    Term,
)
from ._gatekeeper import caller_of
from ._routing import (
    Endpoint,
    ReadBody,
    Refusal,
    Refused,
    RouteHandlers,
    guarded_routes,
    json_response,
    next_page,
    page_limit,
    query_flag,
)

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = ["NUMBER_MODELS", "number_routes"]

E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
MONTH_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
_E164 = re.compile(E164_PATTERN)
_STATES = frozenset(get_args(NumberState))
_REASONS = frozenset(("unleased", "cooling-off"))


# Bodies ---------------------------------------------------------------------------------


class NumberBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A number to put in the inventory (operators)."""

    number: str
    country: str
    carrier: str
    """The carrier instance its messages arrive on."""
    prices: Prices
    currency: str
    region: str | None = None
    capabilities: list[Capability] = msgspec.field(default_factory=lambda: ["sms"])


class NumberPatch(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """What to change of an inventory number; the fields left out stay."""

    country: str | None = None
    carrier: str | None = None
    prices: Prices | None = None
    currency: str | None = None
    region: str | msgspec.UnsetType | None = msgspec.UNSET
    capabilities: list[Capability] | None = None


class NumberList(msgspec.Struct, frozen=True, kw_only=True):
    """Numbers by number; ``next`` is the ``after`` cursor of the next page, null on the
    last one."""

    data: list[RentalNumber]
    next: str | None


class QuoteRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """The lease a tenant asks the price of."""

    term: Term
    auto_renew: bool = False


class ConfirmRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A quote to confirm: the number is leased at the quoted price."""

    quote_id: str


class RenewRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How long to extend a lease by, from its expiry; default: the term it was leased
    for."""

    term: Term | None = None


class LeasePatch(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """Whether the lease renews by itself at expiry (a charge line each time)."""

    auto_renew: bool


class LeaseList(msgspec.Struct, frozen=True, kw_only=True):
    """The tenant's leases, oldest first, with the time each has left."""

    data: list[LeaseInfo]


class ChargePage(msgspec.Struct, frozen=True, kw_only=True):
    """Charge lines, oldest first; ``next`` is the ``after`` cursor of the next page."""

    data: list[Charge]
    next: str | None


class QuarantinePage(msgspec.Struct, frozen=True, kw_only=True):
    """Quarantined messages, newest first; ``next`` is the ``before`` cursor of the next
    page."""

    data: list[QuarantinedMessage]
    next: str | None


NUMBER_MODELS: tuple[type[msgspec.Struct], ...] = (
    RentalNumber,
    NumberBody,
    NumberPatch,
    NumberList,
    QuoteRequest,
    LeaseQuote,
    ConfirmRequest,
    RenewRequest,
    LeasePatch,
    LeaseInfo,
    LeaseList,
    ChargePage,
    Statement,
    QuarantinePage,
)


# Handlers --------------------------------------------------------------------------------


def number_routes(
    septet: Septet,
    guard: Callable[[Endpoint], Endpoint],
    read_body: ReadBody,
) -> list[Route]:
    """The routes of this module, each behind ``guard``; ``read_body`` reads a
    request's body within the configured limit."""
    handlers = _Handlers(septet, read_body)
    table = [
        ("/v1/inventory", handlers.list_inventory, "GET"),
        ("/v1/inventory", handlers.add_number, "POST"),
        ("/v1/inventory/{number}", handlers.get_number, "GET"),
        ("/v1/inventory/{number}", handlers.update_number, "PATCH"),
        ("/v1/inventory/{number}", handlers.remove_number, "DELETE"),
        ("/v1/numbers", handlers.search, "GET"),
        ("/v1/numbers/{number}/lease", handlers.quote, "POST"),
        ("/v1/leases", handlers.confirm, "POST"),
        ("/v1/leases", handlers.list_leases, "GET"),
        ("/v1/leases/{id}", handlers.get_lease, "GET"),
        ("/v1/leases/{id}", handlers.patch_lease, "PATCH"),
        ("/v1/leases/{id}/renew", handlers.renew, "POST"),
        ("/v1/leases/{id}/release", handlers.release, "POST"),
        ("/v1/billing/charges", handlers.charges, "GET"),
        ("/v1/billing/statements/{month}", handlers.statement, "GET"),
        ("/v1/quarantine/messages", handlers.quarantine, "GET"),
    ]
    return guarded_routes(guard, table, _LIFECYCLE_REFUSALS)


_LIFECYCLE_REFUSALS: tuple[Refusal, ...] = (
    (
        KeyError,
        lambda exc: Refused(404, "Not Found", str(exc.args[0]) if exc.args else "not found"),
    ),
    (NumberConflictError, lambda exc: Refused(409, "Conflict", str(exc))),
    (InvalidTermError, lambda exc: Refused(422, "Unprocessable Content", str(exc), key="term")),
)
"""The lifecycle's refusals: no such number, lease or quote (404), a state that refuses
the change (409), a term that cannot be leased (422)."""


class _Handlers(RouteHandlers):
    def __init__(self, septet: Septet, read_body: ReadBody) -> None:
        super().__init__(septet, read_body)
        self._numbers = septet.numbers

    # The inventory (operators) ----------------------------------------------------------

    async def list_inventory(self, request: Request) -> Response:
        query = request.query_params
        state = query.get("state")
        if state is not None and state not in _STATES:
            raise Refused(400, "Bad Request", f"state must be one of {sorted(_STATES)}")
        limit = page_limit(query.get("limit"))
        found = await self._numbers.inventory(
            NumberQuery(
                state=cast("NumberState | None", state),
                country=_country(query.get("country")),
                capabilities=_capabilities(query.getlist("capability")),
                carrier=query.get("carrier"),
                after=_number_cursor(query.get("after")),
                limit=limit + 1,
            )
        )
        return _page(found, limit)

    async def add_number(self, request: Request) -> Response:
        body = await self._decoded(request, NumberBody)
        added = await self._numbers.add_number(
            body.number,
            country=body.country,
            carrier=body.carrier,
            prices=body.prices,
            currency=body.currency,
            region=body.region,
            capabilities=body.capabilities,
            actor=caller_of(request).actor,
        )
        return json_response(added, 201, {"location": f"/v1/inventory/{added.number}"})

    async def get_number(self, request: Request) -> Response:
        found = await self._numbers.number(_number(request))
        if found is None:
            raise KeyError("the number is not in the inventory")
        return json_response(found)

    async def update_number(self, request: Request) -> Response:
        body = await self._decoded(request, NumberPatch)
        changed = await self._numbers.update_number(
            _number(request),
            country=body.country,
            carrier=body.carrier,
            prices=body.prices,
            currency=body.currency,
            region=body.region,
            capabilities=body.capabilities,
            actor=caller_of(request).actor,
        )
        return json_response(changed)

    async def remove_number(self, request: Request) -> Response:
        await self._numbers.remove_number(_number(request), actor=caller_of(request).actor)
        return Response(status_code=204)

    # Getting a number (tenants) ------------------------------------------------------------

    async def search(self, request: Request) -> Response:
        query = request.query_params
        limit = page_limit(query.get("limit"))
        found = await self._numbers.search(
            country=_country(query.get("country")),
            capabilities=_capabilities(query.getlist("capability")),
            carrier=query.get("carrier"),
            after=_number_cursor(query.get("after")),
            limit=limit + 1,
        )
        return _page(found, limit)

    async def quote(self, request: Request) -> Response:
        body = await self._decoded(request, QuoteRequest)
        caller = caller_of(request)
        quote = await self._numbers.quote(
            caller.tenant,
            _number(request),
            body.term,
            auto_renew=body.auto_renew,
            actor=caller.actor,
        )
        return json_response(quote, 201)

    async def confirm(self, request: Request) -> Response:
        body = await self._decoded(request, ConfirmRequest)
        caller = caller_of(request)
        if id_digits(body.quote_id, "quo") is None:
            raise KeyError("no such quote")
        lease = await self._numbers.lease(caller.tenant, body.quote_id, actor=caller.actor)
        return json_response(lease, 201, {"location": f"/v1/leases/{lease.id}"})

    # Leases (tenants) ------------------------------------------------------------------------

    async def list_leases(self, request: Request) -> Response:
        every = query_flag(request.query_params.get("all"), "all")
        found = await self._numbers.leases(caller_of(request).tenant, active_only=not every)
        return json_response(LeaseList(data=found))

    async def get_lease(self, request: Request) -> Response:
        found = await self._numbers.lease_info(caller_of(request).tenant, _lease_id(request))
        if found is None:
            raise KeyError("no such lease")
        return json_response(found)

    async def patch_lease(self, request: Request) -> Response:
        body = await self._decoded(request, LeasePatch)
        caller = caller_of(request)
        lease = await self._numbers.set_auto_renew(
            caller.tenant, _lease_id(request), body.auto_renew, actor=caller.actor
        )
        return json_response(lease)

    async def renew(self, request: Request) -> Response:
        body = await self._decoded(request, RenewRequest, default=RenewRequest())
        caller = caller_of(request)
        lease = await self._numbers.renew(
            caller.tenant, _lease_id(request), body.term, actor=caller.actor
        )
        return json_response(lease)

    async def release(self, request: Request) -> Response:
        caller = caller_of(request)
        lease = await self._numbers.release(caller.tenant, _lease_id(request), actor=caller.actor)
        return json_response(lease)

    # The ledger (tenants) ---------------------------------------------------------------------

    async def charges(self, request: Request) -> Response:
        query = request.query_params
        month = query.get("month")
        if month is not None and re.fullmatch(MONTH_PATTERN, month) is None:
            raise Refused(400, "Bad Request", "month must be YYYY-MM")
        limit = page_limit(query.get("limit"))
        try:
            found = await self._numbers.charges(
                caller_of(request).tenant, month=month, after=query.get("after"), limit=limit + 1
            )
        except ValueError as exc:
            raise Refused(400, "Bad Request", str(exc)) from None
        page, cursor = next_page(found, limit, lambda charge: charge.id)
        return json_response(ChargePage(data=page, next=cursor))

    async def statement(self, request: Request) -> Response:
        month: str = request.path_params["month"]
        wanted = request.query_params.get("format")
        if wanted not in (None, "json", "csv"):
            raise Refused(400, "Bad Request", "format must be json or csv")
        try:
            statement = await self._numbers.statement(caller_of(request).tenant, month)
        except ValueError as exc:
            raise Refused(400, "Bad Request", str(exc)) from None
        accept = request.headers.get("accept", "")
        if wanted == "csv" or (wanted is None and "text/csv" in accept):
            filename = f"septet-{statement.tenant}-{month}.csv"
            return Response(
                statement.csv(),
                media_type="text/csv; charset=utf-8",
                headers={"content-disposition": f'attachment; filename="{filename}"'},
            )
        return json_response(statement)

    # The quarantine (operators) ------------------------------------------------------------------

    async def quarantine(self, request: Request) -> Response:
        query = request.query_params
        reason = query.get("reason")
        if reason is not None and reason not in _REASONS:
            raise Refused(400, "Bad Request", f"reason must be one of {sorted(_REASONS)}")
        after, before = query.get("after"), query.get("before")
        for key, cursor in (("after", after), ("before", before)):
            if cursor is not None and id_digits(cursor, "msg") is None:
                raise Refused(400, "Bad Request", f"{key} must be a message id (msg_...)")
        limit = page_limit(query.get("limit"))
        found = await self._numbers.quarantined(
            reason=cast("Literal['unleased', 'cooling-off'] | None", reason),
            number=query.get("number"),
            after=after,
            before=before,
            limit=limit + 1,
        )
        page, cursor = next_page(found, limit, lambda held: held.message.id)
        return json_response(QuarantinePage(data=page, next=cursor))


def _page(found: list[RentalNumber], limit: int) -> Response:
    page, cursor = next_page(found, limit, lambda number: number.number)
    return json_response(NumberList(data=page, next=cursor))


def _number(request: Request) -> str:
    number: str = request.path_params["number"]
    if _E164.fullmatch(number) is None:
        raise KeyError(f"{number!r} is not an E.164 number in the inventory")
    return number


def _number_cursor(text: str | None) -> str | None:
    """An ``after`` cursor (a number): a ``+`` sent unencoded in a query string reads
    as a space, so a cursor of a space and digits is taken as the number it was."""
    if text is None:
        return None
    digits = text.strip()
    return f"+{digits}" if digits.isascii() and digits.isdigit() else text


def _lease_id(request: Request) -> str:
    lease_id: str = request.path_params["id"]
    if id_digits(lease_id, "lse") is None:
        raise KeyError("no such lease")
    return lease_id


def _country(text: str | None) -> str | None:
    if text is None:
        return None
    if re.fullmatch(r"[A-Za-z]{2}", text) is None:
        raise Refused(400, "Bad Request", "country must be an ISO 3166-1 alpha-2 code")
    return text.upper()


def _capabilities(values: list[str]) -> tuple[Capability, ...]:
    wanted = [part for value in values for part in value.split(",") if part]
    unknown = sorted(set(wanted) - set(CAPABILITIES))
    if unknown:
        raise Refused(400, "Bad Request", f"unknown capabilities {unknown}: {list(CAPABILITIES)}")
    return tuple(cast(Capability, c) for c in dict.fromkeys(wanted))
