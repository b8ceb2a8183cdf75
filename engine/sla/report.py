"""Reading SLA clocks: one instance's clocks, the `sla_clocks` copy, and the monthly SLA report."""

from __future__ import annotations

import csv
import io
import math
import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.sla import clocks as sc
from engine.sla.calendar import SHANGHAI
from engine.store.models import Instance, SlaClockRow

REPORT_COLUMNS = ["month", "process", "contract", "level", "clock", "count", "met", "breached", "open",
                  "pct_met", "median_seconds", "p90_seconds"]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def sync_table(session: Session, instance_id: str, process_key: str,
               clocks: dict[str, dict[str, Any]]) -> None:
    """Upsert the queryable copy of an instance's clocks (the truth stays in the instance state).
    Only state-derived values are written, so an unchanged clock issues no UPDATE."""
    if not clocks:
        return
    query = select(SlaClockRow).where(SlaClockRow.instance_id == instance_id)
    rows = {r.clock: r for r in session.scalars(query)}
    for name, clock in clocks.items():
        row = rows.get(name)
        if row is None:
            row = SlaClockRow(instance_id=instance_id, clock=name)
            session.add(row)
        row.process_key, row.state = process_key, clock["state"]
        row.contract, row.level = _text(clock["contract"]), _text(clock["level"])
        row.started_at = datetime.fromisoformat(clock["started_at"])
        row.due_at = sc.parse_time(clock["due_at"])  # None while paused: the due time is moving
        row.stopped_at = sc.parse_time(clock["stopped_at"])
        row.breached_at = sc.parse_time(clock["breached_at"])
        row.paused_seconds = clock["paused_seconds"]
        row.business_seconds = clock["business_seconds"]


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
        })
    return out


def clocks_for(session: Session, instance_id: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The SLA clocks of an instance, read from its state, measured at `now` (default: wall clock)."""
    from engine.clock import SystemClock

    row = session.get(Instance, instance_id)
    if row is None:
        raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
    return clock_views((row.state.get("data") or {}).get("_sla", {}), now or SystemClock().now())


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]  # nearest rank: a value that occurred


def _summary(key: tuple[str, ...], rows: list[SlaClockRow]) -> dict[str, Any]:
    met = sum(1 for r in rows if r.state == "met")
    breached = sum(1 for r in rows if r.state == "breached")
    stopped = [r.business_seconds for r in rows if r.business_seconds is not None]  # set when stopped
    decided = met + breached
    return {
        **dict(zip(REPORT_COLUMNS[:5], key, strict=True)), "count": len(rows), "met": met,
        "breached": breached, "open": len(rows) - decided,
        # Only decided clocks count: a clock still running has neither met nor missed its target.
        "pct_met": round(100.0 * met / decided, 1) if decided else None,
        "median_seconds": statistics.median(stopped) if stopped else None,
        "p90_seconds": _p90(stopped) if stopped else None,
    }


def sla_report(session: Session, start: datetime, end: datetime, process: str | None = None,
               contract: str | None = None) -> list[dict[str, Any]]:
    """Clocks started in [start, end), grouped by month (Beijing time), process, contract, level and
    clock; times to stop are business seconds without pauses."""
    query = select(SlaClockRow).where(SlaClockRow.started_at >= start, SlaClockRow.started_at < end)
    if process is not None:
        query = query.where(SlaClockRow.process_key == process)
    if contract is not None:
        query = query.where(SlaClockRow.contract == contract)
    groups: dict[tuple[str, ...], list[SlaClockRow]] = {}
    for row in session.scalars(query):
        month = row.started_at.astimezone(SHANGHAI).strftime("%Y-%m")
        key = (month, row.process_key, row.contract or "", row.level or "", row.clock)
        groups.setdefault(key, []).append(row)
    return [_summary(key, rows) for key, rows in sorted(groups.items())]


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in REPORT_COLUMNS})
    return out.getvalue()
