"""The OpenAPI description of the destination and route endpoints
(:mod:`engine.api._config_routes`), from the same Structs the handlers answer with.

Every operation acts on the caller's tenant: its own destinations and route table."""

from __future__ import annotations

from typing import Any

import msgspec

from .._destinations import NAME_PATTERN, DestinationInfo, RoutesInfo, TestResult
from ..delivery import RouteTable
from ._config_envelopes import (
    DestinationBody,
    DestinationDeleted,
    DestinationList,
    DestinationPatch,
    TestRequest,
    ValidationProblem,
)
from ._openapi import (
    _PROBLEM_CONTENT,
    _json_body,
    _json_ok,
    _operation,
    _param,
    _problems,
    _ref,
)

__all__ = ["CONFIG_MODELS", "config_operations"]

CONFIG_MODELS: tuple[type[msgspec.Struct], ...] = (
    DestinationInfo,
    DestinationList,
    DestinationBody,
    DestinationPatch,
    DestinationDeleted,
    TestRequest,
    TestResult,
    RoutesInfo,
    RouteTable,
    ValidationProblem,
)

_NAME = _param(
    "path",
    "name",
    {"type": "string"},
    "The instance name of one of the caller's tenant's destinations (another tenant's: 404).",
)
_ETAG = {
    "ETag": {
        "required": True,
        "description": "The definition's version, for If-Match.",
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
}
_IF_MATCH = _param(
    "header",
    "If-Match",
    {"type": "string"},
    'Only if the definition is still at this ETag ("*": only if it exists); else 412.',
)
_IF_NONE_MATCH = _param(
    "header",
    "If-None-Match",
    {"type": "string", "enum": ["*"]},
    "Only create: 412 if a destination of this name exists.",
)
_FORCE = _param(
    "query",
    "force",
    {"type": "boolean", "default": False},
    "Take the destination out of the routes that name it, instead of refusing (409).",
)
_OWN: dict[int, dict[str, Any]] = {
    409: {
        "description": "The current state refuses the change: the tenant has a"
        " destination of that name, the definition is the config file's, the tenant's"
        " routes name the destination, or the tenant is the quarantine (it has none).",
        "content": _PROBLEM_CONTENT,
    },
    412: {
        "description": "The definition is not at the version If-Match names (or"
        " If-None-Match: * found one).",
        "content": _PROBLEM_CONTENT,
    },
    422: {
        "description": "The definition cannot be used; key names the bad setting.",
        "content": {"application/problem+json": {"schema": _ref(ValidationProblem)}},
    },
}


def _ok(
    model: type[msgspec.Struct], description: str, *, etag: bool = False, location: bool = False
) -> dict[str, Any]:
    answer = _json_ok(model, description)
    headers: dict[str, Any] = dict(_ETAG) if etag else {}
    if location:
        headers["Location"] = {
            "required": True,
            "description": "Where the new destination is.",
            "schema": {"type": "string"},
        }
    if headers:
        answer["headers"] = headers
    return answer


def _answers(successes: dict[str, dict[str, Any]], *errors: int) -> dict[str, Any]:
    return {**successes, **_problems(401, *errors, own=_OWN)}


def config_operations() -> dict[str, dict[str, Any]]:
    """Every path's operations, keyed as in the document."""
    info = _ok(DestinationInfo, "The destination, secrets redacted.", etag=True)
    created = _ok(DestinationInfo, "Created.", etag=True, location=True)
    routes = _ok(RoutesInfo, "The route table in force.", etag=True)
    change = (400, 404, 409, 412, 413, 422, 503)
    return {
        "/v1/destinations": {
            "get": _operation(
                "list_destinations",
                "Every destination of the caller's tenant: the config file's (Config.tenant's"
                " only), then those created at runtime",
                _answers({"200": _ok(DestinationList, "The destinations.")}, 503),
                guarded=True,
            ),
            "post": _operation(
                "create_destination",
                "Create a destination of the caller's tenant; it takes the tenant's"
                " deliveries at once (names are unique per tenant)",
                _answers({"201": created}, 400, 409, 413, 422, 503),
                body=_json_body(DestinationBody),
                guarded=True,
            ),
        },
        "/v1/destinations/{name}": {
            "get": _operation(
                "get_destination",
                "One destination of the caller's tenant",
                _answers({"200": info}, 404, 503),
                [_NAME],
                guarded=True,
            ),
            "put": _operation(
                "put_destination",
                "Create or replace a destination of the caller's tenant (not one of the"
                " config file's)",
                _answers({"200": info, "201": created}, 400, 409, 412, 413, 422, 503),
                [
                    _param(
                        "path",
                        "name",
                        {"type": "string", "pattern": NAME_PATTERN},
                        "The destination's instance name, unique within the tenant.",
                    ),
                    _IF_MATCH,
                    _IF_NONE_MATCH,
                ],
                body=_json_body(DestinationBody),
                guarded=True,
            ),
            "patch": _operation(
                "patch_destination",
                "Change a destination by a JSON merge patch of its definition",
                _answers({"200": info}, *change),
                [_NAME, _IF_MATCH],
                body={
                    "required": True,
                    "content": {
                        "application/merge-patch+json": {"schema": _ref(DestinationPatch)},
                        "application/json": {"schema": _ref(DestinationPatch)},
                    },
                },
                guarded=True,
            ),
            "delete": _operation(
                "delete_destination",
                "Delete a destination of the caller's tenant; its deliveries stay in the"
                " outbox, and another tenant's of the same name is untouched",
                _answers({"200": _ok(DestinationDeleted, "Deleted.")}, 400, 404, 409, 412, 503),
                [_NAME, _FORCE, _IF_MATCH],
                guarded=True,
            ),
        },
        "/v1/destinations/{name}/test": {
            "post": _operation(
                "test_destination",
                "Deliver a sample message (filed under the caller's tenant) once, now,"
                " outside the outbox",
                _answers(
                    {"200": _ok(TestResult, "How the delivery went (delivered or not).")},
                    400,
                    404,
                    409,
                    413,
                    422,
                    503,
                ),
                [_NAME],
                body=_json_body(TestRequest, required=False),
                guarded=True,
            )
        },
        "/v1/routes": {
            "get": _operation(
                "get_routes",
                "The caller's tenant's route table in force and where it comes from (a"
                " tenant other than Config.tenant that set none: an empty table)",
                _answers({"200": routes}),
                guarded=True,
            ),
            "put": _operation(
                "put_routes",
                "Replace the caller's tenant's route table, for its messages routed from"
                " now on; it may name the tenant's own destinations only",
                _answers({"200": routes}, 400, 412, 413, 422, 503),
                [_IF_MATCH],
                body=_json_body(RouteTable),
                guarded=True,
            ),
            "delete": _operation(
                "reset_routes",
                "Put the config file's route table back in force (for a tenant other than"
                " Config.tenant: an empty table, routing nowhere)",
                _answers({"200": routes}, 412, 503),
                [_IF_MATCH],
                guarded=True,
            ),
        },
    }
