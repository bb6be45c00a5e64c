"""The destinations' HTTP client: the SSRF guard, one attempt, and what an answer means."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import msgspec
import pytest
import trio
import trustme
from http_server import Answer, HttpTestServer, open_http_server, use_fake_dns

from engine.plugin_api import (
    ConfigError,
    HttpDestinationConfig,
    HttpTargetPolicy,
    HttpTargetResponse,
    PermanentDeliveryError,
    RetryableDeliveryError,
    classify_http_response,
    open_http_client,
    parse_retry_after,
    post_json,
    redact_url,
    validate_target_url,
)

# (address, what the refusal says) for every range the guard refuses.
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "CGNAT"),
    ("169.254.169.254", "metadata"),
    ("169.254.1.1", "link-local"),
    ("0.0.0.0", "this network"),
    ("0.1.2.3", "this network"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.0.8", "IETF"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fc00::1", "unique local"),
    ("fd00:ec2::254", "metadata"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("2001::1", "Teredo"),
    ("100::1", "discard"),
    ("::7f00:1", "IPv4-compatible"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "metadata"),
    ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
    ("64:ff9b:1::1", "NAT64"),
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
SECRET_TOKEN = "tok3n-abcdefghijklmnopqrstuvwxyz"

STRICT = HttpTargetPolicy()
LOCAL = HttpTargetPolicy(https_only=False, allow_networks=("127.0.0.0/8",))


def url_for(address: str, path: str = "/hook") -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:9{path}"


@pytest.fixture
async def server() -> AsyncIterator[HttpTestServer]:
    async with open_http_server() as server:
        yield server


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_every_non_public_range_is_refused(address: str, why: str) -> None:
    reason = STRICT.refusal_reason(address)
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert STRICT.refusal_reason(address) is None


def test_allow_networks_opens_a_hole_also_for_embedded_forms() -> None:
    policy = HttpTargetPolicy(allow_networks=("10.1.0.0/16", "fd12::/48"))
    assert policy.refusal_reason("10.1.2.3") is None
    assert policy.refusal_reason("::ffff:10.1.2.3") is None
    assert policy.refusal_reason("fd12::5") is None
    assert policy.refusal_reason("10.2.0.1") is not None


@pytest.mark.trio
@pytest.mark.parametrize(("address", "why"), REFUSED)
async def test_an_ip_literal_is_refused_before_connecting(address: str, why: str) -> None:
    async with open_http_client(STRICT) as client:
        with pytest.raises(PermanentDeliveryError) as caught:
            await post_json(client, url_for(address), b"{}")
    message = str(caught.value)
    assert why in message
    assert "allow_networks" in message
    assert caught.value.disable is False


@pytest.mark.trio
@pytest.mark.parametrize(("address", "why"), REFUSED)
async def test_a_name_resolving_to_a_refused_address_is_refused(address: str, why: str) -> None:
    use_fake_dns({"public.test": [address]})
    async with open_http_client(STRICT) as client:
        with pytest.raises(PermanentDeliveryError) as caught:
            await post_json(client, "https://public.test/hook", b"{}")
    message = str(caught.value)
    assert "public.test" in message
    assert why in message
    assert '"public.test" to allow_hosts' in message


@pytest.mark.trio
async def test_one_refused_address_among_public_ones_refuses_the_name() -> None:
    # A rebinding resolver answers a public address and a private one at once.
    use_fake_dns({"mixed.test": ["93.184.216.34", "10.0.0.1"]})
    async with open_http_client(STRICT) as client:
        with pytest.raises(PermanentDeliveryError, match=r"10\.0\.0\.1 is private"):
            await post_json(client, "https://mixed.test/", b"{}")


@pytest.mark.trio
@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f.1", "127.1"])
async def test_loopback_spellings_are_refused(host: str) -> None:
    async with open_http_client(STRICT) as client:
        with pytest.raises(PermanentDeliveryError, match="loopback"):
            await post_json(client, f"https://{host}:9/", b"{}")


@pytest.mark.trio
async def test_an_allowed_host_is_reached_over_plain_http(server: HttpTestServer) -> None:
    policy = HttpTargetPolicy(allow_hosts=("LOCALHOST.",))
    async with open_http_client(policy) as client:
        url = f"http://localhost:{server.port}/hook"
        response = await post_json(client, url, b'{"a": 1}', {"x-extra": "1"})
    assert classify_http_response(response).status_code == 200
    (request,) = server.requests
    assert (request.method, request.target, request.body) == ("POST", "/hook", b'{"a": 1}')
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("Septet/")
    assert request.headers["accept-encoding"] == "identity"
    assert request.headers["x-extra"] == "1"


@pytest.mark.trio
async def test_an_allowed_network_is_reached_by_name(server: HttpTestServer) -> None:
    use_fake_dns({"receiver.test": ["127.0.0.1"]})
    async with open_http_client(LOCAL) as client:
        response = await post_json(client, f"http://receiver.test:{server.port}/", b"{}")
    assert response.status_code == 200
    assert response.excerpt == "ok"
    assert server.requests[0].headers["host"] == f"receiver.test:{server.port}"


@pytest.mark.trio
async def test_https_only_refuses_plain_http(server: HttpTestServer) -> None:
    use_fake_dns({"receiver.test": ["127.0.0.1"]})
    policy = HttpTargetPolicy(allow_networks=("127.0.0.0/8",))
    async with open_http_client(policy) as client:
        with pytest.raises(PermanentDeliveryError, match=r"plain http:// to receiver\.test"):
            await post_json(client, f"http://receiver.test:{server.port}/", b"{}")
    assert server.requests == []


def tls_server_context(ca: trustme.CA, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    return context


@pytest.mark.trio
async def test_tls_verifies_the_url_host_while_connecting_to_the_checked_address() -> None:
    ca = trustme.CA()
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    use_fake_dns({"receiver.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]})
    policy = HttpTargetPolicy(allow_networks=("127.0.0.1/32",))
    context = tls_server_context(ca, "receiver.test")
    async with (
        open_http_server(ssl_context=context) as server,
        open_http_client(policy, ssl_context=client_context) as client,
    ):
        ok = await post_json(client, f"https://receiver.test:{server.port}/", b"{}")
        assert ok.status_code == 200
        with pytest.raises(RetryableDeliveryError, match="TLS handshake failed") as caught:
            await post_json(client, f"https://impostor.test:{server.port}/", b"{}")
    assert "impostor.test" in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.trio
async def test_a_redirect_is_not_followed(server: HttpTestServer) -> None:
    server.answer(Answer(status=302, headers=(("location", f"{server.url}/next"),)))
    async with open_http_client(LOCAL) as client:
        response = await post_json(client, f"{server.url}/hook", b"{}")
    with pytest.raises(RetryableDeliveryError, match="redirects are not followed") as caught:
        classify_http_response(response)
    assert caught.value.status_code == 302
    assert [request.target for request in server.requests] == ["/hook"]


@pytest.mark.trio
async def test_an_endless_answer_is_read_up_to_the_cap(server: HttpTestServer) -> None:
    server.answer(Answer(body=b"start ", endless=True))
    async with open_http_client(LOCAL) as client:
        response = await post_json(client, server.url, b"{}", read_limit=100_000)
    assert len(response.body) == 100_000
    assert response.truncated
    assert response.excerpt.startswith("start xxx")
    assert len(response.excerpt.encode()) == 4096
    assert classify_http_response(response).response == response.excerpt


@pytest.mark.trio
async def test_a_slow_answer_is_a_throttled_retry(server: HttpTestServer) -> None:
    server.answer(Answer(delay=30))
    async with open_http_client(LOCAL, total_timeout=0.2) as client:
        with pytest.raises(RetryableDeliveryError, match="no answer in time") as caught:
            await post_json(client, server.url, b"{}")
    assert caught.value.throttled


@pytest.mark.trio
async def test_a_body_trickling_past_the_total_timeout_is_a_throttled_retry(
    server: HttpTestServer,
) -> None:
    # Every chunk comes well within the read timeout; only the overall deadline stops it.
    server.answer(Answer(endless=True, chunk_interval=0.02))
    async with open_http_client(LOCAL, total_timeout=0.3) as client:
        with pytest.raises(RetryableDeliveryError, match="total timeout") as caught:
            await post_json(client, server.url, b"{}", read_limit=10**9)
    assert caught.value.throttled


@pytest.mark.trio
async def test_a_refused_connection_is_a_plain_retry() -> None:
    with trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        async with open_http_client(LOCAL) as client:
            with pytest.raises(RetryableDeliveryError, match="connection failed") as caught:
                await post_json(client, f"http://127.0.0.1:{port}/", b"{}")
    assert not caught.value.throttled


@pytest.mark.trio
async def test_a_name_without_addresses_is_a_plain_retry() -> None:
    use_fake_dns({"nowhere.test": []})
    async with open_http_client(STRICT) as client:
        with pytest.raises(RetryableDeliveryError, match="resolves to no address") as caught:
            await post_json(client, "https://nowhere.test/", b"{}")
    assert not caught.value.throttled


@pytest.mark.trio
async def test_secrets_echoed_by_the_target_are_redacted(server: HttpTestServer) -> None:
    echo = f"got /hooks/{SECRET_TOKEN}?sig=q8s7d6f5g4&wait=true signed with whsec_c2VjcmV0"
    server.answer(Answer(status=400, body=echo.encode()))
    async with open_http_client(LOCAL) as client:
        url = f"{server.url}/hooks/{SECRET_TOKEN}?sig=q8s7d6f5g4&wait=true"
        response = await post_json(client, url, b"{}", redact=["whsec_c2VjcmV0", "1"])
    assert response.excerpt == (
        "got /hooks/[redacted]?sig=[redacted]&wait=true signed with [redacted]"
    )
    with pytest.raises(PermanentDeliveryError) as caught:
        classify_http_response(response)
    assert SECRET_TOKEN not in str(caught.value)
    assert caught.value.response == response.excerpt


def answer(status: int, headers: dict[str, str] | None = None) -> HttpTargetResponse:
    return HttpTargetResponse(
        target="https://example.com",
        status_code=status,
        headers=httpx.Headers(headers or {}),
        body=b"why",
        excerpt="why",
        truncated=False,
    )


@pytest.mark.parametrize(
    ("status", "kind", "throttled", "disable"),
    [
        (301, RetryableDeliveryError, False, None),
        (400, PermanentDeliveryError, None, False),
        (401, PermanentDeliveryError, None, False),
        (404, PermanentDeliveryError, None, False),
        (408, RetryableDeliveryError, False, None),
        (410, PermanentDeliveryError, None, True),
        (422, PermanentDeliveryError, None, False),
        (425, RetryableDeliveryError, False, None),
        (429, RetryableDeliveryError, True, None),
        (500, RetryableDeliveryError, False, None),
        (502, RetryableDeliveryError, True, None),
        (503, RetryableDeliveryError, False, None),
        (504, RetryableDeliveryError, True, None),
    ],
)
def test_each_status_is_classified(
    status: int, kind: type[Exception], throttled: bool | None, disable: bool | None
) -> None:
    with pytest.raises(kind) as caught:
        classify_http_response(answer(status, {"retry-after": "7"}))
    error = caught.value
    assert isinstance(error, RetryableDeliveryError | PermanentDeliveryError)
    assert (error.status_code, error.response) == (status, "why")
    assert "https://example.com answered" in str(error)
    if isinstance(error, RetryableDeliveryError):
        assert error.throttled is throttled
        assert error.retry_after == (None if status < 400 else 7.0)
    else:
        assert error.disable is disable


def test_a_2xx_is_a_receipt() -> None:
    receipt = classify_http_response(answer(204))
    assert (receipt.status_code, receipt.response) == (204, "why")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("Wed, 01 Jan 2025 12:00:30 GMT", 30.0),
        ("Wed, 01 Jan 2025 11:00:00 GMT", 0.0),
        ("soon", None),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(value: str | None, seconds: float | None) -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == seconds


def test_a_configured_url_is_checked_without_showing_its_token() -> None:
    with pytest.raises(ConfigError, match="must be an https:// URL") as caught:
        validate_target_url(f"ftp://example.com/{SECRET_TOKEN}", STRICT, key="url")
    assert caught.value.key == "url"
    with pytest.raises(ConfigError, match="plain http://") as caught:
        validate_target_url(f"http://example.com/{SECRET_TOKEN}", STRICT)
    with pytest.raises(ConfigError, match="metadata") as caught:
        validate_target_url(f"https://169.254.169.254/{SECRET_TOKEN}", STRICT)
    assert SECRET_TOKEN not in str(caught.value)
    with pytest.raises(ConfigError, match="not a valid URL"):
        validate_target_url("https://[zz]/", STRICT)
    allowed = HttpTargetPolicy(allow_hosts=("127.0.0.1",))
    assert validate_target_url("http://127.0.0.1:8080/x", allowed).port == 8080


def test_redact_url_keeps_scheme_host_and_port() -> None:
    assert redact_url(f"https://user:pw@hooks.example.com/{SECRET_TOKEN}?t=1") == (
        "https://hooks.example.com"
    )
    assert redact_url("http://[::1]:8080/x") == "http://[::1]:8080"
    assert redact_url("https://[zz]/") == "<invalid URL>"


def test_policy_settings_are_validated() -> None:
    with pytest.raises(msgspec.ValidationError, match="not a CIDR network"):
        msgspec.convert({"allow_networks": ["10.0.0.300/8"]}, HttpTargetPolicy)
    with pytest.raises(msgspec.ValidationError, match="host names, not URLs"):
        msgspec.convert({"allow_hosts": ["http://x.test/"]}, HttpTargetPolicy)
    with pytest.raises(msgspec.ValidationError, match="total_timeout"):
        msgspec.convert({"url": "https://x.test", "total_timeout": 0}, HttpDestinationConfig)


def test_a_config_repr_shows_no_token() -> None:
    config = HttpDestinationConfig(url=f"https://hooks.example.com/{SECRET_TOKEN}")
    assert SECRET_TOKEN not in repr(config)
    assert "https://hooks.example.com" in repr(config)
    assert dict(config.__rich_repr__())["url"] == "https://hooks.example.com"


@pytest.mark.trio
async def test_what_a_client_shows_of_a_url_and_hides_in_its_answers() -> None:
    url = httpx.URL("https://user:pw@hooks.example/services/T0123456789ABCDEFGH?token=s3cr3t-v4lue")
    async with open_http_client(STRICT) as client:
        shown, secrets = client.shown_and_secrets(url, ("whsec_signing",))
        assert shown == "https://hooks.example"
        assert {"pw", "T0123456789ABCDEFGH", "s3cr3t-v4lue", "whsec_signing"} <= set(secrets)
        # Worked out once per URL and redaction: the same answer again.
        assert client.shown_and_secrets(url, ("whsec_signing",)) == (shown, secrets)
