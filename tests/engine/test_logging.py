"""Structured logs: formats, levels, and secrets that never reach the output."""

from __future__ import annotations

import io
import json

import structlog

from engine._logging import REDACTED, configure_logging, get_logger
from engine.config import LogConfig


def test_json_logs_are_one_object_per_line_and_redact_secrets() -> None:
    out = io.StringIO()
    configure_logging(LogConfig(format="json", level="info"), stream=out)
    try:
        log = get_logger("test")
        log.info(
            "delivered",
            url="https://example.com/hook",
            secret="whsec_abc",
            api_key="k",
            headers={"Authorization": "Bearer x", "X-Trace": "1"},
        )
        log.debug("not shown")
    finally:
        structlog.reset_defaults()
    (line,) = out.getvalue().splitlines()
    event = json.loads(line)
    assert event["event"] == "delivered"
    assert event["level"] == "info"
    assert event["logger"] == "test"
    assert event["secret"] == REDACTED
    assert event["api_key"] == REDACTED
    assert event["headers"] == {"Authorization": REDACTED, "X-Trace": "1"}
    assert "whsec_abc" not in out.getvalue()
    assert "Bearer x" not in out.getvalue()
    assert event["timestamp"].endswith("Z")


def test_console_format_and_level_filter() -> None:
    out = io.StringIO()
    configure_logging(LogConfig(format="console", level="warning"), stream=out)
    try:
        log = get_logger("test")
        log.info("hidden")
        log.warning("shown", password="hunter2")
    finally:
        structlog.reset_defaults()
    text = out.getvalue()
    assert "hidden" not in text
    assert "shown" in text
    assert "hunter2" not in text
