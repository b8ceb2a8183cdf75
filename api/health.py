"""GET /health: no token needed, so a load balancer or a person can probe it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine import calendar_warnings

from .context import weibao
from .schemas import Timestamp
from .strict_json import Blueprint

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "ok or degraded"})
    database = ma.fields.String(required=True, metadata={"description": "ok or error"})
    scheduler = ma.fields.String(required=True, metadata={"description": "running, stopped or disabled"})
    clock = ma.fields.String(required=True, metadata={"description": "system or manual"})
    checkpoints = ma.fields.String(required=True, metadata={
        "description": "ok, failing (the automatic signed checkpoint failed; status degraded) or disabled"})
    checkpoint_error = ma.fields.String(allow_none=True, required=True)
    now = Timestamp(required=True)
    warnings = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "things to act on that do not make the service unusable, e.g. a calendar year "
                       "without holiday data (from 1 December for the coming year)"})


def _database_ok() -> bool:
    try:
        weibao().service.store.ping()
        return True
    except Exception:  # any driver failure means the same thing to a probe
        return False


def _scheduler_state() -> str:
    scheduler = weibao().service.scheduler
    if scheduler is None:
        return "disabled"
    return "running" if scheduler.running else "stopped"


@blp.route("/health")
@blp.doc(security=[])
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="database unreachable or scheduler stopped")
def health() -> Any:
    """Is the service usable: database reachable, timer scheduler running."""
    database = "ok" if _database_ok() else "error"
    scheduler = _scheduler_state()
    healthy = database == "ok" and scheduler != "stopped"
    state = weibao()
    checkpoints = state.service.checkpointer
    now = state.service.clock.now()
    # A failing checkpoint degrades the answer but not the status code: requests are still served.
    status = "ok" if healthy and checkpoints.state() != "failing" else "degraded"
    payload = {"status": status, "database": database, "scheduler": scheduler,
               "clock": "manual" if state.manual_clock else "system", "now": now,
               "checkpoints": checkpoints.state(),
               "checkpoint_error": checkpoints.last_error or checkpoints.witness_error,
               "warnings": calendar_warnings(now)}
    return payload, 200 if healthy else 503
