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
    existing = {row.id: row for row in session.scalars(
        select(OpenTask).where(OpenTask.instance_id == op.instance_id))}
    current = set()
    for task in iter_tasks(op.wf, TaskState.READY):
        if not isinstance(task.task_spec, UserTask):
            continue
        tid = str(task.id)
        current.add(tid)
        el = op.element(task)
        row = existing.get(tid)
        if row is None:
            row = OpenTask(id=tid, instance_id=op.instance_id, process_key=op.loaded.process_key,
                           element_id=el.id, name=el.name, candidate_groups=list(el.candidate_groups),
                           form=[f.to_dict() for f in el.form], created_at=op.now, assignee=None)
            session.add(row)
            for group in el.candidate_groups:
                session.add(TaskGroup(task_id=tid, group=group))
        row.assignee = assignee_of(task, el)
        row.due_at = due_for(task)
    gone = [tid for tid in existing if tid not in current]
    if gone:
        session.execute(delete(TaskGroup).where(TaskGroup.task_id.in_(gone)))
        session.execute(delete(OpenTask).where(OpenTask.id.in_(gone)))


def refresh_timers(session: Session, op: Any, extra: list[tuple[str, str, str | None, datetime]]) -> None:
    """Replace the instance's pending timers; `extra` adds (kind, element, task, due) from SLA clocks."""
    session.execute(delete(PendingTimer).where(PendingTimer.instance_id == op.instance_id))
    for task in iter_tasks(op.wf, TaskState.WAITING):
        due = timer_due(task)
        if due is not None:
            session.add(PendingTimer(kind="timer", instance_id=op.instance_id, task_id=str(task.id),
                                     element_id=task.task_spec.bpmn_id or task.task_spec.name, due_at=due))
    for task in iter_tasks(op.wf, TaskState.READY):
        retry_at = task.internal_data.get("weibao_retry_at")
        if retry_at and not task.internal_data.get("weibao_incident"):
            session.add(PendingTimer(kind="retry", instance_id=op.instance_id, task_id=str(task.id),
                                     element_id=task.task_spec.bpmn_id, due_at=datetime.fromisoformat(retry_at)))
    for kind, element_id, task_id, due in extra:
        session.add(PendingTimer(kind=kind, instance_id=op.instance_id, task_id=task_id,
                                 element_id=element_id, due_at=due))
