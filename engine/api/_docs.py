"""The API's reference as one self-contained HTML page, rendered from the OpenAPI document.

No scripts, fonts or stylesheets from elsewhere: the page works offline and behind a
strict Content-Security-Policy. Every text taken from the document is escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

__all__ = ["render_docs"]

_METHODS = ("get", "put", "post", "delete", "patch")
_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
section { border-top: 1px solid #ccc; padding: .5rem 0 1rem; }
h2 code { font-size: 1rem; }
.method { display: inline-block; min-width: 4rem; font-weight: bold; text-transform: uppercase; }
table { border-collapse: collapse; margin: .25rem 0; }
th, td { text-align: left; vertical-align: top; padding: .2rem .6rem; }
td { border-bottom: 1px solid #ddd; }
code { font-family: ui-monospace, monospace; }
.lock { color: #a60; }
"""


def render_docs(document: dict[str, Any]) -> str:
    """``document`` (OpenAPI 3.1) as an HTML page."""
    info = document.get("info", {})
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    sections = [
        _operation(path, method, operation)
        for path, operations in document.get("paths", {}).items()
        for method, operation in operations.items()
        if method in _METHODS
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)} API</title><style>{_STYLE}</style></head><body>",
            f"<h1>{escape(title)} API</h1>",
            f"<p>{escape(info.get('description', ''))}</p>",
            '<p>The machine-readable document: <a href="openapi.json">openapi.json</a>.'
            ' Operations marked <span class="lock">(Bearer)</span> need an API key with'
            " the scope they name, sent as <code>Authorization: Bearer &lt;key&gt;</code>.</p>",
            *sections,
            "<h1>Schemas</h1>",
            *(
                _component(name, schema)
                for name, schema in document.get("components", {}).get("schemas", {}).items()
            ),
            "</body></html>",
            "",
        ]
    )


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    lock = ' <span class="lock">(Bearer)</span>' if operation.get("security") else ""
    parts = [
        f'<section id="{escape(operation.get("operationId", f"{method} {path}"))}">',
        f'<h2><span class="method">{escape(method)}</span> <code>{escape(path)}</code>{lock}</h2>',
        f"<p>{escape(operation.get('summary', ''))}</p>",
    ]
    parameters = operation.get("parameters", [])
    if parameters:
        parts.append("<h3>Parameters</h3><table><tr><th>Name</th><th>In</th>")
        parts.append("<th>Schema</th><th>Description</th></tr>")
        parts.extend(
            "<tr><td><code>{}</code>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>".format(
                escape(parameter["name"]),
                " (required)" if parameter.get("required") else "",
                escape(parameter["in"]),
                escape(_schema_text(parameter.get("schema", {}))),
                escape(parameter.get("description", "")),
            )
            for parameter in parameters
        )
        parts.append("</table>")
    if "requestBody" in operation:
        types = ", ".join(operation["requestBody"].get("content", {}))
        parts.append(f"<h3>Body</h3><p><code>{escape(types)}</code></p>")
    parts.append("<h3>Responses</h3><table><tr><th>Status</th><th>Content</th>")
    parts.append("<th>Description</th></tr>")
    parts.extend(
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            escape(status),
            "<br>".join(
                f"<code>{escape(media)}</code> {escape(_schema_text(body.get('schema', {})))}"
                for media, body in response.get("content", {}).items()
            ),
            escape(response.get("description", "")),
        )
        for status, response in operation.get("responses", {}).items()
    )
    parts.append("</table></section>")
    return "\n".join(parts)


def _component(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", ()))
    rows = "".join(
        "<tr><td><code>{}</code>{}</td><td><code>{}</code></td><td>{}</td></tr>".format(
            escape(field),
            " (required)" if field in required else "",
            escape(_schema_text({k: v for k, v in spec.items() if k != "description"})),
            escape(spec.get("description", "")),
        )
        for field, spec in schema.get("properties", {}).items()
    )
    return (
        f'<section id="schema-{escape(name)}"><h2><code>{escape(name)}</code></h2>'
        f"<p>{escape(schema.get('description', ''))}</p>"
        f"<table><tr><th>Field</th><th>Schema</th><th>Description</th></tr>{rows}</table>"
        "</section>"
    )


def _schema_text(schema: dict[str, Any]) -> str:
    """A schema in a line: a reference by its name, anything else as compact JSON."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rpartition("/")[2]
    return json.dumps(schema, separators=(", ", ": ")) if schema else "any"
