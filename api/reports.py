"""SLA report over a period (JSON, or CSV for spreadsheets), and the clocks of one case.

A clock counts as met only when it stopped at its contract's stop event by its due time; one whose
instance ended first (handed over, cancelled) is "ended": not kept, counted against pct_met, shown
apart from the breaches (engine/sla/report.py)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from marshmallow import validate

from . import auth
from .context import weibao
from .errors import NotAvailable
from .schemas import Text, Timestamp
from .strict_json import Blueprint

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Reports")
blp.before_request(auth.authenticate)


class SlaReportArgs(ma.Schema):
    start = Timestamp(required=True, data_key="from", metadata={"description": "period start, inclusive"})
    end = Timestamp(required=True, data_key="to", metadata={"description": "period end, exclusive"})
    process = Text(max_length=128)
    contract = Text(max_length=128)
    format = ma.fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))

    @ma.validates_schema
    def _ordered(self, args: dict[str, Any], **_: Any) -> None:
        if "start" in args and "end" in args and args["end"] <= args["start"]:
            raise ma.ValidationError("must be after from", "to")


class SlaReportSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "one row per clock"})
    total = ma.fields.Integer(required=True)


OUTCOMES = ("met", "breached", "ended", "open")


class SlaCaseClockSchema(ma.Schema):
    instance_id = ma.fields.String(required=True)
    process = ma.fields.String(required=True)
    business_key = ma.fields.String(allow_none=True, required=True)
    clock = ma.fields.String(required=True)
    outcome = ma.fields.String(required=True, validate=validate.OneOf(OUTCOMES), metadata={
        "description": "met: stopped at its stop event by the due time; breached: the due time passed "
                       "first; ended: the instance ended before the stop event (not kept); open"})
    state = ma.fields.String(required=True, metadata={"description": "the clock record's state"})
    contract = ma.fields.String(allow_none=True)
    level = ma.fields.String(allow_none=True)
    target = ma.fields.String(allow_none=True, metadata={"description": "ISO 8601 duration"})
    calendar = ma.fields.String(allow_none=True)
    started_at = Timestamp(required=True)
    due_at = Timestamp(allow_none=True, metadata={"description": "for a paused clock: if it resumed now"})
    stopped_at = Timestamp(allow_none=True)
    breached_at = Timestamp(allow_none=True)
    business_seconds = ma.fields.Float(allow_none=True, metadata={"description": "time to stop, no pauses"})
    remaining_seconds = ma.fields.Float(allow_none=True)
    provisional = ma.fields.Boolean(required=True, metadata={
        "description": "counted Monday-Friday on a year without holiday data"})
    provisional_years = ma.fields.List(ma.fields.Integer(), required=True)
    received_from = ma.fields.String(allow_none=True, metadata={
        "description": "the instance of the case that handed this clock over (it started there)"})
    step = ma.fields.String(allow_none=True, metadata={
        "description": "a step's own limit (seed 004 l.709-711): the user task's element id"})
    step_name = ma.fields.String(allow_none=True, metadata={"description": "that step's name"})


class SlaCaseSchema(ma.Schema):
    key = ma.fields.String(required=True, metadata={"description": "business key or instance id"})
    items = ma.fields.List(ma.fields.Nested(SlaCaseClockSchema), required=True,
                           metadata={"description": "every clock of the case's instances"})
    total = ma.fields.Integer(required=True)


@blp.route("/sla")
@blp.arguments(SlaReportArgs(), location="query")
@blp.response(200, SlaReportSchema)
@blp.doc(responses={"200": {"description": "JSON, or CSV with format=csv", "content": {
    "application/json": {"schema": SlaReportSchema}, "text/csv": {"schema": {"type": "string"}}}}})
def sla(args: dict[str, Any]) -> Any:
    """SLA clocks of the period, met or breached, by process and contract (not for customers)."""
    auth.require_staff()
    try:
        from engine.sla.report import sla_report, to_csv
    except ImportError as exc:  # the report module ships separately from the API
        raise NotAvailable("the SLA report is not available in this build") from exc
    with weibao().service.store.read() as session:
        rows = sla_report(session, args["start"], args["end"], args.get("process"), args.get("contract"))
    if args["format"] == "csv":
        return Response(to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="sla-report.csv"'})
    return {"items": rows, "total": len(rows)}


@blp.route("/sla/cases/<string:key>")
@blp.response(200, SlaCaseSchema)
@blp.alt_response(404, description="no instance has that business key or id")
def sla_case(key: str) -> Any:
    """One case's clocks: start, due, stop, outcome and provisional flag of each (not for customers)."""
    auth.require_staff()
    try:
        from engine.sla.report import sla_cases
    except ImportError as exc:
        raise NotAvailable("the SLA report is not available in this build") from exc
    service = weibao().service
    with service.store.read() as session:
        items = sla_cases(session, key, service.clock.now())
    return {"key": key, "items": items, "total": len(items)}
