"""Structured logs with structlog: JSON lines for machines, key=value for people.

Secrets never reach a log: any event key that names a secret (``secret``,
``password``, ``token``, ``authorization``, ``signature``, ``api_key``...) has its
value replaced before rendering, wherever the call site put it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from .config import LogConfig

__all__ = ["REDACTED", "configure_logging", "get_logger", "redact_secrets"]

REDACTED = "[redacted]"
_SECRET_WORDS = ("secret", "password", "passwd", "token", "authorization", "signature", "api_key")
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact_secrets(
    logger: object, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor replacing the values of secret-named keys, nested ones too."""
    for key, value in list(event.items()):
        if _is_secret(key):
            event[key] = REDACTED
        elif isinstance(value, dict):
            event[key] = {k: REDACTED if _is_secret(str(k)) else v for k, v in value.items()}
    return event


def configure_logging(config: LogConfig, *, stream: TextIO | None = None) -> None:
    """Send Septet's logs to ``stream`` (stderr) in the configured format and level."""
    out = stream if stream is not None else sys.stderr
    renderer: Any
    if config.format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[config.level]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A bound structlog logger carrying ``logger=name``."""
    return structlog.get_logger().bind(logger=name)
