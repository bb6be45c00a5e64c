"""The REST endpoints that manage a tenant's destinations and route table at runtime.

Every endpoint acts on the caller's tenant (an operator key: the tenant its
``Septet-Tenant`` header names, ``Config.tenant`` without one). A tenant sees and changes
its own destinations and routes only: another tenant's destination answers 404, even
when both have one of the same name, and its messages are routed by its own table.
The config file's destinations and routes are ``Config.tenant``'s.

* ``GET /v1/destinations``, ``POST /v1/destinations``: list every destination (the
  config file's, read-only, and those created at runtime), create one;
* ``GET|PUT|PATCH|DELETE /v1/destinations/{name}``: read, create or replace, change
  by a JSON merge patch, delete (``?force=true`` also takes it out of the routes);
* ``POST /v1/destinations/{name}/test``: deliver a sample message once, now, and
  answer how it went (nothing is stored);
* ``GET|PUT|DELETE /v1/routes``: the route table in force, replace it whole, go back
  to the config file's.

Each definition carries a version, sent as its ``ETag``; a change sent with
``If-Match`` is made only if the definition is still at that version (else 412), and a
PUT with ``If-None-Match: *`` only creates. Secrets read ``[redacted]``. A definition
that cannot be used is a 422 problem whose ``key`` names the bad setting; a change the
current state refuses (a name in use, a definition from the config file, routes naming
the destination) is a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._destinations import DestinationInfo, RoutesInfo
from ..delivery import RouteTable
from ._config_envelopes import (
    DestinationBody,
    DestinationDeleted,
    DestinationList,
    DestinationPatch,
    TestRequest,
)
from ._gatekeeper import caller_of
from ._routing import (
    Endpoint,
    ReadBody,
    Refused,
    RouteHandlers,
    guarded_routes,
    invalid,
    json_response,
    query_flag,
)

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = ["config_routes"]

_ANY = -1
"""An ``If-Match: *``: any version, as long as the definition exists."""
_NO_VERSION = -2
"""An ``If-Match`` naming no version of ours: it matches nothing."""


def config_routes(
    septet: Septet,
    guard: Callable[[Endpoint], Endpoint],
    read_body: ReadBody,
) -> list[Route]:
    """The routes of this module, each behind ``guard`` (a key with the route's scope);
    ``read_body`` reads a request's body within the configured limit."""
    handlers = _Handlers(septet, read_body)
    table = [
        ("/v1/destinations", handlers.list_destinations, "GET"),
        ("/v1/destinations", handlers.create_destination, "POST"),
        ("/v1/destinations/{name}", handlers.get_destination, "GET"),
        ("/v1/destinations/{name}", handlers.put_destination, "PUT"),
        ("/v1/destinations/{name}", handlers.patch_destination, "PATCH"),
        ("/v1/destinations/{name}", handlers.delete_destination, "DELETE"),
        ("/v1/destinations/{name}/test", handlers.test_destination, "POST"),
        ("/v1/routes", handlers.get_routes, "GET"),
        ("/v1/routes", handlers.put_routes, "PUT"),
        ("/v1/routes", handlers.reset_routes, "DELETE"),
    ]
    return guarded_routes(guard, table)


class _Handlers(RouteHandlers):
    # Destinations ------------------------------------------------------------------

    async def list_destinations(self, request: Request) -> Response:
        found = await self._septet.destinations(tenant=_tenant(request))
        return json_response(DestinationList(data=found))

    async def get_destination(self, request: Request) -> Response:
        return _destination(await self._find(request, request.path_params["name"]))

    async def create_destination(self, request: Request) -> Response:
        body = await self._decoded(request, DestinationBody)
        if isinstance(body.name, msgspec.UnsetType):
            raise invalid("a destination needs a name", "name")
        info = await self._septet.create_destination(
            body.name,
            body.adapter,
            config=body.config,
            policy=body.policy,
            tenant=_tenant(request),
        )
        return _destination(info, 201, location=f"/v1/destinations/{info.name}")

    async def put_destination(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        body = await self._decoded(request, DestinationBody)
        if not isinstance(body.name, msgspec.UnsetType) and body.name != name:
            raise invalid(f"the path names {name!r}; a destination cannot be renamed", "name")
        tenant = _tenant(request)
        existed = name in {info.name for info in await self._septet.destinations(tenant=tenant)}
        expected = _if_match(request)
        if request.headers.get("if-none-match", "").strip() == "*":
            if expected is not None:
                raise Refused(400, "Bad Request", "send If-Match or If-None-Match, not both")
            expected = 0
        elif expected == _ANY:
            if not existed:
                raise Refused(412, "Precondition Failed", f"no destination is named {name!r}")
            expected = None
        info = await self._septet.put_destination(
            name,
            body.adapter,
            config=body.config,
            policy=body.policy,
            expected_version=expected,
            tenant=tenant,
        )
        if existed:
            return _destination(info)
        return _destination(info, 201, location=f"/v1/destinations/{name}")

    async def patch_destination(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        changes = await self._decoded(request, DestinationPatch)
        expected = await self._expected_version(request, name)
        patch: dict[str, Any] = msgspec.to_builtins(changes)
        for key in ("config", "policy"):
            if getattr(changes, key) is None:
                patch[key] = None  # null removes every setting (to_builtins drops it)
        try:
            info = await self._septet.patch_destination(
                name, patch, expected_version=expected, tenant=_tenant(request)
            )
        except KeyError:
            raise _not_found(name) from None
        return _destination(info)

    async def delete_destination(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        force = query_flag(request.query_params.get("force"), "force")
        expected = await self._expected_version(request, name)
        try:
            count = await self._septet.delete_destination(
                name, expected_version=expected, force=force, tenant=_tenant(request)
            )
        except KeyError:
            raise _not_found(name) from None
        return json_response(DestinationDeleted(destination=name, open_deliveries=count))

    async def test_destination(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        sample = await self._decoded(request, TestRequest, default=TestRequest())
        try:
            result = await self._septet.test_destination(
                name,
                content=sample.content,
                sender=sample.sender_id,
                number=sample.number_used,
                tenant=_tenant(request),
            )
        except KeyError:
            raise _not_found(name) from None
        return json_response(result)

    # Routes --------------------------------------------------------------------------

    async def get_routes(self, request: Request) -> Response:
        return _routes(self._septet.routes(tenant=_tenant(request)))

    async def put_routes(self, request: Request) -> Response:
        table = await self._decoded(request, RouteTable)
        expected = _if_match(request)
        info = await self._septet.set_routes(
            table,
            expected_version=None if expected == _ANY else expected,
            tenant=_tenant(request),
        )
        return _routes(info)

    async def reset_routes(self, request: Request) -> Response:
        expected = _if_match(request)
        info = await self._septet.set_routes(
            None,
            expected_version=None if expected == _ANY else expected,
            tenant=_tenant(request),
        )
        return _routes(info)

    # Plumbing ------------------------------------------------------------------------

    async def _find(self, request: Request, name: str) -> DestinationInfo:
        try:
            return await self._septet.destination(name, tenant=_tenant(request))
        except KeyError:
            raise _not_found(name) from None

    async def _expected_version(self, request: Request, name: str) -> int | None:
        expected = _if_match(request)
        if expected == _ANY:
            await self._find(request, name)
            return None
        return expected


def _tenant(request: Request) -> str:
    """The tenant the request acts on, as the gatekeeper settled it."""
    return caller_of(request).tenant


def _if_match(request: Request) -> int | None:
    """The version ``If-Match`` asks for: None without one, :data:`_ANY` for ``*``,
    and a version no definition has for an ETag that is not one of ours (it can match
    nothing, so the change is refused with 412)."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]
    if "*" in tags:
        return _ANY
    for tag in tags:
        digits = tag.strip('"')
        if tag.startswith('"') and tag.endswith('"') and digits.isascii() and digits.isdigit():
            return int(digits)
    return _NO_VERSION


def _not_found(name: str) -> Refused:
    return Refused(404, "Not Found", f"no destination is named {name!r}")


def _etag(version: int) -> str:
    return f'"{version}"'


def _destination(info: DestinationInfo, status: int = 200, *, location: str = "") -> Response:
    headers = {"etag": _etag(info.version)}
    if location:
        headers["location"] = location
    return json_response(info, status, headers)


def _routes(info: RoutesInfo) -> Response:
    return json_response(info, headers={"etag": _etag(info.version)})
