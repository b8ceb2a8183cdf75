"""Timer start events: each due time of a process's start timer starts a new instance."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from engine.actor import SYSTEM
from engine.durations import add_duration
from engine.errors import InvalidInput
from engine.store.models import PendingTimer

if TYPE_CHECKING:
    from engine.runtime.facade import Runtime

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
    return _next_cron(text, after)


# crontab counts weekdays from Sunday (0, and 7 again); APScheduler from Monday. Names are unambiguous.
_WEEKDAY_NUMBER = re.compile(r"(?<![/\d])[0-7](?!\d)")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _next_cron(text: str, after: datetime) -> datetime | None:
    from apscheduler.triggers.cron import CronTrigger

    fields = text.split()
    if len(fields) == 5:
        fields[4] = _WEEKDAY_NUMBER.sub(lambda m: _WEEKDAYS[int(m.group())], fields[4])
    trigger = CronTrigger.from_crontab(" ".join(fields), timezone=CRON_TZ)
    # APScheduler may return `after` itself; a start re-armed at its own time would start twice.
    return trigger.get_next_fire_time(None, after + timedelta(microseconds=1))


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


def sync(rt: Runtime, session: object, process_key: str) -> None:
    """Re-arm the start timer of a process from its latest version."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    session.execute(
        delete(PendingTimer).where(PendingTimer.kind == "start", PendingTimer.process_key == process_key)
    )
    version = rt.definitions.latest(session, process_key)
    if not version.start_timer:
        return
    due = next_due(version.start_timer, rt.clock.now(), version.deployed_at)
    if due is not None:
        loaded = rt.definitions.load(session, version.id)
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


def fire_start(rt: Runtime, row: PendingTimer) -> str | None:
    with rt.store.write() as session:
        query = select(PendingTimer).where(PendingTimer.id == row.id)
        if not rt.store.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        current = session.scalar(query)
        if current is None:
            return None  # another scheduler took it
        version = rt.definitions.latest(session, current.process_key or "")
        due = current.due_at
        session.delete(current)
        new_id = rt.start_in(session, version.process_key, {}, SYSTEM, None, scheduled_at=due)
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
