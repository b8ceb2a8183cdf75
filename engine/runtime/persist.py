"""Writing an operation's outcome: compacted state, events, indexes, incidents, effects."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.actor import SYSTEM
from engine.bpmn.state import compact, digest, is_finished
from engine.errors import Conflict, NotFound
from engine.runtime.indexes import refresh_tasks, refresh_timers, timed_items
from engine.store.chain import GENESIS, canonical, chain_hash, event_payload
from engine.store.models import TABLES, IncidentRow, OutboxMessage, Record, Store
from engine.store.prepared import Prepared

if TYPE_CHECKING:
    from engine.runtime.facade import Runtime
    from engine.runtime.operation import Operation


@dataclass
class InstanceRecord:
    """The instance row an operation works on, read and written with plain statements: the ORM's unit
    of work costs more than the rest of a step. `lock_version` is the optimistic version it was read at."""

    id: str
    process_key: str
    version_id: int
    status: str
    business_key: str | None
    parent_instance_id: str | None
    started_by: str
    data: dict[str, Any]
    state: dict[str, Any]
    task_id_counter: int
    last_seq: int
    head_hash: str
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    lock_version: int = 0  # 0: not stored yet

    @classmethod
    def new(cls, instance_id: str, process_key: str, version_id: int, business_key: str | None,
            parent_instance_id: str | None, started_by: str, data: dict[str, Any],
            now: datetime) -> InstanceRecord:
        """A row not stored yet: no state, no events, the chain at its genesis."""
        return cls(id=instance_id, process_key=process_key, version_id=version_id, status="running",
                   business_key=business_key, parent_instance_id=parent_instance_id, started_by=started_by,
                   data=dict(data), state={}, task_id_counter=0, last_seq=0, head_hash=GENESIS,
                   created_at=now, updated_at=now, ended_at=None)

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_INSTANCES = TABLES["instances"]
_EVENTS = TABLES["events"]
_SELECT_ROW = Prepared(select(_INSTANCES).where(_INSTANCES.c.id == bindparam("id")))
_SELECT_ROW_LOCKED = Prepared(_SELECT_ROW.statement.with_for_update())
# What an operation may change; who started the instance, when and on which version never change.
_CHANGED_BY_OPERATIONS = ("status", "data", "state", "task_id_counter", "last_seq", "head_hash", "updated_at",
                          "ended_at")
_INSERT_ROW = Prepared(insert(_INSTANCES), [c.key for c in _INSTANCES.c])
_SAME_VERSION = (_INSTANCES.c.id == bindparam("key")) & (_INSTANCES.c.lock_version == bindparam("seen"))
_UPDATE_ROW = Prepared(update(_INSTANCES).where(_SAME_VERSION), [*_CHANGED_BY_OPERATIONS, "lock_version"])
_INSERT_EVENTS = Prepared(insert(_EVENTS), [c.key for c in _EVENTS.c if c.key != "id"])


def row_for_update(session: Session, store: Store, instance_id: str) -> InstanceRecord:
    # SQLite writers are already serialised by BEGIN IMMEDIATE
    query = _SELECT_ROW if store.is_sqlite else _SELECT_ROW_LOCKED
    found = query.first(session.connection(), {"id": instance_id})
    if found is None:
        raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
    return InstanceRecord(**found._asdict())


def write_row(session: Session, row: InstanceRecord) -> None:
    values = row.values()
    conn = session.connection()
    if row.lock_version == 0:
        _INSERT_ROW.run(conn, {**values, "lock_version": 1})
        return
    changed = {name: values[name] for name in _CHANGED_BY_OPERATIONS}
    changed["lock_version"] = row.lock_version + 1
    if _UPDATE_ROW.run(conn, {**changed, "key": row.id, "seen": row.lock_version}) != 1:
        raise Conflict(f"instance {row.id} was changed by another operation; try again", instance_id=row.id)


def json_safe(value: Any) -> Any:
    return json.loads(canonical(value))


def settle(op: Operation) -> tuple[str, str]:
    """End-of-operation bookkeeping shared by live runs and replay: status, compaction, digest."""
    status = "running"
    if op.cancelled:
        status = "cancelled"
        op.rt.sla.on_finish(op)
    elif is_finished(op.wf):
        status = "completed"
        op.rt.sla.on_finish(op)
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
            session.add(
                IncidentRow(
                    instance_id=row.id,
                    task_id=ev.task_id or "",
                    element_id=ev.element_id or "",
                    topic=ev.data.get("topic", ""),
                    message=ev.data.get("message", ""),
                    attempts=ev.data.get("attempts", 0),
                    status="open",
                    created_at=ev.at,
                    resolved_at=None,
                )
            )
    if rows:
        _INSERT_EVENTS.run(session.connection(), rows)


def persist(rt: Runtime, session: Session, row: InstanceRecord, op: Operation, counter: int) -> None:
    status, state_digest = settle(op)
    if status != "running":
        row.status, row.ended_at = status, op.now
    row.state = rt.serializer.to_dict(op.wf)
    row.task_id_counter = counter
    row.data = json_safe(op.current_data())
    row.updated_at = op.now
    new = row.lock_version == 0
    append_events(session, row, op, state_digest)
    write_row(session, row)
    session.flush()  # incidents, which refer to nothing the statements above depend on
    refresh_tasks(session, op, rt.sla.task_due, new)
    refresh_timers(session, op, timed_items(op, rt.sla.pending_timers(op)), new)


def apply_effects(rt: Runtime, session: Session, op: Operation) -> None:
    if op.replay is not None:
        return
    for effect in op.effects:
        kind = effect["kind"]
        if kind == "outbox":
            session.add(
                OutboxMessage(
                    instance_id=op.instance_id,
                    element_id=effect.get("element_id", ""),
                    channel=effect["channel"],
                    recipient=effect["recipient"],
                    subject=effect["subject"],
                    body=effect["body"],
                    status="pending",
                    created_at=op.now,
                )
            )
        elif kind == "record":
            session.add(
                Record(
                    id=effect["id"],
                    kind=effect["record_kind"],
                    instance_id=op.instance_id,
                    data=json_safe(effect["data"]),
                    created_at=op.now,
                )
            )
        elif kind == "start":
            rt.start_in(
                session,
                effect["process"],
                effect["data"],
                SYSTEM,
                effect.get("business_key"),
                parent_instance_id=op.instance_id,
                instance_id=effect["id"],
            )
    session.flush()
