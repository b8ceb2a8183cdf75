"""Incidents: service tasks that failed for good, and retrying them."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from engine import queries

from . import auth
from .context import weibao
from .schemas import PageArgs, Text, Timestamp, page_of
from .strict_json import Blueprint

blp = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents", description="Incidents")
blp.before_request(auth.authenticate)


class IncidentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    instance_id = ma.fields.String(required=True)
    task_id = ma.fields.String(required=True)
    element_id = ma.fields.String(required=True)
    topic = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    attempts = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, metadata={"description": "open or resolved"})
    created_at = Timestamp(required=True)
    resolved_at = Timestamp(allow_none=True, required=True)
    outbox_id = ma.fields.Integer(allow_none=True, required=True, metadata={
        "description": "the outbox message whose delivery failed for good; retrying sends it again"})


class IncidentArgs(PageArgs):
    status = ma.fields.String(validate=validate.OneOf(("open", "resolved")))
    instance = Text(max_length=36)


IncidentPage = page_of(IncidentSchema, "IncidentPage")


@blp.route("")
@blp.arguments(IncidentArgs(), location="query")
@blp.response(200, IncidentPage)
def list_incidents(args: dict[str, Any]) -> Any:
    """Incidents, newest first (not for customers)."""
    auth.require_staff()
    page = queries.Page(args["page"], args["per_page"])
    with weibao().service.store.read() as session:
        items, total = queries.incidents(session, page, status=args.get("status"),
                                         instance_id=args.get("instance"))
    return {"items": items, "total": total}


@blp.route("/<int(max=2147483647):incident_id>/retry", methods=["POST"])
@blp.response(200, IncidentSchema)
def retry(incident_id: int) -> Any:
    """Run the failed service task again (process owners, admins); 409 if the incident is not open."""
    who = auth.require_role("process_owner")
    weibao().service.runtime.retry_incident(incident_id, who)
    with weibao().service.store.read() as session:
        return queries.incident(session, incident_id)
