"""The runtime API: start, claim, unclaim, complete, correlate, fire timers, retry incidents, cancel.

Each call is one transaction: load (locked), act, run engine steps until the instance waits,
persist the compacted state, append hash-chained events, refresh the indexes, commit.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import policy
from engine.actor import SYSTEM, Actor, as_actor
from engine.bpmn.definitions import Definitions, LoadedVersion
from engine.bpmn.patches import TaskIdSource, use_task_ids
from engine.bpmn.spiff import make_serializer
from engine.clock import Clock, use_clock
from engine.errors import Conflict, EngineError
from engine.handler import HandlerRegistry
from engine.runtime import commands, message_start, schedules, timers
from engine.runtime.broadcast import Broadcast, Reach
from engine.runtime.commands import Act
from engine.runtime.invoker import LiveInvoker
from engine.runtime.migrating import Migrations
from engine.runtime.operation import Operation, Services, open_operation
from engine.runtime.period_facts import facts_source
from engine.runtime.persist import apply_effects, json_safe, persist
from engine.runtime.starts import start_data
from engine.runtime.versions import Versions
from engine.settings import Settings
from engine.sla.hooks import NoSla, SlaHooks
from engine.store import deliveries
from engine.store.models import PendingTimer
from engine.store.sessions import Store
from engine.store.write import InstanceRecord, open_incident, resolve_incident, row_for_update

log = logging.getLogger("weibao.runtime")
T = TypeVar("T")


def _log_operation(op: Operation) -> None:
    first = op.events[0]
    log.info("%s by %s", first.type, op.actor, extra={
        "instance_id": op.instance_id, "element_id": first.element_id, "process_key": op.loaded.process_key,
        "event_types": [e.type for e in op.events]})


class Runtime:
    def __init__(
        self, store: Store, definitions: Definitions, handlers: HandlerRegistry, clock: Clock,
        settings: Settings | None = None, sla: SlaHooks | None = None,
    ) -> None:
        self.store = store
        self.definitions = definitions
        self.handlers = handlers
        self.invoker = LiveInvoker(handlers)
        self.clock = clock
        self.settings = settings or Settings()
        self.sla: SlaHooks = sla or NoSla()
        self.serializer = make_serializer()
        self.services = Services(self.sla, self.invoker, clock, self.settings, facts=facts_source(handlers))
        self.versions = Versions(store, definitions, clock)
        self.migrations = Migrations(store, definitions, clock, self.operation)
        self.broadcast = Broadcast(definitions, self.operate_in, self._start_by_signal)

    # ----------------------------------------------------------------- plumbing
    @contextlib.contextmanager
    def _context(self, instance_id: str, counter: int) -> Iterator[TaskIdSource]:
        ids = TaskIdSource(UUID(instance_id), counter)
        with use_clock(self.clock), use_task_ids(ids):
            yield ids

    def load_workflow(self, row: InstanceRecord, loaded: LoadedVersion) -> BpmnWorkflow:
        wf: BpmnWorkflow = self.serializer.from_dict(row.state, spec=loaded.spec,
                                                     subprocess_specs=loaded.subprocess_specs)
        return wf

    @contextlib.contextmanager
    def operation(self, instance: str | Callable[[Session], str], actor: Actor) -> Iterator[Operation]:
        """`instance` is the instance id, or finds it inside the operation's transaction (a task's
        instance), which saves the caller a transaction of its own."""
        instance_id = instance if isinstance(instance, str) else ""
        try:
            with self.store.write() as session:
                if not isinstance(instance, str):
                    instance_id = instance(session)
                with self.operate_in(session, instance_id, actor) as op:
                    yield op
            if op.events:
                _log_operation(op)
        except StaleDataError as exc:
            raise Conflict(
                f"instance {instance_id} was changed by another operation; try again", instance_id=instance_id
            ) from exc

    @contextlib.contextmanager
    def operate_in(self, session: Session, instance_id: str, actor: Actor) -> Iterator[Operation]:
        """An operation inside the caller's transaction (a signal's receiver joins its thrower's)."""
        row = row_for_update(session, self.store, instance_id)
        if row.status != "running":
            raise Conflict(f"instance {instance_id} is {row.status}", instance_id=instance_id)
        loaded = self.definitions.load(session, row.version_id)
        with self._context(instance_id, row.task_id_counter) as ids:
            wf = self.load_workflow(row, loaded)
            op = open_operation(self.services, session, instance_id, loaded, wf, actor.name,
                                row.business_key, self.clock.now())
            yield op
            if not op.events:
                return  # e.g. a timer another process already fired: nothing to write
            persist(session, row, op, ids.counter, self.serializer)
            apply_effects(self.start_in, session, op)
            self.broadcast.after(session, op)

    # ----------------------------------------------------------------- start
    def start(
        self, process_key: str, data: dict[str, Any] | None = None, actor: Actor | str | None = None,
        business_key: str | None = None, parent_instance_id: str | None = None,
        instance_id: str | None = None, version: int | None = None,
    ) -> str:
        return self.start_then(lambda _conn, new_id: new_id, process_key, data, actor, business_key,
                               parent_instance_id, instance_id, version)

    def start_then(
        self, then: Callable[[Connection, str], T], process_key: str, data: dict[str, Any] | None = None,
        actor: Actor | str | None = None, business_key: str | None = None,
        parent_instance_id: str | None = None, instance_id: str | None = None, version: int | None = None,
    ) -> T:
        """Start, then read the new instance back in the same transaction: `then` sees exactly what
        is committed, and the caller saves a transaction of its own. An error in `then` undoes the
        start, so it should only read. `version` names a version; by default the current one."""
        who = as_actor(actor)
        with self.store.write() as session:
            version_id = self.definitions.startable_id(session, process_key, version)
            new_id = self.start_in(
                session, process_key, data or {}, who, business_key, parent_instance_id, instance_id,
                version_id=version_id,
            )
            session.flush()  # rows the start added through the ORM, for plain reads to see
            return then(session.connection(), new_id)

    def start_in(
        self,
        session: Session,
        process_key: str,
        data: dict[str, Any],
        actor: Actor,
        business_key: str | None,
        parent_instance_id: str | None = None,
        instance_id: str | None = None,
        version_id: int | None = None,
        scheduled_at: datetime | None = None,
        clocks: dict[str, Any] | None = None,
        start_message: dict[str, Any] | None = None,
        start_signal: dict[str, Any] | None = None,
    ) -> str:
        if version_id is None:
            version_id = self.definitions.startable_id(session, process_key)
        loaded = self.definitions.load(session, version_id)
        model = loaded.model
        now = self.clock.now()
        data = start_data(model, process_key, data, scheduled_at, bool(start_message or start_signal), now)
        new_id = instance_id or str(uuid.uuid4())
        row = InstanceRecord.new(new_id, process_key, loaded.id, business_key, parent_instance_id,
                                 actor.name, data, now)
        with self._context(new_id, 0) as ids:
            wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs)
            wf.task_tree.data.update(data)
            op = open_operation(self.services, session, new_id, loaded, wf, actor.name, business_key, now)
            started = {"process": process_key, "version": loaded.version, "version_id": loaded.id,
                       "content_hash": loaded.content_hash, "business_key": business_key, "data": dict(data),
                       "parent_instance_id": parent_instance_id,
                       **({"sla_clocks": json_safe(clocks)} if clocks else {}),  # handed over with the case
                       **({"start_message": start_message} if start_message else {}),
                       **({"start_signal": start_signal} if start_signal else {})}
            commands.perform(op, Act("instance_started", actor, data=started, element_id=model.start_element))
            persist(session, row, op, ids.counter, self.serializer)
        apply_effects(self.start_in, session, op)
        self.broadcast.after(session, op)
        return new_id

    # ----------------------------------------------------------------- deploy
    def deploy(self, files: list[tuple[str, bytes]], actor: str = "system") -> list[Any]:
        """Stores the new versions and arms their start timers in one transaction: a deploy refused
        or failing at either stores nothing."""
        return self.definitions.deploy(files, actor, then=schedules.StartTimers())

    def deploy_directory(self, directory: str | Path, actor: str = "system") -> list[Any]:
        paths = sorted(Path(directory).glob("*.bpmn")) + sorted(Path(directory).glob("*.dmn"))
        return self.deploy([(p.name, p.read_bytes()) for p in paths], actor)

    # ----------------------------------------------------------------- tasks
    def _task_act(self, kind: str, task_id: str, actor: Actor | str | None,
                  rule: Callable[[Actor, policy.TaskFacts], None], data: dict[str, Any] | None = None) -> str:
        who = as_actor(actor)
        with self.operation(commands.task_instance(task_id, who, rule), who) as op:
            commands.perform(op, Act(kind, who, task_id, data or {}))
        return op.instance_id

    def claim(self, task_id: str, actor: Actor | str | None) -> str:
        return self._task_act("task_claimed", task_id, actor, policy.check_may_work)

    def unclaim(self, task_id: str, actor: Actor | str | None) -> str:
        return self._task_act("task_unclaimed", task_id, actor, policy.check_may_release)

    def reassign(self, task_id: str, assignee: str, actor: Actor | str | None) -> str:
        return self._task_act("task_reassigned", task_id, actor, policy.check_may_reassign,
                              {"assignee": assignee})

    def complete(self, task_id: str, data: dict[str, Any] | None, actor: Actor | str | None) -> str:
        return self._task_act("task_completed", task_id, actor, policy.check_may_work,
                              {"data": {} if data is None else data})

    # ----------------------------------------------------------------- messages, timers, incidents
    def correlate(
        self,
        message_name: str,
        business_key: str | None = None,
        instance_id: str | None = None,
        data: dict[str, Any] | None = None,
        actor: Actor | str | None = None,
    ) -> str:
        """Delivers to the instance waiting for the message, or else starts the process whose start
        event it is (as Camunda correlates); `started` tells which."""
        return self.correlate_or_start(message_name, business_key, instance_id, data, actor)[0]

    def correlate_or_start(self, message_name: str, business_key: str | None = None,
                           instance_id: str | None = None, data: dict[str, Any] | None = None,
                           actor: Actor | str | None = None) -> tuple[str, bool]:
        who = as_actor(actor)
        with self.store.read() as session:
            target, starts = message_start.find(self.definitions, session, who, message_name, business_key,
                                                instance_id)
        if target is None:
            with self.store.write() as session:
                key = self.definitions.load(session, starts).process_key
                sent = {"name": message_name, "data": data or {}}
                return self.start_in(session, key, {}, who, business_key, version_id=starts,
                                     start_message=sent), True
        with self.operation(target, who) as op:
            sent = {"message": message_name, "data": data or {}}
            commands.perform(op, Act("message_correlated", who, data=sent))
        return target, False

    def signal(self, name: str, data: dict[str, Any] | None = None, actor: Actor | str = "system") -> Reach:
        """Throws a signal from outside (the API): every instance waiting for it catches it, every
        process whose current version starts on it starts, all in one transaction."""
        who = policy.check_may_signal(as_actor(actor))
        with self.store.write() as session:
            return self.broadcast.deliver(session, name, data or {}, {"actor": who.name}, who)

    def _start_by_signal(self, session: Session, version_id: int, actor: Actor, sent: dict[str, Any]) -> str:
        key = self.definitions.load(session, version_id).process_key
        return self.start_in(session, key, {}, actor, None, version_id=version_id, start_signal=sent)

    def fire_due_timers(self, limit: int = 500) -> int:
        work = timers.due(self.store, self.clock.now(), limit)
        return timers.fire_all(work, self._fire_instance, self._fire_start, self._timer_failed)

    def _timer_failed(self, instance_id: str, rows: list[PendingTimer], exc: EngineError) -> None:
        due = [r.task_id for r in rows if r.kind in ("timer", "retry") and r.task_id]
        with self.operation(instance_id, SYSTEM) as op:
            commands.perform(op, Act("timer_failed", SYSTEM, data={"message": exc.message, "tasks": due},
                                     element_id=exc.element_id or (rows[0].element_id if rows else None)))

    def _fire_instance(self, instance_id: str) -> None:
        with self.operation(instance_id, SYSTEM) as op:
            commands.perform(op, Act("timer_tick", SYSTEM))

    def _fire_start(self, row: PendingTimer) -> str | None:
        return schedules.fire_start(self.store, self.definitions, self.start_in, row)

    def retry_incident(self, incident_id: int, actor: Actor | str | None = None) -> None:
        with self.store.read() as session:
            instance_id, task_id = open_incident(session, incident_id)
        who = as_actor(actor)
        if deliveries.retried(self.store, incident_id, self.clock.now(), who.name):
            return  # a message that was not delivered is sent again; the case is not touched
        with self.operation(instance_id, who) as op:
            commands.perform(op, Act("incident_resolved", who, task_id, {"incident_id": incident_id}))
            resolve_incident(op.session, incident_id, op.now)

    def cancel(self, instance_id: str, actor: Actor | str | None = None, reason: str = "") -> None:
        who = as_actor(actor)
        with self.operation(instance_id, who) as op:
            commands.perform(op, Act("instance_cancelled", who, data={"reason": reason}))


__all__ = ["Runtime", "SYSTEM", "EngineError"]
