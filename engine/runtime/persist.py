"""What an operation writes: compacted state, chained events, the open-task and pending-timer index
rows, incidents, effects. The statements that write them are in `engine/store/write.py`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.actor import SYSTEM, Actor
from engine.bpmn.model import Element, groups_for
from engine.bpmn.patches import INCIDENT
from engine.bpmn.spiff import strip_wrapper
from engine.bpmn.state import compact, digest, is_finished, iter_tasks
from engine.bpmn.timers import timer_due
from engine.runtime.operation import Operation
from engine.store import stock, write
from engine.store.chain import canonical, chain_hash, event_payload
from engine.store.write import InstanceRecord


def json_safe(value: object) -> Any:  # Any: JSON of any shape, as canonical() gives it back
    return json.loads(canonical(value))


def settle(op: Operation) -> tuple[str, str]:
    """End-of-operation bookkeeping shared by live runs and replay: status, compaction, digest."""
    if op.sla_flags.stepping and not op.cancelled:
        op.advance()  # a rung the catch-up of a non-stepping operation (a claim) fired gets its task now
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
                 scheduled_at: datetime | None = None,
                 clocks: dict[str, Any] | None = None) -> str: ...


def persist(session: Session, row: InstanceRecord, op: Operation, counter: int,
            serializer: StateSerializer) -> None:
    """The write path of an operation: settle, events, the row, then the indexes and SLA table."""
    status, state_digest = settle(op)
    if status != "running":
        row.status, row.ended_at = status, op.now
    row.version_id = op.loaded.id  # a migration moved it
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
    # A migrated instance's open tasks may be named or offered differently in its new version.
    created = write.drop_tasks(session, op.instance_id) if op.moved else None
    refresh_tasks(session, op, lambda task: sla.task_due(op, task), new or op.moved, created)
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
        elif kind == "stock":
            stock.apply_movement(session, op.instance_id, op.actor, effect, op.now)
        elif kind == "start":
            start_in(
                session,
                effect["process"],
                effect["data"],
                SYSTEM,
                effect.get("business_key"),
                parent_instance_id=op.instance_id,
                instance_id=effect["id"],
                clocks=effect.get("sla"),  # the SLA clocks the parent handed over with the case
            )
    session.flush()


def assignee_of(task: Task, element: Element) -> str | None:
    claimed = task.internal_data.get("weibao_assignee")
    if claimed:
        return str(claimed)
    expr = element.assignee
    if not expr:
        return None
    name = strip_wrapper(expr)
    if expr.strip().startswith("${"):
        value = task.data.get(name)
        return str(value) if value else None
    return name


def refresh_tasks(session: Session, op: Operation, due_for: Callable[[Task], datetime | None],
                  new: bool = False, created: dict[str, Any] | None = None) -> None:
    """`new`: the instance has no rows to compare with (just created, or its rows were dropped;
    `created` then keeps when each of its tasks was created)."""
    existing = {} if new else write.stored_tasks(session, op.instance_id)
    added: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    current: set[str] = set()
    for task in iter_tasks(op.wf, TaskState.READY):
        if not isinstance(task.task_spec, UserTask):
            continue
        tid = str(task.id)
        current.add(tid)
        el = op.element(task)
        now = (assignee_of(task, el), due_for(task))
        if tid not in existing:
            added.append({"id": tid, "instance_id": op.instance_id, "process_key": op.loaded.process_key,
                          "element_id": el.id, "name": el.name, "candidate_groups": groups_for(el, task.data),
                          "form": [f.to_dict() for f in el.form],
                          "created_at": (created or {}).get(tid, op.now),
                          "assignee": now[0], "due_at": now[1]})
            groups.extend({"task_id": tid, "group": g} for g in added[-1]["candidate_groups"])
        elif existing[tid] != now:
            changed.append({"key": tid, "assignee": now[0], "due_at": now[1]})
    dropped = [tid for tid in existing if tid not in current]
    write.write_tasks(session, write.TaskChanges(dropped, added, groups, changed))


TimedItem = tuple[datetime, str, str, str | None]  # due, kind, element_id, task_id


def timed_items(op: Operation, extra: list[tuple[str, str, str | None, datetime]]) -> list[TimedItem]:
    """Everything of this instance that must happen at a time, read from its state alone, in a fixed
    order: the index is built from it, and the scheduler and replay fire from it."""
    items: list[TimedItem] = []
    for task in iter_tasks(op.wf, TaskState.WAITING):
        due = timer_due(task)
        if due is not None and not task.internal_data.get(INCIDENT):  # held until its incident is retried
            items.append((due, "timer", task.task_spec.bpmn_id or task.task_spec.name, str(task.id)))
    for task in iter_tasks(op.wf, TaskState.READY):
        retry_at = task.internal_data.get("weibao_retry_at")
        if retry_at and not task.internal_data.get("weibao_incident"):
            items.append((datetime.fromisoformat(retry_at), "retry", task.task_spec.bpmn_id, str(task.id)))
    items.extend((due, kind, element_id, task_id) for kind, element_id, task_id, due in extra)
    return sorted(items, key=_order)


def _order(item: TimedItem) -> tuple[datetime, str, str, str]:
    return item[0], item[1], item[2], item[3] or ""


def refresh_timers(session: Session, op: Operation, items: list[TimedItem], new: bool = False) -> None:
    stored = sorted([] if new else write.stored_timers(session, op.instance_id), key=_order)
    if stored == sorted(items, key=_order):
        return  # most steps leave the timers as they were: no rewrite, no index churn
    write.replace_timers(session, op.instance_id, bool(stored), [
        {"kind": kind, "instance_id": op.instance_id, "process_key": None, "task_id": task_id,
         "element_id": element_id, "due_at": due}
        for due, kind, element_id, task_id in items
    ])
