"""Refreshing the open-task and pending-timer indexes from an instance's state after an operation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .spiff import strip_wrapper
from .state import iter_tasks
from .store import OpenTask, PendingTimer, TaskGroup
from .timers import timer_due


def assignee_of(task: Any, element: Any) -> str | None:
    claimed = task.internal_data.get("weibao_assignee")
    if claimed:
        return str(claimed)
    expr = element.assignee
    if not expr:
        return None
    name = strip_wrapper(expr)
    if expr.strip().startswith("${"):
        value = task.data.get(name)
        return str(value) if value else None
    return name


def refresh_tasks(session: Session, op: Any, due_for: Any) -> None:
    existing = {
        row.id: row for row in session.scalars(select(OpenTask).where(OpenTask.instance_id == op.instance_id))
    }
    current = set()
    for task in iter_tasks(op.wf, TaskState.READY):
        if not isinstance(task.task_spec, UserTask):
            continue
        tid = str(task.id)
        current.add(tid)
        el = op.element(task)
        row = existing.get(tid)
        if row is None:
            row = OpenTask(
                id=tid,
                instance_id=op.instance_id,
                process_key=op.loaded.process_key,
                element_id=el.id,
                name=el.name,
                candidate_groups=list(el.candidate_groups),
                form=[f.to_dict() for f in el.form],
                created_at=op.now,
                assignee=None,
            )
            session.add(row)
            for group in el.candidate_groups:
                session.add(TaskGroup(task_id=tid, group=group))
        row.assignee = assignee_of(task, el)
        row.due_at = due_for(task)
    gone = [tid for tid in existing if tid not in current]
    if gone:
        session.execute(delete(TaskGroup).where(TaskGroup.task_id.in_(gone)))
        session.execute(delete(OpenTask).where(OpenTask.id.in_(gone)))


TimedItem = tuple[datetime, str, str, str | None]  # due, kind, element_id, task_id


def timed_items(op: Any, extra: list[tuple[str, str, str | None, datetime]]) -> list[TimedItem]:
    """Everything of this instance that must happen at a time, read from its state alone, in a fixed
    order: the index is built from it, and the scheduler and replay fire from it."""
    items: list[TimedItem] = []
    for task in iter_tasks(op.wf, TaskState.WAITING):
        due = timer_due(task)
        if due is not None:
            items.append((due, "timer", task.task_spec.bpmn_id or task.task_spec.name, str(task.id)))
    for task in iter_tasks(op.wf, TaskState.READY):
        retry_at = task.internal_data.get("weibao_retry_at")
        if retry_at and not task.internal_data.get("weibao_incident"):
            items.append((datetime.fromisoformat(retry_at), "retry", task.task_spec.bpmn_id, str(task.id)))
    items.extend((due, kind, element_id, task_id) for kind, element_id, task_id, due in extra)
    return sorted(items, key=lambda i: (i[0], i[1], i[2], i[3] or ""))


def refresh_timers(session: Session, op: Any, items: list[TimedItem]) -> None:
    session.execute(delete(PendingTimer).where(PendingTimer.instance_id == op.instance_id))
    for due, kind, element_id, task_id in items:
        session.add(
            PendingTimer(
                kind=kind, instance_id=op.instance_id, task_id=task_id, element_id=element_id, due_at=due
            )
        )
