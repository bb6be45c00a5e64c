"""Running the HTTP server inside the engine's nursery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import trio

from .._webhooks import WebhookCarrier
from ..config import ApiConfig
from ._app import build_app
from ._http_carriers import CarrierWebhooks
from ._http_server import HttpServer

if TYPE_CHECKING:
    from .._engine import Septet

__all__ = ["serve_api"]


async def serve_api(
    septet: Septet,
    config: ApiConfig,
    carriers: Mapping[str, WebhookCarrier],
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; ``task_status`` gets the base URL it listens on (with the
    real port when the config asked for port 0)."""
    assert config.port is not None
    server = HttpServer(
        build_app(septet, config, carriers),
        CarrierWebhooks(septet, carriers, config.public_url),
        max_body_bytes=config.max_body_bytes,
    )
    await server.serve(config.host, config.port, task_status=task_status)
