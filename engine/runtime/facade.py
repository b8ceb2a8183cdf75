"""The runtime API: start, claim, unclaim, complete, correlate, fire timers, retry incidents, cancel.

Each call is one transaction: load (locked), act, run engine steps until the instance waits,
persist the compacted state, append hash-chained events, refresh the indexes, commit.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.actor import SYSTEM, Actor, as_actor
from engine.bpmn import forms
from engine.bpmn.definitions import Definitions
from engine.bpmn.patches import TaskIdSource, use_task_ids
from engine.bpmn.spiff import WeibaoScriptEngine, make_serializer
from engine.clock import Clock, use_clock
from engine.errors import Conflict, EngineError, NotFound
from engine.handler import HandlerRegistry
from engine.runtime import commands, schedules, timers
from engine.runtime.invoker import LiveInvoker
from engine.runtime.operation import Operation
from engine.runtime.persist import InstanceRecord, apply_effects, persist, row_for_update
from engine.sla.hooks import NoSla
from engine.store.chain import event_view
from engine.store.models import EventRow, OpenTask, Store
from engine.store.prepared import Prepared

log = logging.getLogger("weibao.runtime")
T = TypeVar("T")
TaskCheck = Callable[[Connection], "str | None"]
_TASK_INSTANCE = Prepared(select(OpenTask.instance_id).where(OpenTask.id == bindparam("id")))


def _log_operation(op: Operation) -> None:
    first = op.events[0]
    log.info(
        "%s by %s",
        first.type,
        op.actor,
        extra={
            "instance_id": op.instance_id,
            "element_id": first.element_id,
            "process_key": op.loaded.process_key,
            "event_types": [e.type for e in op.events],
        },
    )


class Runtime:
    def __init__(
        self,
        store: Store,
        definitions: Definitions,
        handlers: HandlerRegistry,
        clock: Clock,
        settings: dict[str, Any] | None = None,
        sla: Any = None,
    ) -> None:
        self.store = store
        self.definitions = definitions
        self.handlers = handlers
        self.invoker = LiveInvoker(handlers)
        self.clock = clock
        self.settings = dict(settings or {})
        self.sla = sla or NoSla()
        self.serializer = make_serializer()

    # ----------------------------------------------------------------- plumbing
    def script_engine(self) -> WeibaoScriptEngine:
        return WeibaoScriptEngine(self.sla.script_functions())

    @contextlib.contextmanager
    def _context(self, instance_id: str, counter: int) -> Iterator[TaskIdSource]:
        ids = TaskIdSource(UUID(instance_id), counter)
        with use_clock(self.clock), use_task_ids(ids):
            yield ids

    def load_workflow(self, row: Any, loaded: Any) -> BpmnWorkflow:
        wf = self.serializer.from_dict(row.state, spec=loaded.spec, subprocess_specs=loaded.subprocess_specs)
        wf.script_engine = self.script_engine()
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
                row = row_for_update(session, self.store, instance_id)
                if row.status != "running":
                    raise Conflict(f"instance {instance_id} is {row.status}", instance_id=instance_id)
                loaded = self.definitions.load(session, row.version_id)
                with self._context(instance_id, row.task_id_counter) as ids:
                    wf = self.load_workflow(row, loaded)
                    op = Operation(
                        self, session, instance_id, loaded, wf, actor.name, row.business_key, self.clock.now()
                    )
                    self.sla.attach(op, row)
                    yield op
                    if not op.events:
                        return  # e.g. a timer another process already fired: nothing to write
                    persist(self, session, row, op, ids.counter)
                    apply_effects(self, session, op)
            _log_operation(op)
        except StaleDataError as exc:
            raise Conflict(
                f"instance {instance_id} was changed by another operation; try again", instance_id=instance_id
            ) from exc

    # ----------------------------------------------------------------- start
    def start(
        self,
        process_key: str,
        data: dict[str, Any] | None = None,
        actor: Actor | str | None = None,
        business_key: str | None = None,
        parent_instance_id: str | None = None,
        instance_id: str | None = None,
    ) -> str:
        return self.start_then(lambda _conn, new_id: new_id, process_key, data, actor, business_key,
                               parent_instance_id, instance_id)

    def start_then(
        self,
        then: Callable[[Connection, str], T],
        process_key: str,
        data: dict[str, Any] | None = None,
        actor: Actor | str | None = None,
        business_key: str | None = None,
        parent_instance_id: str | None = None,
        instance_id: str | None = None,
    ) -> T:
        """Start, then read the new instance back in the same transaction: `then` sees exactly what
        is committed, and the caller saves a transaction of its own. An error in `then` undoes the
        start, so it should only read."""
        who = as_actor(actor)
        with self.store.write() as session:
            new_id = self.start_in(
                session, process_key, data or {}, who, business_key, parent_instance_id, instance_id
            )
            session.flush()  # rows the start added through the ORM, for plain reads to see
            return then(session.connection(), new_id)

    def start_in(
        self,
        session: Any,
        process_key: str,
        data: dict[str, Any],
        actor: Actor,
        business_key: str | None,
        parent_instance_id: str | None = None,
        instance_id: str | None = None,
        version_id: int | None = None,
        scheduled_at: Any = None,
    ) -> str:
        if version_id is None:
            version_id = self.definitions.latest_id(session, process_key)
        loaded = self.definitions.load(session, version_id)
        model = loaded.model
        if scheduled_at is not None:
            # A start timer has nobody to fill the start form; the first task collects the details.
            data = {"scheduled_at": scheduled_at.isoformat()}
        elif model.start_form:
            data = forms.validate(model.start_form, data, where=f"start of {process_key}")
        else:
            data = forms.validate_free(data, where=f"start of {process_key}")
        new_id = instance_id or str(uuid.uuid4())
        now = self.clock.now()
        row = InstanceRecord.new(new_id, process_key, loaded.id, business_key, parent_instance_id,
                                 actor.name, data, now)
        with self._context(new_id, 0) as ids:
            wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine())
            wf.task_tree.data.update(data)
            op = Operation(self, session, new_id, loaded, wf, actor.name, business_key, now)
            op.event(
                "instance_started",
                element_id=model.start_element,
                process=process_key,
                version=loaded.version,
                version_id=loaded.id,
                content_hash=loaded.content_hash,
                business_key=business_key,
                data=dict(data),
                parent_instance_id=parent_instance_id,
            )
            self.sla.attach(op, row)
            op.advance()
            persist(self, session, row, op, ids.counter)
        apply_effects(self, session, op)
        return new_id

    # ----------------------------------------------------------------- deploy
    def deploy(self, files: list[tuple[str, bytes]], actor: str = "system") -> list[Any]:
        results = self.definitions.deploy(files, actor)
        planned = schedules.plan([r for r in results if r.created], self.clock.now())
        if planned:
            with self.store.write() as session:
                schedules.arm(session, planned)
        return results

    def deploy_directory(self, directory: Any, actor: str = "system") -> list[Any]:
        paths = sorted(Path(directory).glob("*.bpmn")) + sorted(Path(directory).glob("*.dmn"))
        return self.deploy([(p.name, p.read_bytes()) for p in paths], actor)

    # ----------------------------------------------------------------- tasks
    @staticmethod
    def _task_instance(task_id: str, check: TaskCheck | None = None) -> Callable[[Session], str]:
        """Finds a task's instance inside the operation's transaction. `check` (the caller's own
        look at the task, e.g. whether the caller may see it) runs first and may name the instance."""

        def find(session: Session) -> str:
            conn = session.connection()
            known = check(conn) if check is not None else None
            found = known or _TASK_INSTANCE.scalar(conn, {"id": task_id})
            if found is not None:
                return str(found)
            seen = session.scalar(select(EventRow.instance_id).where(EventRow.task_id == task_id).limit(1))
            if seen is not None:
                raise Conflict(f"task {task_id} is already completed or no longer open", instance_id=seen)
            raise NotFound(f"no task {task_id}")

        return find

    def claim(self, task_id: str, actor: Actor | str | None, check: TaskCheck | None = None) -> str:
        who = as_actor(actor)
        with self.operation(self._task_instance(task_id, check), who) as op:
            commands.claim(op, task_id, who)
        return op.instance_id

    def unclaim(self, task_id: str, actor: Actor | str | None, check: TaskCheck | None = None) -> str:
        who = as_actor(actor)
        with self.operation(self._task_instance(task_id, check), who) as op:
            commands.unclaim(op, task_id, who)
        return op.instance_id

    def complete(self, task_id: str, data: dict[str, Any] | None, actor: Actor | str | None,
                 check: TaskCheck | None = None) -> str:
        """`check` runs in the operation's transaction before anything else; the operation still
        checks that the task is open in the instance it names."""
        who = as_actor(actor)
        with self.operation(self._task_instance(task_id, check), who) as op:
            commands.complete(op, task_id, data if data is not None else {}, who)
        return op.instance_id

    # ----------------------------------------------------------------- messages, timers, incidents
    def correlate(
        self,
        message_name: str,
        business_key: str | None = None,
        instance_id: str | None = None,
        data: dict[str, Any] | None = None,
        actor: Actor | str | None = None,
    ) -> str:
        target = commands.find_instance(self, message_name, business_key, instance_id)
        with self.operation(target, as_actor(actor)) as op:
            commands.correlate(op, message_name, data or {}, validate=True)
        return target

    def fire_due_timers(self, limit: int = 500) -> int:
        return timers.fire_due(self, limit)

    def retry_incident(self, incident_id: int, actor: Actor | str | None = None) -> None:
        commands.retry_incident(self, incident_id, as_actor(actor))

    def cancel(self, instance_id: str, actor: Actor | str | None = None, reason: str = "") -> None:
        with self.operation(instance_id, as_actor(actor)) as op:
            commands.cancel(op, reason)

    # ----------------------------------------------------------------- reading
    def history_dicts(self, session: Any, instance_id: str, pending: list[Any] | None = None) -> list[dict]:
        rows = session.scalars(
            select(EventRow).where(EventRow.instance_id == instance_id).order_by(EventRow.seq)
        ).all()
        out = [event_view(r, r.seq) for r in rows]
        out.extend(event_view(ev, None) for ev in pending or [])
        return out


__all__ = ["Runtime", "SYSTEM", "EngineError"]
