"""The outbox end to end: messages ingested through ``engine.open``, delivered by the
destination workers to real HTTP receivers on 127.0.0.1, on the real SQLite store.

The receivers are reached as ``localhost`` (the webhook refuses IP-literal URLs). Retry
schedules are fractions of a second; nothing here takes the throttled path's minute of
waiting except where a test only reads the time the retry is scheduled for.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
from http_server import Answer, HttpTestServer, RecordedRequest, open_http_server
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from structlog.testing import capture_logs

import engine
from engine import signing
from engine.config import Config, DestinationConfig
from engine.delivery import DestinationPolicy, RouteRule, RouteTable
from engine.model import DeliveryRecord, InboundText, Message
from engine.store import ClaimedDelivery, Store, open_sqlite_store

pytestmark = pytest.mark.trio

T = TypeVar("T")

NUMBER = "+15550001111"
OPS_NUMBER = "+15550002222"
SECRET = signing.generate_secret()

_carrier_ids = itertools.count()


def _text(
    text: str = "Your code is 482913", *, sender: str = "Acme", number: str = NUMBER
) -> InboundText:
    return InboundText(
        carrier="sandbox",
        number=number,
        sender=sender,
        text=text,
        carrier_message_id=f"cm-{next(_carrier_ids)}",
    )


def _url(server: HttpTestServer, path: str = "/sms") -> str:
    return server.url.replace("127.0.0.1", "localhost") + path


def _webhook(name: str, url: str, **policy: Any) -> DestinationConfig:
    """A webhook destination with a quick retry schedule and a breaker that stays out of
    the way unless a test sets its thresholds."""
    settings: dict[str, Any] = {
        "schedule": (0.05, 0.1),
        "breaker_failures": 1_000,
        "breaker_min_requests": 1_000,
        **policy,
    }
    return DestinationConfig(
        name=name,
        adapter="webhook",
        config={"url": url, "secrets": [SECRET], "allow_hosts": ["localhost"]},
        policy=DestinationPolicy(**settings),
    )


def _config(
    path: Path, *destinations: DestinationConfig, routes: RouteTable | None = None
) -> Config:
    if routes is None:
        routes = RouteTable(default=(destinations[0].name,))
    return Config(data_dir=str(path), destinations=destinations, routes=routes)


async def _eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, seconds: float = 5.0
) -> T:
    """Poll ``probe`` until ``accept`` says yes; fail after ``seconds``."""
    with trio.fail_after(seconds):
        while True:
            value = await probe()
            if accept(value):
                return value
            await trio.sleep(0.02)


async def _settled(
    septet: engine.Septet,
    count: int,
    status: str = "delivered",
    *,
    seconds: float = 5.0,
    **filters: Any,
) -> list[DeliveryRecord]:
    """The deliveries (matching ``filters``) once there are ``count``, all ``status``."""

    async def probe() -> list[DeliveryRecord]:
        return await septet.deliveries(limit=1_000, **filters)

    return await _eventually(
        probe,
        lambda found: len(found) == count and all(d.status == status for d in found),
        seconds=seconds,
    )


async def _requests(server: HttpTestServer, count: int) -> list[RecordedRequest]:
    async def probe() -> list[RecordedRequest]:
        await trio.lowlevel.checkpoint()
        return list(server.requests)

    return await _eventually(probe, lambda seen: len(seen) >= count)


async def _committed(septet: engine.Septet, items: Iterable[InboundText]) -> list[Message]:
    messages = []
    for item in items:
        result = await septet.ingest(item)
        assert result.message is not None
        messages.append(result.message)
    return messages


def _by_webhook_id(requests: Sequence[RecordedRequest]) -> dict[str, list[RecordedRequest]]:
    grouped: dict[str, list[RecordedRequest]] = {}
    for request in requests:
        grouped.setdefault(request.headers["webhook-id"], []).append(request)
    return grouped


def _message_ids(requests: Sequence[RecordedRequest]) -> list[str]:
    return [request.json()["data"]["id"] for request in requests]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# Delivering ----------------------------------------------------------------------------


async def test_a_message_arrives_signed_and_its_attempt_is_logged(tmp_path: Path) -> None:
    async with (
        open_http_server() as server,
        engine.open(_config(tmp_path, _webhook("hook", _url(server)))) as septet,
    ):
        [message] = await _committed(septet, [_text("Your code is 482913")])
        [record] = await _settled(septet, 1)
        attempts = await septet.delivery_attempts(record.id)
    [request] = server.requests
    assert (request.method, request.target) == ("POST", "/sms")
    assert Webhook(SECRET).verify(request.body, request.headers) == request.json()
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == record.id
    envelope = request.json()
    assert envelope["type"] == "message.received"
    assert envelope["data"]["id"] == message.id
    assert envelope["data"]["content"] == "Your code is 482913"
    assert envelope["data"]["senderId"] == "Acme"
    assert envelope["data"]["otp"]["code"] == "482913"
    assert (record.destination, record.message_id, record.status) == (
        "hook",
        message.id,
        "delivered",
    )
    assert (record.attempts, record.next_attempt_at, record.last_error) == (1, None, None)
    [attempt] = attempts
    assert (attempt.attempt, attempt.outcome, attempt.status_code) == (1, "delivered", 200)
    assert attempt.duration_ms > 0
    assert attempt.error is None
    assert attempt.response == "ok"
    assert record.created_at <= attempt.started_at <= record.updated_at


async def test_an_outage_loses_nothing_and_delivers_each_message_once(tmp_path: Path) -> None:
    routes = RouteTable(
        rules=(
            RouteRule(name="acme", sender_regex="^Acme$", destinations=("hook",)),
            RouteRule(name="alerts", keyword="alert", destinations=("pager",)),
        )
    )
    async with (
        open_http_server(default=Answer(status=503)) as server,
        open_http_server() as pager,
    ):
        config = _config(
            tmp_path,
            _webhook("hook", _url(server), schedule=(0.05,) * 50),
            _webhook("pager", _url(pager)),
            routes=routes,
        )
        async with engine.open(config) as septet:
            messages = await _committed(
                septet, [_text(f"Your code is {100000 + n}") for n in range(20)]
            )

            async def deliveries() -> list[DeliveryRecord]:
                return await septet.deliveries(limit=1_000)

            # Every delivery has failed at least twice before the receiver comes back.
            await _eventually(
                deliveries, lambda found: len(found) == 20 and all(d.attempts >= 2 for d in found)
            )
            assert {d.status for d in await deliveries()} <= {"pending", "delivering"}
            server.default = Answer(body=b"ok")
            records = await _settled(septet, 20)
            logs = {d.id: await septet.delivery_attempts(d.id) for d in records}
            assert await septet.deliveries(destination="pager") == []
    assert pager.requests == []
    assert {d.message_id for d in records} == {m.id for m in messages}
    assert {d.destination for d in records} == {"hook"}
    received = _by_webhook_id(server.requests)
    assert received.keys() == logs.keys()
    for record in records:
        log = logs[record.id]
        requests = received[record.id]
        # Every request the receiver saw is in the log, and only the last one took.
        assert len(requests) == len(log) == record.attempts >= 3
        assert [a.attempt for a in log] == list(range(1, len(log) + 1))
        assert [a.outcome for a in log] == ["retry"] * (len(log) - 1) + ["delivered"]
        assert [a.status_code for a in log] == [503] * (len(log) - 1) + [200]
        # A retry is the very same event: the same id, the same signed body.
        assert {r.body for r in requests} == {requests[0].body}
        assert requests[0].json()["data"]["id"] == record.message_id
        for request in requests:
            Webhook(SECRET).verify(request.body, request.headers)


async def test_a_receiver_not_listening_yet_gets_everything_once_it_listens(
    tmp_path: Path,
) -> None:
    port = _free_port()  # nothing listens there until the receiver starts below
    url = f"http://localhost:{port}/sms"
    async with engine.open(
        _config(tmp_path, _webhook("hook", url, schedule=(0.05,) * 50))
    ) as septet:
        messages = await _committed(septet, [_text(f"message {n}") for n in range(3)])

        async def deliveries() -> list[DeliveryRecord]:
            return await septet.deliveries()

        failing = await _eventually(
            deliveries, lambda found: len(found) == 3 and all(d.attempts >= 2 for d in found)
        )
        assert all("connection failed" in (d.last_error or "") for d in failing)
        async with open_http_server(port=port) as server:
            records = await _settled(septet, 3)
            logs = [await septet.delivery_attempts(d.id) for d in records]
    assert sorted(_message_ids(server.requests)) == sorted(m.id for m in messages)
    assert sorted(r.headers["webhook-id"] for r in server.requests) == sorted(d.id for d in records)
    for log in logs:
        assert [a.outcome for a in log][-1] == "delivered"
        assert all(a.status_code is None and a.error for a in log[:-1])


# Routes ---------------------------------------------------------------------------------


async def test_routes_pick_each_messages_destinations(tmp_path: Path) -> None:
    names = ("bank", "audit", "ops", "codes", "fallback")
    routes = RouteTable(
        rules=(
            RouteRule(name="bank", sender_regex="(?i)^acme ?bank$", destinations=("bank",)),
            RouteRule(name="audit", numbers=(OPS_NUMBER,), destinations=("audit",), stop=False),
            RouteRule(name="ops", keyword="alert", destinations=("ops",)),
            RouteRule(name="codes", has_code=True, destinations=("codes",)),
        ),
        default=("fallback",),
    )
    async with open_http_server() as server:
        destinations = [_webhook(name, _url(server, f"/{name}")) for name in names]
        async with engine.open(_config(tmp_path, *destinations, routes=routes)) as septet:
            bank, alert, quiet, code, chat = await _committed(
                septet,
                [
                    _text("Your code is 123456", sender="AcmeBank"),  # first match stops
                    _text("ALERT: disk full", number=OPS_NUMBER),  # stop=False, then ops
                    _text("all quiet", number=OPS_NUMBER),  # a rule matched: no default
                    _text("Your code is 654321", sender="Shop"),
                    _text("see you at five", sender="Friend"),  # no rule: the default
                ],
            )
            records = await _settled(septet, 6)
    expected = {
        bank.id: {"bank"},
        alert.id: {"audit", "ops"},
        quiet.id: {"audit"},
        code.id: {"codes"},
        chat.id: {"fallback"},
    }
    routed: dict[str, set[str]] = {}
    for record in records:
        routed.setdefault(record.message_id, set()).add(record.destination)
    assert routed == expected
    arrived: dict[str, set[str]] = {}
    for request in server.requests:
        arrived.setdefault(request.json()["data"]["id"], set()).add(request.target.lstrip("/"))
    assert arrived == expected


async def test_new_routes_leave_committed_deliveries_to_their_destination(tmp_path: Path) -> None:
    async with open_http_server() as old_server, open_http_server() as new_server:
        destinations = (_webhook("old", _url(old_server)), _webhook("new", _url(new_server)))
        async with engine.open(
            _config(tmp_path, *destinations, routes=RouteTable(default=("old",)))
        ) as septet:
            await septet.disable_destination("old", "maintenance")
            [first] = await _committed(septet, [_text("before the change")])
        assert old_server.requests == []
        routes = RouteTable(rules=(RouteRule(name="acme", sender="Acme", destinations=("new",)),))
        async with engine.open(_config(tmp_path, *destinations, routes=routes)) as septet:
            assert await septet.disabled_destinations() == {"old": "maintenance"}
            second, unrouted = await _committed(
                septet, [_text("after the change"), _text("from nobody known", sender="Other")]
            )
            [new] = await _settled(septet, 1, destination="new")
            await septet.enable_destination("old")
            [old] = await _settled(septet, 1, destination="old")
            assert await septet.disabled_destinations() == {}
            assert await septet.deliveries(message_id=unrouted.id) == []
    assert (old.message_id, new.message_id) == (first.id, second.id)
    assert _message_ids(old_server.requests) == [first.id]
    assert _message_ids(new_server.requests) == [second.id]


# Retries, dead letters, replay ------------------------------------------------------------


async def test_retry_after_is_honoured_within_the_schedules_bounds(tmp_path: Path) -> None:
    # Each receiver answers the first attempt; the schedule's 10 s is jittered to [8, 12).
    answers = {
        "asked-15": (Answer(status=503, headers=(("retry-after", "15"),)), 15.0, 15.0),
        "asked-1000": (Answer(status=503, headers=(("retry-after", "1000"),)), 16.0, 24.0),
        "asked-0": (Answer(status=503, headers=(("retry-after", "0"),)), 8.0, 12.0),
        "throttled": (Answer(status=429), 60.0, 72.0),
    }
    async with (
        open_http_server(default=answers["asked-15"][0]) as asked_15,
        open_http_server(default=answers["asked-1000"][0]) as asked_1000,
        open_http_server(default=answers["asked-0"][0]) as asked_0,
        open_http_server(default=answers["throttled"][0]) as throttled,
    ):
        servers = {
            "asked-15": asked_15,
            "asked-1000": asked_1000,
            "asked-0": asked_0,
            "throttled": throttled,
        }
        destinations = [
            _webhook(name, _url(server), schedule=(10.0,)) for name, server in servers.items()
        ]
        routes = RouteTable(default=tuple(servers))
        async with engine.open(_config(tmp_path, *destinations, routes=routes)) as septet:
            await _committed(septet, [_text()])

            async def deliveries() -> list[DeliveryRecord]:
                return await septet.deliveries()

            records = await _eventually(
                deliveries,
                lambda found: (
                    len(found) == 4
                    and all(d.attempts == 1 and d.status == "pending" for d in found)
                ),
            )
            read_at = datetime.now(UTC)
            for record in records:
                [attempt] = await septet.delivery_attempts(record.id)
                _, least, most = answers[record.destination]
                assert record.next_attempt_at is not None
                assert attempt.outcome == "retry"
                earliest = attempt.started_at + timedelta(seconds=least)
                latest = read_at + timedelta(seconds=most)
                assert earliest <= record.next_attempt_at <= latest, record.destination
    for server in servers.values():
        assert len(server.requests) == 1


async def test_an_exhausted_delivery_fails_and_a_replay_delivers_it(tmp_path: Path) -> None:
    async with open_http_server(default=Answer(status=503)) as server:
        config = _config(tmp_path, _webhook("hook", _url(server), schedule=(0.05, 0.05)))
        async with engine.open(config) as septet:
            [message] = await _committed(septet, [_text()])
            [failed] = await _settled(septet, 1, status="failed")
            assert failed.attempts == 3
            assert failed.next_attempt_at is None
            assert failed.last_error is not None
            assert "503" in failed.last_error
            log = await septet.delivery_attempts(failed.id)
            assert [a.outcome for a in log] == ["retry", "retry", "failed"]
            # A fresh schedule: the first failure after the replay is retried, not final.
            server.answer(Answer(status=503))
            server.default = Answer(body=b"ok")
            assert await septet.replay(failed.id) == 1
            [delivered] = await _settled(septet, 1)
            log = await septet.delivery_attempts(failed.id)
    assert delivered.attempts == 5
    assert [a.attempt for a in log] == [1, 2, 3, 4, 5]
    assert [a.outcome for a in log] == ["retry", "retry", "failed", "retry", "delivered"]
    assert _message_ids(server.requests) == [message.id] * 5
    assert {r.headers["webhook-id"] for r in server.requests} == {failed.id}


async def test_replay_by_destination_and_window_sends_only_those_failed(tmp_path: Path) -> None:
    async with open_http_server(default=Answer(status=400)) as server:
        destinations = (_webhook("a", _url(server, "/a")), _webhook("b", _url(server, "/b")))
        routes = RouteTable(default=("a", "b"))
        async with engine.open(_config(tmp_path, *destinations, routes=routes)) as septet:
            [first] = await _committed(septet, [_text("first")])
            await _settled(septet, 2, status="failed")
            since = datetime.now(UTC)
            middle = await _committed(septet, [_text("second"), _text("third")])
            await _settled(septet, 6, status="failed")
            until = datetime.now(UTC)
            [last] = await _committed(septet, [_text("last")])
            await _settled(septet, 8, status="failed")
            refused = len(server.requests)
            server.default = Answer(body=b"ok")

            assert await septet.replay(destination="a", since=since, until=until) == 2

            async def delivered() -> list[DeliveryRecord]:
                return await septet.deliveries(status="delivered")

            await _eventually(delivered, lambda found: len(found) == 2)
            replayed = server.requests[refused:]
            assert sorted(_message_ids(replayed)) == sorted(m.id for m in middle)
            assert {r.target for r in replayed} == {"/a"}
            assert {d.message_id for d in await septet.deliveries(status="delivered")} == {
                m.id for m in middle
            }
            # The rest of a's failed ones; the delivered ones are not sent again.
            assert await septet.replay(destination="a") == 2
            await _settled(septet, 4, status="delivered", destination="a")
            # b was not named: its deliveries stay failed.
            assert [d.status for d in await septet.deliveries(destination="b")] == ["failed"] * 4
    again = server.requests[refused + 2 :]
    assert sorted(_message_ids(again)) == sorted([first.id, last.id])


async def test_a_permanent_refusal_fails_at_once_without_retry(tmp_path: Path) -> None:
    async with (
        open_http_server(default=Answer(status=400, body=b"bad payload")) as server,
        engine.open(_config(tmp_path, _webhook("hook", _url(server)))) as septet,
    ):
        await _committed(septet, [_text()])
        [failed] = await _settled(septet, 1, status="failed")
        await trio.sleep(0.2)  # longer than the whole retry schedule
        [attempt] = await septet.delivery_attempts(failed.id)
        assert (await septet.deliveries())[0].status == "failed"
    assert len(server.requests) == 1
    assert failed.attempts == 1
    assert (attempt.outcome, attempt.status_code, attempt.response) == (
        "failed",
        400,
        "bad payload",
    )
    assert failed.last_error == attempt.error
    assert attempt.error is not None
    assert "400" in attempt.error


async def test_410_gone_disables_the_destination_until_it_is_enabled(tmp_path: Path) -> None:
    async with open_http_server() as server:
        server.answer(Answer(status=410))
        async with engine.open(_config(tmp_path, _webhook("hook", _url(server)))) as septet:
            [gone] = await _committed(septet, [_text("first")])

            async def deliveries() -> list[DeliveryRecord]:
                return await septet.deliveries()

            [held] = await _eventually(deliveries, lambda found: found[0].attempts == 1)
            assert held.status == "pending"
            disabled = await septet.disabled_destinations()
            assert list(disabled) == ["hook"]
            assert "410" in disabled["hook"]
            [attempt] = await septet.delivery_attempts(held.id)
            assert (attempt.outcome, attempt.status_code) == ("held", 410)

            later = await _committed(septet, [_text("second"), _text("third")])
            await trio.sleep(0.2)  # a disabled destination is not attempted at all
            assert len(server.requests) == 1
            assert [d.attempts for d in await septet.deliveries()] == [1, 0, 0]

            await septet.enable_destination("hook")
            records = await _settled(septet, 3)
            assert await septet.disabled_destinations() == {}
            log = await septet.delivery_attempts(held.id)
    assert [a.outcome for a in log] == ["held", "delivered"]
    assert [d.attempts for d in records] == [2, 1, 1]
    assert _message_ids(server.requests[:1]) == [gone.id]
    assert sorted(_message_ids(server.requests[1:])) == sorted([gone.id] + [m.id for m in later])


# Restarts -----------------------------------------------------------------------------------


async def test_an_attempt_cut_short_by_a_restart_is_delivered_after_it(tmp_path: Path) -> None:
    async with open_http_server() as server:
        server.answer(Answer(delay=30.0))  # the receiver hangs on the first request
        config = _config(tmp_path, _webhook("hook", _url(server)))
        async with engine.open(config) as septet:
            [message] = await _committed(septet, [_text()])
            await _requests(server, 1)
            [under_way] = await septet.deliveries()
            assert under_way.status == "delivering"
        async with engine.open(config) as septet:
            [record] = await _settled(septet, 1)
            attempts = await septet.delivery_attempts(record.id)
    first, second = server.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == record.id
    assert first.body == second.body
    assert _message_ids([second]) == [message.id]
    # Every request the receiver saw is in the log, the cut-short one included.
    assert [(a.attempt, a.outcome) for a in attempts] == [(1, "retry"), (2, "delivered")]
    assert attempts[0].error == "interrupted: the engine stopped"


async def test_a_scheduled_retry_survives_a_restart(tmp_path: Path) -> None:
    async with open_http_server(default=Answer(status=503)) as server:
        config = _config(tmp_path, _webhook("hook", _url(server), schedule=(3600.0,)))
        async with engine.open(config) as septet:
            await _committed(septet, [_text()])

            async def deliveries() -> list[DeliveryRecord]:
                return await septet.deliveries()

            [waiting] = await _eventually(
                deliveries, lambda found: found[0].attempts == 1 and found[0].status == "pending"
            )
        server.default = Answer(body=b"ok")
        async with engine.open(config) as septet:
            await trio.sleep(0.2)  # not due for an hour: not attempted on start
            [kept] = await septet.deliveries()
            assert kept == waiting
            assert len(server.requests) == 1
            assert await septet.replay(kept.id) == 1
            [record] = await _settled(septet, 1)
    assert record.attempts == 2
    assert len(server.requests) == 2


# Ordering, concurrency, rate, breaker ---------------------------------------------------------


async def test_an_ordered_destination_delivers_in_commit_order(tmp_path: Path) -> None:
    async with open_http_server() as server:
        server.answer(Answer(status=503), Answer(status=503))
        config = _config(
            tmp_path, _webhook("hook", _url(server), ordered=True, schedule=(0.05, 0.05, 0.05))
        )
        async with engine.open(config) as septet:
            messages = await _committed(septet, [_text(f"message {n}") for n in range(5)])
            records = await _settled(septet, 5)
    first = messages[0].id
    assert _message_ids(server.requests) == [first, first, first] + [m.id for m in messages[1:]]
    assert [d.attempts for d in records] == [3, 1, 1, 1, 1]
    assert server.most_in_flight == 1


class _CountingStore:
    """A store that counts the claims made through it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.claims = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def claim_deliveries(self, *args: Any, **kwargs: Any) -> Sequence[ClaimedDelivery]:
        self.claims += 1
        return await self._store.claim_deliveries(*args, **kwargs)


async def test_an_ordered_destination_held_back_waits_without_polling(tmp_path: Path) -> None:
    async with (
        open_http_server() as server,
        open_sqlite_store(tmp_path / "septet.db") as real_store,
    ):
        server.answer(Answer(status=503))
        store = _CountingStore(real_store)
        config = _config(tmp_path, _webhook("hook", _url(server), ordered=True, schedule=(0.6,)))
        async with engine.open(config, store=store) as septet:
            await _committed(septet, [_text("first")])
            await _requests(server, 1)
            await _committed(septet, [_text("second")])  # due, but behind the first
            claims = store.claims
            await trio.sleep(0.3)
            assert store.claims - claims <= 3  # not a claim every few microseconds
            await _settled(septet, 2)
    assert len(server.requests) == 3


async def test_at_most_max_concurrency_attempts_are_in_flight(tmp_path: Path) -> None:
    async with open_http_server(default=Answer(body=b"ok", delay=0.1)) as server:
        config = _config(tmp_path, _webhook("hook", _url(server), max_concurrency=2))
        async with engine.open(config) as septet:
            await septet.ingest_many([_text(f"message {n}") for n in range(6)])
            await _settled(septet, 6)
    assert len(server.requests) == 6
    assert server.most_in_flight == 2


async def test_the_rate_limit_lets_only_a_burst_go_at_once(tmp_path: Path) -> None:
    rate, burst = 3.0, 2
    async with open_http_server() as server:
        config = _config(
            tmp_path,
            _webhook("hook", _url(server), rate_per_second=rate, burst=burst, max_concurrency=8),
        )
        async with engine.open(config) as septet:
            await septet.ingest_many([_text(f"message {n}") for n in range(4)])
            await _settled(septet, 4)
    arrivals = sorted(r.received_at for r in server.requests)
    assert len(arrivals) == 4
    # After the burst, one token comes every 1/rate s: half of that after the first
    # request, at most the burst has arrived.
    assert sum(1 for t in arrivals if t < arrivals[0] + 0.5 / rate) <= burst


async def test_the_breaker_opens_waits_its_cooldown_then_probes_once(tmp_path: Path) -> None:
    cooldown = 0.4
    async with open_http_server() as server:
        # Two failures open the breaker; the probe answers slowly, and well.
        server.answer(Answer(status=503), Answer(status=503), Answer(body=b"ok", delay=0.1))
        config = _config(
            tmp_path,
            _webhook(
                "hook",
                _url(server),
                schedule=(0.1,) * 20,
                breaker_failures=2,
                breaker_cooldown_seconds=cooldown,
            ),
        )
        async with engine.open(config) as septet:
            await septet.ingest_many([_text("first"), _text("second")])
            records = await _settled(septet, 2)
    first, second, probe, after = sorted(server.requests, key=lambda r: r.received_at)
    # Retries fell due every 100 ms, yet nothing went until the cooldown was over...
    assert probe.received_at - max(first.received_at, second.received_at) >= cooldown
    # ...and then one probe alone, the other delivery only once it succeeded.
    assert after.received_at - probe.received_at >= 0.1
    assert sorted(d.attempts for d in records) == [2, 2]


async def test_a_probe_is_not_spent_before_a_delivery_is_due(tmp_path: Path) -> None:
    # The retry falls due well after the cooldown: the probe must wait for it, not be
    # taken with nothing to send (which held the breaker half-open for 2 x the timeout).
    async with open_http_server() as server:
        server.answer(Answer(status=503))
        config = _config(
            tmp_path,
            _webhook(
                "hook",
                _url(server),
                schedule=(0.4,),
                breaker_failures=1,
                breaker_cooldown_seconds=0.1,
            ),
        )
        async with engine.open(config) as septet:
            await _committed(septet, [_text()])
            [record] = await _settled(septet, 1)
    assert record.attempts == 2


async def test_a_probe_refused_for_good_closes_the_breaker(tmp_path: Path) -> None:
    async with open_http_server() as server:
        server.answer(Answer(status=503), Answer(status=400))
        config = _config(
            tmp_path,
            _webhook(
                "hook",
                _url(server),
                schedule=(0.05,),
                breaker_failures=1,
                breaker_cooldown_seconds=0.1,
            ),
        )
        async with engine.open(config) as septet:
            [refused] = await _committed(septet, [_text("refused")])
            await _settled(septet, 1, status="failed")
            [later] = await _committed(septet, [_text("later")])
            [record] = await _settled(septet, 1, message_id=later.id)
    assert record.message_id == later.id
    assert _message_ids(server.requests) == [refused.id, refused.id, later.id]


# Metrics ---------------------------------------------------------------------------------------


async def test_delivery_metrics_are_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.delivery._outbox.DEPTH_SECONDS", 0.05)
    async with (
        open_http_server() as server,
        open_http_server(default=Answer(status=503)) as down,
    ):
        destinations = (
            _webhook("hook", _url(server)),
            _webhook("down", _url(down), schedule=(3600.0,)),
        )
        routes = RouteTable(default=("hook", "down"))
        async with engine.open(_config(tmp_path, *destinations, routes=routes)) as septet:
            await _committed(septet, [_text()])
            await _settled(septet, 1, destination="hook")

            async def render() -> str:
                await trio.lowlevel.checkpoint()
                return septet.metrics.render().decode()

            expected = (
                'septet_delivery_attempts_total{destination="hook",outcome="delivered"} 1.0',
                'septet_delivery_attempts_total{destination="down",outcome="retry"} 1.0',
                'septet_delivery_attempt_seconds_bucket{destination="hook",le=',
                'septet_delivered_seconds_bucket{destination="hook",le=',
                'septet_outbox_depth{destination="hook"} 0.0',
                'septet_outbox_depth{destination="down"} 1.0',
                'septet_outbox_oldest_seconds{destination="down"}',
            )
            text = await _eventually(render, lambda text: all(line in text for line in expected))
    assert 'septet_delivered_seconds_bucket{destination="down"' not in text


class _FlakyStore:
    """A real store whose outbox fails ``failures`` times, as a full disk would."""

    def __init__(self, store: Store, failures: int) -> None:
        self._store = store
        self.failures = failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def claim_deliveries(self, *args: Any, **kwargs: Any) -> Sequence[ClaimedDelivery]:
        if self.failures:
            self.failures -= 1
            raise engine.errors.StoreError("the database or its disk is full")
        return await self._store.claim_deliveries(*args, **kwargs)


async def test_a_failing_outbox_store_is_waited_out_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.delivery._outbox._STORE_BACKOFF_MIN", 0.01)
    async with open_http_server() as server, open_sqlite_store(tmp_path / "inbox.db") as real:
        flaky = _FlakyStore(real, failures=3)
        config = _config(tmp_path, _webhook("hook", _url(server)))
        async with engine.open(config, store=flaky) as septet:  # type: ignore[arg-type]

            async def failures_left() -> int:
                await trio.lowlevel.checkpoint()
                return flaky.failures

            # The worker's claims failed three times while it started: it kept going.
            await _eventually(failures_left, lambda left: left == 0)
            message = (await _committed(septet, [_text()]))[0]
            [delivery] = await _settled(septet, 1)
        assert delivery.message_id == message.id
        assert len(server.requests) == 1


async def test_a_duplicate_gives_back_the_slot_reserved_for_its_delivery(tmp_path: Path) -> None:
    # A new message's delivery is written already claimed when a slot is free; when the
    # message turns out to be a carrier's retry nothing is written, and the slot must come
    # back, or a destination with one slot would never deliver again.
    async with open_http_server() as server:
        config = _config(tmp_path, _webhook("hook", _url(server), max_concurrency=1))
        async with engine.open(config) as septet:
            first = _text("Your code is 111111")
            await _committed(septet, [first])
            await _settled(septet, 1)
            for _ in range(3):
                assert (await septet.ingest(first)).outcome == "duplicate"
            await _committed(septet, [_text("Your code is 222222")])
            await _settled(septet, 2)
        assert len(server.requests) == 2


async def test_waves_of_messages_through_a_small_window_are_all_delivered(
    tmp_path: Path,
) -> None:
    # New messages take free slots directly while the worker claims the backlog: the two
    # paths share the window, and neither may take a slot the other counted on.
    async with open_http_server(default=Answer(body=b"ok", delay=0.01)) as server:
        config = _config(tmp_path, _webhook("hook", _url(server), max_concurrency=3))
        async with engine.open(config) as septet:
            for wave in range(8):
                async with trio.open_nursery() as nursery:
                    for i in range(12):
                        nursery.start_soon(septet.ingest, _text(f"wave {wave} message {i}"))
                await trio.sleep(0.005)
            records = await _settled(septet, 96, seconds=20)
    assert server.most_in_flight <= 3
    assert len({r.headers["webhook-id"] for r in server.requests}) == 96
    assert {d.status for d in records} == {"delivered"}


async def test_a_delivery_held_by_its_worker_is_dropped_when_its_message_is_deleted(
    tmp_path: Path,
) -> None:
    # Both deliveries are handed to the worker at commit; the rate limit lets the first
    # go and holds the second a second for its token, long enough to delete its message.
    async with open_http_server() as server:
        config = _config(
            tmp_path,
            _webhook("hook", _url(server), rate_per_second=1.0, burst=1, max_concurrency=2),
        )
        with capture_logs() as logs:
            async with engine.open(config) as septet:
                first, second = await _committed(septet, [_text("first"), _text("second")])
                await _requests(server, 1)
                assert await septet.delete_message(second.id)

                async def dropped() -> list[dict[str, Any]]:
                    return [e for e in logs if e["event"].startswith("delivery dropped")]

                await _eventually(dropped, lambda found: len(found) == 1)
    assert _message_ids(server.requests) == [first.id]


@asynccontextmanager
async def _counted_engine(
    tmp_path: Path, *, slots: int, delay: float
) -> AsyncIterator[tuple[HttpTestServer, _CountingStore, engine.Septet]]:
    """An engine whose store counts claims, delivering to a receiver that answers after
    ``delay`` through ``slots`` slots; yielded once the worker had its first look."""
    async with (
        open_http_server(default=Answer(body=b"ok", delay=delay)) as server,
        open_sqlite_store(tmp_path / "septet.db") as real_store,
    ):
        store = _CountingStore(real_store)
        config = _config(tmp_path, _webhook("hook", _url(server), max_concurrency=slots))
        async with engine.open(config, store=store) as septet:
            await trio.sleep(0.05)  # the worker's first look at the store, at start
            yield server, store, septet


async def test_deliveries_committed_while_every_slot_is_taken_queue_in_memory(
    tmp_path: Path,
) -> None:
    # Two slots, four messages in one commit: two start at once, the other two wait in
    # the worker for the next free slots, written claimed: no claim from the store.
    async with _counted_engine(tmp_path, slots=2, delay=0.15) as (server, store, septet):
        claims = store.claims
        await septet.ingest_many([_text(f"message {n}") for n in range(4)])
        records = await _settled(septet, 4)
        assert store.claims == claims
    assert server.most_in_flight == 2
    assert len({r.headers["webhook-id"] for r in server.requests}) == 4
    assert {r.id for r in records} == {r.headers["webhook-id"] for r in server.requests}


async def test_the_queue_holds_one_round_and_the_rest_waits_in_the_store(tmp_path: Path) -> None:
    # One slot: one message starts, one queues, the other three go through the store.
    async with _counted_engine(tmp_path, slots=1, delay=0.1) as (server, store, septet):
        claims = store.claims
        await septet.ingest_many([_text(f"message {n}") for n in range(5)])
        statuses = [d.status for d in await septet.deliveries(limit=10)]
        assert store.claims == claims
        # Under way and queued, both claimed by the worker; three pending in the store.
        assert sorted(statuses) == ["delivering"] * 2 + ["pending"] * 3
        await _settled(septet, 5)
        assert store.claims > claims
    assert server.most_in_flight == 1
    assert len({r.headers["webhook-id"] for r in server.requests}) == 5


async def test_a_queued_delivery_cut_off_by_a_stop_is_delivered_after_the_restart(
    tmp_path: Path,
) -> None:
    # The first hangs; the second waits in the worker's queue when the engine stops. It
    # was never sent, so no attempt is logged for it; the restart hands it back at once.
    async with open_http_server() as server:
        server.answer(Answer(delay=30.0))
        config = _config(tmp_path, _webhook("hook", _url(server), max_concurrency=1))
        async with engine.open(config) as septet:
            first, second = (await septet.ingest_many([_text("first"), _text("second")]))[:2]
            await _requests(server, 1)
        assert len(server.requests) == 1
        async with engine.open(config) as septet:
            records = await _settled(septet, 2)
            attempts = {r.message_id: await septet.delivery_attempts(r.id) for r in records}
    assert first.message is not None
    assert second.message is not None
    assert sorted(_message_ids(server.requests[1:])) == sorted(
        [first.message.id, second.message.id]
    )
    assert [(a.attempt, a.outcome) for a in attempts[second.message.id]] == [(1, "delivered")]
    assert [a.outcome for a in attempts[first.message.id]] == ["retry", "delivered"]
