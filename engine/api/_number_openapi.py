"""The OpenAPI description of number rental's endpoints (:mod:`engine.api._number_routes`),
from the same Structs the handlers answer with."""

from __future__ import annotations

from typing import Any

from .._billing import Statement
from .._numbers import LeaseInfo
from ..store import CAPABILITIES, LeaseQuote, RentalNumber
from ._config_envelopes import ValidationProblem
from ._number_routes import (
    E164_PATTERN,
    MONTH_PATTERN,
    ChargePage,
    ConfirmRequest,
    LeaseList,
    LeasePatch,
    NumberBody,
    NumberList,
    NumberPatch,
    QuarantinePage,
    QuoteRequest,
    RenewRequest,
)
from ._openapi import (
    _LIMIT,
    _PROBLEM_CONTENT,
    _json_body,
    _json_ok,
    _operation,
    _param,
    _ref,
    _responses,
)

__all__ = ["number_operations"]

_OWN: dict[int, dict[str, Any]] = {
    404: {
        "description": "No such number in the inventory, or no such lease or quote of this tenant.",
        "content": _PROBLEM_CONTENT,
    },
    409: {
        "description": "The current state refuses it: the number is leased or cooling"
        " off (or in the inventory already), the lease has ended, the quote expired.",
        "content": _PROBLEM_CONTENT,
    },
    422: {
        "description": "The body cannot be used; key names the bad field (a term out of"
        " range, or in a unit the number is not offered by).",
        "content": {"application/problem+json": {"schema": _ref(ValidationProblem)}},
    },
}


def _answers(success: str, answer: dict[str, Any], *errors: int) -> dict[str, Any]:
    return _responses(answer, 401, *errors, success=success, own=_OWN)


_NUMBER = _param("path", "number", {"type": "string", "pattern": E164_PATTERN}, "E.164.")
_LEASE = _param("path", "id", {"type": "string", "pattern": r"^lse_[0-9a-f]{32}$"}, "A lease.")
_COUNTRY = _param(
    "query", "country", {"type": "string", "pattern": "^[A-Za-z]{2}$"}, "ISO 3166-1 alpha-2."
)
_CAPABILITY = _param(
    "query",
    "capability",
    {"type": "array", "items": {"type": "string", "enum": list(CAPABILITIES)}},
    "Only numbers with every one of these (repeat it, or separate with commas).",
)
_CARRIER = _param("query", "carrier", {"type": "string"}, "Only numbers on this carrier.")
_AFTER_NUMBER = _param(
    "query", "after", {"type": "string"}, "Only numbers after this one (the next cursor)."
)


def number_operations() -> dict[str, dict[str, Any]]:
    """Every path's operations, keyed as in the document."""
    write = (400, 404, 409, 413, 422, 503)
    message_id = {"type": "string", "pattern": r"^msg_[0-9a-f]{32}$"}
    return {
        "/v1/inventory": {
            "get": _operation(
                "list_inventory",
                "Every number for rent, in any state (operator)",
                _answers("200", _json_ok(NumberList, "A page of numbers."), 400, 503),
                [
                    _param(
                        "query",
                        "state",
                        {"type": "string", "enum": ["available", "leased", "cooling_off"]},
                        "Only numbers in this state.",
                    ),
                    _COUNTRY,
                    _CAPABILITY,
                    _CARRIER,
                    _AFTER_NUMBER,
                    _LIMIT,
                ],
                guarded=True,
            ),
            "post": _operation(
                "add_number",
                "Put a number in the inventory; its messages go to the quarantine until"
                " it is leased (operator)",
                _answers("201", _json_ok(RentalNumber, "Added, available."), *write),
                body=_json_body(NumberBody),
                guarded=True,
            ),
        },
        "/v1/inventory/{number}": {
            "get": _operation(
                "get_number",
                "One number of the inventory, with its lessee (operator)",
                _answers("200", _json_ok(RentalNumber, "The number."), 404, 503),
                [_NUMBER],
                guarded=True,
            ),
            "patch": _operation(
                "update_number",
                "Change a number's region, capabilities, carrier or prices (operator)",
                _answers("200", _json_ok(RentalNumber, "Changed."), *write),
                [_NUMBER],
                body=_json_body(NumberPatch),
                guarded=True,
            ),
            "delete": _operation(
                "remove_number",
                "Take an available number out of the inventory (operator)",
                _answers("204", {"description": "Removed."}, 404, 409, 503),
                [_NUMBER],
                guarded=True,
            ),
        },
        "/v1/numbers": {
            "get": _operation(
                "search_numbers",
                "The numbers available to lease",
                _answers("200", _json_ok(NumberList, "A page of available numbers."), 400, 503),
                [_COUNTRY, _CAPABILITY, _CARRIER, _AFTER_NUMBER, _LIMIT],
                guarded=True,
            )
        },
        "/v1/numbers/{number}/lease": {
            "post": _operation(
                "quote_lease",
                "Ask to lease a number for a term: the price, held under a quote id for"
                " a few minutes (confirm it with POST /v1/leases)",
                _answers("201", _json_ok(LeaseQuote, "The quote."), *write),
                [_NUMBER],
                body=_json_body(QuoteRequest),
                guarded=True,
            )
        },
        "/v1/leases": {
            "get": _operation(
                "list_leases",
                "The tenant's leases, with the time each has left",
                _answers("200", _json_ok(LeaseList, "The leases."), 400, 503),
                [
                    _param(
                        "query",
                        "all",
                        {"type": "boolean", "default": False},
                        "Ended leases too.",
                    )
                ],
                guarded=True,
            ),
            "post": _operation(
                "confirm_lease",
                "Confirm a quote: the number is the tenant's from this answer on, charged"
                " the quoted price (the same quote again answers the same lease)",
                _answers("201", _json_ok(LeaseInfo, "The lease."), *write),
                body=_json_body(ConfirmRequest),
                guarded=True,
            ),
        },
        "/v1/leases/{id}": {
            "get": _operation(
                "get_lease",
                "One lease of the tenant",
                _answers("200", _json_ok(LeaseInfo, "The lease."), 404, 503),
                [_LEASE],
                guarded=True,
            ),
            "patch": _operation(
                "set_auto_renew",
                "Turn a lease's auto-renewal on or off",
                _answers("200", _json_ok(LeaseInfo, "The lease."), *write),
                [_LEASE],
                body=_json_body(LeasePatch),
                guarded=True,
            ),
        },
        "/v1/leases/{id}/renew": {
            "post": _operation(
                "renew_lease",
                "Extend a running lease from its expiry (a charge line)",
                _answers("200", _json_ok(LeaseInfo, "The lease, renewed."), *write),
                [_LEASE],
                body=_json_body(RenewRequest, required=False),
                guarded=True,
            )
        },
        "/v1/leases/{id}/release": {
            "post": _operation(
                "release_lease",
                "End a lease now: the number cools off, its messages go to the quarantine",
                _answers("200", _json_ok(LeaseInfo, "The lease, ended."), 404, 409, 503),
                [_LEASE],
                guarded=True,
            )
        },
        "/v1/billing/charges": {
            "get": _operation(
                "list_charges",
                "The tenant's ledger: a charge line per lease and renewal, oldest first",
                _answers("200", _json_ok(ChargePage, "A page of charge lines."), 400, 503),
                [
                    _param(
                        "query",
                        "month",
                        {"type": "string", "pattern": MONTH_PATTERN},
                        "Only lines charged in this month (UTC).",
                    ),
                    _param("query", "after", {"type": "string"}, "Only lines after this one."),
                    _LIMIT,
                ],
                guarded=True,
            )
        },
        "/v1/billing/statements/{month}": {
            "get": _operation(
                "statement",
                "The tenant's statement of a month: its charge lines and the totals per"
                " currency, as JSON or CSV",
                _answers(
                    "200",
                    {
                        "description": "The statement (amounts in minor units).",
                        "content": {
                            "application/json": {"schema": _ref(Statement)},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    400,
                    503,
                ),
                [
                    _param(
                        "path",
                        "month",
                        {"type": "string", "pattern": MONTH_PATTERN},
                        "The month, UTC.",
                    ),
                    _param(
                        "query",
                        "format",
                        {"type": "string", "enum": ["json", "csv"]},
                        "The form (default: by the Accept header, JSON unless text/csv).",
                    ),
                ],
                guarded=True,
            )
        },
        "/v1/quarantine/messages": {
            "get": _operation(
                "quarantined_messages",
                "Messages to numbers nobody leased when they arrived, newest first (operator)",
                _answers("200", _json_ok(QuarantinePage, "A page of messages."), 400, 503),
                [
                    _param(
                        "query",
                        "reason",
                        {"type": "string", "enum": ["unleased", "cooling-off"]},
                        "Only messages quarantined for this reason.",
                    ),
                    _param("query", "number", {"type": "string"}, "The receiving number."),
                    _param("query", "after", message_id, "Only messages newer than this one."),
                    _param("query", "before", message_id, "Only messages older than this one."),
                    _LIMIT,
                ],
                guarded=True,
            )
        },
    }
