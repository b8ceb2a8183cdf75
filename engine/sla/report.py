"""Reading SLA clocks: one instance's clocks, the `sla_clocks` copy, the monthly SLA report and the
per-case drill-down.

Outcomes, as the report counts them: `met` only when the clock stopped at the event the contract
means by its due time; `breached` when the due time passed first; `ended` when the instance ended
(completed, cancelled) before the stop event and before the due time, so the promise was not shown
kept: it counts against pct_met like a breach, and is listed apart so it can be told from one; `open`
while running or paused. A clock whose record says met but whose stop came after its due time is
counted breached: the report reads the times, not only the state. A clock handed over with the case
(engine.sla.handover) is counted once, in the instance that took it over, from its original start.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from engine.clock import SystemClock
from engine.errors import NotFound
from engine.sla import clocks as sc
from engine.sla.calendar import SHANGHAI
from engine.sla.handover import HANDED_OVER
from engine.sla.packed import all_records
from engine.sla.rounds import clock_name
from engine.store.models import TABLES, Instance, SlaClockRow
from engine.store.prepared import Prepared

REPORT_COLUMNS = ["month", "process", "contract", "level", "clock", "count", "met", "breached", "ended",
                  "open", "pct_met", "median_seconds", "p90_seconds", "provisional"]
CASE_COLUMNS = ["instance_id", "process", "business_key", "clock", "outcome", "state", "contract", "level",
                "target", "calendar", "started_at", "due_at", "stopped_at", "breached_at", "business_seconds",
                "provisional", "provisional_years", "step", "step_name"]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _row_values(process_key: str, clock: dict[str, Any]) -> dict[str, Any]:
    return {
        "process_key": process_key, "state": clock["state"], "contract": _text(clock["contract"]),
        "level": _text(clock["level"]), "started_at": datetime.fromisoformat(clock["started_at"]),
        "due_at": sc.parse_time(clock["due_at"]),  # None while paused: the due time is moving
        "stopped_at": sc.parse_time(clock["stopped_at"]), "breached_at": sc.parse_time(clock["breached_at"]),
        "paused_seconds": clock["paused_seconds"], "business_seconds": clock["business_seconds"],
        "provisional": bool(clock.get("provisional_years")),
    }


_TABLE = TABLES["sla_clocks"]
_VALUES = [c.key for c in _TABLE.c if c.key not in ("instance_id", "clock")]
# What tells a row is stale: the business seconds change only with a stop or a resume, which move
# these too (and a float column has no result type the prepared plan could name on PostgreSQL).
_COMPARED = [c for c in _VALUES if c not in ("paused_seconds", "business_seconds")]
_ROWS_OF = Prepared(select(_TABLE.c.clock, *(_TABLE.c[k] for k in _COMPARED))
                    .where(_TABLE.c.instance_id == bindparam("instance"),
                           _TABLE.c.clock.in_(bindparam("names", expanding=True))))
_ADD_ROW = Prepared(insert(_TABLE), ["instance_id", "clock", *_VALUES])
_SET_ROW = Prepared(update(_TABLE).where(_TABLE.c.instance_id == bindparam("b_instance"),
                                         _TABLE.c.clock == bindparam("b_clock")), _VALUES)


def sync_table(session: Session, instance_id: str, process_key: str,
               clocks: dict[str, dict[str, Any]]) -> None:
    """Upsert the queryable copy of an instance's clocks (the truth stays in the instance state).
    Only the rows of the clocks in the state are read (the stopped step clocks packed away keep the
    rows they were last written with), and only a row whose values changed is written."""
    if not clocks:
        return
    conn = session.connection()
    have = {r.clock: r for r in _ROWS_OF.rows(conn, {"instance": instance_id, "names": list(clocks)})}
    new, changed = [], []
    for name, clock in clocks.items():
        values = _row_values(process_key, clock)
        row = have.get(name)
        if row is None:
            new.append({"instance_id": instance_id, "clock": name, **values})
        elif any(getattr(row, k) != values[k] for k in _COMPARED):
            changed.append({"b_instance": instance_id, "b_clock": name, **values})
    _ADD_ROW.run(conn, new)
    _SET_ROW.run(conn, changed)


def clock_views(clocks: dict[str, dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """What a person reads about each clock at `now` (a paused clock's due time is where it would be
    if it resumed now)."""
    out = []
    for name, clock in sorted(clocks.items()):
        cal = sc.calendar_of(clock)
        out.append({
            "clock": name, "state": clock["state"], "contract": clock["contract"], "level": clock["level"],
            "target": clock["target"], "calendar": clock["calendar"],
            "started_at": datetime.fromisoformat(clock["started_at"]),
            "due_at": sc.due_of(clock, cal, now), "stopped_at": sc.parse_time(clock["stopped_at"]),
            "paused_seconds": sc.paused_seconds(clock, cal, now),
            "remaining_seconds": sc.remaining_seconds(clock, now),
            "provisional": bool(clock.get("provisional_years")),
            "provisional_years": list(clock.get("provisional_years") or []),
            "handed_over_to": clock.get("handed_over_to"), "received_from": clock.get("received_from"),
            "step": clock.get("step"), "step_name": clock.get("step_name"),  # a step's own limit
        })
    return out


def clocks_for(session: Session, instance_id: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The SLA clocks of an instance, read from its state, measured at `now` (default: wall clock)."""
    row = session.get(Instance, instance_id)
    if row is None:
        raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
    return clock_views(all_records(row.state.get("data") or {}), now or SystemClock().now())


def _case_instances(session: Session, key: str) -> list[Instance]:
    """The instances of a case: those with the business key (or the id), and the ones they started."""
    named = or_(Instance.business_key == key, Instance.id == key)
    found = list(session.scalars(select(Instance).where(named)))
    ids = {i.id for i in found}
    frontier = set(ids)
    while frontier:  # linked instances that were started under another key still belong to the case
        query = select(Instance).where(Instance.parent_instance_id.in_(frontier))
        children = [i for i in session.scalars(query) if i.id not in ids]
        found += children
        frontier = {i.id for i in children}
        ids |= frontier
    return sorted(found, key=lambda i: (i.created_at, i.id))


def sla_cases(session: Session, key: str, now: datetime) -> list[dict[str, Any]]:
    """Every clock of one case (a business key or an instance id) with its outcome, measured at `now`."""
    instances = _case_instances(session, key)
    if not instances:
        raise NotFound(f"no instance with business key or id {key!r}", details={"key": key})
    out = []
    for inst in instances:
        clocks = all_records(inst.state.get("data") or {})
        for view in clock_views(clocks, now):
            record = clocks[view["clock"]]
            if record["state"] == HANDED_OVER:
                continue  # the instance it went to lists it, with its one outcome
            stopped = view["stopped_at"]
            due = view["due_at"] if record["state"] != "paused" else None
            out.append({
                **view, "instance_id": inst.id, "process": inst.process_key,
                "business_key": inst.business_key,
                "outcome": outcome(record["state"], due, stopped),
                "breached_at": sc.parse_time(record["breached_at"]),
                "business_seconds": record["business_seconds"],
            })
    return out


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]  # nearest rank: a value that occurred


def outcome(state: str, due_at: datetime | None, stopped_at: datetime | None) -> str:
    """met | breached | ended | open (see the module docstring)."""
    if state == "met" and due_at is not None and stopped_at is not None and stopped_at > due_at:
        return "breached"
    return state if state in ("met", "breached", "ended") else "open"


def _summary(key: tuple[str, ...], rows: list[SlaClockRow]) -> dict[str, Any]:
    outcomes = [outcome(r.state, r.due_at, r.stopped_at) for r in rows]
    met, breached, ended = (outcomes.count(kind) for kind in ("met", "breached", "ended"))
    stopped = [r.business_seconds for r in rows if r.business_seconds is not None]  # set when stopped
    decided = met + breached + ended
    return {
        **dict(zip(REPORT_COLUMNS[:5], key, strict=True)), "count": len(rows), "met": met,
        "breached": breached, "ended": ended, "open": len(rows) - decided,
        # Only decided clocks count: a clock still running has neither met nor missed its target.
        "pct_met": round(100.0 * met / decided, 1) if decided else None,
        "median_seconds": statistics.median(stopped) if stopped else None,
        "p90_seconds": _p90(stopped) if stopped else None,
        "provisional": sum(1 for r in rows if r.provisional),
    }


def sla_report(session: Session, start: datetime, end: datetime, process: str | None = None,
               contract: str | None = None) -> list[dict[str, Any]]:
    """Clocks started in [start, end), grouped by month (Beijing time), process, contract, level and
    clock; times to stop are business seconds without pauses."""
    query = select(SlaClockRow).where(SlaClockRow.started_at >= start, SlaClockRow.started_at < end,
                                      SlaClockRow.state != HANDED_OVER)  # counted where it went
    if process is not None:
        query = query.where(SlaClockRow.process_key == process)
    if contract is not None:
        query = query.where(SlaClockRow.contract == contract)
    groups: dict[tuple[str, ...], list[SlaClockRow]] = {}
    for row in session.scalars(query):
        month = row.started_at.astimezone(SHANGHAI).strftime("%Y-%m")
        key = (month, row.process_key, row.contract or "", row.level or "", clock_name(row.clock))
        groups.setdefault(key, []).append(row)
    return [_summary(key, rows) for key, rows in sorted(groups.items())]


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in REPORT_COLUMNS})
    return out.getvalue()
