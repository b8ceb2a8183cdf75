"""Signals, as Camunda 7 delivers them: a thrown signal reaches every subscription that waits for it,
in every running instance, and starts every process whose current version has a signal start event
of that name. Messages, by contrast, go to one instance.

This module holds the acts on one receiving instance (`signal_received`, `signal_failed`, the retry
of a held signal) and where receivers are found; `broadcast.py` carries a signal to them.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import forms
from engine.bpmn.definitions import Definitions, LoadedVersion
from engine.bpmn.patches import INCIDENT
from engine.bpmn.spiff import event_definitions
from engine.bpmn.state import iter_tasks
from engine.errors import Conflict, InvalidInput
from engine.runtime.operation import Operation
from engine.store.models import Instance, ProcessHead, ProcessVersion

HELD = "weibao_held_signal"  # the signal whose delivery failed, kept on the catch event for the retry


def waiting(op: Operation, name: str) -> list[tuple[Task, SignalEventDefinition]]:
    """The subscriptions of this instance waiting for the signal; one held by an incident waits for
    its retry instead."""
    return [(t, d) for t in iter_tasks(op.wf, TaskState.WAITING) if not t.internal_data.get(INCIDENT)
            for d in event_definitions(getattr(t.task_spec, "event_definition", None))
            if isinstance(d, SignalEventDefinition) and d.name == name]


def catching_element(task: Task, definition: Any) -> str:  # Any: a SpiffWorkflow event definition
    """The element that declares the payload: the catch event itself, or after an event-based gateway
    the gateway's event that catches it (SpiffWorkflow moves the events' definitions onto the gateway,
    in the order of its outputs)."""
    inner = getattr(task.task_spec.event_definition, "event_definitions", None)
    if inner is not None and len(inner) == len(task.task_spec.outputs):
        return str(task.task_spec.outputs[inner.index(definition)].bpmn_id)
    return str(task.task_spec.bpmn_id)


def _payload(op: Operation, task: Task, definition: SignalEventDefinition, data: dict[str, Any],
             thrower: dict[str, Any]) -> dict[str, Any]:
    """The data as the catching element declares it. A signal thrown by an instance carries its
    token's data, of which the receiver takes the fields it declares; one sent through the API is
    checked as it came, so a field nobody declared is refused, as for a message."""
    el = op.loaded.models_element(catching_element(task, definition))
    if "instance_id" in thrower:
        declared = {f.id for f in el.payload}
        data = {key: value for key, value in data.items() if key in declared}
    try:
        return forms.validate_message(el.payload, data, where=f"signal {definition.name!r} at {el.id}")
    except InvalidInput as exc:
        exc.instance_id, exc.element_id = op.instance_id, el.id
        raise


def deliver(op: Operation, name: str, data: dict[str, Any], thrower: dict[str, Any], *,
            validate: bool) -> bool:
    """Every subscription of this instance waiting for the signal catches it; False when none waits
    (then nothing is recorded). `validate`: live; a replay takes the data as it was recorded."""
    found = waiting(op, name)
    if not found:
        return False
    target, definition = found[0]
    if validate:
        data = _payload(op, target, definition, data, thrower)
    op.event("signal_received", element_id=target.task_spec.bpmn_id, task_id=str(target.id), signal=name,
             data=data, thrower=thrower)
    op.wf.catch(BpmnEvent(definition, dict(data)))
    op.advance()
    return True


def received(op: Operation, data: dict[str, Any], live: bool) -> None:
    """The act `signal_received`."""
    name = str(data.get("signal", ""))
    if deliver(op, name, dict(data.get("data") or {}), dict(data.get("thrower") or {}), validate=live):
        return
    if not live:
        raise Conflict(f"instance {op.instance_id} is not waiting for signal {name!r}",
                       instance_id=op.instance_id)
    # A candidate that does not wait for it is left as it was: what opening the operation caught up
    # (SLA deadlines that passed) is recorded by its next real operation instead, not by a signal.
    op.events.clear()


def failed(op: Operation, data: dict[str, Any], element_id: str | None) -> None:
    """The act `signal_failed`: the delivery failed and nobody was there to be answered (the thrower
    is another instance). Its subscriptions are held with the signal, and an incident waits for a
    person, whose retry delivers it again."""
    name = str(data.get("signal", ""))
    found = waiting(op, name)
    held = [t for t, _ in found]
    thrower = dict(data.get("thrower") or {})
    pending = {"signal": name, "data": _declared(op, found, dict(data.get("data") or {}), thrower),
               "thrower": thrower}
    for task in held:
        task.internal_data[INCIDENT] = True
    if held:
        held[0].internal_data[HELD] = pending
    where = {"element_id": held[0].task_spec.bpmn_id if held else element_id,
             "task_id": str(held[0].id) if held else None, "actor": "system"}
    message = str(data.get("message", ""))
    op.event("signal_failed", **where, signal=name, thrower=thrower, data=pending["data"], message=message,
             held=[str(t.id) for t in held])
    op.event("incident_opened", **where, topic="signal", message=message, attempts=1)


def _declared(op: Operation, found: list[tuple[Task, SignalEventDefinition]], data: dict[str, Any],
              thrower: dict[str, Any]) -> dict[str, Any]:
    """What a held signal keeps for its retry: of an instance's token data only the fields the catching
    element declares (the rest is another case's business, and would land in this one's history)."""
    if not found or "instance_id" not in thrower:
        return data
    declared = {f.id for f in op.loaded.models_element(catching_element(*found[0])).payload}
    return {key: value for key, value in data.items() if key in declared}


def retry_held(op: Operation, task: Task) -> None:
    """A retried incident of a held signal: its subscriptions wait again and the signal is delivered
    anew, checked again (the retry's caller is told if it still fails, and nothing changes)."""
    pending = task.internal_data.pop(HELD)
    for other in iter_tasks(op.wf, TaskState.WAITING):
        if any(isinstance(d, SignalEventDefinition) and d.name == pending["signal"]
               for d in event_definitions(getattr(other.task_spec, "event_definition", None))):
            other.internal_data.pop(INCIDENT, None)
    deliver(op, str(pending["signal"]), dict(pending["data"]), dict(pending["thrower"]), validate=True)


# ----------------------------------------------------------------- finding receivers
def _catches(loaded: LoadedVersion, name: str, start_only: bool) -> bool:
    specs = [loaded.spec] if start_only else [loaded.spec, *loaded.subprocess_specs.values()]
    for spec in specs:
        tasks = [spec.task_specs.get(loaded.model.start_element or "")] if start_only else \
            list(spec.task_specs.values())
        for task_spec in tasks:
            if task_spec is None or isinstance(task_spec, ThrowingEvent):
                continue
            if any(isinstance(d, SignalEventDefinition) and d.name == name
                   for d in event_definitions(getattr(task_spec, "event_definition", None))):
                return True
    return False


def receivers(definitions: Definitions, session: Session, name: str, exclude: str | None) -> list[str]:
    """Running instances whose version catches the signal somewhere, in a fixed order; each is loaded
    to see whether it waits for it now."""
    versions = [vid for vid in session.scalars(select(ProcessVersion.id))
                if _catches(definitions.load(session, vid), name, start_only=False)]
    if not versions:
        return []
    query = select(Instance.id).where(Instance.status == "running", Instance.version_id.in_(versions))
    if exclude:
        query = query.where(Instance.id != exclude)
    return list(session.scalars(query.order_by(Instance.created_at, Instance.id)))


def starters(definitions: Definitions, session: Session, name: str) -> list[int]:
    """The current, not suspended, versions whose start event is a signal start event of the name."""
    current = ProcessHead.version_id == ProcessVersion.id
    rows = session.scalars(select(ProcessVersion.id).join(ProcessHead, current)
                           .where(ProcessVersion.suspended_at.is_(None)).order_by(ProcessVersion.id))
    return [vid for vid in rows if _catches(definitions.load(session, vid), name, start_only=True)]
