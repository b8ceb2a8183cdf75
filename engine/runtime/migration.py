"""Instance migration: for each running instance of a version, whether it can move to another version
of its process and why not (the dry run), and the move itself as an act of the instance.

An instance can move when every element it holds a task of (a task, a timer, a message, the step its
tokens came from) exists in the target version, and every open user task asks for the same form there:
its assignee may be filling it in. The move is an `instance_migrated` event in the instance's chain,
applied the same way live and in replay; data, task ids, claims, timers and SLA clocks stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.bpmn import lifecycle, moving
from engine.bpmn.definitions import Definitions, LoadedVersion
from engine.bpmn.model import Element
from engine.bpmn.spiff import make_serializer
from engine.bpmn.state import iter_tasks
from engine.clock import Clock, use_clock
from engine.errors import Conflict, EngineError
from engine.runtime.operation import Operation
from engine.store.models import Instance

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class Movable:
    instance_id: str
    movable: bool = True
    reasons: list[str] = field(default_factory=list)
    elements: list[str] = field(default_factory=list)  # where its tokens are
    blocking: list[str] = field(default_factory=list)  # the elements the reasons name

    def as_dict(self) -> dict[str, object]:
        return {"instance_id": self.instance_id, "movable": self.movable, "reasons": self.reasons,
                "elements": self.elements, "blocking": self.blocking}


def active_elements(wf: BpmnWorkflow) -> list[str]:
    return sorted({t.task_spec.bpmn_id for t in iter_tasks(wf, ACTIVE) if t.task_spec.bpmn_id})


def check(wf: BpmnWorkflow, source: LoadedVersion, target: LoadedVersion, found: Movable) -> Movable:
    """Fill in why `wf` (on `source`) cannot move to `target`; nothing when it can."""
    found.elements = active_elements(wf)
    for element_id in moving.missing_elements(wf, target.spec, target.subprocess_specs):
        name = source.models_element(element_id).name
        where = ("an active token on" if element_id in found.elements
                 else "the instance came from")
        found.reasons.append(f"{where} {element_id} ({name}), which v{target.version} does not have")
        found.blocking.append(element_id)
    for element_id in found.elements:
        before, after = source.models_element(element_id), target.models_element(element_id)
        if after.kind and before.kind == "userTask" and _form(before) != _form(after):
            found.reasons.append(f"the form of the open task {element_id} ({before.name}) changed in "
                                 f"v{target.version}")
            found.blocking.append(element_id)
    found.movable = not found.reasons
    return found


def _form(element: Element) -> list[dict[str, Any]]:
    return [f.to_dict() for f in element.form]


def load(serializer: BpmnWorkflowSerializer, state: dict[str, Any], loaded: LoadedVersion) -> BpmnWorkflow:
    wf: BpmnWorkflow = serializer.from_dict(state, spec=loaded.spec, subprocess_specs=loaded.subprocess_specs)
    return wf


def dry_run(definitions: Definitions, clock: Clock, session: Session, key: str, from_version: int,
            to_version: int, instance_id: str | None = None) -> list[Movable]:
    """Each running instance of `key` v`from_version` (or the one named): could it move to v`to_version`?"""
    serializer = make_serializer()
    source = definitions.load(session, lifecycle.version_row(session, key, from_version).id)
    target = definitions.load(session, lifecycle.version_row(session, key, to_version).id)
    results = []
    with use_clock(clock):
        for row in session.execute(running(key, source.id, instance_id)):
            results.append(check(load(serializer, row.state, source), source, target, Movable(row.id)))
    return results


def running(key: str, version_id: int, instance_id: str | None = None) -> Select[tuple[str, dict[str, Any]]]:
    query = select(Instance.id, Instance.state).where(
        Instance.process_key == key, Instance.version_id == version_id, Instance.status == "running")
    if instance_id is not None:
        query = query.where(Instance.id == instance_id)
    return query.order_by(Instance.created_at, Instance.id)


def move(op: Operation, target: LoadedVersion | None, data: dict[str, Any], live: bool) -> None:
    """The act: live, the check again inside the instance's transaction (it may have moved on since
    the dry run); in replay the record says it moved."""
    if target is None:
        raise EngineError("instance_migrated needs its target version", instance_id=op.instance_id)
    if live:
        found = check(op.wf, op.loaded, target, Movable(op.instance_id))
        if not found.movable:
            raise Conflict(found.reasons[0], instance_id=op.instance_id,
                           element_id=found.blocking[0] if found.blocking else None,
                           details={"reasons": found.reasons})
    moving.move(op.wf, target.spec, target.subprocess_specs)
    source, op.loaded, op.moved = op.loaded, target, True
    # Versions by number and content hash: ids are the database's own, and an exported bundle has others.
    op.event("instance_migrated", **{**data, "from_version": source.version,
                                     "from_content_hash": source.content_hash, "to_version": target.version,
                                     "content_hash": target.content_hash})
    op.advance()
