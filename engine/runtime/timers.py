"""Firing what is due: BPMN timers, handler retries, SLA deadlines, scheduled process starts.

Only the pending-timer index is read to find due work; an instance is loaded only when something of
it is due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from engine.errors import Conflict, EngineError
from engine.runtime.operation import Operation
from engine.runtime.persist import timed_items
from engine.store.models import PendingTimer
from engine.store.sessions import Store

log = logging.getLogger("weibao.scheduler")


def due(store: Store, now: datetime, limit: int) -> list[tuple[str, list[PendingTimer]]]:
    """What is due now, grouped by instance (or by process, for a scheduled start)."""
    with store.read() as session:
        # Strictly before now: SpiffWorkflow fires a timer once `due < now`, and so do we.
        rows = session.scalars(
            select(PendingTimer)
            .where(PendingTimer.due_at < now)
            .order_by(PendingTimer.due_at, PendingTimer.id)
            .limit(limit)
        ).all()
    grouped: dict[str, list[PendingTimer]] = {}
    for row in rows:
        key = row.instance_id or f"start:{row.process_key}"
        grouped.setdefault(key, []).append(row)
    return list(grouped.items())


def fire_in(op: Operation) -> None:
    """Fire what is due in this instance, judged from its state (the index only led us here).
    Replay calls this too, so a live run and its replay fire the same things in the same order."""
    for due, kind, element_id, task_id in timed_items(op, op.services.sla.deadlines(op)):
        if due >= op.now:
            continue
        if kind == "timer" and task_id:
            # Recorded first: it is the input of this operation, the rest follows from it.
            op.fired.add(task_id)
            op.event(
                "timer_fired",
                element_id=element_id,
                task_id=task_id,
                actor="system",
                due_at=due.isoformat(),
                fired_at=op.now.isoformat(),
            )
        elif kind == "sla":
            op.services.sla.fire(op, element_id)
        elif kind == "retry":
            op.event(
                "service_task_retried",
                element_id=element_id,
                task_id=task_id,
                actor="system",
                due_at=due.isoformat(),
            )
    op.wf.refresh_timers()
    op.advance()


def fire_all(work: list[tuple[str, list[PendingTimer]]], fire_instance: Callable[[str], object],
             fire_start: Callable[[PendingTimer], object],
             failed: Callable[[str, list[PendingTimer], EngineError], object]) -> int:
    """Fire each due instance or start; returns how many were acted on. A failure has nobody to be
    answered to: `failed` records it (an incident), and only if even that fails is it just logged."""
    fired = 0
    for key, rows in work:
        try:
            if key.startswith("start:"):
                fire_start(rows[0])
            else:
                fire_instance(key)
            fired += 1
        except Conflict:
            log.info("timer for %s skipped: changed concurrently, retried next tick", key)
        except EngineError as exc:
            _record(failed, key, rows, exc)
    return fired


def _record(failed: Callable[[str, list[PendingTimer], EngineError], object], key: str,
            rows: list[PendingTimer], exc: EngineError) -> None:
    if not key.startswith("start:"):  # a scheduled start has no instance to hold an incident
        try:
            failed(key, rows, exc)
            return
        except EngineError as second:
            exc = second
    log.error("timer for %s failed: %s", key, exc.message,
              extra={"instance_id": key, "element_id": exc.element_id})
