"""One error shape for every failure: `{"error": {"code", "message", "details"}}`.

Engine errors keep their code; HTTP errors raised by Flask, webargs or flask-smorest are rewritten so
that a client never has to parse two shapes. Request-validation problems become 422 with
`details.fields` = {field: message}, like the engine's own form validation.
"""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from engine.errors import (
    CalendarDataMissing,
    Conflict,
    DefinitionInvalid,
    EngineError,
    Forbidden,
    InvalidInput,
    NotFound,
    ScriptError,
)

log = logging.getLogger("weibao.api")

# Order matters: the first matching class wins, subclasses before their bases.
STATUS: list[tuple[type[EngineError], int]] = [
    (NotFound, 404), (Conflict, 409), (InvalidInput, 422), (Forbidden, 403), (DefinitionInvalid, 422),
    # A script in the diagram failed on the data given: the caller can fix the data.
    (ScriptError, 422),
    # Nothing the caller sent is wrong, but the service cannot compute dates for that year yet.
    (CalendarDataMissing, 409),
]


class Unauthenticated(EngineError):
    code = "unauthorized"
    http_status = 401


class NotAvailable(EngineError):
    """A feature this build of the service does not include."""

    code = "not_available"
    http_status = 501


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True, metadata={
        "description": "fields: {field: message} for invalid input; errors: [{file, element_id, message}] "
                       "for refused diagrams; instance_id and element_id when the error concerns them"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


def status_of(exc: EngineError) -> int:
    explicit = getattr(exc, "http_status", None)
    if explicit is not None:
        return int(explicit)
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """webargs reports {"json": {"data": {"x": ["msg"]}}}; clients get {"data.x": "msg"}."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            out.update(_flatten(value, name))
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        out[prefix or "_request"] = " ".join(messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "_request"] = str(messages)
    return out


def _request_fields(messages: dict[str, Any]) -> dict[str, str]:
    # webargs keys errors by location (json, query, files); a field name alone is what clients act on.
    fields: dict[str, str] = {}
    for errors in messages.values():
        fields.update(_flatten(errors))
    return {key.replace("_schema", "_request"): value for key, value in fields.items()}


def body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _http_code(error: HTTPException) -> str:
    return (error.name or "error").lower().replace(" ", "_").replace("'", "")


class WeibaoApi(Api):  # type: ignore[misc]
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        data = getattr(error, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        status = error.code or 500
        if status in (400, 422) and isinstance(messages, dict):
            return body("invalid_input", "invalid request", {"fields": _request_fields(messages)}), 422
        if status >= 500:
            log.error("HTTP %s: %s", status, error.description)
        message = data.get("message") or error.description or error.name
        # The exception's own headers carry what the status promises, e.g. `Allow` on a 405.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        headers.update(data.get("headers") or {})
        return body(_http_code(error), str(message)), status, headers


def handle_engine_error(exc: EngineError) -> Any:
    status = status_of(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="weibao"'} if status == 401 else {}
    if status >= 500:
        log.error("engine error: %s", exc.message, extra={"instance_id": exc.instance_id,
                                                          "element_id": exc.element_id})
    return {"error": exc.to_dict()}, status, headers


def handle_unexpected(exc: Exception) -> Any:
    log.exception("unexpected error")
    return body("internal_error", "internal error; the service log has the details"), 500


def register(app: Flask) -> None:
    """After the Api: its HTTPException handler stays the more specific match for HTTP errors."""
    app.register_error_handler(EngineError, handle_engine_error)
    app.register_error_handler(Exception, handle_unexpected)
