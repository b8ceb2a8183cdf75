"""Refreshing the open-task and pending-timer indexes from an instance's state after an operation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.bpmn.model import Element
from engine.bpmn.spiff import strip_wrapper
from engine.bpmn.state import iter_tasks
from engine.bpmn.timers import timer_due
from engine.runtime.operation import Operation
from engine.store import write


def assignee_of(task: Task, element: Element) -> str | None:
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


def refresh_tasks(session: Session, op: Operation, due_for: Callable[[Task], datetime | None],
                  new: bool = False) -> None:
    """`new`: the instance was just created, so it has no rows to compare with."""
    existing = {} if new else write.stored_tasks(session, op.instance_id)
    added: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    current: set[str] = set()
    for task in iter_tasks(op.wf, TaskState.READY):
        if not isinstance(task.task_spec, UserTask):
            continue
        tid = str(task.id)
        current.add(tid)
        el = op.element(task)
        now = (assignee_of(task, el), due_for(task))
        if tid not in existing:
            added.append({"id": tid, "instance_id": op.instance_id, "process_key": op.loaded.process_key,
                          "element_id": el.id, "name": el.name, "candidate_groups": list(el.candidate_groups),
                          "form": [f.to_dict() for f in el.form], "created_at": op.now,
                          "assignee": now[0], "due_at": now[1]})
            groups.extend({"task_id": tid, "group": g} for g in el.candidate_groups)
        elif existing[tid] != now:
            changed.append({"key": tid, "assignee": now[0], "due_at": now[1]})
    dropped = [tid for tid in existing if tid not in current]
    write.write_tasks(session, write.TaskChanges(dropped, added, groups, changed))


TimedItem = tuple[datetime, str, str, str | None]  # due, kind, element_id, task_id


def timed_items(op: Operation, extra: list[tuple[str, str, str | None, datetime]]) -> list[TimedItem]:
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
    return sorted(items, key=_order)


def _order(item: TimedItem) -> tuple[datetime, str, str, str]:
    return item[0], item[1], item[2], item[3] or ""


def refresh_timers(session: Session, op: Operation, items: list[TimedItem], new: bool = False) -> None:
    stored = sorted([] if new else write.stored_timers(session, op.instance_id), key=_order)
    if stored == sorted(items, key=_order):
        return  # most steps leave the timers as they were: no rewrite, no index churn
    write.replace_timers(session, op.instance_id, bool(stored), [
        {"kind": kind, "instance_id": op.instance_id, "process_key": None, "task_id": task_id,
         "element_id": element_id, "due_at": due}
        for due, kind, element_id, task_id in items
    ])
