"""What `/metrics` reports from the store: work in flight, timers, incidents, outbox, SLA breaches.

Plain numbers and (label, count) pairs; the API turns them into the Prometheus text format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.store.models import IncidentRow, Instance, OpenTask, OutboxMessage, PendingTimer, SlaClockRow

Counts = list[tuple[str, int]]


@dataclass(frozen=True)
class Gauges:
    instances_open: Counts  # by process
    tasks_open: Counts  # by process
    timers_pending: int
    timers_due: int
    timer_lag_seconds: float
    incidents_open: int
    outbox_messages: Counts  # by status
    sla_breaches: Counts  # by process


Key = InstrumentedAttribute[str]


def _pairs(session: Session, key: Key, model: type, *where: ColumnElement[bool]) -> Counts:
    query = select(key, func.count()).select_from(model).where(*where).group_by(key)
    return [(str(k), int(n)) for k, n in session.execute(query).all()]


def _count(session: Session, model: type, *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def read_gauges(session: Session, now: datetime) -> Gauges:
    oldest = session.scalar(select(func.min(PendingTimer.due_at)).where(PendingTimer.due_at < now))
    return Gauges(
        instances_open=_pairs(session, Instance.process_key, Instance, Instance.status == "running"),
        tasks_open=_pairs(session, OpenTask.process_key, OpenTask),
        timers_pending=_count(session, PendingTimer),
        timers_due=_count(session, PendingTimer, PendingTimer.due_at < now),
        timer_lag_seconds=(now - oldest).total_seconds() if oldest is not None else 0.0,
        incidents_open=_count(session, IncidentRow, IncidentRow.status == "open"),
        outbox_messages=_pairs(session, OutboxMessage.status, OutboxMessage),
        sla_breaches=_pairs(session, SlaClockRow.process_key, SlaClockRow, SlaClockRow.state == "breached"),
    )
