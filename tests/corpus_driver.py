"""A generic driver for diagrams nobody here wrote (tests/data/corpus): deploy, start each executable
process that a caller can start, then work it the way its users would until it ends — every open user
task completed with data its form accepts, messages sent to the events waiting for them, the
simulation clock moved a day so that timers fire. The tests assert the outcome; this only drives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.actor import Actor
from engine.bpmn.forms import FormField
from engine.bpmn.spiff import event_definitions, make_serializer
from engine.bpmn.state import iter_tasks
from engine.clock import ManualClock
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


def _waiting_messages(svc: Service, instance_id: str) -> list[str]:
    with svc.store.read() as s:
        row = s.get(Instance, instance_id)
        assert row is not None
        loaded = svc.definitions.load(s, row.version_id)
    wf = make_serializer().from_dict(row.state, spec=loaded.spec, subprocess_specs=loaded.subprocess_specs)
    return sorted({d.name for t in iter_tasks(wf, TaskState.WAITING)
                   for d in event_definitions(getattr(t.task_spec, "event_definition", None))
                   if isinstance(d, MessageEventDefinition)})


def _round(svc: Service, clock: ManualClock, instance_id: str, outcome: Outcome) -> None:
    with svc.store.read() as s:
        tasks = list(s.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id)))
    for task in tasks:
        data = {f["id"]: value_for(FormField(**f)) for f in task.form}
        svc.runtime.complete(task.id, {k: v for k, v in data.items() if v is not None}, EVERYONE)
        outcome.completed_tasks.append(task.element_id)
    if not tasks:
        for name in _waiting_messages(svc, instance_id):
            svc.runtime.correlate(name, instance_id=instance_id, actor=EVERYONE)
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
        outcome.error = f"{type(exc).__name__}: {exc.message}"
    return outcome
