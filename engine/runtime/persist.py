"""Writing an operation's outcome: compacted state, events, indexes, incidents, effects."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy.orm import Session

from engine.actor import SYSTEM, Actor
from engine.bpmn.state import compact, digest, is_finished
from engine.runtime.indexes import refresh_tasks, refresh_timers, timed_items
from engine.runtime.operation import Operation
from engine.store import write
from engine.store.chain import canonical, chain_hash, event_payload
from engine.store.write import InstanceRecord


def json_safe(value: object) -> Any:  # Any: JSON of any shape, as canonical() gives it back
    return json.loads(canonical(value))


def settle(op: Operation) -> tuple[str, str]:
    """End-of-operation bookkeeping shared by live runs and replay: status, compaction, digest."""
    status = "running"
    if op.cancelled:
        status = "cancelled"
        op.services.sla.on_finish(op)
    elif is_finished(op.wf):
        status = "completed"
        op.services.sla.on_finish(op)
        op.event("instance_completed", actor="system", data=json_safe(op.current_data()))
    compact(op.wf)
    return status, digest(op.wf)


def append_events(session: Session, row: InstanceRecord, op: Operation, state_digest: str) -> None:
    first = row.last_seq + 1
    rows = []
    for ev in op.events:
        ev.data = json_safe(ev.data)
        row.last_seq += 1
        payload = event_payload(row.id, row.last_seq, first, ev, state_digest)
        new_hash = chain_hash(row.head_hash, payload)
        rows.append({"instance_id": row.id, "seq": row.last_seq, "op": first, "type": ev.type, "at": ev.at,
                     "actor": ev.actor, "element_id": ev.element_id, "task_id": ev.task_id, "data": ev.data,
                     "digest": state_digest, "prev_hash": row.head_hash, "hash": new_hash})
        row.head_hash = new_hash
        if ev.type == "incident_opened":
            write.add_incident(session, row.id, ev.data, ev.task_id, ev.element_id, ev.at)
    write.insert_events(session, rows)


class StateSerializer(Protocol):
    def to_dict(self, obj: BpmnWorkflow) -> dict[str, Any]: ...


class StartIn(Protocol):
    """Starts an instance inside the caller's transaction (a call activity's effect, a start timer)."""

    def __call__(self, session: Session, process_key: str, data: dict[str, Any], actor: Actor,
                 business_key: str | None, parent_instance_id: str | None = None,
                 instance_id: str | None = None, version_id: int | None = None,
                 scheduled_at: datetime | None = None) -> str: ...


def persist(session: Session, row: InstanceRecord, op: Operation, counter: int,
            serializer: StateSerializer) -> None:
    """The write path of an operation: settle, events, the row, then the indexes and SLA table."""
    status, state_digest = settle(op)
    if status != "running":
        row.status, row.ended_at = status, op.now
    row.state = serializer.to_dict(op.wf)
    row.task_id_counter = counter
    row.data = json_safe(op.current_data())
    row.updated_at = op.now
    new = row.lock_version == 0
    append_events(session, row, op, state_digest)
    write.write_row(session, row)
    session.flush()  # incidents, which refer to nothing the statements above depend on
    sla = op.services.sla
    sla.save(session, op)
    refresh_tasks(session, op, lambda task: sla.task_due(op, task), new)
    refresh_timers(session, op, timed_items(op, sla.deadlines(op)), new)


def apply_effects(start_in: StartIn, session: Session, op: Operation) -> None:
    if op.replay is not None:
        return
    for effect in op.effects:
        kind = effect["kind"]
        if kind == "outbox":
            write.add_outbox(session, op.instance_id, effect, op.now)
        elif kind == "record":
            write.add_record(session, op.instance_id, effect, json_safe(effect["data"]), op.now)
        elif kind == "start":
            start_in(
                session,
                effect["process"],
                effect["data"],
                SYSTEM,
                effect.get("business_key"),
                parent_instance_id=op.instance_id,
                instance_id=effect["id"],
            )
    session.flush()
