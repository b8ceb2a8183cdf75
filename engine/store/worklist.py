"""Work lists: the open tasks a person may work on, a page at a time, and single task lookups.

A worker's list is the union of the tasks assigned to them and the unassigned ones offered to their
groups. Each part is read in `(assignee, created_at, id)` index order and cut at the end of the page
before they are merged, so a page costs the same with a thousand open tasks or a hundred thousand.

A task's `due_at` is its case's nearest open SLA deadline (a clock still running, or breached and not
yet stopped: overdue), read from the `sla_clocks` table, whatever clock the task itself stops: the
person doing the work answers for the whole case's promise.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, bindparam, func, literal_column, or_, select, union_all
from sqlalchemy.engine import Connection

from engine import policy
from engine.actor import Actor
from engine.errors import NotFound
from engine.store.models import Instance, OpenTask, SlaClockRow, TaskGroup
from engine.store.paging import Page, Scope, known_total
from engine.store.prepared import Prepared

OPEN_CLOCK_STATES = ("running", "breached")
RAW_COLUMNS = tuple(OpenTask.__table__.c)
CASE_DUE = select(func.min(SlaClockRow.due_at)).where(
    SlaClockRow.instance_id == OpenTask.instance_id, SlaClockRow.stopped_at.is_(None),
    # Literal states: a prepared statement plans no IN list it is not given
    or_(*(SlaClockRow.state == literal_column(f"'{s}'") for s in OPEN_CLOCK_STATES))).scalar_subquery()
TASK_COLUMNS = (*(c for c in RAW_COLUMNS if c.name != "due_at"), CASE_DUE.label("due_at"))


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


@dataclass(frozen=True)
class TaskFilter:
    """What a work list is narrowed to; None is no condition. `sort` is "created" or "due" (nearest
    deadline first, tasks without one last)."""

    instance: str | None = None
    process: str | None = None
    assignee: str | None = None
    candidate_group: str | None = None
    contract: str | None = None
    level: str | None = None
    due_before: datetime | None = None
    sort: str = "created"

    def shape(self) -> tuple[bool, ...]:
        return tuple(getattr(self, f.name) is not None for f in fields(self) if f.name != "sort")

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sort"}


_CONDITIONS: dict[str, Any] = {
    "instance": lambda: OpenTask.instance_id == bindparam("instance"),
    "process": lambda: OpenTask.process_key == bindparam("process"),
    "assignee": lambda: OpenTask.assignee == bindparam("assignee"),
    "candidate_group": lambda: OpenTask.id.in_(
        select(TaskGroup.task_id).where(TaskGroup.group == bindparam("candidate_group"))),
    "contract": lambda: Instance.data["contract"].as_string() == bindparam("contract"),
    "level": lambda: Instance.data["level"].as_string() == bindparam("level"),
    "due_before": lambda: CASE_DUE < bindparam("due_before"),
}
_ON_INSTANCE = ("contract", "level")
_FILTERS = tuple(f.name for f in fields(TaskFilter) if f.name != "sort")


@functools.lru_cache(maxsize=256)
def _task_branch(kind: str, customer: bool, shape: tuple[bool, ...], counting: bool = False) -> Select[Any]:
    """Open tasks of one kind, "all", "mine" (assigned to :me) or "offered" (unassigned, offered to one of
    :groups), built once per shape: parameters carry the values. Counting reads no deadline (it would
    be computed for every row counted)."""
    query = select(OpenTask.id) if counting else select(*TASK_COLUMNS)
    used = [name for name, present in zip(_FILTERS, shape, strict=True) if present]
    if customer or set(used).intersection(_ON_INSTANCE):
        query = query.join(Instance, Instance.id == OpenTask.instance_id)
    if customer:
        named = Instance.data["customer"].as_string() == bindparam("customer")
        query = query.where(or_(Instance.started_by == bindparam("customer"), named))
    if kind == "mine":
        query = query.where(OpenTask.assignee == bindparam("me"))
    elif kind == "offered":
        groups = select(TaskGroup.task_id).where(TaskGroup.group.in_(bindparam("groups", expanding=True)))
        query = query.where(OpenTask.assignee.is_(None), OpenTask.id.in_(groups))
    for name in used:
        query = query.where(_CONDITIONS[name]())
    return query


# Any: a select's or a subquery's column collection, whose generic forms differ
def _order(columns: Any, sort: str) -> list[ColumnElement[Any]]:
    """created: oldest first; due: nearest deadline first, those without one after them."""
    tail = [columns.created_at, columns.id]
    return [columns.due_at.is_(None), columns.due_at, *tail] if sort == "due" else tail


@functools.lru_cache(maxsize=256)
def _task_page(kinds: tuple[str, ...], customer: bool, shape: tuple[bool, ...],
               sort: str) -> tuple[Any, list[Any]]:
    """A page of tasks and the counts that make its total."""
    branches = [_task_branch(kind, customer, shape) for kind in kinds]
    counts = [select(func.count()).select_from(_task_branch(kind, customer, shape, True).subquery())
              for kind in kinds]
    if len(branches) == 1:
        page = branches[0].order_by(*_order(branches[0].selected_columns, sort))
    else:
        cut = [select(*b.order_by(*_order(b.selected_columns, sort)).limit(bindparam("upto")).subquery().c)
               for b in branches]
        merged = union_all(*cut).subquery()
        page = select(*merged.c).order_by(*_order(merged.c, sort))
    page = page.limit(bindparam("per_page")).offset(bindparam("offset"))
    return Prepared(page), [Prepared(c) for c in counts]


def tasks(conn: Connection, actor: Actor, page: Page, where: TaskFilter | None = None, *,
          instance_id: str | None = None, process: str | None = None) -> tuple[list[dict[str, Any]], int]:
    where = where or TaskFilter(instance=instance_id, process=process)
    customer = Scope.of(actor).customer
    kinds = ("all",) if policy.sees_all_tasks(actor) else ("mine", "offered") if actor.groups else ("mine",)
    query, counts = _task_page(kinds, customer is not None, where.shape(), where.sort)
    offset = (page.page - 1) * page.per_page
    params = {"customer": customer, "me": actor.name, "groups": sorted(actor.groups), **where.params(),
              "per_page": page.per_page, "offset": offset, "upto": offset + page.per_page}
    rows = query.rows(conn, params)
    total = known_total(rows, page)
    if total is None:
        total = sum(count.scalar(conn, params) or 0 for count in counts)
    return [task_dict(r) for r in rows], total


_OPEN_TASK = Prepared(select(*RAW_COLUMNS).where(OpenTask.id == bindparam("id")))
_SHOWN_TASK = Prepared(select(*TASK_COLUMNS).where(OpenTask.id == bindparam("id")))


def open_task(conn: Connection, actor: Actor, task_id: str, *, shown: bool = False) -> TaskRow | None:
    """The open task if the actor may know of it; None when it is not open (the engine tells why).
    The write path reads the row as stored; `shown` reads it as lists show it (the case's deadline)."""
    row = (_SHOWN_TASK if shown else _OPEN_TASK).first(conn, {"id": task_id})
    scope = Scope.of(actor)
    if row is None or scope.customer is None:
        return row
    visible = select(Instance.id).where(Instance.id == row.instance_id, scope.instances())
    if conn.execute(visible).first() is None:
        raise NotFound(f"no task {task_id}")
    return row


def visible_task(conn: Connection, actor: Actor, task_id: str) -> dict[str, Any]:
    row = open_task(conn, actor, task_id, shown=True)
    if row is None or not policy.may_see_task(actor, row.assignee, row.candidate_groups):
        raise NotFound(f"no open task {task_id}")
    return task_dict(row)
