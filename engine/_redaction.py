"""Destination settings fit to show: secrets redacted, and restored when sent back.

Secrets are the fields an adapter's ``Config`` lists in ``redacted_fields``, fields whose
names say they hold one (``password``, ``secret``, ``token``, ...) and the path and
query of URLs (where Slack and Discord keep their tokens); they read ``[redacted]``, in
nested objects too. A value sent back exactly as it was shown keeps the stored one, so
a client may edit what it read. :func:`merge_patch` applies an RFC 7396 merge patch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from .delivery._targets import HttpDestinationConfig, redact_url

__all__ = ["REDACTED", "merge_patch", "redact_settings", "restore_redacted"]

REDACTED = "[redacted]"
"""What a secret reads as."""
_SECRET_KEY = re.compile(
    r"secret|passw|token|api_?key|private_?key|signing_?key|auth|credential|^pin$", re.I
)


def redact_settings(settings: Mapping[str, Any], config_type: type | None) -> dict[str, Any]:
    """``settings`` fit to show: secrets read :data:`REDACTED` (see the module docstring),
    in nested objects too.

    ``config_type`` is the adapter's ``Config`` class, when known: its
    ``redacted_fields`` are secrets too.
    """
    listed: object = getattr(config_type, "redacted_fields", frozenset())
    secret_fields = frozenset(listed) if isinstance(listed, frozenset | set) else frozenset()
    shown: dict[str, Any] = {}
    for key, value in settings.items():
        if key in secret_fields or _SECRET_KEY.search(key):
            shown[key] = REDACTED
        elif isinstance(value, str) and _is_url_field(key, config_type):
            shown[key] = _redacted_url(value)
        elif isinstance(value, dict):
            shown[key] = redact_settings(value, None)
        else:
            shown[key] = value
    return shown


def restore_redacted(
    incoming: Mapping[str, Any], stored: Mapping[str, Any], config_type: type | None
) -> dict[str, Any]:
    """``incoming`` with each value that reads as the stored one did when shown (a
    secret sent back as read) replaced by the stored value, in nested objects too."""
    return _restore(incoming, stored, redact_settings(stored, config_type))


def _restore(
    incoming: Mapping[str, Any], stored: Mapping[str, Any], shown: Mapping[str, Any]
) -> dict[str, Any]:
    restored = dict(incoming)
    for key, value in incoming.items():
        if key not in stored:
            continue
        old, seen = stored[key], shown[key]
        if isinstance(value, dict) and isinstance(old, dict) and isinstance(seen, dict):
            restored[key] = _restore(value, old, seen)
        elif seen != old and value == seen:
            restored[key] = old
    return restored


def _is_url_field(key: str, config_type: type | None) -> bool:
    if key == "url" and (config_type is None or issubclass(config_type, HttpDestinationConfig)):
        return True
    return key.endswith("_url")


def _redacted_url(url: str) -> str:
    shown = redact_url(url)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return REDACTED
    if parsed.path not in ("", "/") or parsed.query or parsed.userinfo:
        return f"{shown}/{REDACTED}"
    return shown


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` changed by the JSON merge patch ``patch`` (RFC 7396)."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
