"""Moving a running SpiffWorkflow instance onto another version of its process.

Tasks are matched to the target's elements by BPMN id, as SpiffWorkflow's own `SpecDiff` aligns them.
Unlike its `migrate_workflow`, nothing live is reset: a reset clears a task's internal data, which
restarts a waiting timer from the moment of the move and forgets who claimed a task. A live task keeps
its id, data and internal data; only the predicted path after it is dropped and predicted again from
the target, so a step the target added after it is where its token goes next.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.state import all_workflows

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


def missing_elements(wf: BpmnWorkflow, spec: Any, subprocess_specs: dict[str, Any]) -> list[str]:
    """Ids of the elements the instance still holds a task of (live ones and the finished steps that
    live ones follow) that the target lacks: such an instance cannot move."""
    missing: set[str] = set()
    for sub in all_workflows(wf):
        target = _target_spec(wf, sub, spec, subprocess_specs)
        for task in sub.tasks.values():
            if task.has_state(PREDICTED):
                continue  # predicted again from the target
            if target is None or task.task_spec.name not in target.task_specs:
                # SpiffWorkflow's own helpers (`Work.BoundaryEventSplit`) stand for their element
                missing.add(task.task_spec.bpmn_id or task.task_spec.name.split(".")[0])
    return sorted(missing)


def move(wf: BpmnWorkflow, spec: Any, subprocess_specs: dict[str, Any]) -> None:
    """Re-point every task at the target's element of the same id and predict anew what follows the
    live tasks. The caller checked `missing_elements` first."""
    for sub in all_workflows(wf):
        target = _target_spec(wf, sub, spec, subprocess_specs)
        assert target is not None, "missing_elements() was not checked"
        sub.spec = target
        for task in list(sub.tasks.values()):
            if task.id not in sub.tasks:
                continue  # dropped with its predicted parent
            if task.has_state(LIVE):
                _drop_predicted(task)
        for task in list(sub.tasks.values()):
            if task.id not in sub.tasks:
                continue
            if task.task_spec.name in target.task_specs:
                task.task_spec = target.task_specs[task.task_spec.name]
            else:  # only a prediction can be left on an element the target lacks
                sub._remove_task(task.id)
        for task in list(sub.tasks.values()):
            if task.has_state(LIVE):
                task.task_spec._predict(task, mask=PREDICTED | task.state)
    wf.subprocess_specs = subprocess_specs


def _drop_predicted(task: Task) -> None:
    for child in list(task.children):
        if child.has_state(PREDICTED):
            task.workflow._remove_task(child.id)


def _target_spec(wf: BpmnWorkflow, sub: Any, spec: Any, subprocess_specs: dict[str, Any]) -> Any | None:
    if sub is wf:
        return spec
    return subprocess_specs.get(sub.spec.name)
