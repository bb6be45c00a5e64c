"""Carriers' webhooks over HTTP: the request a carrier is handed and the answer it gives.

Both ways a webhook reaches its carrier go through :class:`CarrierWebhooks`: the
server's direct path for ``POST``/``GET /carriers/<name>[/<path>]`` and the Starlette
route of the same paths (for the methods the direct path leaves to it), so the URL a
carrier checks a signature against is built one way only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from ipaddress import AddressValueError, IPv6Address
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from .._webhooks import WebhookCarrier, WebhookRequest, WebhookResponse, problem_response
from ..errors import EngineClosedError, StoreError

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = ["CARRIER_PATH", "RETRY_AFTER", "CarrierWebhooks", "request_origin"]

RETRY_AFTER = "5"
"""Seconds a client is asked to wait after a 503 (the inbox is unavailable)."""

CARRIER_PATH = re.compile(r"/carriers/(?P<name>[^/]+)(?:/(?P<path>.*))?")
"""A decoded request path that names a webhook carrier (and a path below it)."""

# A Host header's authority: a registered name or IPv4 address, or an IP literal in
# brackets, then an optional port (RFC 9110 section 7.2, as Starlette reads it).
_HOST = re.compile(
    r"(?P<host>[a-z0-9._~%!$&'()*+,;=-]+|\[(?:(?P<ipv6>[a-f0-9]*:[a-f0-9.:]+)|"
    r"(?-i:v)[a-f0-9]+\.[a-z0-9._~!$&'()*+,;=:-]+)\])(?::(?P<port>[0-9]+))?",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ORIGINS_CACHED = 256


def request_origin(scheme: str, host: bytes | None, server: tuple[str, int] | None) -> str:
    """``scheme://authority`` of the address a request came to: its ``Host`` header when
    that is a valid authority, else the address of the socket it reached."""
    if host is not None:
        text = host.decode("latin-1")
        match = _HOST.fullmatch(text)
        if match is not None and _valid_host(match):
            return f"{scheme}://{text}"
    if server is None:
        return f"{scheme}://"
    address, port = server
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"
    if port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{address}"
    return f"{scheme}://{address}:{port}"


def _valid_host(match: re.Match[str]) -> bool:
    if (ipv6 := match["ipv6"]) is not None:
        try:
            IPv6Address(ipv6)
        except AddressValueError:
            return False
    port = (match["port"] or "").lstrip("0")
    return len(port) <= 5 and int(port or "0") <= 65535


class CarrierWebhooks:
    """The webhook carriers of an engine by instance name, and how a request reaches one."""

    def __init__(
        self, septet: Septet, carriers: Mapping[str, WebhookCarrier], public_url: str | None
    ) -> None:
        self._carriers = {
            name: (carrier, septet._emit_as(name)) for name, carrier in carriers.items()
        }
        self._public_url = None if public_url is None else public_url.rstrip("/")
        self._origins: dict[tuple[str, bytes | None, tuple[str, int] | None], str] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._carriers

    def request(
        self,
        *,
        method: str,
        scheme: str,
        server: tuple[str, int] | None,
        name: str,
        path: str,
        query_string: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
    ) -> WebhookRequest:
        """The request as carrier ``name`` sees it; ``headers`` have lower-case names.

        Raises :class:`ValueError` for a query string that is not UTF-8 (no provider
        could have signed it as text).
        """
        fields: dict[str, str] = {}
        host: bytes | None = None
        for key, value in headers:
            if key == b"host" and host is None:
                host = value
            header, text = key.decode("latin-1"), value.decode("latin-1")
            fields[header] = f"{fields[header]}, {text}" if header in fields else text
        # What the provider called: the configured public URL (in front of a proxy), or
        # else the address this request came to.
        base = self._public_url or self._origin(scheme, host, server)
        url = f"{base}/carriers/{name}/{path}" if path else f"{base}/carriers/{name}"
        if query_string:
            try:
                url += "?" + query_string.decode()
            except UnicodeDecodeError:
                raise ValueError("the query string is not UTF-8") from None
        return WebhookRequest(
            method=method,
            url=url,
            path=path,
            query=tuple(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)),
            headers=fields,
            body=body,
        )

    def _origin(self, scheme: str, host: bytes | None, server: tuple[str, int] | None) -> str:
        key = (scheme, host, server)
        origin = self._origins.get(key)
        if origin is None:
            origin = request_origin(scheme, host, server)
            if len(self._origins) >= _ORIGINS_CACHED:
                self._origins.clear()
            self._origins[key] = origin
        return origin

    async def answer(self, name: str, request: WebhookRequest) -> WebhookResponse:
        """What carrier ``name`` answers, once what it carries is committed; 503 with
        ``Retry-After`` when the inbox cannot be written, 404 for no such carrier."""
        found = self._carriers.get(name)
        if found is None:
            return self.unknown(name)
        carrier, emit = found
        try:
            return await carrier.handle(request, emit)
        except (StoreError, EngineClosedError) as exc:
            # Nothing was acknowledged: the provider retries, and its retry is deduplicated.
            return problem_response(
                503, "Service Unavailable", str(exc), headers=[("retry-after", RETRY_AFTER)]
            )

    @staticmethod
    def unknown(name: str) -> WebhookResponse:
        """The answer to a request for a carrier that is not configured."""
        return problem_response(404, "Not Found", f"no webhook carrier is named {name!r}")
