"""Running the HTTP server: hypercorn's trio worker inside the engine's nursery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from .._webhooks import WebhookCarrier
from ..config import ApiConfig
from ._app import build_app

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
    settings = HypercornConfig()
    settings.bind = [f"{config.host}:{config.port}"]
    settings.accesslog = None
    settings.errorlog = None
    settings.graceful_timeout = 5.0
    app = build_app(septet, config, carriers)

    async def run(*, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        await serve(app, settings, task_status=task_status)  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        bound: list[str] = await nursery.start(run)
        task_status.started(bound[0] if bound else f"http://{config.host}:{config.port}")
