"""Timer start events: each due time of a process's start timer starts a new instance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.actor import SYSTEM
from engine.bpmn.definitions import Definitions, DeployResult
from engine.bpmn.model import ProcessModel
from engine.bpmn.timers import next_due
from engine.runtime.persist import StartIn
from engine.store.models import PendingTimer
from engine.store.sessions import Store


def plan(created: list[DeployResult], now: datetime) -> list[tuple[DeployResult, datetime | None]]:
    """The first due time of each version's start timer (it follows a re-activated version)."""
    return [(result, next_due(result.start_timer, now, result.deployed_at) if result.start_timer else None)
            for result in created]


class StartTimers:
    """A deploy's start timers: their first due times are worked out before the deploy's write
    transaction (a schedule is never computed holding the write lock) and armed inside it, with the
    versions they belong to."""

    def prepare(self, models: dict[str, ProcessModel], now: datetime) -> dict[str, datetime | None]:
        return {pid: next_due(m.start_timer, now, now) for pid, m in models.items() if m.start_timer}

    def apply(self, session: Session, results: list[DeployResult],
              prepared: dict[str, datetime | None]) -> None:
        arm(session, [(r, prepared.get(r.process_key)) for r in results if r.created])


def arm(session: Session, planned: list[tuple[DeployResult, datetime | None]]) -> None:
    """Each process's start timer follows its current version (none if that version has none)."""
    for result, due in planned:
        session.execute(delete(PendingTimer).where(PendingTimer.kind == "start",
                                                   PendingTimer.process_key == result.process_key))
        if due is not None:
            session.add(PendingTimer(kind="start", instance_id=None, process_key=result.process_key,
                                     task_id=None, element_id=result.start_element or "", due_at=due))


def fire_start(store: Store, definitions: Definitions, start_in: StartIn, row: PendingTimer) -> str | None:
    with store.write() as session:
        query = select(PendingTimer).where(PendingTimer.id == row.id)
        if not store.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        current = session.scalar(query)
        if current is None:
            return None  # another scheduler took it
        version = definitions.current(session, current.process_key or "")
        due = current.due_at
        session.delete(current)
        # A suspended version keeps its schedule and skips the start: resuming it goes on from there.
        new_id = None if version.suspended_at is not None else \
            start_in(session, version.process_key, {}, SYSTEM, None, version_id=version.id, scheduled_at=due)
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
