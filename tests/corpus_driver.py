"""A generic driver for diagrams nobody here wrote (tests/data/corpus): deploy, start each executable
process that a caller can start, then work it the way its users would until it ends — every open user
task completed with data its form accepts, messages sent to the events waiting for them, signals
thrown for the ones waiting for a signal, the simulation clock moved a day so that timers fire. The
tests assert the outcome; this only drives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.actor import Actor
from engine.bpmn.forms import FormField
from engine.bpmn.spiff import event_definitions, make_serializer
from engine.bpmn.state import iter_tasks
from engine.clock import ManualClock, use_clock
from engine.errors import EngineError
from engine.service import Service
from engine.store.models import Instance, OpenTask

# Someone who may work on every task: the corpus names groups of its own.
EVERYONE = Actor("corpus", frozenset(), frozenset({"admin"}))
MAX_ROUNDS = 40


@dataclass
class Outcome:
    process: str
    status: str = "running"
    rounds: int = 0
    completed_tasks: list[str] = field(default_factory=list)
    error: str | None = None
    element: str | None = None  # the element the error names


def value_for(f: FormField) -> Any:
    if f.type == "boolean":
        return False
    if f.type == "long":
        return 1
    if f.type == "enum":
        return f.enum[0] if f.enum else None
    if f.type == "date":
        return "2026-03-02"
    return "语料测试"


def _waiting(svc: Service, instance_id: str, kind: type) -> list[str]:
    with svc.store.read() as s:
        row = s.get(Instance, instance_id)
        assert row is not None
        loaded = svc.definitions.load(s, row.version_id)
    with use_clock(svc.runtime.clock):  # a waiting timer's state is read against the engine's clock
        wf = make_serializer().from_dict(row.state, spec=loaded.spec,
                                         subprocess_specs=loaded.subprocess_specs)
    return sorted({d.name for t in iter_tasks(wf, TaskState.WAITING)
                   for d in event_definitions(getattr(t.task_spec, "event_definition", None))
                   if isinstance(d, kind)})


def _round(svc: Service, clock: ManualClock, instance_id: str, outcome: Outcome) -> None:
    with svc.store.read() as s:
        tasks = list(s.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id)))
    for task in tasks:
        data = {f["id"]: value_for(FormField(**f)) for f in task.form}
        svc.runtime.complete(task.id, {k: v for k, v in data.items() if v is not None}, EVERYONE)
        outcome.completed_tasks.append(task.element_id)
    if not tasks:
        # one event a round: the first may end the instance, or take the path the others were on
        messages = _waiting(svc, instance_id, MessageEventDefinition)
        signals = _waiting(svc, instance_id, SignalEventDefinition)
        if messages:
            svc.runtime.correlate(messages[0], instance_id=instance_id, actor=EVERYONE)
        elif signals:
            svc.runtime.signal(signals[0], actor=EVERYONE)
        else:
            clock.advance(timedelta(days=1))
            svc.runtime.fire_due_timers()


def drive(svc: Service, clock: ManualClock, process: str) -> Outcome:
    outcome = Outcome(process)
    try:
        instance_id = svc.runtime.start(process, {}, EVERYONE)
        for outcome.rounds in range(1, MAX_ROUNDS + 1):
            with svc.store.read() as s:
                row = s.get(Instance, instance_id)
                assert row is not None
                outcome.status = row.status
            if outcome.status != "running":
                break
            _round(svc, clock, instance_id, outcome)
    except EngineError as exc:
        outcome.error, outcome.element = f"{type(exc).__name__}: {exc.message}", exc.element_id
    return outcome
