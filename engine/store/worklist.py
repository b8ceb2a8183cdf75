"""Work lists: the open tasks a person may work on, a page at a time, and single task lookups.

A worker's list is the union of the tasks assigned to them and the unassigned ones offered to their
groups. Each part is read in `(assignee, created_at, id)` index order and cut at the end of the page
before they are merged, so a page costs the same with a thousand open tasks or a hundred thousand.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, func, or_, select, union_all
from sqlalchemy.engine import Connection

from engine import policy
from engine.actor import Actor
from engine.errors import NotFound
from engine.store.models import Instance, OpenTask, TaskGroup
from engine.store.paging import Page, Scope, known_total
from engine.store.prepared import Prepared

TASK_COLUMNS = tuple(OpenTask.__table__.c)


class TaskRow(Protocol):
    """A row of the open-task index, as the prepared statements give it back."""

    id: str
    instance_id: str
    process_key: str
    element_id: str
    name: str
    candidate_groups: list[str]
    assignee: str | None
    created_at: datetime
    due_at: datetime | None
    form: list[dict[str, Any]]


def task_dict(row: TaskRow) -> dict[str, Any]:
    return {"id": row.id, "instance_id": row.instance_id, "process": row.process_key,
            "element_id": row.element_id, "name": row.name, "candidate_groups": list(row.candidate_groups),
            "assignee": row.assignee,
            "created_at": row.created_at, "due_at": row.due_at, "form": list(row.form)}


@functools.lru_cache(maxsize=64)
def _task_branch(kind: str, customer: bool, by_instance: bool, by_process: bool) -> Select[Any]:
    """Open tasks of one kind, "all", "mine" (assigned to :me) or "offered" (unassigned, offered to one of
    :groups), built once per shape: parameters carry the values."""
    query = select(*TASK_COLUMNS)
    if customer:
        named = Instance.data["customer"].as_string() == bindparam("customer")
        query = query.join(Instance, Instance.id == OpenTask.instance_id) \
            .where(or_(Instance.started_by == bindparam("customer"), named))
    if kind == "mine":
        query = query.where(OpenTask.assignee == bindparam("me"))
    elif kind == "offered":
        groups = select(TaskGroup.task_id).where(TaskGroup.group.in_(bindparam("groups", expanding=True)))
        query = query.where(OpenTask.assignee.is_(None), OpenTask.id.in_(groups))
    if by_instance:
        query = query.where(OpenTask.instance_id == bindparam("instance"))
    if by_process:
        query = query.where(OpenTask.process_key == bindparam("process"))
    return query


def _in_order(query: Select[Any]) -> Select[Any]:
    return query.order_by(OpenTask.created_at, OpenTask.id)


@functools.lru_cache(maxsize=64)
def _task_page(kinds: tuple[str, ...], *shape: bool) -> tuple[Any, list[Any]]:
    """A page of tasks and the counts that make its total."""
    branches = [_task_branch(kind, *shape) for kind in kinds]
    counts = [select(func.count()).select_from(b.subquery()) for b in branches]
    if len(branches) == 1:
        page = _in_order(branches[0])
    else:
        cut = [select(*_in_order(b).limit(bindparam("upto")).subquery().c) for b in branches]
        merged = union_all(*cut).subquery()
        page = select(*merged.c).order_by(merged.c.created_at, merged.c.id)
    page = page.limit(bindparam("per_page")).offset(bindparam("offset"))
    return Prepared(page), [Prepared(c) for c in counts]


def tasks(conn: Connection, actor: Actor, page: Page, *, instance_id: str | None = None,
          process: str | None = None) -> tuple[list[dict[str, Any]], int]:
    customer = Scope.of(actor).customer
    kinds = ("all",) if policy.sees_all_tasks(actor) else ("mine", "offered") if actor.groups else ("mine",)
    query, counts = _task_page(kinds, customer is not None, instance_id is not None, process is not None)
    offset = (page.page - 1) * page.per_page
    params = {"customer": customer, "me": actor.name, "groups": sorted(actor.groups), "instance": instance_id,
              "process": process, "per_page": page.per_page, "offset": offset, "upto": offset + page.per_page}
    rows = query.rows(conn, params)
    total = known_total(rows, page)
    if total is None:
        total = sum(count.scalar(conn, params) or 0 for count in counts)
    return [task_dict(r) for r in rows], total


_OPEN_TASK = Prepared(select(*TASK_COLUMNS).where(OpenTask.id == bindparam("id")))


def open_task(conn: Connection, actor: Actor, task_id: str) -> TaskRow | None:
    """The open task if the actor may know of it; None when it is not open (the engine tells why)."""
    row = _OPEN_TASK.first(conn, {"id": task_id})
    scope = Scope.of(actor)
    if row is None or scope.customer is None:
        return row
    visible = select(Instance.id).where(Instance.id == row.instance_id, scope.instances())
    if conn.execute(visible).first() is None:
        raise NotFound(f"no task {task_id}")
    return row


def visible_task(conn: Connection, actor: Actor, task_id: str) -> dict[str, Any]:
    row = open_task(conn, actor, task_id)
    if row is None or not policy.may_see_task(actor, row.assignee, row.candidate_groups):
        raise NotFound(f"no open task {task_id}")
    return task_dict(row)
