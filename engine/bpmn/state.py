"""Keeping a SpiffWorkflow instance small: compaction, task iteration and state digests.

SpiffWorkflow keeps every task it ever ran in one tree. A rework loop makes that tree deeper at each
turn, so serialising grows with age and `TaskIterator`'s depth limit eventually hides live tasks.
After every operation we keep only what can still matter - unfinished tasks, their parents (joins and
boundary events look one level up), the root - and re-link each kept task to its nearest kept
ancestor, which preserves ancestry among the kept tasks. The history itself is in the event log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.store.chain import canonical


def all_workflows(workflow: BpmnWorkflow) -> list[Any]:
    return [workflow, *workflow.subprocesses.values()]


def iter_tasks(workflow: BpmnWorkflow, state: int = TaskState.ANY_MASK) -> Iterator[Task]:
    """Every task of the instance, subprocesses included, without any depth limit."""
    for wf in all_workflows(workflow):
        for task in list(wf.tasks.values()):
            if task.has_state(state):
                yield task


def _preorder(wf: Any) -> list[UUID]:
    order, stack = [], [wf.task_tree.id]
    while stack:
        tid = stack.pop()
        order.append(tid)
        stack.extend(reversed(wf.tasks[tid]._children))
    return order


def _kept(wf: Any) -> set[UUID]:
    keep = {wf.task_tree.id}
    for task in wf.tasks.values():
        if not task.has_state(TaskState.FINISHED_MASK):
            keep.add(task.id)
            if task._parent is not None:
                keep.add(task._parent)
    return keep


def _nearest_kept(tasks: dict[UUID, Task], tid: UUID, keep: set[UUID], root: UUID) -> UUID:
    parent = tasks[tid]._parent
    while parent is not None and parent not in keep:
        parent = tasks[parent]._parent
    return parent if parent is not None else root


def _compact_tree(wf: Any) -> None:
    tasks, root = wf.tasks, wf.task_tree.id
    keep = _kept(wf)
    if len(keep) == len(tasks):
        return
    new_children: dict[UUID, list[UUID]] = {tid: [] for tid in keep}
    for tid in _preorder(wf):
        if tid != root and tid in keep:
            parent = _nearest_kept(tasks, tid, keep, root)
            tasks[tid]._parent = parent
            new_children[parent].append(tid)
    for tid in [t for t in tasks if t not in keep]:
        del tasks[tid]
    for tid, children in new_children.items():
        tasks[tid]._children = children
    if wf.last_task is not None and wf.last_task.id not in keep:
        wf.last_task = None


def compact(workflow: BpmnWorkflow) -> None:
    for wf in all_workflows(workflow):
        _compact_tree(wf)
    live = {tid for wf in all_workflows(workflow) for tid in wf.tasks}
    for parent_id in [pid for pid in workflow.subprocesses if pid not in live]:
        del workflow.subprocesses[parent_id]
    em = workflow.event_manager
    for tid in [tid for tid in em.tasks if tid not in live]:
        del em.tasks[tid]


def digest(workflow: BpmnWorkflow) -> str:
    """Task states and data of the whole instance; timestamps are left out on purpose."""
    rows = sorted((str(t.id), t.task_spec.name, t.state, canonical(t.data)) for t in iter_tasks(workflow))
    payload = canonical({"tasks": rows, "data": canonical(workflow.data), "completed": workflow.completed})
    return hashlib.sha256(payload.encode()).hexdigest()


def is_finished(workflow: BpmnWorkflow) -> bool:
    return not any(True for _ in iter_tasks(workflow, TaskState.NOT_FINISHED_MASK))
