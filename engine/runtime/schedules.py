"""Timer start events: each due time of a process's start timer starts a new instance."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.actor import SYSTEM
from engine.bpmn.definitions import Definitions
from engine.durations import add_duration
from engine.errors import InvalidInput
from engine.runtime.persist import StartIn
from engine.store.models import PendingTimer
from engine.store.sessions import Store

CRON_TZ = ZoneInfo("Asia/Shanghai")


def next_due(expression: str, after: datetime, deployed_at: datetime) -> datetime | None:
    kind, _, text = expression.partition(":")
    text = text.strip()
    if kind == "timeDate":
        moment = datetime.fromisoformat(text)
        return moment if moment > after else None
    if kind == "timeDuration":
        moment = add_duration(deployed_at, text)
        return moment if moment > after else None
    if text.upper().startswith("R"):
        return _next_cycle(text, after)
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(text, timezone=CRON_TZ)
    return trigger.get_next_fire_time(None, after)


def _next_cycle(text: str, after: datetime) -> datetime | None:
    parts = text.split("/")
    if len(parts) != 3:
        raise InvalidInput(f"a start cycle needs R[n]/start/duration: {text!r}")
    count = int(parts[0][1:]) if parts[0][1:] else -1
    start = datetime.fromisoformat(parts[1])
    step = 0
    while count < 0 or step < count:
        moment = add_duration(start, parts[2], step)
        if moment > after:
            return moment
        step += 1
    return None


def sync(session: Session, definitions: Definitions, now: datetime, process_key: str) -> None:
    """Re-arm the start timer of a process from its latest version."""
    session.execute(
        delete(PendingTimer).where(PendingTimer.kind == "start", PendingTimer.process_key == process_key)
    )
    version = definitions.latest(session, process_key)
    if not version.start_timer:
        return
    due = next_due(version.start_timer, now, version.deployed_at)
    if due is not None:
        loaded = definitions.load(session, version.id)
        session.add(
            PendingTimer(
                kind="start",
                instance_id=None,
                process_key=process_key,
                task_id=None,
                element_id=loaded.model.start_element or "",
                due_at=due,
            )
        )


def fire_start(store: Store, definitions: Definitions, start_in: StartIn, row: PendingTimer) -> str | None:
    with store.write() as session:
        query = select(PendingTimer).where(PendingTimer.id == row.id)
        if not store.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        current = session.scalar(query)
        if current is None:
            return None  # another scheduler took it
        version = definitions.latest(session, current.process_key or "")
        due = current.due_at
        session.delete(current)
        new_id = start_in(session, version.process_key, {}, SYSTEM, None, scheduled_at=due)
        following = next_due(version.start_timer or "", due, version.deployed_at)
        if following is not None:
            session.add(
                PendingTimer(
                    kind="start",
                    instance_id=None,
                    process_key=version.process_key,
                    task_id=None,
                    element_id=current.element_id,
                    due_at=following,
                )
            )
        return new_id
