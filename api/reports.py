"""SLA report over a period: JSON, or CSV for spreadsheets."""

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
