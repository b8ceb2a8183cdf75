"""User tasks: the caller's work list, claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine import queries, worklist

from . import auth
from .context import weibao
from .dumping import FastDump
from .schemas import PageArgs, TaskSchema, Text, page_of
from .strict_json import Blueprint

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="User tasks")
blp.before_request(auth.authenticate)


class TaskListArgs(PageArgs):
    instance = Text(max_length=36, metadata={"description": "only tasks of this instance"})
    process = Text(max_length=128, metadata={"description": "only tasks of this process key"})


class CompleteSchema(ma.Schema):
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict,
                          metadata={"description": "the task form's fields; unknown fields are refused"})


class TaskResultSchema(FastDump):
    instance_id = ma.fields.String(required=True)
    task = ma.fields.Nested(TaskSchema, allow_none=True, required=True,
                            metadata={"description": "the task after the change; null once completed"})


TaskPage = page_of(TaskSchema, "TaskPage")


def _after(task_id: str, instance_id: str) -> dict[str, Any]:
    with weibao().service.store.snapshot() as conn:
        row = worklist.open_task(conn, auth.actor(), task_id)
        return {"instance_id": instance_id, "task": worklist.task_dict(row) if row is not None else None}


@blp.route("")
@blp.arguments(TaskListArgs(), location="query", unknown=ma.RAISE)
@blp.response(200, TaskPage)
def list_tasks(args: dict[str, Any]) -> Any:
    """Open tasks assigned to the caller or offered to one of their groups (admins and auditors: all)."""
    page = queries.Page(args["page"], args["per_page"])
    with weibao().service.store.snapshot() as conn:
        items, total = worklist.tasks(conn, auth.actor(), page, instance_id=args.get("instance"),
                                     process=args.get("process"))
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


@blp.route("/<task_id>/complete", methods=["POST"])
@blp.arguments(CompleteSchema())
@blp.response(200, TaskResultSchema)
def complete(body: dict[str, Any], task_id: str) -> Any:
    """Complete the task with its form data (validated against the form; unknown fields refused)."""
    who = auth.require_writer()
    instance_id = weibao().service.runtime.complete(task_id, body["data"], who)
    return {"instance_id": instance_id, "task": None}
