"""The endpoints that manage tenants, their API keys and members, and read the audit log.

They act on the caller's tenant, as :mod:`engine.api._gatekeeper` settled it (the
tenants' own endpoints are the operator's):

* ``GET|POST /v1/tenants``, ``GET|DELETE /v1/tenants/{id}``: the operator's;
* ``GET|POST /v1/keys``, ``POST /v1/keys/{id}/rotate``, ``DELETE /v1/keys/{id}``: the
  whole key is in the answer to a creation or rotation, once, and nowhere else;
* ``GET|POST /v1/members``, ``DELETE /v1/members/{id}``;
* ``GET /v1/audit``: the tenant's audit log, newest first, a page at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import msgspec
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._ids import id_digits
from ..errors import ScopeError, TenantConflictError
from ..store import ROLE_SCOPES, ApiKey, AuditEntry, Member, Tenant
from ._gatekeeper import Caller, caller_of
from ._routing import (
    Endpoint,
    ReadBody,
    Refused,
    RouteHandlers,
    guarded_routes,
    json_response,
    next_page,
    page_limit,
)

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = [
    "AuditPage",
    "KeyBody",
    "KeyCreated",
    "KeyList",
    "MemberBody",
    "MemberList",
    "TENANT_MODELS",
    "TENANT_PATTERN",
    "TenantBody",
    "TenantList",
    "tenant_routes",
]

TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_log = structlog.get_logger("septet.api")


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
    read_body: ReadBody,
) -> list[Route]:
    """The routes of this module, each behind ``guard``; ``read_body`` reads a
    request's body within the configured limit."""
    handlers = _Handlers(septet, read_body)
    table = [
        ("/v1/tenants", handlers.list_tenants, "GET"),
        ("/v1/tenants", handlers.create_tenant, "POST"),
        ("/v1/tenants/{id}", handlers.get_tenant, "GET"),
        ("/v1/tenants/{id}", handlers.delete_tenant, "DELETE"),
        ("/v1/keys", handlers.list_keys, "GET"),
        ("/v1/keys", handlers.create_key, "POST"),
        ("/v1/keys/{id}/rotate", handlers.rotate_key, "POST"),
        ("/v1/keys/{id}", handlers.revoke_key, "DELETE"),
        ("/v1/members", handlers.list_members, "GET"),
        ("/v1/members", handlers.add_member, "POST"),
        ("/v1/members/{id}", handlers.remove_member, "DELETE"),
        ("/v1/audit", handlers.audit, "GET"),
    ]
    return guarded_routes(guard, table)


class _Handlers(RouteHandlers):
    # Tenants (the operator's) -------------------------------------------------------

    async def list_tenants(self, request: Request) -> Response:
        return json_response(TenantList(data=await self._septet.tenants()))

    async def create_tenant(self, request: Request) -> Response:
        body = await self._decoded(request, TenantBody)
        if body.id is not None and not _is_slug(body.id):
            raise Refused(422, "Unprocessable Content", "not a tenant id", key="id")
        try:
            tenant = await self._septet.create_tenant(
                body.name, tenant_id=body.id, actor=caller_of(request).actor
            )
        except TenantConflictError as exc:
            raise Refused(409, "Conflict", str(exc)) from None
        return json_response(tenant, 201, {"location": f"/v1/tenants/{tenant.id}"})

    async def get_tenant(self, request: Request) -> Response:
        tenant = await self._septet.tenant(request.path_params["id"])
        if tenant is None:
            raise Refused(404, "Not Found", "no such tenant")
        return json_response(tenant)

    async def delete_tenant(self, request: Request) -> Response:
        try:
            deleted = await self._septet.delete_tenant(
                request.path_params["id"], actor=caller_of(request).actor
            )
        except TenantConflictError as exc:
            raise Refused(409, "Conflict", str(exc)) from None
        if not deleted:
            raise Refused(404, "Not Found", "no such tenant")
        return Response(status_code=204)

    # Keys ---------------------------------------------------------------------------

    async def list_keys(self, request: Request) -> Response:
        return json_response(KeyList(data=await self._septet.api_keys(caller_of(request).tenant)))

    async def create_key(self, request: Request) -> Response:
        caller = caller_of(request)
        body = await self._decoded(request, KeyBody)
        wanted = ROLE_SCOPES[body.role] if body.scopes is None else frozenset(body.scopes)
        beyond = sorted(wanted - caller.scopes)
        if beyond:
            detail = f"a key cannot grant scopes it lacks: {beyond}"
            raise Refused(403, "Forbidden", detail)
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
            raise Refused(422, "Unprocessable Content", str(exc), key="scopes") from None
        except KeyError:
            raise Refused(404, "Not Found", "no such tenant") from None
        _logged("api key created", key, caller)
        return json_response(
            KeyCreated(key=key, secret=secret), 201, {"location": f"/v1/keys/{key.id}"}
        )

    async def rotate_key(self, request: Request) -> Response:
        caller = caller_of(request)
        try:
            key, secret = await self._septet.rotate_key(
                _key_id(request), tenant=caller.tenant, actor=caller.actor
            )
        except KeyError:
            raise Refused(404, "Not Found", "no such live key") from None
        _logged("api key rotated", key, caller)
        return json_response(KeyCreated(key=key, secret=secret))

    async def revoke_key(self, request: Request) -> Response:
        caller = caller_of(request)
        try:
            key = await self._septet.revoke_key(
                _key_id(request), tenant=caller.tenant, actor=caller.actor
            )
        except KeyError:
            raise Refused(404, "Not Found", "no such key") from None
        _logged("api key revoked", key, caller)
        return Response(status_code=204)

    # Members ------------------------------------------------------------------------

    async def list_members(self, request: Request) -> Response:
        return json_response(MemberList(data=await self._septet.members(caller_of(request).tenant)))

    async def add_member(self, request: Request) -> Response:
        caller = caller_of(request)
        body = await self._decoded(request, MemberBody)
        try:
            member = await self._septet.add_member(
                caller.tenant, email=body.email, role=body.role, name=body.name, actor=caller.actor
            )
        except TenantConflictError as exc:
            raise Refused(409, "Conflict", str(exc)) from None
        except KeyError:
            raise Refused(404, "Not Found", "no such tenant") from None
        return json_response(member, 201)

    async def remove_member(self, request: Request) -> Response:
        caller = caller_of(request)
        try:
            await self._septet.remove_member(
                caller.tenant, request.path_params["id"], actor=caller.actor
            )
        except KeyError:
            raise Refused(404, "Not Found", "no such member") from None
        return Response(status_code=204)

    # Audit --------------------------------------------------------------------------

    async def audit(self, request: Request) -> Response:
        query = request.query_params
        before = query.get("before")
        if before is not None and id_digits(before, "aud") is None:
            raise Refused(400, "Bad Request", "before must be an audit entry id (aud_...)")
        limit = page_limit(query.get("limit"))
        found = await self._septet.audit_log(
            caller_of(request).tenant, before=before, limit=limit + 1
        )
        page, cursor = next_page(found, limit, lambda entry: entry.id)
        return json_response(AuditPage(data=page, next=cursor))


def _logged(event: str, key: ApiKey, caller: Caller) -> None:
    """Log a change to a key by its id and prefix: never the whole key."""
    _log.info(event, key=key.id, prefix=key.prefix, tenant=key.tenant, actor=caller.actor)


def _key_id(request: Request) -> str:
    key_id: str = request.path_params["id"]
    return key_id


def _is_slug(text: str) -> bool:
    return re.fullmatch(TENANT_PATTERN, text) is not None
