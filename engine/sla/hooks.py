"""The seam between the runtime and SLA clocks: what the hooks see of an operation, the hooks
themselves (`SlaHooks`), and `NoSla`, the engine without any clock.

The runtime calls the hooks as an operation steps and when it is written; the SLA engine keeps
nothing between calls but what it puts in the workflow data and in the operation's `sla_flags`, so
replay, which builds its own operations, gets the same answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.bpmn.definitions import LoadedVersion
from engine.bpmn.model import Element

# (kind, element_id, task_id, due): a deadline for the pending-timer index.
Deadline = tuple[str, str, str | None, datetime]
ClockView = dict[str, object]


@dataclass
class SlaFlags:
    """Per-operation state of the SLA hooks. `changed`: a due time moved in this operation, so the
    timers that read it are re-armed; `rearming`: that re-arming is under way (it may step again);
    `stepping`: a rung started the escalation subprocess, whose task the next engine steps create."""

    changed: bool = False
    rearming: bool = False
    stepping: bool = False


class CalendarRecord(Protocol):
    """What a replayed operation's record says of calendar years (see engine.sla.provisional)."""

    provisional_years: frozenset[int]
    retargeted: frozenset[str]
    # Clocks that engine behaviour before issue 15 counted as met when the instance ended before their
    # stop event (now "ended"); their recorded histories replay as they were written.
    ended_as_met: frozenset[str]


class OperationView(Protocol):
    """What the SLA hooks read and write of an operation."""

    instance_id: str
    now: datetime
    wf: BpmnWorkflow
    loaded: LoadedVersion
    cancelled: bool
    sla_flags: SlaFlags
    effects: list[dict[str, Any]]  # what the operation's handlers asked for (a child's start, ...)

    @property
    def replay(self) -> CalendarRecord | None: ...

    def element(self, task: Task) -> Element: ...

    def event(self, type_: str, *, element_id: str | None = None, task_id: str | None = None,
              actor: str | None = None, **data: object) -> None: ...

    def advance(self) -> None: ...

    def current_data(self) -> dict[str, object]: ...


class SlaHooks(Protocol):
    def attach(self, op: OperationView) -> None: ...

    def on_enter(self, op: OperationView, task: Task) -> None: ...

    def on_complete(self, op: OperationView, task: Task) -> None: ...

    def after_steps(self, op: OperationView) -> None: ...

    def on_finish(self, op: OperationView) -> None: ...

    def on_claim(self, op: OperationView, task: Task) -> None: ...

    def receive(self, op: OperationView, records: dict[str, Any], parent_id: str | None) -> None: ...

    def task_due(self, op: OperationView, task: Task) -> datetime | None: ...

    def deadlines(self, op: OperationView) -> list[Deadline]: ...

    def fire(self, op: OperationView, element_id: str) -> None: ...

    def save(self, session: Session, op: OperationView) -> None: ...

    def script_functions(self, op: OperationView | None = None) -> dict[str, Callable[..., object]]: ...

    def clocks_for(self, conn: Connection, instance_id: str, data: dict[str, object]) -> list[ClockView]: ...

    def clocks_from_state(self, wf: BpmnWorkflow, now: datetime) -> list[ClockView]: ...


class NoSla:
    def attach(self, op: OperationView) -> None:
        return None

    def on_enter(self, op: OperationView, task: Task) -> None:
        return None

    def on_complete(self, op: OperationView, task: Task) -> None:
        return None

    def after_steps(self, op: OperationView) -> None:
        return None

    def on_finish(self, op: OperationView) -> None:
        return None

    def on_claim(self, op: OperationView, task: Task) -> None:
        return None

    def receive(self, op: OperationView, records: dict[str, Any], parent_id: str | None) -> None:
        return None

    def task_due(self, op: OperationView, task: Task) -> datetime | None:
        return None

    def deadlines(self, op: OperationView) -> list[Deadline]:
        return []

    def fire(self, op: OperationView, element_id: str) -> None:
        return None

    def save(self, session: Session, op: OperationView) -> None:
        return None

    def script_functions(self, op: OperationView | None = None) -> dict[str, Callable[..., object]]:
        return {}

    def clocks_for(self, conn: Connection, instance_id: str, data: dict[str, object]) -> list[ClockView]:
        return []

    def clocks_from_state(self, wf: BpmnWorkflow, now: datetime) -> list[ClockView]:
        return []
