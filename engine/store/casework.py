"""What a person sees of a case around a task: the outcome of a completion, and the clocks of many
cases read at once (the tasklist shows each case's nearest deadline)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from engine import policy
from engine.actor import Actor
from engine.store.models import EventRow, IncidentRow, Instance, OpenTask, SlaClockRow, User
from engine.store.prepared import Prepared
from engine.store.queries import incident_dict
from engine.store.worklist import OPEN_CLOCK_STATES, TASK_COLUMNS, task_dict

# A completion's answer is on the hot path: its statements are compiled once (prepared.py).
_STATUS = Prepared(select(Instance.status).where(Instance.id == bindparam("id")))
_TASKS = Prepared(select(*TASK_COLUMNS).where(OpenTask.instance_id == bindparam("id"))
                  .order_by(OpenTask.created_at, OpenTask.id))
_COMPLETED_OP = Prepared(select(EventRow.op).where(
    EventRow.instance_id == bindparam("id"), EventRow.task_id == bindparam("task"),
    EventRow.type == "task_completed").order_by(EventRow.seq.desc()).limit(1))
_OPENED = Prepared(select(EventRow.task_id, EventRow.at).where(
    EventRow.instance_id == bindparam("id"), EventRow.op == bindparam("op"),
    EventRow.type == "incident_opened"))
_INCIDENTS = Prepared(select(*IncidentRow.__table__.c).where(IncidentRow.instance_id == bindparam("id"))
                      .order_by(IncidentRow.id))


def completion_outcome(conn: Connection, actor: Actor, instance_id: str, task_id: str) -> dict[str, Any]:
    """After `task_id` was completed: the instance's status, the open tasks of the case the actor may
    work on or see, and the incidents the completing operation opened (a service task after it failed).

    The incidents are found through the history: the events the completion's operation wrote share its
    `op`, so an incident opened earlier, or by a later operation, is not reported as this one's."""
    status = _STATUS.scalar(conn, {"id": instance_id})
    rows = _TASKS.rows(conn, {"id": instance_id})
    mine = [task_dict(r) for r in rows if policy.is_my_task(actor, r.assignee, r.candidate_groups)]
    return {"instance_id": instance_id, "status": status, "next_tasks": mine,
            "incidents": _opened_by_completion(conn, instance_id, task_id)}


def _opened_by_completion(conn: Connection, instance_id: str, task_id: str) -> list[dict[str, Any]]:
    completed = _COMPLETED_OP.first(conn, {"id": instance_id, "task": task_id})
    if completed is None:
        return []
    opened = {(r.task_id or "", r.at) for r in _OPENED.rows(conn, {"id": instance_id, "op": completed.op})}
    if not opened:
        return []
    incidents = _INCIDENTS.rows(conn, {"id": instance_id})
    return [incident_dict(r) for r in incidents if (r.task_id, r.created_at) in opened]


def open_clocks(conn: Connection, instance_ids: Collection[str]) -> dict[str, list[dict[str, Any]]]:
    """The open clocks (running, or breached and not stopped) of each instance, nearest first, in one
    query however many instances are listed."""
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in instance_ids}
    if not out:
        return out
    query = select(SlaClockRow.instance_id, SlaClockRow.clock, SlaClockRow.state, SlaClockRow.due_at) \
        .where(SlaClockRow.instance_id.in_(sorted(out)), SlaClockRow.stopped_at.is_(None),
               SlaClockRow.state.in_(OPEN_CLOCK_STATES), SlaClockRow.due_at.is_not(None)) \
        .order_by(SlaClockRow.instance_id, SlaClockRow.due_at, SlaClockRow.clock)
    for row in conn.execute(query):
        out[row.instance_id].append({"clock": row.clock, "state": row.state, "due_at": row.due_at})
    return out


def people_for(conn: Connection, candidate_groups: Collection[str]) -> list[str]:
    """Enabled users a task may be handed to: members of one of its candidate groups, not auditors
    (the rule itself is `policy.check_may_receive`; this is the list a dispatcher picks from)."""
    wanted = set(candidate_groups)
    rows = conn.execute(select(User.name, User.groups, User.roles).where(User.disabled_at.is_(None))
                        .order_by(User.name))
    return [r.name for r in rows if wanted.intersection(r.groups) and "auditor" not in r.roles]


def staff_names(conn: Connection) -> list[str]:
    """Enabled users who may hold tasks (a filter's choices): everyone but customers and auditors."""
    rows = conn.execute(select(User.name, User.groups, User.roles).where(User.disabled_at.is_(None))
                        .order_by(User.name))
    people = (Actor(r.name, frozenset(r.groups), frozenset(r.roles)) for r in rows)
    return [p.name for p in people if not policy.is_auditor_only(p) and policy.customer_scope(p) is None]


def report_clocks(conn: Connection, start: datetime, end: datetime,
                  **where: str | None) -> list[dict[str, Any]]:
    """The clocks behind one line of the SLA report (started in [start, end), narrowed by `process`,
    `contract`, `level`, `clock`), with their case, for the drill-down from the report to the cases.
    Handed-over clocks are counted in the instance that took them, as the report counts them."""
    columns = {"process": SlaClockRow.process_key, "contract": SlaClockRow.contract,
               "level": SlaClockRow.level, "clock": SlaClockRow.clock}
    query = select(SlaClockRow.instance_id, SlaClockRow.clock, SlaClockRow.process_key, SlaClockRow.contract,
                   SlaClockRow.level, SlaClockRow.state, SlaClockRow.started_at, SlaClockRow.due_at,
                   SlaClockRow.stopped_at, Instance.business_key, Instance.status) \
        .join(Instance, Instance.id == SlaClockRow.instance_id) \
        .where(SlaClockRow.started_at >= start, SlaClockRow.started_at < end,
               SlaClockRow.state != "handed_over")
    for name, value in where.items():
        if value is not None:
            # The report shows a clock without contract or level as ""; "" finds those.
            query = query.where(columns[name] == value if value else columns[name].is_(None))
    query = query.order_by(SlaClockRow.started_at, SlaClockRow.instance_id, SlaClockRow.clock).limit(1000)
    return [dict(r._mapping) for r in conn.execute(query)]
