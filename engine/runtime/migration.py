"""Instance migration, the dry run: for each running instance of a version, whether it could move to
another version of its process, and if not, why.

An instance can move when every element it waits on (a task, a timer, a message) exists in the target
version, and every open user task asks for the same form there: its assignee may be filling it in.
The move itself (an audited event, keeping data, task ids and SLA clocks, with a revert) is not built
yet; this tells a process owner beforehand which instances a new version would strand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import lifecycle
from engine.bpmn.definitions import Definitions, LoadedVersion
from engine.bpmn.model import Element
from engine.bpmn.spiff import make_serializer
from engine.bpmn.state import iter_tasks
from engine.clock import Clock, use_clock
from engine.store.models import Instance

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class Movable:
    instance_id: str
    movable: bool = True
    reasons: list[str] = field(default_factory=list)
    elements: list[str] = field(default_factory=list)  # where its tokens are

    def as_dict(self) -> dict[str, object]:
        return {"instance_id": self.instance_id, "movable": self.movable, "reasons": self.reasons,
                "elements": self.elements}


def _element_ids(serializer: BpmnWorkflowSerializer, state: dict[str, Any],
                 loaded: LoadedVersion) -> list[str]:
    wf = serializer.from_dict(state, spec=loaded.spec, subprocess_specs=loaded.subprocess_specs)
    ids = {t.task_spec.bpmn_id for t in iter_tasks(wf, ACTIVE) if t.task_spec.bpmn_id}
    return sorted(ids)


def _check(element_ids: list[str], source: LoadedVersion, target: LoadedVersion, found: Movable) -> None:
    for element_id in element_ids:
        before, after = source.models_element(element_id), target.models_element(element_id)
        if not after.kind:
            found.reasons.append(f"an active token on {element_id} ({before.name}), which "
                                 f"v{target.version} does not have")
        elif before.kind == "userTask" and _form(before) != _form(after):
            found.reasons.append(f"the form of the open task {element_id} ({before.name}) changed in "
                                 f"v{target.version}")
    found.movable = not found.reasons


def _form(element: Element) -> list[dict[str, Any]]:
    return [f.to_dict() for f in element.form]


def dry_run(definitions: Definitions, clock: Clock, session: Session, key: str, from_version: int,
            to_version: int, instance_id: str | None = None) -> list[Movable]:
    """Each running instance of `key` v`from_version` (or the one named): could it move to v`to_version`?"""
    serializer = make_serializer()
    source = definitions.load(session, lifecycle.version_row(session, key, from_version).id)
    target = definitions.load(session, lifecycle.version_row(session, key, to_version).id)
    query = select(Instance.id, Instance.state).where(
        Instance.process_key == key, Instance.version_id == source.id, Instance.status == "running")
    if instance_id is not None:
        query = query.where(Instance.id == instance_id)
    results = []
    with use_clock(clock):
        for row in session.execute(query.order_by(Instance.created_at, Instance.id)):
            found = Movable(row.id, elements=_element_ids(serializer, row.state, source))
            _check(found.elements, source, target, found)
            results.append(found)
    return results
