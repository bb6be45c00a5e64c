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

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._destinations import DestinationInfo, RoutesInfo
from ..config import _validation_error_key
from ..delivery import RouteTable
from ..errors import ConfigError, DefinitionConflictError, StaleVersionError
from ._config_envelopes import (
    DestinationBody,
    DestinationDeleted,
    DestinationList,
    DestinationPatch,
    TestRequest,
    ValidationProblem,
)

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = ["config_routes"]

T = TypeVar("T")
Endpoint = Callable[[Request], Awaitable[Response]]

_encode = msgspec.json.Encoder().encode
_JSON = "application/json"
_PROBLEM = "application/problem+json"
_ANY = -1
"""An ``If-Match: *``: any version, as long as the definition exists."""
_NO_VERSION = -2
"""An ``If-Match`` naming no version of ours: it matches nothing."""


class _Refused(Exception):
    """A request answered with a problem document."""

    def __init__(self, status: int, title: str, detail: str, key: str | None = None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.key = key
        super().__init__(detail)

    def response(self) -> Response:
        document: object
        if self.status == 422:
            document = ValidationProblem(
                title=self.title, status=self.status, detail=self.detail, key=self.key
            )
        else:
            document = {"type": "about:blank", "title": self.title, "status": self.status}
            document["detail"] = self.detail
        return Response(_encode(document), status_code=self.status, media_type=_PROBLEM)


def config_routes(
    septet: Septet,
    guard: Callable[[Endpoint], Endpoint],
    read_body: Callable[[Request], Awaitable[bytes]],
) -> list[Route]:
    """The routes of this module, each behind ``guard`` (a key with the route's scope);
    ``read_body`` reads a request's body within the configured limit."""
    handlers = _Handlers(septet, read_body)

    def route(path: str, endpoint: Endpoint, method: str) -> Route:
        return Route(path, guard(_answering(endpoint)), methods=[method])

    return [
        route("/v1/destinations", handlers.list_destinations, "GET"),
        route("/v1/destinations", handlers.create_destination, "POST"),
        route("/v1/destinations/{name}", handlers.get_destination, "GET"),
        route("/v1/destinations/{name}", handlers.put_destination, "PUT"),
        route("/v1/destinations/{name}", handlers.patch_destination, "PATCH"),
        route("/v1/destinations/{name}", handlers.delete_destination, "DELETE"),
        route("/v1/destinations/{name}/test", handlers.test_destination, "POST"),
        route("/v1/routes", handlers.get_routes, "GET"),
        route("/v1/routes", handlers.put_routes, "PUT"),
        route("/v1/routes", handlers.reset_routes, "DELETE"),
    ]


def _answering(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` with the engine's refusals answered as problem documents."""

    async def answering(request: Request) -> Response:
        try:
            return await endpoint(request)
        except _Refused as refused:
            return refused.response()
        except ConfigError as exc:
            return _invalid(exc.reason, exc.key).response()
        except StaleVersionError as exc:
            return _Refused(412, "Precondition Failed", str(exc)).response()
        except DefinitionConflictError as exc:
            return _Refused(409, "Conflict", str(exc)).response()

    return answering


class _Handlers:
    def __init__(self, septet: Septet, read_body: Callable[[Request], Awaitable[bytes]]) -> None:
        self._septet = septet
        self._read_body = read_body

    # Destinations ------------------------------------------------------------------

    async def list_destinations(self, request: Request) -> Response:
        found = await self._septet.destinations(tenant=_tenant(request))
        return _json(DestinationList(data=found))

    async def get_destination(self, request: Request) -> Response:
        return _destination(await self._find(request, request.path_params["name"]))

    async def create_destination(self, request: Request) -> Response:
        body = await self._decode(request, DestinationBody)
        if isinstance(body.name, msgspec.UnsetType):
            raise _invalid("a destination needs a name", "name")
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
        body = await self._decode(request, DestinationBody)
        if not isinstance(body.name, msgspec.UnsetType) and body.name != name:
            raise _invalid(f"the path names {name!r}; a destination cannot be renamed", "name")
        tenant = _tenant(request)
        existed = name in {info.name for info in await self._septet.destinations(tenant=tenant)}
        expected = _if_match(request)
        if request.headers.get("if-none-match", "").strip() == "*":
            if expected is not None:
                raise _Refused(400, "Bad Request", "send If-Match or If-None-Match, not both")
            expected = 0
        elif expected == _ANY:
            if not existed:
                raise _Refused(412, "Precondition Failed", f"no destination is named {name!r}")
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
        changes = await self._decode(request, DestinationPatch)
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
        force = _flag(request.query_params.get("force"), "force")
        expected = await self._expected_version(request, name)
        try:
            count = await self._septet.delete_destination(
                name, expected_version=expected, force=force, tenant=_tenant(request)
            )
        except KeyError:
            raise _not_found(name) from None
        return _json(DestinationDeleted(destination=name, open_deliveries=count))

    async def test_destination(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        raw = await self._read_body(request)
        sample = _decode(raw, TestRequest) if raw.strip() else TestRequest()
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
        return _json(result)

    # Routes --------------------------------------------------------------------------

    async def get_routes(self, request: Request) -> Response:
        return _routes(self._septet.routes(tenant=_tenant(request)))

    async def put_routes(self, request: Request) -> Response:
        table = await self._decode(request, RouteTable)
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

    async def _decode(self, request: Request, kind: type[T]) -> T:
        return _decode(await self._read_body(request), kind)


def _tenant(request: Request) -> str:
    """The tenant the request acts on, as the gatekeeper settled it."""
    # Imported here: the tenant routes import this module's helpers.
    from ._tenant_routes import caller_of

    return caller_of(request).tenant


def _decode(raw: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        key, reason = _validation_error_key(exc)
        raise _invalid(reason, key) from None
    except msgspec.DecodeError:
        raise _Refused(400, "Bad Request", "the body is not valid JSON") from None


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


def _flag(text: str | None, key: str) -> bool:
    if text is None or text in ("false", "0"):
        return False
    if text in ("true", "1"):
        return True
    raise _Refused(400, "Bad Request", f"{key} must be true or false")


def _invalid(detail: str, key: str | None) -> _Refused:
    return _Refused(422, "Unprocessable Content", detail, key)


def _not_found(name: str) -> _Refused:
    return _Refused(404, "Not Found", f"no destination is named {name!r}")


def _etag(version: int) -> str:
    return f'"{version}"'


def _json(value: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encode(value), status_code=status, media_type=_JSON, headers=headers)


def _destination(info: DestinationInfo, status: int = 200, *, location: str = "") -> Response:
    headers = {"etag": _etag(info.version)}
    if location:
        headers["location"] = location
    return _json(info, status, headers)


def _routes(info: RoutesInfo) -> Response:
    return _json(info, headers={"etag": _etag(info.version)})
