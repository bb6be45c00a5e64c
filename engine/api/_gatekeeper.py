"""Who may call the REST API: the key a request carries, its rate, its scope and the
tenant it acts on.

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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec
import trio
from starlette.requests import Request
from starlette.responses import Response

from ..config import ApiConfig
from ..errors import InvalidKeyError
from ..store import ROLE_SCOPES

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = [
    "Caller",
    "Gatekeeper",
    "RECEIVING_TENANT_PATHS",
    "ROUTE_SCOPES",
    "TENANT_HEADER",
    "caller_of",
]

TENANT_HEADER = "Septet-Tenant"
OPERATOR = "operator"
"""The audit log's actor for the config's admin key."""
_CALLER = "septet.caller"
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
