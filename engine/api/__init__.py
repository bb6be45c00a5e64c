"""The HTTP server: carriers' webhooks, health, metrics and the REST API."""

from ._app import build_app
from ._server import serve_api

__all__ = ["build_app", "serve_api"]
