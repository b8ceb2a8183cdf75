"""The write path's statements: the instance row, its events, incidents, effects, and the open-task
and pending-timer indexes. The runtime decides what to write; this module is how it is written.

Plain prepared statements rather than the ORM's unit of work: the flush costs more than the rest of
an engine step. The ORM is kept for the rare rows (incidents, outbox messages, records).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound
from engine.store.chain import GENESIS
from engine.store.models import TABLES, IncidentRow, OutboxMessage, Record
from engine.store.prepared import Prepared
from engine.store.sessions import Store


@dataclass
class InstanceRecord:
    """The instance row an operation works on. `lock_version` is the optimistic version it was read at."""

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
# What an operation may change; who started the instance and when never change. The version changes
# only by a migration, which its chain records.
_CHANGED_BY_OPERATIONS = ("version_id", "status", "data", "state", "task_id_counter", "last_seq", "head_hash",
                          "updated_at", "ended_at")
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


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        _INSERT_EVENTS.run(session.connection(), rows)


# ----------------------------------------------------------------- incidents and effects
def add_incident(session: Session, instance_id: str, ev_data: dict[str, Any], task_id: str | None,
                 element_id: str | None, at: datetime) -> None:
    session.add(IncidentRow(instance_id=instance_id, task_id=task_id or "", element_id=element_id or "",
                            topic=ev_data.get("topic", ""), message=ev_data.get("message", ""),
                            attempts=ev_data.get("attempts", 0), status="open", created_at=at,
                            resolved_at=None))


def open_incident(session: Session, incident_id: int) -> tuple[str, str]:
    """(instance id, task id) of an open incident."""
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    if row.status != "open":
        raise Conflict(f"incident {incident_id} is {row.status}", instance_id=row.instance_id)
    return row.instance_id, row.task_id


def resolve_incident(session: Session | None, incident_id: int, at: datetime) -> None:
    assert session is not None  # only live operations resolve incidents
    stored = session.get(IncidentRow, incident_id)
    if stored is not None:
        stored.status, stored.resolved_at = "resolved", at


def add_outbox(session: Session, instance_id: str, effect: dict[str, Any], at: datetime) -> None:
    session.add(OutboxMessage(instance_id=instance_id, element_id=effect.get("element_id", ""),
                              channel=effect["channel"], recipient=effect["recipient"],
                              subject=effect["subject"], body=effect["body"], status="pending",
                              created_at=at))


def add_record(session: Session, instance_id: str, effect: dict[str, Any], data: object,
               at: datetime) -> None:
    session.add(Record(id=effect["id"], kind=effect["record_kind"], instance_id=instance_id, data=data,
                       created_at=at))


# ----------------------------------------------------------------- indexes
_TASKS = TABLES["open_tasks"]
_GROUPS = TABLES["open_task_groups"]
_TIMERS = TABLES["pending_timers"]
_TASKS_OF = Prepared(select(_TASKS.c.id, _TASKS.c.assignee, _TASKS.c.due_at)
                     .where(_TASKS.c.instance_id == bindparam("instance")))
_CREATED_OF = Prepared(select(_TASKS.c.id, _TASKS.c.created_at)
                       .where(_TASKS.c.instance_id == bindparam("instance")))
_SET_TASK = Prepared(update(_TASKS).where(_TASKS.c.id == bindparam("key"))
                     .values(assignee=bindparam("assignee"), due_at=bindparam("due_at")))
# The task's group rows go with it (ON DELETE CASCADE).
_DROP_TASK = Prepared(delete(_TASKS).where(_TASKS.c.id == bindparam("key")))
_ADD_TASK = Prepared(insert(_TASKS), [c.key for c in _TASKS.c])
_ADD_GROUP = Prepared(insert(_GROUPS), ["task_id", "group"])
_TIMERS_OF = Prepared(select(_TIMERS.c.due_at, _TIMERS.c.kind, _TIMERS.c.element_id, _TIMERS.c.task_id)
                      .where(_TIMERS.c.instance_id == bindparam("instance")))
_DROP_TIMERS = Prepared(delete(_TIMERS).where(_TIMERS.c.instance_id == bindparam("instance")))
_TIMER_KEYS = ["kind", "instance_id", "process_key", "task_id", "element_id", "due_at"]
_ADD_TIMER = Prepared(insert(_TIMERS), _TIMER_KEYS)


@dataclass
class TaskChanges:
    dropped: list[str]
    added: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    changed: list[dict[str, Any]]


def stored_tasks(session: Session, instance_id: str) -> dict[str, tuple[str | None, datetime | None]]:
    """{task id: (assignee, due_at)} of the instance's open-task rows."""
    rows = _TASKS_OF.rows(session.connection(), {"instance": instance_id})
    return {r.id: (r.assignee, r.due_at) for r in rows}


def drop_tasks(session: Session, instance_id: str) -> dict[str, Any]:
    """Removes the instance's open-task rows; gives {task id: created_at} of what was removed."""
    created = {r.id: r.created_at for r in _CREATED_OF.rows(session.connection(), {"instance": instance_id})}
    _DROP_TASK.run(session.connection(), [{"key": tid} for tid in created])
    return created


def write_tasks(session: Session, changes: TaskChanges) -> None:
    conn = session.connection()
    _DROP_TASK.run(conn, [{"key": tid} for tid in changes.dropped])
    _ADD_TASK.run(conn, changes.added)
    _ADD_GROUP.run(conn, changes.groups)
    _SET_TASK.run(conn, changes.changed)


def stored_timers(session: Session, instance_id: str) -> list[tuple[Any, ...]]:
    """(due_at, kind, element_id, task_id) of the instance's pending-timer rows."""
    return [tuple(r) for r in _TIMERS_OF.rows(session.connection(), {"instance": instance_id})]


def replace_timers(session: Session, instance_id: str, had_rows: bool, rows: list[dict[str, Any]]) -> None:
    conn = session.connection()
    if had_rows:
        _DROP_TIMERS.run(conn, {"instance": instance_id})
    if rows:
        _ADD_TIMER.run(conn, rows)
