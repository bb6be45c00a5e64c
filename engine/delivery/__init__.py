"""Delivery: routes, the outbox and its workers, retry policy, and the HTTP client that
destination adapters share (targets checked against SSRF)."""

__all__: list[str] = []
