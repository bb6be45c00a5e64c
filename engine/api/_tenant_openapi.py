"""The OpenAPI description of the tenant, key, member and audit endpoints
(:mod:`engine.api._tenant_routes`), from the same Structs the handlers answer with."""

from __future__ import annotations

from typing import Any

from ..store import Member, Tenant
from ._config_openapi import _OWN as _DEFINITION_PROBLEMS
from ._openapi import _PROBLEM_CONTENT, _json_body, _json_ok, _operation, _param, _responses
from ._tenant_routes import (
    TENANT_PATTERN,
    AuditPage,
    KeyBody,
    KeyCreated,
    KeyList,
    MemberBody,
    MemberList,
    TenantBody,
    TenantList,
)

__all__ = ["tenant_operations"]

_OWN: dict[int, dict[str, Any]] = {
    409: {
        "description": "The current state refuses the change: the id or email is"
        " taken, or the tenant receives or holds messages.",
        "content": _PROBLEM_CONTENT,
    },
    422: _DEFINITION_PROBLEMS[422],
}


def _answers(success: str, answer: dict[str, Any], *errors: int) -> dict[str, Any]:
    return _responses(answer, 401, *errors, success=success, own=_OWN)


def tenant_operations() -> dict[str, dict[str, Any]]:
    """Every path's operations, keyed as in the document."""

    def path_id(pattern: str, what: str) -> dict[str, Any]:
        return _param("path", "id", {"type": "string", "pattern": pattern}, what)

    tenant_id = path_id(TENANT_PATTERN, "A tenant's id.")
    key_id = path_id(r"^key_[0-9a-f]{32}$", "A key's id.")
    member_id = path_id(r"^mem_[0-9a-f]{32}$", "A member's id.")
    gone = {"description": "Done."}
    write = (400, 404, 409, 413, 422, 503)
    return {
        "/v1/tenants": {
            "get": _operation(
                "list_tenants",
                "Every tenant (operator)",
                _answers("200", _json_ok(TenantList, "The tenants."), 503),
                guarded=True,
            ),
            "post": _operation(
                "create_tenant",
                "Create a tenant (operator)",
                _answers("201", _json_ok(Tenant, "Created."), *write),
                body=_json_body(TenantBody),
                guarded=True,
            ),
        },
        "/v1/tenants/{id}": {
            "get": _operation(
                "get_tenant",
                "One tenant (operator)",
                _answers("200", _json_ok(Tenant, "The tenant."), 404, 503),
                [tenant_id],
                guarded=True,
            ),
            "delete": _operation(
                "delete_tenant",
                "Delete a tenant with its members, revoking its keys; refused while it"
                " holds messages or receives them (operator)",
                _answers("204", gone, 404, 409, 503),
                [tenant_id],
                guarded=True,
            ),
        },
        "/v1/keys": {
            "get": _operation(
                "list_keys",
                "The tenant's API keys, never their secrets",
                _answers("200", _json_ok(KeyList, "The keys."), 404, 503),
                guarded=True,
            ),
            "post": _operation(
                "create_key",
                "Create an API key; the whole key is in this answer and nowhere else",
                _answers("201", _json_ok(KeyCreated, "Created: the key, shown once."), *write),
                body=_json_body(KeyBody),
                guarded=True,
            ),
        },
        "/v1/keys/{id}": {
            "delete": _operation(
                "revoke_key",
                "Revoke an API key: it fails from now on",
                _answers("204", gone, 404, 503),
                [key_id],
                guarded=True,
            )
        },
        "/v1/keys/{id}/rotate": {
            "post": _operation(
                "rotate_key",
                "Give a key a new secret, shown once; the old one fails from now on",
                _answers("200", _json_ok(KeyCreated, "The key, with its new secret."), 404, 503),
                [key_id],
                guarded=True,
            )
        },
        "/v1/members": {
            "get": _operation(
                "list_members",
                "The tenant's members",
                _answers("200", _json_ok(MemberList, "The members."), 404, 503),
                guarded=True,
            ),
            "post": _operation(
                "add_member",
                "Add a person to the tenant",
                _answers("201", _json_ok(Member, "Added."), *write),
                body=_json_body(MemberBody),
                guarded=True,
            ),
        },
        "/v1/members/{id}": {
            "delete": _operation(
                "remove_member",
                "Remove a member",
                _answers("204", gone, 404, 503),
                [member_id],
                guarded=True,
            )
        },
        "/v1/audit": {
            "get": _operation(
                "audit_log",
                "The tenant's audit log: every change to it, its members and keys",
                _answers(
                    "200", _json_ok(AuditPage, "A page of entries, newest first."), 400, 404, 503
                ),
                [
                    _param(
                        "query",
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                        "How many entries a page holds.",
                    ),
                    _param(
                        "query",
                        "before",
                        {"type": "string", "pattern": r"^aud_[0-9a-f]{32}$"},
                        "Only entries older than this one.",
                    ),
                ],
                guarded=True,
            )
        },
    }
