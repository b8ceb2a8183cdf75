"""User tasks: the caller's work list, claim, unclaim, complete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma

from engine import ReadConnection as Connection
from engine import queries, worklist
from engine.actor import Actor
from engine.errors import Conflict

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


def _precheck(task_id: str, who: Actor) -> Callable[[Connection], str | None]:
    """Visibility first: a task outside the caller's scope (another customer's) answers 404, which the
    engine, knowing nothing of scopes, cannot say. A task held by a colleague is a 409 in the engine
    too; answering it here adds the holder to the error details. The engine runs it inside the
    operation's own transaction.
    """

    def check(conn: Connection) -> str | None:
        row = worklist.open_task(conn, who, task_id)
        if row is None:
            return None  # not open: the engine says whether it never existed or is already done
        taken = row.assignee and row.assignee != who.name and not who.is_admin
        if taken and who.groups.intersection(row.candidate_groups):
            raise Conflict(f"task {task_id} is assigned to {row.assignee}", instance_id=row.instance_id,
                           element_id=row.element_id, details={"assignee": row.assignee})
        return str(row.instance_id)

    return check


def _after(task_id: str, instance_id: str) -> dict[str, Any]:
    with weibao().service.store.snapshot() as conn:
        row = worklist.open_task(conn, auth.actor(), task_id)
        return {"instance_id": instance_id, "task": worklist.task_dict(row) if row is not None else None}


@blp.route("")
@blp.arguments(TaskListArgs(), location="query")
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
    instance_id = weibao().service.runtime.claim(task_id, who, check=_precheck(task_id, who))
    return _after(task_id, instance_id)


@blp.route("/<task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskResultSchema)
def unclaim(task_id: str) -> Any:
    """Give the task back to its candidate groups."""
    who = auth.require_writer()
    instance_id = weibao().service.runtime.unclaim(task_id, who, check=_precheck(task_id, who))
    return _after(task_id, instance_id)


@blp.route("/<task_id>/complete", methods=["POST"])
@blp.arguments(CompleteSchema())
@blp.response(200, TaskResultSchema)
def complete(body: dict[str, Any], task_id: str) -> Any:
    """Complete the task with its form data (validated against the form; unknown fields refused)."""
    who = auth.require_writer()
    instance_id = weibao().service.runtime.complete(task_id, body["data"], who, check=_precheck(task_id, who))
    return {"instance_id": instance_id, "task": None}
