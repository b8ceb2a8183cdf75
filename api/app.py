"""The Flask application factory.

`create_app(config)` takes either a ready `Service` (tests, the CLI) under `WEIBAO_SERVICE`, or builds
one from `WEIBAO_DATABASE_URL`, `WEIBAO_HANDLERS`, `WEIBAO_SETTINGS`. `WEIBAO_MANUAL_CLOCK` (with
`WEIBAO_CLOCK_START`) runs on the simulation clock and adds the /clock routes. Other keys are Flask
configuration. It starts no threads: the CLI decides whether a scheduler runs.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from engine import ensure_schema
from engine.clock import ManualClock
from engine.service import Service

from . import (
    audit,
    checkpoints,
    clock,
    console,
    docs,
    documents,
    errors,
    groups,
    health,
    incidents,
    instances,
    messages,
    metrics,
    migrations,
    outbox,
    processes,
    reports,
    signals,
    stock,
    users,
)
from . import tasks as tasks_
from .compose import product_service
from .context import Weibao

DESCRIPTION = """Weibao runs the BPMN processes of IT operations-and-maintenance service contracts.

Every route except /health needs `Authorization: Bearer <token>` (`weibao user add` issues tokens).
Errors always come as `{"error": {"code", "message", "details"}}`: 401 no or bad token, 403 not allowed,
404 unknown (or not visible to the caller), 409 conflict (task taken or finished, instance changed or no
longer running), 422 invalid input with `details.fields` = {field: message}. Script errors in a diagram
caused by the data given are 422; a missing working-calendar year is 409.
Collections come as `{"items": [...], "total": N}` with `page` and `per_page` parameters; times are
ISO 8601 with offset, in the configured zone (`WEIBAO_TIMEZONE`, default +08:00). The web console is
at `/`."""

DEFAULTS: dict[str, Any] = {
    "API_TITLE": "Weibao",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": DESCRIPTION},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    },
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
}


def _service(config: dict[str, Any]) -> tuple[Service, bool]:
    manual = bool(config.get("WEIBAO_MANUAL_CLOCK"))
    service = config.get("WEIBAO_SERVICE")
    if service is None:
        clock = ManualClock(config.get("WEIBAO_CLOCK_START")) if manual else None
        service = product_service(
            config.get("WEIBAO_DATABASE_URL"),
            clock=clock,
            handlers=config.get("WEIBAO_HANDLERS"),
            settings=config.get("WEIBAO_SETTINGS"),
        )
    if manual and not isinstance(service.clock, ManualClock):
        raise ValueError("WEIBAO_MANUAL_CLOCK needs a service built with a ManualClock")
    return service, manual


def create_app(config: dict[str, Any] | None = None) -> Flask:
    config = dict(config or {})
    app = Flask("weibao")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # schema order reads better than a-z
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # UTF-8 text: 登记, not \u767b\u8bb0
    app.config.update(DEFAULTS)
    app.config.update({k: v for k, v in config.items() if not k.startswith("WEIBAO_")})
    service, manual = _service(config)
    ensure_schema(service.store)
    app.extensions["weibao"] = Weibao(service, manual_clock=manual)

    api = errors.WeibaoApi(app)
    for module in (health, processes, migrations, instances, documents, audit, tasks_, messages, signals,
                   incidents, reports, outbox, users, groups, stock):
        api.register_blueprint(module.blp)
    api.register_blueprint(audit.audit_blp)
    api.register_blueprint(checkpoints.blp)
    metrics.install(app)
    if manual:
        api.register_blueprint(clock.blp)
    app.register_blueprint(docs.blp)
    console.install(app, service.settings.secret_key, service.settings.cookie_secure)
    errors.register(app)
    return app
