"""A process owner moves running instances between versions of a process, and takes a move back.

A migration is a row in the process's change record (`process_changes`, action `migrated`), whose id
names it; each instance it moves records `instance_migrated` with that id in its own chain, in its own
transaction, so one instance that cannot move (it went on since the dry run) does not hold up the rest.
A revert is a migration back to the source version of the instances that one migration moved and that
are still where it put them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import policy
from engine.actor import Actor
from engine.bpmn import lifecycle
from engine.bpmn.definitions import Definitions, LoadedVersion
from engine.clock import Clock
from engine.errors import Conflict, EngineError, InvalidInput, NotFound
from engine.runtime import commands, migration
from engine.runtime.commands import Act
from engine.runtime.operation import Operation
from engine.store.models import EventRow, Instance, ProcessChange
from engine.store.sessions import Store

ACTIONS = ("migrated", "reverted")


class OpenOperation(Protocol):
    def __call__(self, instance: str, actor: Actor) -> AbstractContextManager[Operation]: ...


@dataclass
class MigrationResult:
    process_key: str
    from_version: int
    to_version: int
    migration_id: int | None = None  # None for a dry run
    reverts: int | None = None
    moved: list[str] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"migration_id": self.migration_id, "process_key": self.process_key,
                "from_version": self.from_version, "to_version": self.to_version, "reverts": self.reverts,
                "moved": self.moved, "refused": self.refused}


class Migrations:
    def __init__(self, store: Store, definitions: Definitions, clock: Clock,
                 operation: OpenOperation) -> None:
        self.store, self.definitions, self.clock, self.operation = store, definitions, clock, operation

    def migrate(self, key: str, from_version: int, to_version: int, actor: Actor,
                instance_id: str | None = None) -> MigrationResult:
        """Moves every running instance of v`from_version` (or the one named) that can move; the
        others are listed with the reason, as the dry run gives it."""
        policy.require_process_owner(actor)
        if from_version == to_version:
            raise InvalidInput(f"{key} instances are already on v{to_version}",
                               details={"fields": {"to": "must differ from the source version"}})
        # The plan reads every instance's state: outside the write lock, since each move checks again.
        with self.store.read() as session:
            plan = migration.dry_run(self.definitions, self.clock, session, key, from_version, to_version,
                                     instance_id)
        if instance_id is not None and not plan:
            raise NotFound(f"no running instance {instance_id} of {key} v{from_version}",
                           instance_id=instance_id)
        with self.store.write() as session:
            result = self._begin(session, key, from_version, to_version, actor, "migrated")
            target = self._target(session, key, to_version)
        self._move(result, target, [m.instance_id for m in plan if m.movable], actor, {})
        result.refused[:0] = [_refusal(m.instance_id, m.reasons, m.blocking) for m in plan if not m.movable]
        return result

    def revert(self, key: str, migration_id: int, actor: Actor) -> MigrationResult:
        """Moves back the instances migration `migration_id` moved that are still running on its target."""
        policy.require_process_owner(actor)
        with self.store.write() as session:
            done = _change(session, key, migration_id)
            if done.action != "migrated" or done.previous is None:
                raise Conflict(f"change {migration_id} of {key} is a {done.action}, not a migration",
                               details={"migration_id": migration_id})
            target_row = lifecycle.version_row(session, key, done.previous)
            instances = [i for i, _ in _moved_by(session, key, migration_id)]
            still = set(session.scalars(select(Instance.id).where(
                Instance.id.in_(instances), Instance.status == "running",
                Instance.version_id == lifecycle.version_row(session, key, done.version).id)))
            result = self._begin(session, key, done.version, done.previous, actor, "reverted")
            result.reverts = migration_id
            target = self.definitions.load(session, target_row.id)
        self._move(result, target, [i for i in instances if i in still], actor, {"reverts": migration_id})
        gone = ["it is no longer running on the version the migration moved it to"]
        result.refused[:0] = [_refusal(i, gone) for i in instances if i not in still]
        return result

    def get(self, key: str, migration_id: int) -> MigrationResult:
        with self.store.read() as session:
            done = _change(session, key, migration_id)
            result = MigrationResult(key, done.previous or 0, done.version, migration_id)
            for instance_id, data in _moved_by(session, key, migration_id):
                result.moved.append(instance_id)
                result.reverts = data.get("reverts")
        return result

    def _begin(self, session: Session, key: str, from_version: int, to_version: int, actor: Actor,
               action: str) -> MigrationResult:
        row = lifecycle.version_row(session, key, to_version)
        change = ProcessChange(process_key=key, version=row.version, action=action, actor=actor.name,
                               at=self.clock.now(), previous=from_version)
        session.add(change)
        session.flush()
        return MigrationResult(key, from_version, to_version, change.id)

    def _target(self, session: Session, key: str, version: int) -> LoadedVersion:
        return self.definitions.load(session, lifecycle.version_row(session, key, version).id)

    def _move(self, result: MigrationResult, target: LoadedVersion, instance_ids: list[str], actor: Actor,
              extra: dict[str, Any]) -> None:
        data = {"migration_id": result.migration_id, **extra}
        for instance_id in instance_ids:
            try:
                with self.operation(instance_id, actor) as op:
                    commands.perform(op, Act("instance_migrated", actor, data=data, version=target))
            except EngineError as exc:  # it went on since the plan was made, or its next step failed
                result.refused.append(_refusal(instance_id, [exc.message],
                                               [exc.element_id] if exc.element_id else []))
            else:
                result.moved.append(instance_id)


def _refusal(instance_id: str, reasons: list[str], blocking: list[str] | None = None) -> dict[str, Any]:
    return {"instance_id": instance_id, "reasons": reasons, "blocking": blocking or []}


def _change(session: Session, key: str, migration_id: int) -> ProcessChange:
    done = session.get(ProcessChange, migration_id)
    if done is None or done.process_key != key or done.action not in ACTIONS:
        raise NotFound(f"no migration {migration_id} of {key}")
    return done


def _moved_by(session: Session, key: str, migration_id: int) -> list[tuple[str, dict[str, Any]]]:
    rows = session.execute(
        select(EventRow.instance_id, EventRow.data).join(Instance, Instance.id == EventRow.instance_id)
        .where(EventRow.type == "instance_migrated", Instance.process_key == key).order_by(EventRow.id))
    return [(r.instance_id, r.data) for r in rows if r.data.get("migration_id") == migration_id]
