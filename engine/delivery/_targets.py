"""Which HTTP targets a destination may reach: the SSRF policy and its address ranges.

A destination's URL comes from its owner, and its host name from whoever runs its DNS,
so neither is trusted to point somewhere public. :class:`HttpTargetPolicy` says what
is refused: plain ``http://`` (unless ``https_only`` is off) and every address that is
not globally routable (loopback, private, link-local, CGNAT, multicast, reserved,
documentation, cloud metadata, and the IPv6 forms that embed one of those). Operators
open holes with ``allow_hosts`` (a named local receiver, also allowed over ``http://``)
and ``allow_networks`` (CIDRs that may be reached despite being private).

The addresses are checked where the connection is made (see ``_http``), on the very
addresses connected to, so a DNS answer that changes between a check and the connect
(DNS rebinding) cannot slip through. :func:`validate_target_url` checks a configured URL
up front, so a bad one is a :class:`~engine.errors.ConfigError` naming its key.

What of a target may be shown: :func:`redact_url` (``scheme://host[:port]``), and
:func:`url_secrets` with :func:`scrub_secrets` to hide a URL's token-like parts and given
secrets in text a target or a failure produced.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections.abc import Iterable
from typing import Any, ClassVar, Final, TypeAlias

import httpx
import msgspec

from ..errors import ConfigError

__all__ = [
    "HttpDestinationConfig",
    "HttpTargetPolicy",
    "redact_url",
    "refusal_message",
    "scrub_secrets",
    "url_refusal",
    "url_secrets",
    "validate_target_url",
]

_Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

# First match wins, so the specific entries (metadata addresses) precede their ranges.
_REFUSED: Final[tuple[tuple[_Network, str], ...]] = tuple(
    (ipaddress.ip_network(cidr), label)
    for cidr, label in (
        ("0.0.0.0/8", '"this network" (0.0.0.0/8)'),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "shared address space (CGNAT, RFC 6598)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.169.254/32", "a cloud metadata address"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "reserved for IETF protocol assignments"),
        ("192.0.2.0/24", "documentation (TEST-NET-1)"),
        ("192.88.99.0/24", "the deprecated 6to4 relay anycast range"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "reserved for benchmarking"),
        ("198.51.100.0/24", "documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved (240.0.0.0/4, broadcast)"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("::ffff:0:0:0/96", "IPv4-translated (SIIT)"),
        ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
        ("100::/64", "discard-only"),
        ("2001::/23", "reserved for IETF protocol assignments (Teredo, ORCHID)"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing (SRv6)"),
        ("fd00:ec2::254/128", "a cloud metadata address"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
)

_REDACTED: Final = "[redacted]"
# Shorter strings are not secrets worth garbling every excerpt for: a path segment such
# as "hooks" or "services", a query value such as "true", a static header such as "1".
_MIN_PATH_TOKEN: Final = 16
_MIN_QUERY_TOKEN: Final = 8
_MIN_SECRET: Final = 4

# The well-known NAT64 prefix (RFC 6052): its last 32 bits are the IPv4 host reached.
# (ipaddress itself reads the IPv4 inside IPv4-mapped and 6to4 addresses.)
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


class HttpTargetPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What an HTTP destination may reach; see the module docstring."""

    https_only: bool = True
    """Refuse plain ``http://``, except to ``allow_hosts``."""
    allow_hosts: tuple[str, ...] = ()
    """Host names (or IP literals) allowed over plain ``http://`` and exempt from the
    address check: a receiver on this machine or the local network, say."""
    allow_networks: tuple[str, ...] = ()
    """CIDR networks (``10.1.0.0/16``, ``fd12::/48``) whose addresses are allowed although
    they are not public."""

    def __post_init__(self) -> None:
        for host in self.allow_hosts:
            if not host or (any(c in host for c in "/:@?#") and not _is_ip_literal(host)):
                raise ValueError(f"allow_hosts lists host names, not URLs: {host!r}")
        for cidr in self.allow_networks:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"allow_networks: {cidr!r} is not a CIDR network") from None

    def allows_host(self, host: str) -> bool:
        """Whether ``host`` is in ``allow_hosts`` (case and a trailing dot do not matter)."""
        return _host_key(host) in _host_keys(self.allow_hosts)

    def refusal_reason(self, address: str) -> str | None:
        """Why connecting to the IP ``address`` is refused, or None when it is allowed.

        ``allow_hosts`` is not consulted here: it exempts names, not addresses. An IPv6
        address that carries an IPv4 one (IPv4-mapped, 6to4, NAT64) is judged by that.
        Raises ``ValueError`` for a string that is not an IP address.
        """
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        allowed = _networks(self.allow_networks)
        if any(ip in network for network in allowed):
            return None
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            if any(embedded in network for network in allowed):
                return None
            label = _refused_label(embedded)
            return f"{ip} embeds {embedded}, which is {label}" if label else None
        label = _refused_label(ip)
        return f"{ip} is {label}" if label else None


class HttpDestinationConfig(HttpTargetPolicy, frozen=True, kw_only=True):
    """Settings every HTTP destination shares; an adapter's ``Config`` extends it.

    It is an :class:`HttpTargetPolicy` itself, so pass the config where a policy is
    asked. Its ``repr`` shows the URL's scheme and host only, and hides the fields named
    in ``redacted_fields``, so a config never prints a token.
    """

    redacted_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields a subclass holds secrets in (``repr`` hides them)."""

    url: str
    """Where to POST. Its path and query may hold a token; they are never logged."""
    connect_timeout: float = 5.0
    """Seconds to resolve the host and connect (TLS handshake included)."""
    total_timeout: float = 15.0
    """Seconds for a whole attempt: connect, send, and read the answer."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("connect_timeout", "total_timeout"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a finite number of seconds above 0")

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # msgspec's own would show every field as is; rich and pretty printers use this.
        shown: list[tuple[str, Any]] = []
        for field in self.__struct_fields__:
            value: Any = getattr(self, field)
            if field == "url":
                value = redact_url(value)
            elif field in self.redacted_fields:
                value = "[redacted]"
            shown.append((field, value))
        return shown

    def __repr__(self) -> str:
        shown = ", ".join(f"{field}={value!r}" for field, value in self.__rich_repr__())
        return f"{type(self).__name__}({shown})"


def validate_target_url(url: str, policy: HttpTargetPolicy, *, key: str = "url") -> httpx.URL:
    """Check a destination's URL against ``policy``; returns it parsed.

    Raises :class:`~engine.errors.ConfigError` naming ``key`` for a URL that is not
    ``http(s)://host...``, plain ``http://`` the policy refuses, or an IP literal host it
    refuses. A host name is checked when connecting, on the addresses it resolves to.
    The message never contains the URL's path or query (they may hold a token).
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ConfigError("is not a valid URL", key=key) from None
    reason = url_refusal(parsed, policy)
    if reason is not None:
        raise ConfigError(reason, key=key)
    if _is_ip_literal(parsed.host) and not policy.allows_host(parsed.host):
        reason = policy.refusal_reason(parsed.host)
        if reason is not None:
            raise ConfigError(f"{reason}; {_how_to_allow(parsed.host, parsed.host)}", key=key)
    return parsed


def url_refusal(url: httpx.URL, policy: HttpTargetPolicy) -> str | None:
    """Why ``url``'s scheme or host is refused by ``policy``, or None (no DNS, no I/O)."""
    if url.scheme not in ("http", "https") or not url.host:
        return f"must be an https:// URL with a host, not {redact_url(url)}"
    if url.scheme == "http" and policy.https_only and not policy.allows_host(url.host):
        return (
            f"plain http:// to {url.host} is refused; use https://, list {url.host!r} in "
            "allow_hosts (a receiver you run), or set https_only = false"
        )
    return None


def refusal_message(host: str, reason: str, address: str) -> str:
    """The message of a refused connection: which address, why, and how to allow it."""
    return f"refused to connect to {host}: {reason}; {_how_to_allow(host, address)}"


def redact_url(url: str | httpx.URL) -> str:
    """``scheme://host[:port]`` of ``url``: what may be shown of a URL that can hold a token."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{host}{port}" if parsed.scheme else "<invalid URL>"


def url_secrets(url: str | httpx.URL, redact: Iterable[str] = ()) -> list[str]:
    """What to hide of ``url`` and ``redact``, longest first: the URL's password, its path
    segments of 16 characters or more, its query values of 8 or more (where tokens live),
    and every string of 4 characters or more in ``redact``."""
    found = [value for value in redact if len(value) >= _MIN_SECRET]
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except httpx.InvalidURL:
        return found
    if parsed.password:
        found.append(parsed.password)
    found += [part for part in parsed.path.split("/") if len(part) >= _MIN_PATH_TOKEN]
    found += [v for _, v in parsed.params.multi_items() if len(v) >= _MIN_QUERY_TOKEN]
    # Longest first, so a secret that contains another is hidden whole.
    return sorted(set(found), key=len, reverse=True)


def scrub_secrets(text: str, secrets: list[str]) -> str:
    """``text`` with each of ``secrets`` (from :func:`url_secrets`) replaced by
    ``[redacted]``."""
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text


def _how_to_allow(host: str, address: str) -> str:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    cidr = f"{ip}/{ip.max_prefixlen}"
    if _is_ip_literal(host):
        return f'to allow it, add "{cidr}" to allow_networks'
    return f'to allow it, add "{cidr}" to allow_networks or "{host}" to allow_hosts'


def _refused_label(ip: _Address) -> str | None:
    for network, label in _REFUSED:
        if ip.version == network.version and ip in network:
            return label
    return None


def _embedded_ipv4(ip: _Address) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _host_key(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host.strip("[]")))  # one spelling per IPv6 address
    except ValueError:
        pass
    try:
        # The URL spells an international name in Unicode, the connection in IDNA.
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


@functools.lru_cache(maxsize=256)
def _host_keys(hosts: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_host_key(host) for host in hosts)


@functools.lru_cache(maxsize=256)
def _networks(cidrs: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)
