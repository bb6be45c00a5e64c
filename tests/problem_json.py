"""What every refusal over HTTP must be: an RFC 9457 problem document with its status."""

from __future__ import annotations

from typing import Any

import httpx


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document ``response`` answered, once it is sure that it answered one,
    as ``application/problem+json``, with ``status`` both on the response and in it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    return document
