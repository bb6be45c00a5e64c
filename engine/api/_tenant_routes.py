"""Who may call the REST API, and the endpoints that manage tenants, keys and members.

Every ``/v1`` request carries a Bearer key: the config's admin key (the operator's, every
scope) or a key made over this API or the embedding API (``sk_<id digits>_<secret>``),
looked up by its id (:meth:`~engine.Septet.authenticate`). Then, in this order:

* 401: no key, or one that is malformed, unknown, revoked or expired;
* 429 with ``Retry-After``: a stored key over its rate (a token bucket per key);
* 403: the key lacks the endpoint's scope (:data:`ROUTE_SCOPES`; the problem's
  ``scope`` names it);
* the request acts on the key's tenant. An operator key acts on the tenant its
  ``Septet-Tenant`` header names (404 when there is none), ``Config.tenant`` without one.

Every tenant has its own destinations and route table (see
:mod:`engine.api._config_routes`). The sandbox, and replaying or enabling a destination
by name, are still the receiving tenant's (``Config.tenant``): another tenant may not
simulate messages (403) and finds no destination there (404).

* ``GET|POST /v1/tenants``, ``GET|DELETE /v1/tenants/{id}``: the operator's;
* ``GET|POST /v1/keys``, ``POST /v1/keys/{id}/rotate``, ``DELETE /v1/keys/{id}``: the
  whole key is in the answer to a creation or rotation, once, and nowhere else;
* ``GET|POST /v1/members``, ``DELETE /v1/members/{id}``;
* ``GET /v1/audit``: the tenant's audit log, newest first, a page at a time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import structlog
import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._ids import id_digits
from ..config import ApiConfig
from ..errors import InvalidKeyError, ScopeError, TenantConflictError
from ..store import ROLE_SCOPES, ApiKey, AuditEntry, Member, Tenant
from ._config_routes import _answering, _decode, _json, _Refused

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = [
    "Caller",
    "Gatekeeper",
    "RECEIVING_TENANT_PATHS",
    "ROUTE_SCOPES",
    "TENANT_HEADER",
    "TENANT_MODELS",
    "caller_of",
    "tenant_operations",
    "tenant_routes",
]

Endpoint = Callable[[Request], Awaitable[Response]]

TENANT_HEADER = "Septet-Tenant"
TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
OPERATOR = "operator"
"""The audit log's actor for the config's admin key."""
_CALLER = "septet.caller"
_log = structlog.get_logger("septet.api")
_PROBLEM = "application/problem+json"
_encode = msgspec.json.Encoder().encode

ROUTE_SCOPES: Mapping[tuple[str, str], str] = {
    ("GET", "/v1/messages"): "messages:read",
    ("GET", "/v1/messages/wait"): "messages:read",
    ("GET", "/v1/stream"): "messages:read",
    ("GET", "/v1/messages/{id}"): "messages:read",
    ("DELETE", "/v1/messages/{id}"): "messages:delete",
    ("POST", "/v1/sandbox/messages"): "sandbox:write",
    ("GET", "/v1/deliveries"): "deliveries:read",
    ("GET", "/v1/deliveries/{id}/attempts"): "deliveries:read",
    ("POST", "/v1/deliveries/{id}/replay"): "deliveries:write",
    ("POST", "/v1/destinations/{name}/replay"): "deliveries:write",
    ("POST", "/v1/destinations/{name}/enable"): "destinations:write",
    ("GET", "/v1/destinations"): "destinations:read",
    ("POST", "/v1/destinations"): "destinations:write",
    ("GET", "/v1/destinations/{name}"): "destinations:read",
    ("PUT", "/v1/destinations/{name}"): "destinations:write",
    ("PATCH", "/v1/destinations/{name}"): "destinations:write",
    ("DELETE", "/v1/destinations/{name}"): "destinations:write",
    ("POST", "/v1/destinations/{name}/test"): "destinations:write",
    ("GET", "/v1/routes"): "routes:read",
    ("PUT", "/v1/routes"): "routes:write",
    ("DELETE", "/v1/routes"): "routes:write",
    ("GET", "/v1/tenants"): "tenants:read",
    ("POST", "/v1/tenants"): "tenants:write",
    ("GET", "/v1/tenants/{id}"): "tenants:read",
    ("DELETE", "/v1/tenants/{id}"): "tenants:write",
    ("GET", "/v1/keys"): "keys:read",
    ("POST", "/v1/keys"): "keys:write",
    ("POST", "/v1/keys/{id}/rotate"): "keys:write",
    ("DELETE", "/v1/keys/{id}"): "keys:write",
    ("GET", "/v1/members"): "members:read",
    ("POST", "/v1/members"): "members:write",
    ("DELETE", "/v1/members/{id}"): "members:write",
    ("GET", "/v1/audit"): "audit:read",
    ("GET", "/v1/inventory"): "inventory:read",
    ("POST", "/v1/inventory"): "inventory:write",
    ("GET", "/v1/inventory/{number}"): "inventory:read",
    ("PATCH", "/v1/inventory/{number}"): "inventory:write",
    ("DELETE", "/v1/inventory/{number}"): "inventory:write",
    ("GET", "/v1/numbers"): "numbers:read",
    ("POST", "/v1/numbers/{number}/lease"): "numbers:write",
    ("POST", "/v1/leases"): "numbers:write",
    ("GET", "/v1/leases"): "numbers:read",
    ("GET", "/v1/leases/{id}"): "numbers:read",
    ("PATCH", "/v1/leases/{id}"): "numbers:write",
    ("POST", "/v1/leases/{id}/renew"): "numbers:write",
    ("POST", "/v1/leases/{id}/release"): "numbers:write",
    ("GET", "/v1/billing/charges"): "billing:read",
    ("GET", "/v1/billing/statements/{month}"): "billing:read",
    ("GET", "/v1/quarantine/messages"): "quarantine:read",
    ("GET", "/v1/retention"): "retention:read",
    ("PUT", "/v1/retention"): "retention:write",
    ("DELETE", "/v1/retention"): "retention:write",
    ("POST", "/v1/erasures"): "erasures:write",
}
"""The scope each ``/v1`` endpoint needs, by method and path."""

RECEIVING_TENANT_PATHS = frozenset({"/v1/sandbox/messages"})
"""The endpoints only the tenant messages are filed under by default may use: the
sandbox simulates that tenant's carriers. Every tenant has its own destinations, routes,
test-fire, replay and enabling (``/v1/destinations``, ``/v1/routes``)."""


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who makes a request: ``actor`` (a key id, or ``operator``) acting on ``tenant``
    with ``scopes``."""

    actor: str
    tenant: str
    scopes: frozenset[str]
    operator: bool


def caller_of(request: Request) -> Caller:
    """The caller the gatekeeper let through."""
    caller: Caller = request.scope[_CALLER]
    return caller


def _refusal(status: int, title: str, detail: str, **members: str) -> Response:
    document: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    document["detail"] = detail
    headers = {}
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="septet"'
    if status == 429:
        headers["retry-after"] = members.pop("retry_after")
    document.update(members)
    return Response(_encode(document), status_code=status, media_type=_PROBLEM, headers=headers)


class Gatekeeper:
    """Authenticates a request, limits its key's rate, checks its scope and settles
    the tenant it acts on."""

    def __init__(self, septet: Septet, config: ApiConfig) -> None:
        self._septet = septet
        self._admin_key = None if config.admin_key is None else config.admin_key.encode()
        self._rate = config.key_rate_limit
        self._burst = float(config.key_rate_burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        """Per key id: tokens left, and when they were counted."""

    async def admit(self, request: Request, path: str | None) -> Response | None:
        """None when the request may go on (its :func:`caller_of` set), else the answer
        refusing it. ``path`` is the endpoint's route, None for one with no scope."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _refusal(401, "Unauthorized", "send the API key as a Bearer token")
        caller = await self._identify(token)
        if isinstance(caller, str):
            return _refusal(401, "Unauthorized", caller)
        if not caller.operator:
            wait = self._take_token(caller.actor)
            if wait:
                return _refusal(
                    429,
                    "Too Many Requests",
                    "this key is over its rate limit",
                    retry_after=str(wait),
                )
        method = "GET" if request.method == "HEAD" else request.method
        scope = None if path is None else ROUTE_SCOPES.get((method, path))
        if scope is None or scope not in caller.scopes:
            needed = scope or "operator"
            return _refusal(403, "Forbidden", f"this key lacks the scope {needed!r}", scope=needed)
        if caller.operator:
            named = request.headers.get(TENANT_HEADER)
            if named is not None:
                if await self._septet.tenant(named) is None:
                    return _refusal(404, "Not Found", f"no tenant is named {named!r}")
                caller = msgspec.structs.replace(caller, tenant=named)
        if caller.tenant != self._septet.config.tenant and path in RECEIVING_TENANT_PATHS:
            return _elsewhere(caller.tenant, path)
        request.scope[_CALLER] = caller
        return None

    async def _identify(self, token: str) -> Caller | str:
        """The caller ``token`` stands for, or why it stands for none."""
        if token.startswith("sk_"):
            try:
                key = await self._septet.authenticate(token)
            except InvalidKeyError as exc:
                return str(exc)
            scopes = frozenset(key.scopes) & ROLE_SCOPES[key.role]
            return Caller(
                actor=key.id,
                tenant=key.tenant or self._septet.config.tenant,
                scopes=scopes,
                operator=key.tenant is None,
            )
        if self._admin_key is None:
            return "no API key is configured"
        # Imported here: signing pulls in the native module, which only this path needs.
        from ..signing import constant_time_equal

        if not constant_time_equal(token.encode(), self._admin_key):
            return "the API key is not valid"
        return Caller(
            actor=OPERATOR,
            tenant=self._septet.config.tenant,
            scopes=ROLE_SCOPES["operator"],
            operator=True,
        )

    def _take_token(self, key_id: str) -> int:
        """0 when ``key_id`` may make a request now (one token taken), else the whole
        seconds until it may."""
        if not self._rate:
            return 0
        now = trio.current_time()
        tokens, counted = self._buckets.get(key_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - counted) * self._rate)
        if tokens >= 1:
            self._buckets[key_id] = (tokens - 1, now)
            return 0
        self._buckets[key_id] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self._rate))


def _elsewhere(tenant: str, path: str) -> Response:
    """The answer for a tenant other than the receiving one on a receiving-only path."""
    if "{name}" in path:
        return _refusal(404, "Not Found", f"tenant {tenant!r} has no destination of that name")
    return _refusal(
        403,
        "Forbidden",
        f"tenant {tenant!r} may not simulate messages: the sandbox belongs to the tenant"
        " messages are filed under",
    )


# Bodies -------------------------------------------------------------------------------

TenantRole = Literal["viewer", "developer", "admin", "owner"]


class TenantBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new tenant; ``id`` default: a new ``ten_...`` id."""

    id: str | None = msgspec.field(default=None)
    name: str


class TenantList(msgspec.Struct, frozen=True, kw_only=True):
    """Every tenant, by id."""

    data: list[Tenant]


class KeyBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A new key of the tenant: ``scopes`` narrows the role's (default: all of them);
    it may not hold a scope the calling key lacks."""

    name: str
    role: TenantRole
    scopes: list[str] | None = None
    expires_at: datetime | None = None


class KeyCreated(msgspec.Struct, frozen=True, kw_only=True):
    """A key and, this once, the whole key to send as a Bearer token."""

    key: ApiKey
    secret: str


class KeyList(msgspec.Struct, frozen=True, kw_only=True):
    """The tenant's keys, revoked ones too; never their secrets."""

    data: list[ApiKey]


class MemberBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A person to add to the tenant."""

    email: str
    role: TenantRole
    name: str | None = None


class MemberList(msgspec.Struct, frozen=True, kw_only=True):
    """The tenant's members."""

    data: list[Member]


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    """Audit entries, newest first; ``next`` is the ``before`` cursor of the next page,
    null on the last one."""

    data: list[AuditEntry]
    next: str | None


TENANT_MODELS: tuple[type[msgspec.Struct], ...] = (
    Tenant,
    TenantBody,
    TenantList,
    ApiKey,
    KeyBody,
    KeyCreated,
    KeyList,
    Member,
    MemberBody,
    MemberList,
    AuditEntry,
    AuditPage,
)


# Handlers -----------------------------------------------------------------------------


def tenant_routes(
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
        route("/v1/tenants", handlers.list_tenants, "GET"),
        route("/v1/tenants", handlers.create_tenant, "POST"),
        route("/v1/tenants/{id}", handlers.get_tenant, "GET"),
        route("/v1/tenants/{id}", handlers.delete_tenant, "DELETE"),
        route("/v1/keys", handlers.list_keys, "GET"),
        route("/v1/keys", handlers.create_key, "POST"),
        route("/v1/keys/{id}/rotate", handlers.rotate_key, "POST"),
        route("/v1/keys/{id}", handlers.revoke_key, "DELETE"),
        route("/v1/members", handlers.list_members, "GET"),
        route("/v1/members", handlers.add_member, "POST"),
        route("/v1/members/{id}", handlers.remove_member, "DELETE"),
        route("/v1/audit", handlers.audit, "GET"),
    ]


class _Handlers:
    def __init__(self, septet: Septet, read_body: Callable[[Request], Awaitable[bytes]]) -> None:
        self._septet = septet
        self._read_body = read_body

    # Tenants (the operator's) -------------------------------------------------------

    async def list_tenants(self, request: Request) -> Response:
        return _json(TenantList(data=await self._septet.tenants()))

    async def create_tenant(self, request: Request) -> Response:
        body = _decode(await self._read_body(request), TenantBody)
        if body.id is not None and not _is_slug(body.id):
            raise _Refused(422, "Unprocessable Content", "not a tenant id", key="id")
        try:
            tenant = await self._septet.create_tenant(
                body.name, tenant_id=body.id, actor=caller_of(request).actor
            )
        except TenantConflictError as exc:
            raise _Refused(409, "Conflict", str(exc)) from None
        return _json(tenant, 201, {"location": f"/v1/tenants/{tenant.id}"})

    async def get_tenant(self, request: Request) -> Response:
        tenant = await self._septet.tenant(request.path_params["id"])
        if tenant is None:
            raise _Refused(404, "Not Found", "no such tenant")
        return _json(tenant)

    async def delete_tenant(self, request: Request) -> Response:
        try:
            deleted = await self._septet.delete_tenant(
                request.path_params["id"], actor=caller_of(request).actor
            )
        except TenantConflictError as exc:
            raise _Refused(409, "Conflict", str(exc)) from None
        if not deleted:
            raise _Refused(404, "Not Found", "no such tenant")
        return Response(status_code=204)

    # Keys ---------------------------------------------------------------------------

    async def list_keys(self, request: Request) -> Response:
        return _json(KeyList(data=await self._septet.api_keys(caller_of(request).tenant)))

    async def create_key(self, request: Request) -> Response:
        caller = caller_of(request)
        body = _decode(await self._read_body(request), KeyBody)
        wanted = ROLE_SCOPES[body.role] if body.scopes is None else frozenset(body.scopes)
        beyond = sorted(wanted - caller.scopes)
        if beyond:
            detail = f"a key cannot grant scopes it lacks: {beyond}"
            raise _Refused(403, "Forbidden", detail)
        try:
            key, secret = await self._septet.create_key(
                caller.tenant,
                name=body.name,
                role=body.role,
                scopes=body.scopes,
                expires_at=body.expires_at,
                actor=caller.actor,
            )
        except ScopeError as exc:
            raise _Refused(422, "Unprocessable Content", str(exc), key="scopes") from None
        except KeyError:
            raise _Refused(404, "Not Found", "no such tenant") from None
        _logged("api key created", key, caller)
        return _json(KeyCreated(key=key, secret=secret), 201, {"location": f"/v1/keys/{key.id}"})

    async def rotate_key(self, request: Request) -> Response:
        caller = caller_of(request)
        try:
            key, secret = await self._septet.rotate_key(
                _key_id(request), tenant=caller.tenant, actor=caller.actor
            )
        except KeyError:
            raise _Refused(404, "Not Found", "no such live key") from None
        _logged("api key rotated", key, caller)
        return _json(KeyCreated(key=key, secret=secret))

    async def revoke_key(self, request: Request) -> Response:
        caller = caller_of(request)
        try:
            key = await self._septet.revoke_key(
                _key_id(request), tenant=caller.tenant, actor=caller.actor
            )
        except KeyError:
            raise _Refused(404, "Not Found", "no such key") from None
        _logged("api key revoked", key, caller)
        return Response(status_code=204)

    # Members ------------------------------------------------------------------------

    async def list_members(self, request: Request) -> Response:
        return _json(MemberList(data=await self._septet.members(caller_of(request).tenant)))

    async def add_member(self, request: Request) -> Response:
        caller = caller_of(request)
        body = _decode(await self._read_body(request), MemberBody)
        try:
            member = await self._septet.add_member(
                caller.tenant, email=body.email, role=body.role, name=body.name, actor=caller.actor
            )
        except TenantConflictError as exc:
            raise _Refused(409, "Conflict", str(exc)) from None
        except KeyError:
            raise _Refused(404, "Not Found", "no such tenant") from None
        return _json(member, 201)

    async def remove_member(self, request: Request) -> Response:
        caller = caller_of(request)
        try:
            await self._septet.remove_member(
                caller.tenant, request.path_params["id"], actor=caller.actor
            )
        except KeyError:
            raise _Refused(404, "Not Found", "no such member") from None
        return Response(status_code=204)

    # Audit --------------------------------------------------------------------------

    async def audit(self, request: Request) -> Response:
        query = request.query_params
        before = query.get("before")
        if before is not None and id_digits(before, "aud") is None:
            raise _Refused(400, "Bad Request", "before must be an audit entry id (aud_...)")
        limit_text = query.get("limit", "50")
        if not (limit_text.isascii() and limit_text.isdigit() and 1 <= int(limit_text) <= 1000):
            raise _Refused(400, "Bad Request", "limit must be a whole number from 1 to 1000")
        limit = int(limit_text)
        found = await self._septet.audit_log(
            caller_of(request).tenant, before=before, limit=limit + 1
        )
        page = found[:limit]
        cursor = page[-1].id if len(found) > limit and page else None
        return _json(AuditPage(data=page, next=cursor))


def _logged(event: str, key: ApiKey, caller: Caller) -> None:
    """Log a change to a key by its id and prefix: never the whole key."""
    _log.info(event, key=key.id, prefix=key.prefix, tenant=key.tenant, actor=caller.actor)


def _key_id(request: Request) -> str:
    key_id: str = request.path_params["id"]
    return key_id


def _is_slug(text: str) -> bool:
    return re.fullmatch(TENANT_PATTERN, text) is not None


# The OpenAPI description ----------------------------------------------------------------


def tenant_operations() -> dict[str, dict[str, Any]]:
    """Every path's operations, keyed as in the document."""
    from ._config_openapi import _OWN
    from ._openapi import _ERRORS, _PROBLEM_CONTENT, _operation, _param, _ref

    own = {
        "409": {
            "description": "The current state refuses the change: the id or email is"
            " taken, or the tenant receives or holds messages.",
            "content": _PROBLEM_CONTENT,
        },
        "422": _OWN[422],
    }

    def ok(model: type[msgspec.Struct], description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": _ref(model)}},
        }

    def answers(success: str, answer: dict[str, Any], *errors: int) -> dict[str, Any]:
        found: dict[str, Any] = {success: answer}
        for status in sorted({*errors, 401, 500}):
            found[str(status)] = own.get(str(status)) or {
                **_ERRORS[str(status)],
                "content": _PROBLEM_CONTENT,
            }
        return found

    def body(model: type[msgspec.Struct]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}

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
                answers("200", ok(TenantList, "The tenants."), 503),
                guarded=True,
            ),
            "post": _operation(
                "create_tenant",
                "Create a tenant (operator)",
                answers("201", ok(Tenant, "Created."), *write),
                body=body(TenantBody),
                guarded=True,
            ),
        },
        "/v1/tenants/{id}": {
            "get": _operation(
                "get_tenant",
                "One tenant (operator)",
                answers("200", ok(Tenant, "The tenant."), 404, 503),
                [tenant_id],
                guarded=True,
            ),
            "delete": _operation(
                "delete_tenant",
                "Delete a tenant with its members, revoking its keys; refused while it"
                " holds messages or receives them (operator)",
                answers("204", gone, 404, 409, 503),
                [tenant_id],
                guarded=True,
            ),
        },
        "/v1/keys": {
            "get": _operation(
                "list_keys",
                "The tenant's API keys, never their secrets",
                answers("200", ok(KeyList, "The keys."), 404, 503),
                guarded=True,
            ),
            "post": _operation(
                "create_key",
                "Create an API key; the whole key is in this answer and nowhere else",
                answers("201", ok(KeyCreated, "Created: the key, shown once."), *write),
                body=body(KeyBody),
                guarded=True,
            ),
        },
        "/v1/keys/{id}": {
            "delete": _operation(
                "revoke_key",
                "Revoke an API key: it fails from now on",
                answers("204", gone, 404, 503),
                [key_id],
                guarded=True,
            )
        },
        "/v1/keys/{id}/rotate": {
            "post": _operation(
                "rotate_key",
                "Give a key a new secret, shown once; the old one fails from now on",
                answers("200", ok(KeyCreated, "The key, with its new secret."), 404, 503),
                [key_id],
                guarded=True,
            )
        },
        "/v1/members": {
            "get": _operation(
                "list_members",
                "The tenant's members",
                answers("200", ok(MemberList, "The members."), 404, 503),
                guarded=True,
            ),
            "post": _operation(
                "add_member",
                "Add a person to the tenant",
                answers("201", ok(Member, "Added."), *write),
                body=body(MemberBody),
                guarded=True,
            ),
        },
        "/v1/members/{id}": {
            "delete": _operation(
                "remove_member",
                "Remove a member",
                answers("204", gone, 404, 503),
                [member_id],
                guarded=True,
            )
        },
        "/v1/audit": {
            "get": _operation(
                "audit_log",
                "The tenant's audit log: every change to it, its members and keys",
                answers("200", ok(AuditPage, "A page of entries, newest first."), 400, 404, 503),
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
