"""The destinations' HTTP client on the wire: kept-alive connections, their limits, framing."""

from __future__ import annotations

import gc
import ssl
from collections.abc import AsyncIterator

import pytest
import trio
import trustme
from http_server import Answer, HttpTestServer, open_http_server, use_fake_dns

from engine.plugin_api import (
    HttpClient,
    HttpTargetPolicy,
    PermanentDeliveryError,
    RetryableDeliveryError,
    open_http_client,
    post_json,
)

LOCAL = HttpTargetPolicy(https_only=False, allow_networks=("127.0.0.0/8",))


@pytest.fixture
async def server() -> AsyncIterator[HttpTestServer]:
    async with open_http_server() as server:
        yield server


async def post_times(client: HttpClient, url: str, count: int) -> list[int]:
    return [(await post_json(client, url, b"{}")).status_code for _ in range(count)]


@pytest.mark.trio
async def test_one_connection_carries_request_after_request(server: HttpTestServer) -> None:
    async with open_http_client(LOCAL) as client:
        assert await post_times(client, f"{server.url}/hook", 5) == [200] * 5
    assert server.connections == 1
    assert len(server.requests) == 5


@pytest.mark.trio
async def test_an_exchange_leaves_no_reference_cycle_for_the_garbage_collector(
    server: HttpTestServer,
) -> None:
    # A delivery per message: garbage in cycles would pile up until the collector
    # pauses the engine to free it. Reference counting alone frees an exchange's reader.
    async with open_http_client(LOCAL) as client:
        await post_times(client, f"{server.url}/hook", 1)  # the connection is open
        gc.collect()
        gc.disable()
        try:
            assert await post_times(client, f"{server.url}/hook", 20) == [200] * 20
            readers = [o for o in gc.get_objects() if type(o).__name__ == "AnswerReader"]
        finally:
            gc.enable()
    assert readers == []


@pytest.mark.trio
async def test_a_body_larger_than_the_socket_buffers_goes_out_whole(
    server: HttpTestServer,
) -> None:
    # 8 MiB cannot go out in one send on a plain connection: the client sends what the
    # socket takes, waits until it takes more, and the answer (itself several reads'
    # worth) comes back whole.
    body = bytes(range(256)) * 32768
    server.answer(Answer(body=b"y" * 300_000))
    async with open_http_client(LOCAL) as client:
        answer = await client.request("POST", f"{server.url}/big", content=body, read_limit=1 << 20)
        again = await post_json(client, f"{server.url}/small", b"{}")
    assert answer.status_code == 200
    assert answer.body == b"y" * 300_000
    assert server.requests[0].body == body
    assert again.status_code == 200
    assert server.connections == 1  # the big exchange left the connection usable


@pytest.mark.trio
async def test_a_connection_the_server_closed_while_idle_is_replaced(
    server: HttpTestServer,
) -> None:
    server.answer(Answer(body=b"first", close=True))
    async with open_http_client(LOCAL) as client:
        first = await post_json(client, server.url, b"{}")
        await trio.sleep(0.05)  # the server's close reaches the client
        second = await post_json(client, server.url, b"{}")
    assert (first.excerpt, second.excerpt) == ("first", "ok")
    assert server.connections == 2


@pytest.mark.trio
async def test_a_request_lost_to_a_stale_connection_is_sent_once_more(
    server: HttpTestServer,
) -> None:
    # The server closes the kept-alive connection just as the second request arrives,
    # before a byte of answer: that request goes again, once, on a new connection.
    server.answer(Answer(body=b"first"), Answer(drop=True), Answer(body=b"again"))
    async with open_http_client(LOCAL) as client:
        first = await post_json(client, server.url, b"{}")
        second = await post_json(client, server.url, b'{"n": 2}')
    assert (first.excerpt, second.excerpt) == ("first", "again")
    assert [request.body for request in server.requests] == [b"{}", b'{"n": 2}', b'{"n": 2}']
    assert server.connections == 2


@pytest.mark.trio
async def test_a_new_connection_closed_without_an_answer_is_not_retried(
    server: HttpTestServer,
) -> None:
    server.answer(Answer(drop=True))
    async with open_http_client(LOCAL) as client:
        with pytest.raises(RetryableDeliveryError, match="without answering") as caught:
            await post_json(client, server.url, b"{}")
    assert not caught.value.throttled
    assert len(server.requests) == 1


@pytest.mark.trio
async def test_an_answer_cut_short_is_never_sent_again(server: HttpTestServer) -> None:
    # Part of the answer came: the receiver may have acted on the request.
    server.answer(Answer(body=b"first"), Answer(body=b"partial", cut_short=True))
    async with open_http_client(LOCAL) as client:
        await post_json(client, server.url, b"{}")
        with pytest.raises(RetryableDeliveryError, match=r"connection failed.*cut short"):
            await post_json(client, server.url, b"{}")
        assert (await post_json(client, server.url, b"{}")).status_code == 200
    assert len(server.requests) == 3
    assert server.connections == 2


@pytest.mark.trio
async def test_connection_close_from_the_server_is_honoured(server: HttpTestServer) -> None:
    # The server asks to close but leaves the socket open: reusing it would hang.
    server.answer(Answer(headers=(("connection", "close"),), keep_open=True))
    async with open_http_client(LOCAL, total_timeout=2) as client:
        assert await post_times(client, server.url, 3) == [200] * 3
    assert server.connections == 2


@pytest.mark.trio
async def test_an_idle_connection_is_closed_after_the_idle_timeout(
    server: HttpTestServer,
) -> None:
    async with open_http_client(LOCAL, idle_timeout=0.05) as client:
        await post_times(client, server.url, 2)
        await trio.sleep(0.1)
        await post_times(client, server.url, 2)
    assert server.connections == 2


@pytest.mark.trio
async def test_a_target_no_longer_asked_for_keeps_no_connection_open() -> None:
    async with (
        open_http_server() as left,
        open_http_server() as right,
        open_http_client(LOCAL, idle_timeout=0.05) as client,
    ):
        await post_json(client, left.url, b"{}")
        await trio.sleep(0.1)
        await post_json(client, right.url, b"{}")
        await trio.sleep(0.05)  # the client's close reaches the server
        assert (left.open_connections, right.open_connections) == (0, 1)


@pytest.mark.trio
async def test_a_chunked_answer_is_read_and_the_connection_kept(server: HttpTestServer) -> None:
    server.answer(Answer(body=b"a chunked answer, in pieces", chunked=True))
    async with open_http_client(LOCAL) as client:
        chunked = await post_json(client, server.url, b"{}")
        after = await post_json(client, server.url, b"{}")
    assert chunked.excerpt == "a chunked answer, in pieces"
    assert chunked.headers["transfer-encoding"] == "chunked"
    assert not chunked.truncated
    assert after.excerpt == "ok"
    assert server.connections == 1


@pytest.mark.trio
@pytest.mark.parametrize(
    ("size", "read_limit", "truncated", "connections"),
    [(200_000, 65536, True, 2), (1000, 1000, False, 1)],
)
async def test_only_an_answer_over_the_cap_drops_its_connection(
    server: HttpTestServer, size: int, read_limit: int, truncated: bool, connections: int
) -> None:
    server.answer(Answer(body=b"y" * size))
    async with open_http_client(LOCAL) as client:
        big = await post_json(client, server.url, b"{}", read_limit=read_limit)
        after = await post_json(client, server.url, b"{}")
    assert (len(big.body), big.truncated) == (min(size, read_limit), truncated)
    assert after.excerpt == "ok"
    assert server.connections == connections


@pytest.mark.trio
async def test_requests_run_side_by_side_up_to_max_connections() -> None:
    async with (
        open_http_server(default=Answer(body=b"ok", delay=0.1)) as server,
        open_http_client(LOCAL, max_connections=3) as client,
    ):
        statuses: list[int] = []

        async def post_one() -> None:
            statuses.append((await post_json(client, server.url, b"{}")).status_code)

        async with trio.open_nursery() as nursery:
            for _ in range(7):
                nursery.start_soon(post_one)
    assert statuses == [200] * 7
    assert server.most_in_flight == 3
    assert server.connections == 3


@pytest.mark.trio
async def test_a_request_that_timed_out_frees_its_turn(server: HttpTestServer) -> None:
    server.answer(Answer(delay=30))
    async with open_http_client(LOCAL, max_connections=1, total_timeout=0.2) as client:
        with pytest.raises(RetryableDeliveryError, match="no answer in time"):
            await post_json(client, server.url, b"{}")
        assert (await post_json(client, server.url, b"{}")).status_code == 200
    assert server.connections == 2


@pytest.mark.trio
async def test_a_callers_earlier_deadline_cuts_the_request_and_frees_its_turn(
    server: HttpTestServer,
) -> None:
    # A destination worker's timeout comes before the client's total timeout: the client
    # keeps no scope of its own then, and the caller's cancellation leaves nothing behind.
    server.answer(Answer(delay=30))
    async with open_http_client(LOCAL, max_connections=1, total_timeout=60) as client:
        with trio.move_on_after(0.2) as scope:
            await post_json(client, server.url, b"{}")
        assert scope.cancelled_caught
        assert (await post_json(client, server.url, b"{}")).status_code == 200
    assert server.connections == 2


@pytest.mark.trio
async def test_waiting_for_a_turn_counts_against_the_total_timeout() -> None:
    async with (
        open_http_server(default=Answer(delay=0.5)) as server,
        open_http_client(LOCAL, max_connections=1, total_timeout=0.3) as client,
    ):
        outcomes: list[str] = []

        async def post_one() -> None:
            try:
                await post_json(client, server.url, b"{}")
            except RetryableDeliveryError as exc:
                outcomes.append("throttled" if exc.throttled else "failed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(post_one)
            nursery.start_soon(post_one)
    assert outcomes == ["throttled", "throttled"]


@pytest.mark.trio
async def test_request_sends_other_methods_and_replaces_headers_whatever_their_case(
    server: HttpTestServer,
) -> None:
    async with open_http_client(LOCAL) as client:
        answer = await client.request(
            "GET", f"{server.url}/health?full=1", headers={"User-Agent": "probe/1"}
        )
    assert (answer.status_code, answer.body, answer.truncated) == (200, b"ok", False)
    (request,) = server.requests
    assert (request.method, request.target) == ("GET", "/health?full=1")
    assert request.headers["user-agent"] == "probe/1"
    assert "content-length" not in request.headers
    assert "ok" not in repr(answer)  # the body is never shown


@pytest.mark.trio
async def test_a_request_with_an_invalid_header_is_refused_without_showing_it(
    server: HttpTestServer,
) -> None:
    async with open_http_client(LOCAL) as client:
        with pytest.raises(PermanentDeliveryError, match="cannot be sent") as caught:
            await post_json(client, server.url, b"{}", {"authorization": "Bearer s3cr3t\r\nx: 1"})
    assert "s3cr3t" not in str(caught.value)
    assert server.requests == []


@pytest.mark.trio
async def test_a_closed_client_sends_nothing(server: HttpTestServer) -> None:
    client = open_http_client(LOCAL)
    await post_json(client, server.url, b"{}")
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await post_json(client, server.url, b"{}")
    assert len(server.requests) == 1


def test_max_connections_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        open_http_client(LOCAL, max_connections=0)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_contexts(ca: trustme.CA, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(the server's context, for ``name``; a client's context trusting ``ca``)."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


@pytest.mark.trio
async def test_a_tls_connection_is_kept_and_reused(ca: trustme.CA) -> None:
    use_fake_dns({"receiver.test": ["127.0.0.1"]})
    server_context, client_context = tls_contexts(ca, "receiver.test")
    async with (
        open_http_server(ssl_context=server_context) as server,
        open_http_client(LOCAL, ssl_context=client_context) as client,
    ):
        url = f"https://receiver.test:{server.port}/hook"
        assert await post_times(client, url, 3) == [200] * 3
    assert server.connections == 1
    assert server.requests[0].headers["host"] == f"receiver.test:{server.port}"


@pytest.mark.trio
async def test_a_certificate_for_another_name_is_refused(ca: trustme.CA) -> None:
    use_fake_dns({"receiver.test": ["127.0.0.1"]})
    server_context, client_context = tls_contexts(ca, "someone-else.test")
    async with (
        open_http_server(ssl_context=server_context) as server,
        open_http_client(LOCAL, ssl_context=client_context) as client,
    ):
        with pytest.raises(RetryableDeliveryError, match="TLS handshake failed") as caught:
            await post_json(client, f"https://receiver.test:{server.port}/", b"{}")
    assert "receiver.test" in str(caught.value)
    assert not caught.value.throttled
    assert server.requests == []


@pytest.mark.trio
async def test_an_untrusted_certificate_is_refused(ca: trustme.CA) -> None:
    use_fake_dns({"receiver.test": ["127.0.0.1"]})
    server_context, _ = tls_contexts(ca, "receiver.test")
    async with (
        open_http_server(ssl_context=server_context) as server,
        open_http_client(LOCAL) as client,  # the system's CAs: not the test CA
    ):
        with pytest.raises(RetryableDeliveryError, match="certificate verify failed"):
            await post_json(client, f"https://receiver.test:{server.port}/", b"{}")
    assert server.requests == []
