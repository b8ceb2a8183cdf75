"""User tasks: the caller's work list, claim, unclaim, reassign, complete."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from engine import casework, queries, worklist

from . import auth
from .context import weibao
from .dumping import FastDump
from .incidents import IncidentSchema
from .schemas import PageArgs, TaskSchema, Text, Timestamp, page_of
from .strict_json import Blueprint

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="User tasks")
blp.before_request(auth.authenticate)


class TaskListArgs(PageArgs):
    instance = Text(max_length=36, metadata={"description": "only tasks of this instance"})
    process = Text(max_length=128, metadata={"description": "only tasks of this process key"})
    assignee = Text(max_length=128, metadata={"description": "only tasks assigned to this user"})
    candidate_group = Text(max_length=128, metadata={"description": "only tasks offered to this group"})
    contract = Text(max_length=128, metadata={"description": "only tasks of cases under this contract"})
    level = Text(max_length=32, metadata={"description": "only tasks of cases of this level (P1, level1…)"})
    due_before = Timestamp(metadata={"description": "only tasks whose case has an open SLA deadline "
                                                    "before this moment"})
    sort = ma.fields.String(load_default="created", validate=validate.OneOf(("created", "due")), metadata={
        "description": "created: oldest first; due: the case's nearest SLA deadline first, "
                       "tasks without one last"})


class CompleteSchema(ma.Schema):
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict,
                          metadata={"description": "the task form's fields; unknown fields are refused"})


class ReassignSchema(ma.Schema):
    assignee = Text(max_length=128, required=True, metadata={
        "description": "an existing, enabled user who may work on the task (in one of its candidate groups)"})


class TaskResultSchema(FastDump):
    instance_id = ma.fields.String(required=True)
    task = ma.fields.Nested(TaskSchema, allow_none=True, required=True,
                            metadata={"description": "the task after the change; null once completed"})


class CompletionSchema(FastDump):
    instance_id = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={
        "description": "the instance after the completion: running, completed, cancelled or failed"})
    next_tasks = ma.fields.List(ma.fields.Nested(TaskSchema), required=True, metadata={
        "description": "the case's open tasks now assigned to the caller or offered to their groups"})
    incidents = ma.fields.List(ma.fields.Nested(IncidentSchema), required=True, metadata={
        "description": "incidents the completion opened (a service task after it that failed)"})


TaskPage = page_of(TaskSchema, "TaskPage")


def _after(task_id: str, instance_id: str) -> dict[str, Any]:
    with weibao().service.store.snapshot() as conn:
        row = worklist.open_task(conn, auth.actor(), task_id, shown=True)
        return {"instance_id": instance_id, "task": worklist.task_dict(row) if row is not None else None}


@blp.route("")
@blp.arguments(TaskListArgs(), location="query", unknown=ma.RAISE)
@blp.response(200, TaskPage)
def list_tasks(args: dict[str, Any]) -> Any:
    """Open tasks assigned to the caller or offered to one of their groups (admins and auditors: all),
    narrowed by the filters given; `due_at` is the case's nearest open SLA deadline."""
    page = queries.Page(args.pop("page"), args.pop("per_page"))
    where = worklist.TaskFilter(**args)
    with weibao().service.store.snapshot() as conn:
        items, total = worklist.tasks(conn, auth.actor(), page, where)
    return {"items": items, "total": total}


@blp.route("/<task_id>")
@blp.response(200, TaskSchema)
def get_task(task_id: str) -> Any:
    """One open task the caller may work on."""
    with weibao().service.store.snapshot() as conn:
        return worklist.visible_task(conn, auth.actor(), task_id)


@blp.route("/<task_id>/claim", methods=["POST"])
@blp.response(200, TaskResultSchema)
def claim(task_id: str) -> Any:
    """Take the task: from now on only the caller may complete it."""
    who = auth.require_writer()
    instance_id = weibao().service.runtime.claim(task_id, who)
    return _after(task_id, instance_id)


@blp.route("/<task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskResultSchema)
def unclaim(task_id: str) -> Any:
    """Give the task back to its candidate groups."""
    who = auth.require_writer()
    instance_id = weibao().service.runtime.unclaim(task_id, who)
    return _after(task_id, instance_id)


@blp.route("/<task_id>/reassign", methods=["POST"])
@blp.arguments(ReassignSchema())
@blp.response(200, TaskResultSchema)
def reassign(body: dict[str, str], task_id: str) -> Any:
    """Hand the task to a named person (service desk, project managers, admins); recorded in the
    history with the previous assignee. A name that is not an enabled user who may work on it is 422."""
    who = auth.require_writer()
    instance_id = weibao().service.runtime.reassign(task_id, body["assignee"], who)
    return _after(task_id, instance_id)


@blp.route("/<task_id>/complete", methods=["POST"])
@blp.arguments(CompleteSchema())
@blp.response(200, CompletionSchema)
def complete(body: dict[str, Any], task_id: str) -> Any:
    """Complete the task with its form data (validated against the form; unknown fields refused).
    The answer tells what comes next: the caller's open tasks in the case, the instance's status and
    any incident the completion opened."""
    who = auth.require_writer()
    instance_id = weibao().service.runtime.complete(task_id, body["data"], who)
    with weibao().service.store.snapshot() as conn:
        return casework.completion_outcome(conn, who, instance_id, task_id)
