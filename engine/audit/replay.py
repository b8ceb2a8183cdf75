"""Deterministic replay: rebuild an instance from its pinned definition and its recorded inputs.

Events are grouped by operation (`op`). Each operation has one input (a start, a claim, a completion
with its data, a message, an incident retry, a cancellation, or else a scheduler tick); everything
else is what the engine did in response. Replay re-applies each input on a
manual clock set to the recorded time, hands handlers their recorded outcomes (never calling them),
and after each operation compares the state digest and the events it produced with the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actor import Actor
from engine.bpmn.definitions import Definitions, LoadedVersion
from engine.bpmn.patches import TaskIdSource, use_task_ids
from engine.bpmn.state import iter_tasks
from engine.clock import ManualClock, use_clock
from engine.errors import EngineError, NotFound
from engine.handler import HandlerContext
from engine.runtime import commands
from engine.runtime.commands import ACTS, Act
from engine.runtime.invoker import Outcome, ReplayInvoker
from engine.runtime.operation import Operation, Services, open_operation
from engine.runtime.persist import json_safe, settle
from engine.settings import Settings
from engine.sla.hooks import SlaHooks
from engine.store.chain import EventLike
from engine.store.models import EventRow, Instance, ProcessVersion
from engine.store.sessions import Store

INPUTS = frozenset(ACTS)


@dataclass
class ReplayResult:
    verified: bool
    events: int
    divergence: dict[str, Any] | None = None
    state: dict[str, Any] | None = None


class _NoCalls:
    def call(self, ctx: HandlerContext) -> Outcome:
        raise EngineError(f"replay does not call handlers ({ctx.topic})", instance_id=ctx.instance_id)


def _outcomes(rows: list[EventRow]) -> ReplayInvoker:
    invoker = ReplayInvoker()
    invoker.provisional_years = frozenset(y for r in rows for y in r.data.get("provisional_years") or ())
    invoker.retargeted = frozenset(r.data["clock"] for r in rows if r.type == "sla_retargeted")
    invoker.ended_as_met = frozenset(r.data["clock"] for r in rows
                                     if r.type == "sla_met" and r.data.get("reason") == "instance_ended")
    for row in rows:
        if row.type == "service_task_completed":
            invoker.add(
                row.task_id or "",
                Outcome(True, result=row.data.get("result", {}), effects=row.data.get("effects", [])),
            )
        elif row.type == "service_task_failed":
            invoker.add(
                row.task_id or "",
                Outcome(
                    False,
                    error=row.data.get("error", ""),
                    retryable=bool(row.data.get("retryable")),
                    retry_delay=row.data.get("retry_delay"),
                ),
            )
    return invoker


def _comparable(ev: EventLike) -> tuple[object, ...]:
    return (ev.type, ev.element_id, ev.task_id, json_safe(ev.data))


class Replayer:
    def __init__(self, store: Store, definitions: Definitions, sla: SlaHooks,
                 settings: Settings | None = None) -> None:
        self.store = store
        self.definitions = definitions
        self.sla = sla
        self.settings = settings or Settings()
        self.clock = ManualClock()

    def replay(self, instance_id: str, upto: int | None = None) -> ReplayResult:
        with self.store.read() as session:
            row = session.get(Instance, instance_id)
            if row is None:
                raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
            events = list(
                session.scalars(
                    select(EventRow).where(EventRow.instance_id == instance_id).order_by(EventRow.seq)
                ).all()
            )
            versions: dict[str, LoadedVersion] = {}
            for seq, recorded in _pinned(events):
                divergence = self._check_definition(session, row, seq, recorded, versions)
                if divergence:
                    return ReplayResult(False, len(events), divergence)
            divergence = _ends_on(session, row, events)
            if divergence:
                return ReplayResult(False, len(events), divergence)
        return self._run(instance_id, row, versions, events, upto)

    def _check_definition(self, session: Session, row: Instance, seq: int, recorded: str | None,
                          versions: dict[str, LoadedVersion]) -> dict[str, Any] | None:
        """The version a history runs on is found by the content hash it recorded (ids differ between
        a database and an exported bundle) and its files are hashed again."""
        version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == row.process_key,
                                                              ProcessVersion.content_hash == recorded))
        if version is None:
            current = session.get(ProcessVersion, row.version_id)
            pinned = "the one the instance started on" if seq == 1 else "the one the instance was migrated to"
            return {"seq": seq, "element_id": None, "expected": recorded,
                    "actual": current.content_hash if current else None,
                    "reason": f"the definition version differs from {pinned}"}
        try:
            versions[version.content_hash] = self.definitions.load(session, version.id, verify=True)
        except EngineError as exc:
            return {"seq": seq, "element_id": None, "reason": exc.message}
        return None

    def _run(self, instance_id: str, row: Instance, versions: dict[str, LoadedVersion],
             events: list[EventRow], upto: int | None) -> ReplayResult:
        ids = TaskIdSource(UUID(instance_id), 0)
        op: Operation | None = None
        with use_clock(self.clock), use_task_ids(ids):
            for _, group_iter in groupby(events, key=lambda e: e.op):
                group = list(group_iter)
                first = group[0]
                self.clock.set(first.at)
                op = self._apply(instance_id, row, versions, op, group)
                _, state_digest = settle(op)
                produced = [_comparable(e) for e in op.events]
                recorded = [_comparable(e) for e in group]
                if state_digest != first.digest or produced != recorded:
                    return ReplayResult(
                        False, len(events), _divergence(group, op, produced, recorded, state_digest)
                    )
                if upto is not None and group[-1].seq >= upto:
                    return ReplayResult(True, group[-1].seq, None, self._snapshot(op))
        return ReplayResult(True, len(events), None, self._snapshot(op) if op is not None else None)

    def _apply(self, instance_id: str, row: Instance, versions: dict[str, LoadedVersion],
               before: Operation | None, group: list[EventRow]) -> Operation:
        """`before`: the previous operation, whose workflow and version (a migration changes it) this
        one continues."""
        # SLA deadlines that passed before this operation are recorded ahead of its input (the engine
        # catches up first), so the input is the first event of an input type, not the first event.
        first = next((e for e in group if e.type in INPUTS), group[0])
        if before is None:
            if first.type != "instance_started":
                raise EngineError("history does not begin with instance_started", instance_id=instance_id)
            loaded = versions[str(first.data.get("content_hash"))]
            wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs)
            wf.task_tree.data.update(first.data.get("data", {}))
        else:
            loaded, wf = before.loaded, before.wf
        # Handlers are never called: each gets its recorded outcome.
        services = Services(self.sla, _NoCalls(), self.clock, self.settings)
        op = open_operation(services, None, instance_id, loaded, wf, first.actor or "system",
                            row.business_key, first.at, replay=_outcomes(group))
        actor = Actor(first.actor or "system", roles=frozenset({"admin"}))
        moved_to = versions.get(str(first.data.get("content_hash")))
        commands.perform(op, Act(first.type, actor, first.task_id, first.data, first.element_id, live=False,
                                 version=moved_to if first.type == "instance_migrated" else None))
        return op

    def _snapshot(self, op: Operation) -> dict[str, Any]:
        open_tasks = [
            {"id": str(t.id), "element_id": t.task_spec.bpmn_id, "name": op.element(t).name}
            for t in iter_tasks(op.wf, TaskState.READY)
            if isinstance(t.task_spec, UserTask)
        ]
        return {
            "open_tasks": open_tasks,
            "data": json_safe(op.current_data()),
            "sla": self.sla.clocks_from_state(op.wf, op.now),
        }


def _pinned(events: list[EventRow]) -> list[tuple[int, str | None]]:
    """(seq, recorded content hash) of each version the history runs on: the one it started on, then
    each one it was migrated to."""
    pinned = [(1, events[0].data.get("content_hash") if events else None)]
    pinned.extend((e.seq, e.data.get("content_hash")) for e in events if e.type == "instance_migrated")
    return pinned


def _ends_on(session: Session, row: Instance, events: list[EventRow]) -> dict[str, Any] | None:
    """The instance row must name the version its history ends on (a migration is the only way the
    version changes)."""
    seq, recorded = _pinned(events)[-1]
    current = session.get(ProcessVersion, row.version_id)
    if current is not None and current.content_hash == recorded:
        return None
    return {"seq": seq, "element_id": None, "expected": recorded,
            "actual": current.content_hash if current else None,
            "reason": "the instance is on another definition version than its history ends on"}


def _divergence(
    group: list[EventRow], op: Operation, produced: list[Any], recorded: list[Any], state_digest: str
) -> dict[str, Any]:
    for offset, (mine, theirs) in enumerate(zip(produced, recorded, strict=False)):
        if mine != theirs:
            row = group[offset]
            return {
                "seq": row.seq,
                "element_id": row.element_id or mine[1],
                "expected": theirs[0],
                "actual": mine[0],
                "reason": "the engine produced a different event",
            }
    if len(produced) != len(recorded):
        row = group[min(len(produced), len(recorded)) if len(recorded) > len(produced) else -1]
        return {
            "seq": row.seq,
            "element_id": row.element_id,
            "expected": len(recorded),
            "actual": len(produced),
            "reason": "the engine produced a different number of events",
        }
    return {
        "seq": group[0].seq,
        "element_id": group[0].element_id,
        "expected": group[0].digest,
        "actual": state_digest,
        "reason": "the state digest differs",
    }
