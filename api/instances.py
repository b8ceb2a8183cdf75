"""Process instances: start, list, read, cancel."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from marshmallow import validate

from engine import ReadConnection as Connection
from engine import queries
from engine.errors import InvalidInput, NotFound

from . import auth
from .context import weibao
from .schemas import InstanceSchema, InstanceSummarySchema, PageArgs, Text, page_of
from .strict_json import Blueprint

blp = Blueprint("instances", __name__, url_prefix="/api/v1/instances", description="Process instances")
blp.before_request(auth.authenticate)

STATUSES = ("running", "completed", "cancelled", "failed")


class StartSchema(ma.Schema):
    process = Text(max_length=128, required=True, metadata={"description": "process key, e.g. fault_repair"})
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict,
                          metadata={"description": "the start form's fields"})
    business_key = Text(max_length=255, allow_none=True, load_default=None)
    version = ma.fields.Integer(allow_none=True, load_default=None,
                                validate=validate.Range(min=1, max=2**31 - 1),
                                metadata={"description": "a deployed version; the current one when absent"})


class InstanceListArgs(PageArgs):
    process = Text(max_length=128)
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    business_key = Text(max_length=255)
    q = Text(max_length=255, metadata={"description": "text found in the business key or the summary"})


class CancelSchema(ma.Schema):
    reason = Text(load_default="")


InstancePage = page_of(InstanceSummarySchema, "InstancePage")


def _detail(instance_id: str) -> dict[str, Any]:
    service = weibao().service
    with service.store.snapshot() as conn:
        return queries.instance(conn, auth.scope(), instance_id, service.runtime.sla)


# OpenAPI links: what a client (and schemathesis' stateful run) can do next with the new instance.
def _ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


_NEXT = {
    "GetInstance": {"operationRef": _ref("/api/v1/instances/{instance_id}", "get"),
                    "parameters": {"instance_id": "$response.body#/id"}},
    "ClaimFirstTask": {"operationRef": _ref("/api/v1/tasks/{task_id}/claim", "post"),
                       "parameters": {"task_id": "$response.body#/open_tasks/0/id"}},
    "CompleteFirstTask": {"operationRef": _ref("/api/v1/tasks/{task_id}/complete", "post"),
                          "parameters": {"task_id": "$response.body#/open_tasks/0/id"}},
    "CancelInstance": {"operationRef": _ref("/api/v1/instances/{instance_id}/cancel", "post"),
                       "parameters": {"instance_id": "$response.body#/id"}},
}


@blp.route("", methods=["POST"])
@blp.arguments(StartSchema())
@blp.response(201, InstanceSchema, headers={"Location": {"schema": {"type": "string"},
                                                          "description": "the new instance"}})
@blp.doc(responses={"201": {"links": _NEXT}})
def start(body: dict[str, Any]) -> Any:
    """Start an instance of the current version of a process (or the one named), with its start-form data.
    A suspended version is 409."""
    who = auth.require_writer()
    runtime, scope = weibao().service.runtime, auth.scope()

    def read_back(conn: Connection, new_id: str) -> tuple[str, dict[str, Any] | None]:
        try:
            return new_id, queries.instance(conn, scope, new_id, runtime.sla)
        except NotFound:
            return new_id, None  # outside the caller's scope: the start stands, the read below says 404

    try:
        instance_id, detail = runtime.start_then(read_back, body["process"], body["data"], who,
                                                 body["business_key"], version=body["version"])
    except NotFound as exc:
        # The process is named in the body: an unknown one is bad input, not a missing resource.
        field = "version" if body["version"] is not None and "version" in exc.message else "process"
        raise InvalidInput(exc.message, details={"fields": {field: f"is not a deployed {field}"}}) from exc
    location = url_for("instances.get_instance", instance_id=instance_id)
    return detail or _detail(instance_id), 201, {"Location": location}


@blp.route("")
@blp.arguments(InstanceListArgs(), location="query", unknown=ma.RAISE)
@blp.response(200, InstancePage)
def list_instances(args: dict[str, Any]) -> Any:
    """Instances, newest first; customers see only their own. `q` searches business key and summary."""
    page = queries.Page(args.pop("page"), args.pop("per_page"))
    with weibao().service.store.read() as session:
        items, total = queries.instances(session, auth.scope(), page, **args)
    return {"items": items, "total": total}


@blp.route("/<instance_id>")
@blp.response(200, InstanceSchema)
def get_instance(instance_id: str) -> Any:
    """One instance with its data, open tasks and SLA clocks."""
    return _detail(instance_id)


@blp.route("/<instance_id>/cancel", methods=["POST"])
@blp.arguments(CancelSchema(), required=False)
@blp.response(200, InstanceSchema)
def cancel(body: dict[str, Any], instance_id: str) -> Any:
    """Cancel a running instance (department or technical directors, admins)."""
    who = auth.require_role(groups=auth.DIRECTOR_GROUPS)
    auth.require_writer()
    with weibao().service.store.read() as session:
        queries.visible_instance(session, auth.scope(), instance_id)
    weibao().service.runtime.cancel(instance_id, who, body.get("reason", ""))
    return _detail(instance_id)
