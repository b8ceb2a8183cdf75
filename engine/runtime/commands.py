"""The acts people and systems perform on an instance inside an operation."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.actor import Actor
from engine.bpmn import forms
from engine.bpmn.patches import MERGE_PAYLOAD
from engine.bpmn.state import iter_tasks
from engine.errors import Conflict, InvalidInput, NotFound
from engine.runtime.indexes import assignee_of
from engine.store.models import IncidentRow, Instance

if TYPE_CHECKING:
    from engine.runtime.facade import Runtime
    from engine.runtime.operation import Operation


def _user_task(op: Operation, task_id: str) -> Any:
    try:
        task = op.wf.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError):
        task = None
    if task is None or not isinstance(task.task_spec, UserTask):
        raise Conflict(f"task {task_id} is no longer open", instance_id=op.instance_id)
    if not task.has_state(TaskState.READY):
        raise Conflict(
            f"task {task_id} is already completed or cancelled",
            instance_id=op.instance_id,
            element_id=task.task_spec.bpmn_id,
        )
    return task


def _check_may_work(op: Operation, task: Any, actor: Actor) -> Any:
    el = op.element(task)
    actor.require(
        actor.may_work_on(assignee_of(task, el), el.candidate_groups),
        f"{actor.name} is neither the assignee nor in a candidate group of {el.id}",
    )
    holder = assignee_of(task, el)
    if holder and holder != actor.name and not actor.is_admin:
        raise Conflict(f"task {task.id} is held by {holder}", instance_id=op.instance_id, element_id=el.id)
    return el


def claim(op: Operation, task_id: str, actor: Actor) -> None:
    task = _user_task(op, task_id)
    el = _check_may_work(op, task, actor)
    holder = task.internal_data.get("weibao_assignee")
    if holder and holder != actor.name:
        raise Conflict(f"task {task_id} is claimed by {holder}", instance_id=op.instance_id, element_id=el.id)
    task.internal_data["weibao_assignee"] = actor.name
    op.event("task_claimed", element_id=el.id, task_id=task_id)


def unclaim(op: Operation, task_id: str, actor: Actor) -> None:
    task = _user_task(op, task_id)
    el = op.element(task)
    holder = assignee_of(task, el)
    actor.require(actor.is_admin or holder == actor.name, f"{actor.name} does not hold task {task_id}")
    task.internal_data.pop("weibao_assignee", None)
    op.event("task_unclaimed", element_id=el.id, task_id=task_id)


def complete(op: Operation, task_id: str, data: dict[str, Any], actor: Actor) -> None:
    task = _user_task(op, task_id)
    el = _check_may_work(op, task, actor)
    holder = task.internal_data.get("weibao_assignee")
    if holder and holder != actor.name and not actor.is_admin:
        raise Conflict(f"task {task_id} is claimed by {holder}", instance_id=op.instance_id, element_id=el.id)
    try:
        cleaned = forms.validate(el.form, data, where=f"task {el.id}")
    except InvalidInput as exc:
        exc.instance_id, exc.element_id = op.instance_id, el.id
        raise
    task.data.update(copy.deepcopy(cleaned))
    op.event("task_completed", element_id=el.id, task_id=task_id, data=cleaned)
    task.run()
    op.completed_manually(task)
    op.advance()


def find_instance(rt: Runtime, message: str, business_key: str | None, instance_id: str | None) -> str:
    if instance_id:
        return instance_id
    if not business_key:
        raise InvalidInput(
            "a message needs business_key or instance_id",
            details={"fields": {"business_key": "business_key or instance_id is required"}},
        )
    with rt.store.read() as session:
        ids = session.scalars(
            select(Instance.id).where(Instance.business_key == business_key, Instance.status == "running")
        ).all()
    if not ids:
        raise NotFound(f"no running instance with business key {business_key!r} for message {message!r}")
    if len(ids) > 1:
        raise Conflict(f"{len(ids)} running instances share business key {business_key!r}; give instance_id")
    return ids[0]


def correlate(op: Operation, name: str, data: dict[str, Any], *, validate: bool = False) -> None:
    """`validate`: check the data against the catch event's payload; a replay takes what was recorded."""
    waiting = [
        t
        for t in iter_tasks(op.wf, TaskState.WAITING)
        if isinstance(getattr(t.task_spec, "event_definition", None), MessageEventDefinition)
        and t.task_spec.event_definition.name == name
    ]
    if not waiting:
        raise Conflict(
            f"instance {op.instance_id} is not waiting for message {name!r}", instance_id=op.instance_id
        )
    target = waiting[0]
    if validate:
        el = op.element(target)
        try:
            data = forms.validate_message(el.payload, data, where=f"message {name!r} at {el.id}")
        except InvalidInput as exc:
            exc.instance_id, exc.element_id = op.instance_id, el.id
            raise
    op.event(
        "message_correlated",
        element_id=target.task_spec.bpmn_id,
        task_id=str(target.id),
        message=name,
        data=data,
    )
    definition = target.task_spec.event_definition
    camunda_style = hasattr(definition, "result_var")
    payload = {"payload": dict(data), "result_var": MERGE_PAYLOAD} if camunda_style else data
    op.wf.catch(BpmnEvent(definition, payload))
    op.advance()


def retry_incident(rt: Runtime, incident_id: int, actor: Actor) -> None:
    with rt.store.read() as session:
        row = session.get(IncidentRow, incident_id)
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        if row.status != "open":
            raise Conflict(f"incident {incident_id} is {row.status}", instance_id=row.instance_id)
        instance_id, task_id = row.instance_id, row.task_id
    with rt.operation(instance_id, actor) as op:
        resume_task(op, task_id, incident_id)
        stored = op.session.get(IncidentRow, incident_id)
        stored.status, stored.resolved_at = "resolved", op.now


def resume_task(op: Operation, task_id: str, incident_id: int) -> None:
    task = op.wf.get_task_from_id(UUID(task_id))
    if task is None or not task.has_state(TaskState.READY):
        raise Conflict(f"incident {incident_id}: its task is no longer waiting", instance_id=op.instance_id)
    for key in ("weibao_incident", "weibao_attempts", "weibao_retry_at"):
        task.internal_data.pop(key, None)
    op.event(
        "incident_resolved",
        element_id=task.task_spec.bpmn_id,
        task_id=task_id,
        incident_id=incident_id,
        resolution="retried",
    )
    op.advance()


def cancel(op: Operation, reason: str) -> None:
    op.event("instance_cancelled", reason=reason)
    op.wf.cancel()
    op.cancelled = True
