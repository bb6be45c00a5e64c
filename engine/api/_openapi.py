"""The OpenAPI 3.1 document of the HTTP surface, generated from the msgspec models.

The response bodies are the Structs of :mod:`engine.model` and the envelopes of
:mod:`engine.api._envelopes`, which the app encodes its answers with, so the document's
schemas and the bytes on the wire come from the same types. The parameters restate,
with the same limits, what the handlers in :mod:`engine.api._app` check.

:func:`openapi_document` builds the document for the app's routes and refuses a route it
has no description for (or a description with no route), so the two cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any, get_args

import msgspec

from .. import __version__
from ..model import DeliveryAttempt, DeliveryRecord, DeliveryStatus, Message
from ._envelopes import (
    AttemptList,
    DeliveryPage,
    DestinationEnabled,
    Health,
    MessagePage,
    MessageWait,
    Problem,
    Replayed,
)
from ._sandbox import SandboxInjection, SandboxRequest

__all__ = ["openapi_document"]

MAX_LIMIT = 1000
MAX_WAIT = 300.0
MESSAGE_ID = r"^msg_[0-9a-f]{32}$"
DELIVERY_ID = r"^dlv_[0-9a-f]{32}$"
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")  # Starlette's {name:convertor} is {name} here


_MODELS: tuple[type[msgspec.Struct], ...] = (
    Problem,
    Health,
    MessagePage,
    MessageWait,
    DeliveryPage,
    AttemptList,
    Replayed,
    DestinationEnabled,
    SandboxRequest,
    SandboxInjection,
)


def _ref(model: type[msgspec.Struct]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


# Parameters -------------------------------------------------------------------------


def _param(where: str, name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }


_TIME = {"type": "string", "format": "date-time"}
_LIMIT = _param(
    "query",
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
    "How many items a page holds.",
)
_HAS_CODE = _param(
    "query", "has_code", {"type": "boolean"}, "Only messages with (or without) a one-time code."
)
_NUMBER = _param("query", "number", {"type": "string"}, "The receiving number, E.164.")
_SENDER = _param("query", "sender", {"type": "string"}, "The sender, as stored.")
_MESSAGE_PATH = _param("path", "id", {"type": "string", "pattern": MESSAGE_ID}, "A message id.")
_DELIVERY_PATH = _param("path", "id", {"type": "string", "pattern": DELIVERY_ID}, "A delivery id.")
_DESTINATION_PATH = _param(
    "path", "name", {"type": "string"}, "A destination's instance name from the config."
)
_CARRIER_PATH = _param(
    "path", "name", {"type": "string"}, "A webhook carrier's instance name from the config."
)


def _since(what: str) -> dict[str, Any]:
    return _param("query", "since", _TIME, f"Only {what} at or after this time (with offset).")


def _until(what: str) -> dict[str, Any]:
    return _param("query", "until", _TIME, f"Only {what} before this time (with offset).")


def _message_cursor(name: str, description: str) -> dict[str, Any]:
    return _param("query", name, {"type": "string", "pattern": MESSAGE_ID}, description)


# Responses --------------------------------------------------------------------------

_PROBLEM_CONTENT = {"application/problem+json": {"schema": _ref(Problem)}}
_ERRORS: dict[str, dict[str, Any]] = {
    "400": {"description": "A parameter is not valid, or the carrier refused the payload."},
    "401": {
        "description": "The Bearer token is missing or wrong (or the carrier's signature).",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "403": {
        "description": "The key lacks the scope the operation needs (the problem's `scope`"
        " names it), or the carrier's signature is stale."
    },
    "404": {"description": "No such item, or no such carrier or destination."},
    "409": {"description": "The delivery is under way; replay it later."},
    "413": {"description": "The body exceeds the configured limit."},
    "429": {
        "description": "The key is over its rate limit; retry after the given seconds.",
        "headers": {
            "Retry-After": {
                "required": True,
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        },
    },
    "500": {"description": "The server failed; this is a bug."},
    "503": {
        "description": "The inbox cannot be read or written right now; retry later.",
        "headers": {
            "Retry-After": {
                "required": True,
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        },
    },
}


def _json_ok(model: type[msgspec.Struct], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _json_body(model: type[msgspec.Struct], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": _ref(model)}}}


def _problems(*errors: int, own: Mapping[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The problem answers ``errors`` and 500, by status: a route module's ``own``
    description of a status, else the shared one."""
    own = own or {}
    return {
        str(status): own.get(status) or {**_ERRORS[str(status)], "content": _PROBLEM_CONTENT}
        for status in sorted({*errors, 500})
    }


def _responses(
    ok: dict[str, Any],
    *errors: int,
    success: str = "200",
    own: Mapping[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {success: ok, **_problems(*errors, own=own)}


def _operation(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    parameters: Iterable[dict[str, Any]] = (),
    *,
    guarded: bool = False,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = responses
    if guarded:
        operation["security"] = [{"apiKey": []}]  # with its scope in openapi_document
    return operation


def _carrier_operations(suffix: str, path_parameters: list[dict[str, Any]]) -> dict[str, Any]:
    answers = _responses(
        {
            "description": "The carrier's answer, in the form its provider expects.",
            "content": {"*/*": {"schema": {}}},
        },
        400,
        401,
        403,
        404,
        413,
        503,
        success="2XX",
    )
    summary = "A provider's webhook, handed to the carrier of that name"
    return {
        "get": _operation(f"carrier_get{suffix}", summary, answers, path_parameters),
        "post": _operation(
            f"carrier_post{suffix}",
            summary,
            answers,
            path_parameters,
            body={"required": False, "content": {"*/*": {"schema": {}}}},
        ),
    }


def _operations() -> dict[str, dict[str, Any]]:
    """Every path's operations, keyed as in the document."""
    sub_path = _param("path", "path", {"type": "string"}, "The path below the carrier's mount.")
    replayed = _json_ok(Replayed, "How many deliveries were queued again.")
    return {
        "/healthz": {
            "get": _operation(
                "healthz", "The process serves", _responses(_json_ok(Health, "Serving."))
            )
        },
        "/readyz": {
            "get": _operation(
                "readyz",
                "The inbox answers a read",
                _responses(_json_ok(Health, "Ready."), 503),
            )
        },
        "/metrics": {
            "get": _operation(
                "metrics",
                "Prometheus metrics",
                _responses(
                    {
                        "description": "The Prometheus text exposition (version 0.0.4).",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                ),
            )
        },
        "/openapi.json": {
            "get": _operation(
                "openapi",
                "This OpenAPI document",
                _responses(
                    {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                ),
            )
        },
        "/docs": {
            "get": _operation(
                "docs",
                "This API's reference as a web page",
                _responses(
                    {
                        "description": "An HTML page rendered from the OpenAPI document.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                ),
            )
        },
        "/carriers/{name}": _carrier_operations("", [_CARRIER_PATH]),
        "/carriers/{name}/{path}": _carrier_operations("_below", [_CARRIER_PATH, sub_path]),
        "/v1/messages": {
            "get": _operation(
                "list_messages",
                "Messages, newest first, a page at a time",
                _responses(_json_ok(MessagePage, "A page of messages."), 400, 401, 503),
                [
                    _LIMIT,
                    _since("messages received"),
                    _until("messages received"),
                    _HAS_CODE,
                    _NUMBER,
                    _SENDER,
                    _message_cursor("after", "Only messages newer than this one."),
                    _message_cursor("before", "Only messages older than this one."),
                    _param(
                        "query",
                        "q",
                        {"type": "string"},
                        "Only messages whose text holds this, in any case and script.",
                    ),
                ],
                guarded=True,
            )
        },
        "/v1/messages/wait": {
            "get": _operation(
                "wait_for_message",
                "Long poll: the first matching message received at or after since",
                _responses(_json_ok(MessageWait, "The message, or null."), 400, 401, 503),
                [
                    _param(
                        "query",
                        "timeout",
                        {"type": "number", "minimum": 0, "maximum": MAX_WAIT, "default": 30},
                        "Seconds to wait for a message.",
                    ),
                    _param(
                        "query",
                        "since",
                        _TIME,
                        "Only messages received at or after this time (with offset); default: now.",
                    ),
                    _HAS_CODE,
                    _NUMBER,
                    _SENDER,
                ],
                guarded=True,
            )
        },
        "/v1/stream": {
            "get": _operation(
                "stream",
                "Server-Sent Events: each message as it commits",
                _responses(
                    {
                        "description": "Events `message` (id: the message id; data: its JSON)"
                        " and keep-alive comments, until the client hangs up.",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    400,
                    401,
                    503,
                ),
                [
                    _message_cursor("after", "Replay the messages after this one first."),
                    _param(
                        "header",
                        "Last-Event-ID",
                        {"type": "string", "pattern": MESSAGE_ID},
                        "As after; sent by a reconnecting EventSource (wins over after).",
                    ),
                    _NUMBER,
                    _SENDER,
                ],
                guarded=True,
            )
        },
        "/v1/messages/{id}": {
            "get": _operation(
                "get_message",
                "One message",
                _responses(_json_ok(Message, "The message."), 401, 404, 503),
                [_MESSAGE_PATH],
                guarded=True,
            ),
            "delete": _operation(
                "delete_message",
                "Delete a message, its raw payload and its deliveries; a carrier's retry of"
                " it is then a duplicate and stores nothing",
                _responses({"description": "Deleted."}, 401, 404, 503, success="204"),
                [_MESSAGE_PATH],
                guarded=True,
            ),
        },
        "/v1/sandbox/messages": {
            "post": _operation(
                "simulate_messages",
                "Ingest simulated SMS (a preset, or a text) through a sandbox carrier",
                _responses(
                    _json_ok(SandboxInjection, "Committed: the outcomes and the messages."),
                    400,
                    401,
                    404,
                    413,
                    503,
                    success="201",
                ),
                guarded=True,
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref(SandboxRequest),
                            "examples": {
                                "preset": {"value": {"preset": "otp"}},
                                "text": {
                                    "value": {"text": "Your code is 482913", "sender": "Acme"}
                                },
                            },
                        }
                    },
                },
            )
        },
        "/v1/deliveries": {
            "get": _operation(
                "list_deliveries",
                "Deliveries, oldest first, a page at a time",
                _responses(_json_ok(DeliveryPage, "A page of deliveries."), 400, 401, 503),
                [
                    _LIMIT,
                    _param(
                        "query",
                        "status",
                        {"type": "string", "enum": list(get_args(DeliveryStatus))},
                        "Only deliveries in this state.",
                    ),
                    _param(
                        "query",
                        "after",
                        {"type": "string", "pattern": DELIVERY_ID},
                        "Only deliveries after this one.",
                    ),
                    _param("query", "message_id", {"type": "string"}, "Only this message's."),
                    _param("query", "destination", {"type": "string"}, "Only this destination's."),
                ],
                guarded=True,
            )
        },
        "/v1/deliveries/{id}/attempts": {
            "get": _operation(
                "delivery_attempts",
                "Every attempt of a delivery",
                _responses(_json_ok(AttemptList, "The attempts."), 401, 404, 503),
                [_DELIVERY_PATH],
                guarded=True,
            )
        },
        "/v1/deliveries/{id}/replay": {
            "post": _operation(
                "replay_one",
                "Queue a delivery again",
                _responses(replayed, 401, 404, 409, 503),
                [_DELIVERY_PATH],
                guarded=True,
            )
        },
        "/v1/destinations/{name}/replay": {
            "post": _operation(
                "replay_failed",
                "Queue a destination's failed deliveries again",
                _responses(replayed, 400, 401, 404, 503),
                [_DESTINATION_PATH, _since("deliveries created"), _until("deliveries created")],
                guarded=True,
            )
        },
        "/v1/destinations/{name}/enable": {
            "post": _operation(
                "enable_destination",
                "Let a disabled destination take deliveries again",
                _responses(_json_ok(DestinationEnabled, "Enabled."), 401, 404, 503),
                [_DESTINATION_PATH],
                guarded=True,
            )
        },
    }


def _require_scope(operation: dict[str, Any], scope: str) -> None:
    """Name ``scope`` in a guarded operation's security, with the refusals every
    guarded operation may answer: no key (401), the scope missing (403), a key over its
    rate (429)."""
    operation["security"] = [{"apiKey": [scope]}]
    responses = operation["responses"]
    for status in ("401", "403", "429"):
        responses.setdefault(status, {**_ERRORS[status], "content": _PROBLEM_CONTENT})
    operation["responses"] = dict(sorted(responses.items()))


def openapi_document(routes: Iterable[tuple[str, Collection[str]]]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (Starlette paths and their methods).

    Raises :class:`LookupError` for a route or method with no description here, or a
    description with no route: either is a bug to fix in this module.
    """
    from ._config_openapi import CONFIG_MODELS, config_operations  # it uses this module
    from ._gatekeeper import ROUTE_SCOPES
    from ._number_openapi import number_operations
    from ._number_routes import NUMBER_MODELS
    from ._privacy_routes import PRIVACY_MODELS, privacy_operations
    from ._tenant_openapi import tenant_operations
    from ._tenant_routes import TENANT_MODELS

    known = {
        **_operations(),
        **config_operations(),
        **tenant_operations(),
        **privacy_operations(),
        **number_operations(),
    }
    paths: dict[str, dict[str, Any]] = {}
    for route_path, methods in routes:
        path = _PARAM.sub(r"{\1}", route_path)
        for method in sorted(m.lower() for m in methods if m != "HEAD"):
            try:
                operation = paths.setdefault(path, {})[method] = known[path][method]
            except KeyError:
                raise LookupError(f"{method.upper()} {path} is not described") from None
            if "security" in operation:
                _require_scope(operation, ROUTE_SCOPES[(method.upper(), path)])
    undescribed = {p for p, ops in known.items() for m in ops if m not in paths.get(p, {})}
    if undescribed:
        raise LookupError(f"described but not routed: {sorted(undescribed)}")
    _, schemas = msgspec.json.schema_components(
        [
            *_MODELS,
            *CONFIG_MODELS,
            *TENANT_MODELS,
            *PRIVACY_MODELS,
            *NUMBER_MODELS,
            Message,
            DeliveryRecord,
            DeliveryAttempt,
        ],
        ref_template="#/components/schemas/{name}",
    )
    # Round-trip through JSON: msgspec leaves Python defaults in (a tuple's is ``()``),
    # and the document should hold the values its readers will see.
    schemas = msgspec.json.decode(msgspec.json.encode(schemas))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Septet",
            "version": __version__,
            "description": "Receive SMS: carriers' webhooks, the inbox and the outbox.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (sk_...) with the scope each operation lists,"
                    " acting on its tenant; or the operator's: the config's admin key"
                    " (api.admin_key) or an operator key, acting on the tenant the"
                    " Septet-Tenant header names (Config.tenant without one).",
                }
            },
        },
    }
