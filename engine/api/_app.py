"""The HTTP surface: carriers' webhooks, health, metrics and the REST API (v1).

* ``/carriers/<name>[/...]`` (GET or POST) hands the request to the webhook carrier of
  that instance name; the carrier verifies it, commits what it carries and answers.
* ``/healthz`` answers while the process serves; ``/readyz`` once the inbox answers a
  read; ``/metrics`` is the Prometheus exposition.
* ``/v1/...`` reads and searches the inbox, deletes messages, reads the outbox, replays
  deliveries, simulates inbound SMS through a sandbox carrier and manages tenants, keys
  and members, for a Bearer key with the endpoint's scope, on the key's tenant (see
  :mod:`engine.api._gatekeeper`).
* ``/openapi.json`` is the OpenAPI 3.1 document of all of the above, ``/docs`` the same
  as a web page; both are built once, with the app.

Every error is RFC 9457 ``application/problem+json``: 4xx for the client's mistakes
(a bad parameter, a missing key, an unknown id), 503 with ``Retry-After`` when the inbox
cannot be written or read right now, and never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, cast, get_args

import msgspec
import structlog
import trio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .._ids import id_digits
from .._webhooks import WebhookCarrier, WebhookResponse
from ..config import ApiConfig
from ..errors import EngineClosedError, StoreError
from ..model import DeliveryStatus, Message
from ..pipeline import MessageStream
from ._config_routes import config_routes
from ._docs import render_docs
from ._envelopes import (
    AttemptList,
    DeliveryPage,
    DestinationEnabled,
    Health,
    MessagePage,
    MessageWait,
    Replayed,
)
from ._gatekeeper import Gatekeeper, caller_of
from ._http_carriers import RETRY_AFTER as _RETRY_AFTER
from ._http_carriers import CarrierWebhooks
from ._number_routes import number_routes
from ._openapi import MAX_WAIT, openapi_document
from ._privacy_routes import privacy_routes
from ._routing import Refused, json_response, next_page, page_limit
from ._sandbox import Sandboxes, SandboxInjection, SandboxRequest
from ._tenant_routes import tenant_routes

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = ["build_app"]

_log = structlog.get_logger("septet.api")
_encode = msgspec.json.Encoder().encode
_JSON = "application/json"
_PROBLEM = "application/problem+json"
_STATUSES = frozenset(get_args(DeliveryStatus))
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
_HEARTBEAT = 15.0
"""Seconds between keep-alive comments on an idle event stream."""

Endpoint = Callable[[Request], Awaitable[Response]]


class ApiProblem(Exception):
    """A client's mistake, answered as a problem document with ``status``."""

    def __init__(self, status: int, title: str, detail: str | None = None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        super().__init__(detail or title)


def problem(status: int, title: str, detail: str | None = None, **headers: str) -> Response:
    document: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail is not None:
        document["detail"] = detail
    return Response(_encode(document), status_code=status, media_type=_PROBLEM, headers=headers)


def _unavailable(exc: Exception) -> Response:
    return problem(503, "Service Unavailable", str(exc), **{"retry-after": _RETRY_AFTER})


def _webhook_answer(answer: WebhookResponse) -> Response:
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=answer.content_type,
        headers=dict(answer.headers),
    )


def build_app(
    septet: Septet, config: ApiConfig, carriers: Mapping[str, WebhookCarrier]
) -> Starlette:
    """The ASGI application serving ``septet`` and the webhook ``carriers`` (by name)."""
    api = _Api(septet, config, carriers)
    routes = [
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/readyz", api.readyz, methods=["GET"]),
        Route("/metrics", api.metrics, methods=["GET"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
        Route("/docs", api.docs, methods=["GET"]),
        Route("/carriers/{name}", api.carrier, methods=["GET", "POST"]),
        Route("/carriers/{name}/{path:path}", api.carrier, methods=["GET", "POST"]),
        Route("/v1/messages", api.guarded(api.list_messages), methods=["GET"]),
        Route("/v1/messages/wait", api.guarded(api.wait_for_message), methods=["GET"]),
        Route("/v1/stream", api.guarded(api.stream), methods=["GET"]),
        Route("/v1/messages/{id}", api.guarded(api.get_message), methods=["GET"]),
        Route("/v1/messages/{id}", api.guarded(api.delete_message), methods=["DELETE"]),
        Route("/v1/sandbox/messages", api.guarded(api.simulate), methods=["POST"]),
        Route("/v1/deliveries", api.guarded(api.list_deliveries), methods=["GET"]),
        Route(
            "/v1/deliveries/{id}/attempts",
            api.guarded(api.delivery_attempts),
            methods=["GET"],
        ),
        Route("/v1/deliveries/{id}/replay", api.guarded(api.replay_one), methods=["POST"]),
        Route(
            "/v1/destinations/{name}/replay",
            api.guarded(api.replay_failed),
            methods=["POST"],
        ),
        Route("/v1/destinations/{name}/enable", api.guarded(api.enable), methods=["POST"]),
        *config_routes(septet, api.guarded, api._body),
        *tenant_routes(septet, api.guarded, api._body),
        *number_routes(septet, api.guarded, api._body),
        *privacy_routes(septet, api.guarded, api._body),
    ]
    for route in routes:
        api.route_paths[route.endpoint] = _PARAM.sub(r"{\1}", route.path)
    api.publish(openapi_document((route.path, route.methods or ()) for route in routes))
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_exception, Exception: _unexpected},
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, _reason(exc.status_code), None, **(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> Response:
    _log.exception("request failed", path=request.url.path)
    return problem(500, "Internal Server Error", "the server failed; this is a bug")


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class _Api:
    def __init__(
        self,
        septet: Septet,
        config: ApiConfig,
        carriers: Mapping[str, WebhookCarrier],
    ) -> None:
        self._septet = septet
        self._config = config
        self._webhooks = CarrierWebhooks(septet, carriers, config.public_url)
        self._gatekeeper = Gatekeeper(septet, config)
        self.route_paths: dict[object, str] = {}
        """The path of each route, by its endpoint: which scope a request needs."""
        self._sandboxes = Sandboxes(septet.config.carriers)
        self._document = b"{}"
        self._docs_page = ""

    def publish(self, document: dict[str, object]) -> None:
        """Serve ``document`` (OpenAPI) at ``/openapi.json`` and ``/docs``, encoded and
        rendered once here rather than on every request."""
        self._document = _encode(document)
        self._docs_page = render_docs(document)

    # Plumbing -----------------------------------------------------------------------

    def guarded(self, endpoint: Endpoint) -> Endpoint:
        """``endpoint`` behind the gatekeeper (a key with the route's scope, within its
        rate), with problems and outages answered."""

        async def guarded(request: Request) -> Response:
            try:
                path = self.route_paths.get(guarded)
                refusal = await self._gatekeeper.admit(request, path)
                if refusal is not None:
                    return refusal
                return await endpoint(request)
            except ApiProblem as exc:
                return problem(exc.status, exc.title, exc.detail)
            except Refused as refused:
                return refused.response()
            except (StoreError, EngineClosedError) as exc:
                return problem(
                    503, "Service Unavailable", str(exc), **{"retry-after": _RETRY_AFTER}
                )

        return guarded

    async def _body(self, request: Request) -> bytes:
        limit = self._config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and _is_number(declared) and int(declared) > limit:
            raise ApiProblem(413, "Content Too Large", f"the body exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        stream = request.stream()
        try:
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    raise ApiProblem(413, "Content Too Large", f"the body exceeds {limit} bytes")
                chunks.append(chunk)
        finally:
            await stream.aclose()
        return b"".join(chunks)

    # Service ---------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return json_response(Health(status="ok"))

    async def readyz(self, request: Request) -> Response:
        try:
            await self._septet.messages(limit=1)
        except (StoreError, EngineClosedError) as exc:
            return _unavailable(exc)
        return json_response(Health(status="ready"))

    async def metrics(self, request: Request) -> Response:
        return Response(
            self._septet.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def openapi(self, request: Request) -> Response:
        return Response(self._document, media_type=_JSON)

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(self._docs_page)

    # Carriers --------------------------------------------------------------------

    async def carrier(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self._webhooks:
            return _webhook_answer(self._webhooks.unknown(name))
        try:
            body = await self._body(request)
        except ApiProblem as exc:
            return problem(exc.status, exc.title, exc.detail)
        scope = request.scope
        try:
            webhook = self._webhooks.request(
                method=request.method,
                scheme=scope["scheme"],
                server=scope.get("server"),
                name=name,
                path=request.path_params.get("path", ""),
                query_string=scope["query_string"],
                headers=scope["headers"],
                body=body,
            )
        except ValueError as exc:
            return problem(400, "Bad Request", str(exc))
        return _webhook_answer(await self._webhooks.answer(name, webhook))

    # Messages --------------------------------------------------------------------

    async def list_messages(self, request: Request) -> Response:
        query = request.query_params
        limit = page_limit(query.get("limit"))
        since = _time(query.get("since"), "since")
        until = _time(query.get("until"), "until")
        has_code = _flag(query.get("has_code"), "has_code")
        after, before = query.get("after"), query.get("before")
        for key, cursor in (("after", after), ("before", before)):
            if cursor is not None and not _is_id(cursor, "msg"):
                raise ApiProblem(400, "Bad Request", f"{key} must be a message id (msg_...)")
        messages = await self._septet.messages(
            number=query.get("number"),
            sender=query.get("sender"),
            since=since,
            until=until,
            has_otp=has_code,
            text=query.get("q") or None,
            after=after,
            before=before,
            limit=limit + 1,
            tenant=_tenant(request),
        )
        page, cursor = next_page(messages, limit, lambda message: message.id)
        return json_response(MessagePage(data=page, next=cursor))

    async def wait_for_message(self, request: Request) -> Response:
        """Long poll: the first message matching the filters received at or after
        ``since`` (default: now), at once if one is already stored; ``{"data": null}``
        after ``timeout`` seconds (default 30, at most 300)."""
        query = request.query_params
        timeout = _seconds(query.get("timeout"), "timeout", default=30.0, most=MAX_WAIT)
        since = _time(query.get("since"), "since")
        has_code = _flag(query.get("has_code"), "has_code")
        found: Message | None = None
        failure: StoreError | EngineClosedError | None = None

        async def wait(cancel: trio.CancelScope) -> None:
            nonlocal found, failure
            try:
                found = await self._septet.wait_for_message(
                    timeout=timeout,
                    number=query.get("number"),
                    sender=query.get("sender"),
                    since=since,
                    has_code=has_code,
                    tenant=_tenant(request),
                )
            except TimeoutError:
                pass
            except (StoreError, EngineClosedError) as exc:
                failure = exc  # raised outside the nursery, answered as a 503
            cancel.cancel()

        async def watch_client(cancel: trio.CancelScope) -> None:
            # A client that hangs up ends the wait at once, not at its timeout. (Read the
            # ASGI channel itself: Starlette's is_disconnected polls with a cancelled
            # receive, which under trio never sees the message.)
            while (await request.receive())["type"] != "http.disconnect":
                pass
            cancel.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait, nursery.cancel_scope)
            nursery.start_soon(watch_client, nursery.cancel_scope)
        if failure is not None:
            raise failure
        return json_response(MessageWait(data=found))

    async def stream(self, request: Request) -> Response:
        """Server-Sent Events: each message as it commits (``event: message``, ``id`` the
        message id, ``data`` its JSON). A client that reconnects with ``Last-Event-ID``
        (or ``?after=``) first gets what it missed, then live messages, without gaps."""
        after = request.headers.get("last-event-id") or request.query_params.get("after")
        if after is not None and not _is_id(after, "msg"):
            raise ApiProblem(400, "Bad Request", "Last-Event-ID must be a message id (msg_...)")
        query = request.query_params
        watch = self._septet.watch(
            number=query.get("number"),
            sender=query.get("sender"),
            after=after,
            tenant=_tenant(request),
        )
        return _EventStream(watch)

    async def get_message(self, request: Request) -> Response:
        message = await self._septet.get(request.path_params["id"], tenant=_tenant(request))
        if message is None:
            raise ApiProblem(404, "Not Found", "no such message")
        return json_response(message)

    async def delete_message(self, request: Request) -> Response:
        if not await self._septet.delete_message(
            request.path_params["id"], tenant=_tenant(request)
        ):
            raise ApiProblem(404, "Not Found", "no such message")
        return Response(status_code=204)

    async def simulate(self, request: Request) -> Response:
        """Ingest what a sandbox carrier makes of the request, item by item, each
        committed before the next, as the carrier itself does."""
        if not self._sandboxes:
            raise ApiProblem(404, "Not Found", "no sandbox carrier is configured")
        try:
            wanted = _sandbox_request(await self._body(request))
        except (msgspec.DecodeError, ValueError) as exc:
            raise ApiProblem(400, "Bad Request", f"not a sandbox request: {exc}") from None
        simulator = self._sandboxes.find(wanted.carrier)
        if simulator is None:
            detail = (
                "the sandbox carrier cannot simulate messages"
                if wanted.carrier is None
                else f"no sandbox carrier is named {wanted.carrier!r}"
            )
            raise ApiProblem(404, "Not Found", detail)
        try:
            items = simulator.build_items(wanted.for_carrier())
        except ValueError as exc:
            raise ApiProblem(400, "Bad Request", str(exc)) from None
        emit = self._septet._emit_as(simulator.name)
        results = [await emit(item) for item in items]
        return json_response(await SandboxInjection.of(results, self._septet.get), status=201)

    # Deliveries ------------------------------------------------------------------

    async def list_deliveries(self, request: Request) -> Response:
        query = request.query_params
        status = _status(query.get("status"))
        after = query.get("after")
        if after is not None and not _is_id(after, "dlv"):
            raise ApiProblem(400, "Bad Request", "after must be a delivery id (dlv_...)")
        limit = page_limit(query.get("limit"))
        found = await self._septet.deliveries(
            message_id=query.get("message_id"),
            destination=query.get("destination"),
            status=status,
            after=after,
            limit=limit + 1,
            tenant=_tenant(request),
        )
        page, cursor = next_page(found, limit, lambda delivery: delivery.id)
        return json_response(DeliveryPage(data=page, next=cursor))

    async def delivery_attempts(self, request: Request) -> Response:
        delivery_id, tenant = request.path_params["id"], _tenant(request)
        if await self._septet.delivery(delivery_id, tenant=tenant) is None:
            raise ApiProblem(404, "Not Found", "no such delivery")
        attempts = await self._septet.delivery_attempts(delivery_id, tenant=tenant)
        return json_response(AttemptList(data=list(attempts)))

    async def replay_one(self, request: Request) -> Response:
        delivery_id, tenant = request.path_params["id"], _tenant(request)
        if await self._septet.delivery(delivery_id, tenant=tenant) is None:
            raise ApiProblem(404, "Not Found", "no such delivery")
        count = await self._septet.replay(delivery_id, tenant=tenant)
        if not count:
            raise ApiProblem(409, "Conflict", "the delivery is under way; replay it later")
        return json_response(Replayed(replayed=count))

    async def replay_failed(self, request: Request) -> Response:
        name, tenant = self._destination(request)
        query = request.query_params
        count = await self._septet.replay(
            destination=name,
            since=_time(query.get("since"), "since"),
            until=_time(query.get("until"), "until"),
            tenant=tenant,
        )
        return json_response(Replayed(replayed=count))

    async def enable(self, request: Request) -> Response:
        name, tenant = self._destination(request)
        try:
            await self._septet.enable_destination(name, tenant=tenant)
        except KeyError:  # deleted since it was looked up
            raise ApiProblem(404, "Not Found", f"no destination is named {name!r}") from None
        return json_response(DestinationEnabled(destination=name, enabled=True))

    def _destination(self, request: Request) -> tuple[str, str]:
        """The destination the path names, of the caller's tenant (404 if it has none)."""
        name: str = request.path_params["name"]
        tenant = _tenant(request)
        if name not in self._septet.destination_names_of(tenant):
            raise ApiProblem(404, "Not Found", f"no destination is named {name!r}")
        return name, tenant


_sandbox_request = msgspec.json.Decoder(SandboxRequest).decode


def _tenant(request: Request) -> str:
    return caller_of(request).tenant


def _is_number(text: str) -> bool:
    """A whole number in ASCII digits (``str.isdigit`` alone takes "²", which ``int``
    refuses, and "٣", which the documented integer schema does not allow)."""
    return text.isascii() and text.isdigit()


def _seconds(text: str | None, key: str, *, default: float, most: float) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= most:  # also refuses nan
        raise ApiProblem(400, "Bad Request", f"{key} must be a number of seconds, 0 to {most:g}")
    return value


def _time(text: str | None, key: str) -> datetime | None:
    if text is None:
        return None
    try:
        # RFC 3339 (the documented date-time format) allows a lower-case "t" and "z".
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ApiProblem(400, "Bad Request", f"{key} must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ApiProblem(400, "Bad Request", f"{key} must carry a UTC offset (or Z)")
    return moment


def _flag(text: str | None, key: str) -> bool | None:
    if text is None:
        return None
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ApiProblem(400, "Bad Request", f"{key} must be true or false")


def _status(text: str | None) -> DeliveryStatus | None:
    if text is not None and text not in _STATUSES:
        raise ApiProblem(400, "Bad Request", f"status must be one of {sorted(_STATUSES)}")
    return cast("DeliveryStatus | None", text)


def _is_id(text: str, prefix: str) -> bool:
    return id_digits(text, prefix) is not None


class _EventStream(Response):
    """A ``text/event-stream`` answer fed by a message stream until the client hangs up
    or the engine stops, with a comment line every :data:`_HEARTBEAT` seconds so proxies
    keep the connection open."""

    def __init__(self, watch: MessageStream) -> None:
        super().__init__(media_type="text/event-stream")
        self._watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        sending = trio.Lock()  # one ASGI message at a time, whichever task sends it
        hung_up = False

        async def chunk(data: bytes) -> None:
            async with sending:
                await send({"type": "http.response.body", "body": data, "more_body": True})

        async def events(cancel: trio.CancelScope) -> None:
            async with self._watch as stream:
                async for message in stream:
                    await chunk(
                        b"id: %s\nevent: message\ndata: %s\n\n"
                        % (message.id.encode(), _encode(message))
                    )
            cancel.cancel()  # the engine stopped

        async def heartbeat() -> None:
            while True:
                await trio.sleep(_HEARTBEAT)
                await chunk(b": keep-alive\n\n")

        async def listen(cancel: trio.CancelScope) -> None:
            nonlocal hung_up
            while (await receive())["type"] != "http.disconnect":
                pass
            hung_up = True
            cancel.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(events, nursery.cancel_scope)
            nursery.start_soon(heartbeat)
            nursery.start_soon(listen, nursery.cancel_scope)
        if not hung_up:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
