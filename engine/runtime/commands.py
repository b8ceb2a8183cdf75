"""The acts people and systems perform on an instance inside an operation."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import policy
from engine.actor import Actor
from engine.bpmn import forms
from engine.bpmn.definitions import LoadedVersion
from engine.bpmn.model import Element, groups_for
from engine.bpmn.patches import INCIDENT, MERGE_PAYLOAD
from engine.bpmn.spiff import event_definitions
from engine.bpmn.state import iter_tasks
from engine.errors import Conflict, InvalidInput, NotFound
from engine.runtime import migration, signals
from engine.runtime.operation import Operation
from engine.runtime.persist import assignee_of
from engine.runtime.timers import fire_in
from engine.store import worklist
from engine.store.models import EventRow, Instance, User
from engine.store.paging import Scope
from engine.store.queries import visible_instance


def task_instance(task_id: str, actor: Actor,
                  rule: Callable[[Actor, policy.TaskFacts], None]) -> Callable[[Session], str]:
    """Finds a task's instance inside the operation's transaction and applies the access rule to the
    work list's view of the task before the workflow is loaded: a task of another customer's instance
    is unknown (404), one a colleague holds is a conflict naming the holder. The command applies the
    rule again on the workflow's own view."""

    def find(session: Session) -> str:
        row = worklist.open_task(session.connection(), actor, task_id)
        if row is not None:
            rule(actor, policy.TaskFacts(task_id, str(row.instance_id), row.element_id, row.assignee,
                                         row.candidate_groups))
            return str(row.instance_id)
        seen = session.scalar(select(EventRow.instance_id).where(EventRow.task_id == task_id).limit(1))
        if seen is not None:
            raise Conflict(f"task {task_id} is already completed or no longer open", instance_id=seen)
        raise NotFound(f"no task {task_id}")

    return find


def _user_task(op: Operation, task_id: str) -> Task:
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


def _facts(op: Operation, task: Task) -> tuple[Element, policy.TaskFacts]:
    el = op.element(task)
    facts = policy.TaskFacts(str(task.id), op.instance_id, el.id, assignee_of(task, el),
                             groups_for(el, task.data))
    return el, facts


def claim(op: Operation, task_id: str, actor: Actor) -> None:
    task = _user_task(op, task_id)
    el, facts = _facts(op, task)
    policy.check_may_work(actor, facts)
    holder = task.internal_data.get("weibao_assignee")
    if holder and holder != actor.name:
        raise Conflict(f"task {task_id} is claimed by {holder}", instance_id=op.instance_id, element_id=el.id)
    task.internal_data["weibao_assignee"] = actor.name
    op.event("task_claimed", element_id=el.id, task_id=task_id)
    op.services.sla.on_claim(op, task)  # taking up the caller's case is the first response


def unclaim(op: Operation, task_id: str, actor: Actor) -> None:
    task = _user_task(op, task_id)
    el, facts = _facts(op, task)
    policy.check_may_release(actor, facts)
    task.internal_data.pop("weibao_assignee", None)
    op.event("task_unclaimed", element_id=el.id, task_id=task_id)


def reassign(op: Operation, task_id: str, assignee: str, actor: Actor, live: bool = True) -> None:
    """A dispatcher hands the task to a named person; the history records who had it before. Live,
    the person is read inside the operation's transaction; replay takes the recorded name."""
    task = _user_task(op, task_id)
    el, facts = _facts(op, task)
    policy.check_may_reassign(actor, facts)
    if live:
        user = op.session.get(User, assignee) if op.session is not None else None
        found = None if user is None or user.disabled_at is not None else \
            Actor(user.name, frozenset(user.groups), frozenset(user.roles))
        policy.check_may_receive(assignee, found, facts)
    task.internal_data["weibao_assignee"] = assignee
    op.event("task_reassigned", element_id=el.id, task_id=task_id, assignee=assignee, previous=facts.assignee)


def complete(op: Operation, task_id: str, data: dict[str, Any], actor: Actor) -> None:
    task = _user_task(op, task_id)
    el, facts = _facts(op, task)
    policy.check_may_work(actor, facts)
    try:
        cleaned = forms.validate(el.form, data, where=f"task {el.id}", now=op.now)
    except InvalidInput as exc:
        exc.instance_id, exc.element_id = op.instance_id, el.id
        raise
    task.data.update(copy.deepcopy(cleaned))
    op.event("task_completed", element_id=el.id, task_id=task_id, data=cleaned)
    try:
        task.run()  # its data outputs are written here (a data object the form did not fill fails)
    except SpiffWorkflowException as exc:
        raise op.script_error(exc) from exc
    op.completed_manually(task)
    op.advance()


def find_instance(session: Session, actor: Actor, message: str, business_key: str | None,
                  instance_id: str | None) -> str:
    """The one running instance the message is for, among those the actor may see; another customer's
    instance is reported as unknown."""
    scope = Scope.of(actor)
    if instance_id:
        return visible_instance(session, scope, instance_id).id
    if not business_key:
        raise InvalidInput(
            "a message needs business_key or instance_id",
            details={"fields": {"business_key": "business_key or instance_id is required"}},
        )
    ids = session.scalars(select(Instance.id).where(
        Instance.business_key == business_key, Instance.status == "running", scope.instances())).all()
    if not ids:
        raise NotFound(f"no running instance with business key {business_key!r} for message {message!r}")
    if len(ids) > 1:
        raise Conflict(f"{len(ids)} running instances share business key {business_key!r}; give instance_id")
    return ids[0]


def correlate(op: Operation, name: str, data: dict[str, Any], *, validate: bool = False) -> None:
    """`validate`: check the data against the catch event's payload; a replay takes what was recorded."""
    waiting = [(t, d) for t in iter_tasks(op.wf, TaskState.WAITING)
               for d in event_definitions(getattr(t.task_spec, "event_definition", None))
               if isinstance(d, MessageEventDefinition) and d.name == name]
    if not waiting:
        raise Conflict(
            f"instance {op.instance_id} is not waiting for message {name!r}", instance_id=op.instance_id
        )
    target, definition = waiting[0]
    if validate:
        el = op.loaded.models_element(signals.catching_element(target, definition))
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
    camunda_style = hasattr(definition, "result_var")
    payload = {"payload": dict(data), "result_var": MERGE_PAYLOAD} if camunda_style else data
    op.wf.catch(BpmnEvent(definition, payload))
    op.advance()


def resume_task(op: Operation, task_id: str, incident_id: int) -> None:
    """Retry: a held engine task runs again; a held timer fires now (it was due when it failed); a
    held signal is delivered again."""
    task = op.wf.get_task_from_id(UUID(task_id))
    waits = task is not None and task.has_state(TaskState.WAITING)
    held_signal = waits and task.internal_data.get(signals.HELD)
    held_timer = waits and task.internal_data.get(INCIDENT)
    if task is None or not (task.has_state(TaskState.READY) or held_timer):
        raise Conflict(f"incident {incident_id}: its task is no longer waiting", instance_id=op.instance_id)
    for key in (INCIDENT, "weibao_attempts", "weibao_retry_at"):
        task.internal_data.pop(key, None)
    op.event(
        "incident_resolved",
        element_id=task.task_spec.bpmn_id,
        task_id=task_id,
        incident_id=incident_id,
        resolution="retried",
    )
    if held_signal:
        signals.retry_held(op, task)
    elif held_timer:
        fire_in(op)
    else:
        op.advance()


def timer_failed(op: Operation, act: Act) -> None:
    """What was due failed and nobody called: the due timers and retries are held, so the scheduler
    does not fail again at every tick, and an incident waits for a person."""
    held = []
    # live: the due timers and retries of the index; replay: those the record says were held
    for task_id in act.data.get("tasks", act.data.get("held", [])):
        task = op.wf.get_task_from_id(UUID(str(task_id)))
        if task is not None and not task.has_state(TaskState.FINISHED_MASK):
            task.internal_data[INCIDENT] = True
            held.append(str(task_id))
    where = {"element_id": act.element_id, "task_id": held[0] if held else None, "actor": "system"}
    message = str(act.data.get("message", ""))
    op.event("timer_failed", **where, message=message, held=held)
    op.event("incident_opened", **where, topic="timer", message=message, attempts=1)


def cancel(op: Operation, reason: str) -> None:
    op.event("instance_cancelled", reason=reason)
    op.wf.cancel()
    op.cancelled = True


def begin(op: Operation, act: Act) -> None:
    op.event("instance_started", element_id=act.element_id, **act.data)
    # A case handed over from its parent brings its clocks; they are part of the recorded start.
    parent = act.data.get("parent_instance_id")
    op.services.sla.receive(op, dict(act.data.get("sla_clocks") or {}), str(parent) if parent else None)
    op.advance()
    started_by = act.data.get("start_message")  # a message start event: the message that started it
    if started_by:
        correlate(op, str(started_by["name"]), dict(started_by.get("data") or {}), validate=act.live)
    by_signal = act.data.get("start_signal")  # a signal start event: the signal that started it
    if by_signal:
        signals.deliver(op, str(by_signal["name"]), dict(by_signal.get("data") or {}),
                        dict(by_signal.get("thrower") or {}), validate=act.live)


@dataclass(frozen=True)
class Act:
    """One input to an instance, as the first event of its operation records it; the rest of the
    operation's events are what the engine did in response."""

    kind: str
    actor: Actor
    task_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    element_id: str | None = None
    live: bool = True  # False in replay, which takes recorded payloads as they were
    # instance_migrated: the version it moves to, loaded by the caller from the recorded id
    version: LoadedVersion | None = None


# One table for the live runtime and for replay: an act is applied the same way in both.
ACTS: dict[str, Callable[[Operation, Act], None]] = {
    "instance_started": begin,
    "task_claimed": lambda op, a: claim(op, a.task_id or "", a.actor),
    "task_unclaimed": lambda op, a: unclaim(op, a.task_id or "", a.actor),
    "task_reassigned": lambda op, a: reassign(op, a.task_id or "", str(a.data.get("assignee", "")), a.actor,
                                              a.live),
    "task_completed": lambda op, a: complete(op, a.task_id or "", dict(a.data.get("data", {})), a.actor),
    "message_correlated": lambda op, a: correlate(op, str(a.data.get("message", "")),
                                                  dict(a.data.get("data", {})), validate=a.live),
    "incident_resolved": lambda op, a: resume_task(op, a.task_id or "", int(a.data.get("incident_id", 0))),
    "instance_cancelled": lambda op, a: cancel(op, str(a.data.get("reason", ""))),
    "timer_failed": timer_failed,
    "signal_received": lambda op, a: signals.received(op, dict(a.data), a.live),
    "signal_failed": lambda op, a: signals.failed(op, dict(a.data), a.element_id),
    "instance_migrated": lambda op, a: migration.move(op, a.version, dict(a.data), a.live),
}


def perform(op: Operation, act: Act) -> None:
    """Apply an act; anything else an operation can be (a scheduler tick) fires what is due."""
    ACTS.get(act.kind, lambda op, _: fire_in(op))(op, act)
