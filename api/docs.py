"""A human-readable page of the OpenAPI document, rendered on the server.

Self-contained on purpose: the service often runs where browsers cannot fetch a JavaScript viewer
from a CDN, and the page must still work there.
"""

from __future__ import annotations

from html import escape
from typing import Any

from flask import Blueprint, Response, current_app

blp = Blueprint("docs", __name__, url_prefix="/api/v1")

METHODS = ("get", "post", "put", "patch", "delete")
STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{background:#f4f4f4;padding:0 .2rem}h2{border-bottom:1px solid #ccc;margin-top:2rem}
.op{margin:1rem 0;padding:.5rem 1rem;border-left:4px solid #4a7}.m{font-weight:bold;text-transform:uppercase}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}"""


def _ref_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_ref_name(schema.get('items', {}))}"
    return str(schema.get("type", "object"))


def _params(op: dict[str, Any]) -> str:
    rows = [f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{'yes' if p.get('required') else ''}</td><td>{escape(_ref_name(p.get('schema', {})))}</td>"
            f"<td>{escape(p.get('description', ''))}</td></tr>" for p in op.get("parameters", [])]
    if not rows:
        return ""
    return "<table><tr><th>parameter</th><th>in</th><th>required</th><th>type</th><th></th></tr>" \
        + "".join(rows) + "</table>"


def _body(op: dict[str, Any]) -> str:
    content = op.get("requestBody", {}).get("content", {})
    return "".join(f"<p>Body ({escape(kind)}): <code>{escape(_ref_name(media.get('schema', {})))}</code></p>"
                   for kind, media in content.items())


def _responses(op: dict[str, Any]) -> str:
    items = []
    for status, response in op.get("responses", {}).items():
        if "$ref" in response:
            items.append(f"<code>{escape(status)}</code> error")
            continue
        schemas = [_ref_name(m.get("schema", {})) for m in response.get("content", {}).values()]
        items.append(f"<code>{escape(status)}</code> {escape(response.get('description', ''))} "
                     f"{escape(', '.join(schemas))}")
    return "<p>Responses: " + "; ".join(items) + "</p>"


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    auth = "no token" if op.get("security") == [] else "bearer token"
    return (f"<div class='op'><p><span class='m'>{method}</span> <code>{escape(path)}</code> "
            f"<small>({auth})</small></p><p>{escape(op.get('summary', ''))}</p>"
            f"<p>{escape(op.get('description', ''))}</p>{_params(op)}{_body(op)}{_responses(op)}</div>")


def _schemas(spec: dict[str, Any]) -> str:
    out = []
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        props = "".join(
            f"<tr><td><code>{escape(field)}</code></td><td>{escape(_ref_name(prop))}</td>"
            f"<td>{'yes' if field in required else ''}</td>"
            f"<td>{escape(prop.get('description', ''))}</td></tr>"
            for field, prop in schema.get("properties", {}).items())
        out.append(f"<h3 id='{escape(name)}'>{escape(name)}</h3><table>{props}</table>")
    return "".join(out)


def render(spec: dict[str, Any]) -> str:
    by_tag: dict[str, list[str]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append(_operation(path, method, item[method]))
    sections = "".join(f"<h2>{escape(tag)}</h2>{''.join(ops)}" for tag, ops in by_tag.items())
    info = spec.get("info", {})
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(info.get('title', ''))}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(info.get('title', ''))} "
            f"{escape(info.get('version', ''))}</h1><p>{escape(info.get('description', ''))}</p>"
            f"<p>Machine-readable: <a href='openapi.json'>openapi.json</a></p>{sections}"
            f"<h2>Schemas</h2>{_schemas(spec)}</body></html>")


@blp.route("/docs")
def docs() -> Response:
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    return Response(render(api.spec.to_dict()), mimetype="text/html")
