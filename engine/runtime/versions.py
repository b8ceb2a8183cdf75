"""A process owner's acts on versions: activate (the version new instances use), suspend, resume.

Running instances stay on their version whatever happens here; only a migration (migrating.py) moves
them. A start timer follows the current version, so activating one re-arms the process's schedule
from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import policy
from engine.actor import Actor
from engine.bpmn import lifecycle
from engine.bpmn.definitions import Definitions, DeployResult
from engine.clock import Clock
from engine.errors import Conflict
from engine.runtime import migration, schedules
from engine.store.models import Instance, ProcessChange, ProcessHead, ProcessVersion
from engine.store.sessions import Store


@dataclass(frozen=True)
class Changed:
    process_key: str
    version: int
    current: int  # the version new instances start on after the change
    previous: int | None  # the one before, when the change moved the current version
    suspended: bool


class Versions:
    def __init__(self, store: Store, definitions: Definitions, clock: Clock) -> None:
        self.store, self.definitions, self.clock = store, definitions, clock

    def activate(self, key: str, version: int, actor: Actor) -> Changed:
        policy.require_process_owner(actor)
        with self.store.write() as session:
            row = lifecycle.version_row(session, key, version)
            if row.suspended_at is not None:
                raise Conflict(f"{key} v{version} is suspended; resume it before activating it",
                               details={"version": version})
            now = self.clock.now()
            previous = lifecycle.make_current(session, row, actor.name, now, "activated")
            if previous != version:
                self._rearm(session, row, now)
            return Changed(key, version, version, previous, False)

    def suspend(self, key: str, version: int, actor: Actor) -> Changed:
        return self._set_suspended(key, version, actor, True)

    def resume(self, key: str, version: int, actor: Actor) -> Changed:
        return self._set_suspended(key, version, actor, False)

    def _set_suspended(self, key: str, version: int, actor: Actor, suspend: bool) -> Changed:
        policy.require_process_owner(actor)
        with self.store.write() as session:
            row = lifecycle.version_row(session, key, version)
            now = self.clock.now()
            if (row.suspended_at is not None) != suspend:
                row.suspended_at, row.suspended_by = (now, actor.name) if suspend else (None, None)
                lifecycle.record(session, row, "suspended" if suspend else "resumed", actor.name, now)
            current = lifecycle.current(session, key).version
            return Changed(key, version, current, None, suspend)

    def _rearm(self, session: Session, row: ProcessVersion, now: datetime) -> None:
        """The process's start timer now follows `row` (and stops if `row` has none)."""
        element = self.definitions.load(session, row.id).model.start_element if row.start_timer else None
        result = DeployResult(row.process_key, row.id, row.version, row.content_hash, False,
                              row.start_timer, element, row.deployed_at)
        schedules.arm(session, schedules.plan([result], now))

    def states(self, session: Session, key: str) -> dict[int, dict[str, Any]]:
        """Per version: whether it is current or suspended, and how many instances run on it."""
        head = session.scalar(select(ProcessHead.version_id).where(ProcessHead.process_key == key))
        running = dict(session.execute(
            select(Instance.version_id, func.count()).where(Instance.process_key == key,
                                                            Instance.status == "running")
            .group_by(Instance.version_id)).all())
        rows = session.execute(select(ProcessVersion.id, ProcessVersion.version, ProcessVersion.suspended_at)
                               .where(ProcessVersion.process_key == key)).all()
        return {r.version: {"current": r.id == head, "suspended": r.suspended_at is not None,
                            "running": int(running.get(r.id, 0))} for r in rows}

    def migration_plan(self, key: str, from_version: int, to_version: int, actor: Actor,
                       instance_id: str | None = None) -> list[dict[str, Any]]:
        """The dry run of moving instances from one version to another (`Runtime.migrations` moves them)."""
        policy.require_process_owner(actor)
        with self.store.read() as session:
            found = migration.dry_run(self.definitions, self.clock, session, key, from_version, to_version,
                                      instance_id)
        return [m.as_dict() for m in found]

    @staticmethod
    def changes(session: Session, key: str) -> list[dict[str, Any]]:
        query = select(ProcessChange).where(ProcessChange.process_key == key).order_by(ProcessChange.id)
        return [{"version": c.version, "action": c.action, "actor": c.actor, "at": c.at,
                 "previous": c.previous} for c in session.scalars(query)]

