"""HTTP/1.1 framing of the destinations' client: what a request may hold, how answers are read.

Requests go to the h11 test server (an independent reader of HTTP/1.1); answers come from
a raw socket server on 127.0.0.1 that sends exactly the bytes a test scripts.
"""

from __future__ import annotations

import contextlib
import re
import string
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from http_server import open_http_server, use_fake_dns
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.delivery._http1 import (
    MAX_HEAD_BYTES,
    UnsendableRequest,
    encode_request,
)
from engine.plugin_api import (
    HttpTargetPolicy,
    PermanentDeliveryError,
    RetryableDeliveryError,
    open_http_client,
    post_json,
)

LOCAL = HttpTargetPolicy(https_only=False, allow_networks=("127.0.0.0/8",))
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
HOST = [(b"host", b"receiver.test")]

# Visible ASCII, the characters a header value is made of, and what may separate them.
VISIBLE = "".join(chr(code) for code in range(0x21, 0x7F))
values = (
    st.lists(st.text(VISIBLE, min_size=1, max_size=12), max_size=5)
    .flatmap(
        lambda words: st.lists(
            st.sampled_from([" ", "\t", " \t "]), min_size=len(words), max_size=len(words)
        ).map(lambda gaps: "".join(gap + word for gap, word in zip(gaps, words, strict=True)))
    )
    .map(str.lstrip)
)  # no gap before the first word
# Any ASCII text with at least one CR, LF or NUL somewhere in it.
forbidden_values = st.tuples(
    st.text(string.printable, max_size=10),
    st.sampled_from(["\r", "\n", "\0", "\r\n"]),
    st.text(string.printable, max_size=10),
).map("".join)


# The request serialiser ----------------------------------------------------------------


@given(forbidden_values)
def test_a_header_value_with_cr_lf_or_nul_is_refused_without_being_shown(value: str) -> None:
    secret = f"s3cr3t-{value}"
    with pytest.raises(UnsendableRequest, match="x-token") as caught:
        encode_request(b"POST", b"/", [*HOST, (b"x-token", secret.encode())], b"")
    assert "s3cr3t" not in str(caught.value)


# RFC 9110's field value, as a regular expression: visible characters and obs-text, runs
# of spaces and tabs between them, none at either end, no NUL.
FIELD_VALUE = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")


@given(
    st.lists(
        st.sampled_from([b"a", b"~", b"\x80", b" ", b"\t", b"\r", b"\n", b"\0", b"\x0b", b"\x0c"]),
        max_size=8,
    ).map(b"".join),
    st.integers(min_value=0, max_value=3),
)
def test_a_header_value_is_refused_exactly_when_the_grammar_refuses_it(
    value: bytes, place: int
) -> None:
    # The encoder checks the values of a whole head at once: wherever the value stands
    # among other headers, it is refused (by name) exactly when the grammar says so.
    fields = [*HOST, (b"x-a", b"1"), (b"x-b", b"two words"), (b"x-c", b"3")]
    fields.insert(1 + place, (b"x-value", value))
    if FIELD_VALUE.fullmatch(value):
        request = encode_request(b"POST", b"/", fields, b"")
        assert b"\r\nx-value: " + value + b"\r\n" in request.data
    else:
        with pytest.raises(UnsendableRequest, match="x-value"):
            encode_request(b"POST", b"/", fields, b"")


@pytest.mark.parametrize("value", [" padded", "padded ", "\tpadded", "a\x0bb", "a\x0cb"])
def test_a_header_value_with_white_space_at_an_end_or_inside_is_refused(value: str) -> None:
    with pytest.raises(UnsendableRequest, match="white space"):
        encode_request(b"POST", b"/", [*HOST, (b"x-value", value.encode())], b"")


@pytest.mark.parametrize(
    ("method", "target", "fields", "body", "why"),
    [
        (b"PO ST", b"/", HOST, b"", "method 'PO ST' is not an HTTP token"),
        (b"", b"/", HOST, b"", "method '' is not an HTTP token"),
        (b"HEAD", b"/", HOST, b"", "HEAD requests are not supported"),
        (b"connect", b"/", HOST, b"", "connect requests are not supported"),
        (b"POST", b"/a b", HOST, b"", "request target"),
        (b"POST", b"", HOST, b"", "request target"),
        (b"POST", b"/", [*HOST, (b"x:y", b"1")], b"", "header name 'x:y'"),
        (b"POST", b"/", [*HOST, (b"x\r\ny", b"1")], b"", r"header name 'x\\r\\ny'"),
        (b"POST", b"/", [], b"", "no host header"),
        (b"POST", b"/", [*HOST, (b"Host", b"other.test")], b"", "host header is given twice"),
        (b"POST", b"/", [*HOST, (b"content-length", b"x")], b"", "not one length"),
        (b"POST", b"/", [*HOST, (b"content-length", b"1, 2")], b"a", "not one length"),
        (b"POST", b"/", [*HOST, (b"content-length", b"1\r")], b"a", "value of the header"),
        (
            b"POST",
            b"/",
            [*HOST, (b"content-length", b"1"), (b"Content-Length", b"2")],
            b"a",
            "disagree",
        ),
        (b"POST", b"/", [*HOST, (b"content-length", b"3")], b"ab", "2 bytes long"),
        (b"POST", b"/", HOST, b"ab", "content-length says 0"),
        (b"POST", b"/", [*HOST, (b"transfer-encoding", b"gzip")], b"", "only transfer-enc"),
    ],
)
def test_a_request_http_cannot_carry_is_refused(
    method: bytes, target: bytes, fields: list[tuple[bytes, bytes]], body: bytes, why: str
) -> None:
    with pytest.raises(UnsendableRequest, match=why):
        encode_request(method, target, fields, body)


def test_a_request_is_written_host_first_with_its_body() -> None:
    fields = [(b"X-One", b"1"), (b"Host", b"h.test"), (b"content-length", b"2, 2")]
    request = encode_request(b"PUT", b"/p?q=1", fields, b"{}")
    assert (
        request.data
        == b"PUT /p?q=1 HTTP/1.1\r\nHost: h.test\r\nX-One: 1\r\ncontent-length: 2\r\n\r\n{}"
    )
    assert request.keep_alive
    closing = encode_request(b"GET", b"/", [*HOST, (b"Connection", b"Keep-Alive, Close")], b"")
    assert not closing.keep_alive


@pytest.mark.trio
@settings(max_examples=40, deadline=None)
@given(value=values, body=st.binary(max_size=64))
async def test_a_valid_header_value_and_body_reach_a_real_server_unchanged(
    value: str, body: bytes
) -> None:
    async with open_http_server() as server, open_http_client(LOCAL) as client:
        answer = await client.request(
            "PATCH", f"{server.url}/v", content=body, headers={"x-value": value}
        )
    assert answer.status_code == 200
    (request,) = server.requests
    assert (request.method, request.body) == ("PATCH", body)
    assert request.headers["x-value"] == value


@pytest.mark.trio
async def test_a_chunked_request_is_framed_as_chunks() -> None:
    async with open_http_server() as server, open_http_client(LOCAL) as client:
        await client.request(
            "POST", server.url, content=b"in chunks", headers={"transfer-encoding": "chunked"}
        )
        await client.request(
            "POST", server.url, content=b"", headers={"Transfer-Encoding": "chunked"}
        )
    assert [request.body for request in server.requests] == [b"in chunks", b""]
    assert "content-length" not in server.requests[0].headers
    assert server.connections == 1


@pytest.mark.trio
async def test_a_head_request_is_refused_before_anything_is_sent() -> None:
    async with open_http_server() as server, open_http_client(LOCAL) as client:
        with pytest.raises(PermanentDeliveryError, match="HEAD requests are not supported"):
            await client.request("HEAD", server.url)
    assert server.connections == 0


@pytest.mark.trio
async def test_a_request_saying_connection_close_closes_it() -> None:
    async with open_http_server() as server, open_http_client(LOCAL) as client:
        for _ in range(2):
            await client.request("GET", server.url, headers={"connection": "close"})
    assert server.connections == 2


# Answers read off a raw socket -----------------------------------------------------------


class RawServer:
    """Answers each request with scripted bytes (then ``OK`` once the script runs out),
    closing the connection after an answer when the script says so."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.script: deque[tuple[bytes, bool]] = deque()
        self.connections = 0
        self.requests = 0

    async def serve(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        buffer = bytearray()
        async with stream:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    buffer += data
                head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    rest += await stream.receive_some(65536)
                buffer = bytearray(rest[length:])
                self.requests += 1
                answer, close = self.script.popleft() if self.script else (OK, False)
                try:
                    await stream.send_all(answer)
                except trio.BrokenResourceError:
                    return
                if close:
                    return


@asynccontextmanager
async def open_raw_server(*script: tuple[bytes, bool]) -> AsyncIterator[RawServer]:
    listeners: list[Any] = await trio.open_tcp_listeners(0, host="127.0.0.1")
    server = RawServer(listeners[0].socket.getsockname()[1])
    server.script.extend(script)

    async def serve(stream: trio.SocketStream) -> None:
        # The client may hang up at any point (a capped read, an answer it refused).
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await server.serve(stream)

    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, serve, listeners)
        yield server
        nursery.cancel_scope.cancel()


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;name=value\r\nhello\r\n6;flag\r\n world\r\n0\r\nx-trailer: t\r\n\r\n"
)
INTERIM = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    b"HTTP/1.1 201 Created\r\nX-Final: yes\r\nContent-Length: 7\r\n\r\ncreated"
)


@pytest.mark.trio
@pytest.mark.parametrize(
    ("answer", "close", "status", "body", "connections"),
    [
        # Chunked, with chunk extensions and a trailer: read whole, the connection kept.
        (CHUNKED, False, 200, b"hello world", 1),
        # No length: the body runs to the end of the stream; the next request reconnects.
        (b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nuntil the end", True, 200, b"until the end", 2),
        # Interim answers are skipped; the final one is read and the connection kept.
        (INTERIM, False, 201, b"created", 1),
        # A 204 has no body, whatever it says: the connection is kept.
        (b"HTTP/1.1 204 No Content\r\n\r\n", False, 204, b"", 1),
        # The server asks to close yet keeps the socket open: not reused (it would hang).
        (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nby",
            False,
            200,
            b"by",
            2,
        ),
        # HTTP/1.0, even with a keep-alive: not reused.
        (
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nold",
            False,
            200,
            b"old",
            2,
        ),
        # Bytes after the answer: the answer stands, the connection is not reused.
        (OK + b"HTTP/1.1 408 Request Timeout\r\n\r\n", False, 200, b"ok", 2),
        (OK + b"garbage", False, 200, b"ok", 2),
    ],
)
async def test_an_answer_is_framed_and_its_connection_kept_only_when_it_can_be(
    answer: bytes, close: bool, status: int, body: bytes, connections: int
) -> None:
    async with open_raw_server((answer, close)) as server:
        async with open_http_client(LOCAL, total_timeout=5) as client:
            first = await client.request("POST", server.url, content=b"{}")
            await trio.sleep(0.02)  # a close by the server reaches the client
            second = await client.request("POST", server.url, content=b"{}")
        assert (first.status_code, first.body, first.truncated) == (status, body, False)
        assert (second.status_code, second.body) == (200, b"ok")
        assert (server.requests, server.connections) == (2, connections)


@pytest.mark.trio
async def test_interim_answers_leave_no_header_in_the_final_one() -> None:
    async with open_raw_server((INTERIM, False)) as server, open_http_client(LOCAL) as client:
        answer = await client.request("POST", server.url)
    assert answer.headers["x-final"] == "yes"
    assert "link" not in answer.headers


@pytest.mark.trio
@pytest.mark.parametrize(
    "answer",
    [
        CHUNKED.replace(b"hello", b"hellohellohello").replace(b"5;", b"f;"),
        b"HTTP/1.1 200 OK\r\n\r\n" + b"y" * 40,  # to the end of the stream
        b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + b"y" * 40,
        # What comes after the part kept is not read, valid or not.
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n" + b"y" * 20 + b"\r\nzz\r\n",
    ],
)
async def test_a_body_over_the_read_limit_is_cut_and_its_connection_dropped(
    answer: bytes,
) -> None:
    async with open_raw_server((answer, False)) as server, open_http_client(LOCAL) as client:
        big = await client.request("POST", server.url, read_limit=10)
        after = await client.request("POST", server.url)
    assert (len(big.body), big.truncated) == (10, True)
    assert after.body == b"ok"
    assert server.connections == 2


@pytest.mark.trio
@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (b"garbage\r\n\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", "cut short"),
        (b"HTTP/1.1 200 OK\r\nContent-Len", "cut short"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "cut short"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", "transfer coding 'gzip'"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched protocols"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            "not valid HTTP/1.1",
        ),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"h" * (3 * MAX_HEAD_BYTES), "head exceeds"),
    ],
)
async def test_an_answer_that_cannot_be_read_is_a_retry_never_sent_again(
    answer: bytes, why: str
) -> None:
    async with open_raw_server((answer, True)) as server, open_http_client(LOCAL) as client:
        with pytest.raises(RetryableDeliveryError, match=why) as caught:
            await post_json(client, server.url, b"{}")
        assert not caught.value.throttled
        assert server.requests == 1
        assert (await post_json(client, server.url, b"{}")).status_code == 200


@pytest.mark.trio
async def test_a_kept_alive_connection_closed_before_any_byte_is_replayed() -> None:
    # The server closes the kept-alive connection instead of answering the second request:
    # it goes again, once, on a new connection.
    async with open_raw_server((OK, False), (b"", True)) as server:
        async with open_http_client(LOCAL) as client:
            await client.request("POST", server.url)
            again = await client.request("POST", server.url)
        assert again.body == b"ok"
        assert (server.requests, server.connections) == (3, 2)


@pytest.mark.trio
async def test_a_url_kept_between_requests_still_has_its_addresses_checked() -> None:
    # The URL's verdict is kept; what its host resolves to is checked at every connection.
    policy = HttpTargetPolicy(https_only=False, allow_networks=("127.0.0.1/32",))
    async with open_raw_server((OK, True)) as server, open_http_client(policy) as client:
        url = server.url.replace("127.0.0.1", "receiver.test")
        use_fake_dns({"receiver.test": ["127.0.0.1"]})
        assert (await client.request("POST", url)).body == b"ok"
        use_fake_dns({"receiver.test": ["127.0.0.2"]})  # rebinding to a refused address
        with pytest.raises(PermanentDeliveryError, match=r"127\.0\.0\.2 is loopback"):
            await client.request("POST", url)
    assert server.requests == 1


@pytest.mark.trio
async def test_a_client_keeps_working_past_the_urls_it_keeps() -> None:
    async with open_raw_server() as server, open_http_client(LOCAL) as client:
        for round_ in range(2):
            for number in range(100):
                answer = await client.request("POST", f"{server.url}/{number}?r={round_}")
                assert answer.body == b"ok"
        with pytest.raises(PermanentDeliveryError, match="https:// URL with a host"):
            await client.request("POST", "ftp://receiver.test/")
    assert (server.requests, server.connections) == (200, 1)
