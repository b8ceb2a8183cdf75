"""One engine operation on one instance: act, run engine steps until the instance waits, record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.bpmn.definitions import LoadedVersion
from engine.bpmn.model import Element, groups_for
from engine.bpmn.patches import INCIDENT
from engine.bpmn.spiff import ExternalServiceTask, SandboxLimitError, WeibaoScriptEngine, thrown_signals
from engine.bpmn.state import iter_tasks
from engine.bpmn.timers import timer_due
from engine.clock import Clock
from engine.errors import EngineError, ScriptError, backoff
from engine.handler import HandlerContext, PeriodFacts, freeze
from engine.runtime.invoker import Outcome, ReplayInvoker, new_effects
from engine.settings import Settings
from engine.sla.hooks import SlaFlags, SlaHooks
from engine.store import stock
from engine.store.chain import NewEvent
from engine.store.queries import history_views

ENTERED = "weibao_entered"
MAX_ROUNDS = 100_000  # a purely automatic loop that never waits is a modelling error, not a hang


class Invoker(Protocol):
    def call(self, ctx: HandlerContext) -> Outcome: ...


@dataclass(frozen=True)
class Services:
    """What an operation uses beyond its own instance; the live runtime and the replayer each make one."""

    sla: SlaHooks
    invoker: Invoker
    clock: Clock
    settings: Settings
    # The cross-case facts for a topic whose handler reads them (None for every other topic).
    facts: Callable[[Session | None, str], PeriodFacts | None] | None = None


@dataclass
class Operation:
    services: Services
    session: Session | None
    instance_id: str
    loaded: LoadedVersion
    wf: BpmnWorkflow
    actor: str
    business_key: str | None
    now: datetime
    replay: ReplayInvoker | None = None
    events: list[NewEvent] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)
    cancelled: bool = False
    moved: bool = False  # migrated to another version: its open-task rows are written anew
    sla_flags: SlaFlags = field(default_factory=SlaFlags)
    # signals this operation threw, for the other instances: delivered after it is written (live only)
    signals: list[dict[str, Any]] = field(default_factory=list)

    def event(
        self,
        type_: str,
        *,
        element_id: str | None = None,
        task_id: str | None = None,
        actor: str | None = None,
        **data: Any,
    ) -> None:
        self.events.append(NewEvent(type_, self.now, actor or self.actor, element_id, task_id, data))

    def element(self, task: Task) -> Element:
        return self.loaded.models_element(task.task_spec.bpmn_id or task.task_spec.name)

    # ----------------------------------------------------------------- stepping
    def advance(self) -> None:
        for _ in range(MAX_ROUNDS):
            try:
                self.wf.do_engine_steps(did_complete_task=self._on_done)
            except SandboxLimitError as exc:
                if not self._code_incident(exc):
                    raise self.script_error(exc) from exc
                continue  # the other branches go on; the failed task waits for a retry
            except SpiffWorkflowException as exc:
                raise self.script_error(exc) from exc
            self._scan_entered()
            if not self._run_service_tasks():
                break
        self.services.sla.after_steps(self)

    def script_error(self, exc: SpiffWorkflowException) -> EngineError:
        task = getattr(exc, "task", None)
        element = task.task_spec.bpmn_id if task is not None else None
        return ScriptError(str(exc), instance_id=self.instance_id, element_id=element)

    def _code_incident(self, exc: SandboxLimitError) -> bool:
        """Diagram code that broke a sandbox bound opens an incident on its task, as a handler that
        fails for good does; the sandbox ran it on a copy, so the task data is as before."""
        task = exc.task
        if not isinstance(task, Task) or task.internal_data.get(INCIDENT):
            return False
        if task.has_state(TaskState.ERROR):
            task._set_state(TaskState.READY)  # SpiffWorkflow marks a failed run; the retry runs it again
        if not task.has_state(TaskState.READY):
            return False
        task.internal_data[INCIDENT] = True
        self.event("incident_opened", element_id=task.task_spec.bpmn_id, task_id=str(task.id),
                   actor="system", topic="", message=str(exc), attempts=1)
        return True

    def _mark_entered(self, task: Task) -> None:
        if task.internal_data.get(ENTERED) or task.task_spec.bpmn_id is None:
            return
        task.internal_data[ENTERED] = True
        self.services.sla.on_enter(self, task)
        if isinstance(task.task_spec, UserTask) and task.has_state(TaskState.READY):
            el = self.element(task)
            self.event(
                "task_created",
                element_id=el.id,
                task_id=str(task.id),
                name=el.name,
                candidate_groups=groups_for(el, task.data),
            )

    def _scan_entered(self) -> None:
        live = TaskState.READY | TaskState.WAITING | TaskState.STARTED
        for task in iter_tasks(self.wf, live):
            self._mark_entered(task)

    def _on_done(self, task: Task) -> None:
        if task.task_spec.bpmn_id is None:
            return
        self._mark_entered(task)
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and str(task.id) not in self.fired:
            self.event(
                "timer_fired",
                element_id=task.task_spec.bpmn_id,
                task_id=str(task.id),
                due_at=_iso_or_none(timer_due(task)),
                fired_at=self.now.isoformat(),
            )
        self._record_signals(task)
        self.services.sla.on_complete(self, task)

    def _record_signals(self, task: Task) -> None:
        # Not an event of the thrower's own chain: histories recorded before signals reached other
        # instances would then replay differently. Each receiver records the thrower instead.
        for name in thrown_signals(task):
            self.signals.append({"name": name, "data": dict(task.data), "element_id": task.task_spec.bpmn_id})

    def completed_manually(self, task: Task) -> None:
        """A user or service task that we ran ourselves (SpiffWorkflow calls no hook for it)."""
        self.services.sla.on_complete(self, task)

    # ----------------------------------------------------------------- service tasks
    def _run_service_tasks(self) -> bool:
        progressed = False
        for task in list(iter_tasks(self.wf, TaskState.READY)):
            if not isinstance(task.task_spec, ExternalServiceTask) or not self._may_run(task):
                continue
            outcome = self._call(task)
            if outcome is None:
                continue
            if outcome.ok:
                self._service_ok(task, outcome)
                progressed = True
            else:
                self._service_failed(task, outcome)
        return progressed

    def _may_run(self, task: Task) -> bool:
        if task.internal_data.get("weibao_incident"):
            return False
        retry_at = task.internal_data.get("weibao_retry_at")
        return retry_at is None or datetime.fromisoformat(retry_at) <= self.now

    def _call(self, task: Task) -> Outcome | None:
        if self.replay is not None:
            return self.replay.call_for_task(str(task.id))
        el = self.element(task)
        ctx = HandlerContext(
            instance_id=self.instance_id,
            business_key=self.business_key,
            process_key=self.loaded.process_key,
            element_id=el.id,
            element_name=el.name,
            topic=task.task_spec.topic,
            data=freeze(task.data),
            properties=freeze(el.properties),
            clock=self.services.clock,
            settings=freeze(self.services.settings.for_handlers()),
            history=lambda: history_views(self.session, self.instance_id, self.events),
            effects=new_effects(f"{self.instance_id}:{task.id}"),
            lookup=lambda name, args: stock.lookup(self.session, name, args),
            facts=self.services.facts(self.session, task.task_spec.topic) if self.services.facts else None,
        )
        return self.services.invoker.call(ctx)

    def _service_ok(self, task: Task, outcome: Outcome) -> None:
        task.data.update(outcome.result)
        for key in ("weibao_retry_at", "weibao_attempts"):
            task.internal_data.pop(key, None)
        self.event(
            "service_task_completed",
            element_id=task.task_spec.bpmn_id,
            task_id=str(task.id),
            actor="system",
            topic=task.task_spec.topic,
            result=outcome.result,
            effects=outcome.effects,
        )
        # The outbox row names the step that wrote it; the recorded outcome stays as the handler gave it.
        self.effects.extend({**e, "element_id": task.task_spec.bpmn_id} for e in outcome.effects)
        try:
            task.run()  # its data outputs are written here
        except SpiffWorkflowException as exc:
            raise self.script_error(exc) from exc
        self.completed_manually(task)

    def _service_failed(self, task: Task, outcome: Outcome) -> None:
        attempts = int(task.internal_data.get("weibao_attempts", 0)) + 1
        task.internal_data["weibao_attempts"] = attempts
        element = task.task_spec.bpmn_id
        common = {"element_id": element, "task_id": str(task.id), "actor": "system"}
        if outcome.retryable and attempts < self.services.settings.handler_max_attempts:
            delay = (
                outcome.retry_delay if outcome.retry_delay is not None else backoff(attempts).total_seconds()
            )
            retry_at = self.now.timestamp() + delay
            task.internal_data["weibao_retry_at"] = datetime.fromtimestamp(
                retry_at, self.now.tzinfo
            ).isoformat()
            self.event(
                "service_task_failed",
                **common,
                topic=task.task_spec.topic,
                error=outcome.error,
                attempt=attempts,
                retryable=True,
                retry_delay=outcome.retry_delay,
                retry_at=task.internal_data["weibao_retry_at"],
            )
            return
        task.internal_data.pop("weibao_retry_at", None)
        task.internal_data["weibao_incident"] = True
        self.event(
            "service_task_failed",
            **common,
            topic=task.task_spec.topic,
            error=outcome.error,
            attempt=attempts,
            retryable=False,
            retry_at=None,
        )
        self.event(
            "incident_opened", **common, topic=task.task_spec.topic, message=outcome.error, attempts=attempts
        )

    # ----------------------------------------------------------------- data
    def current_data(self) -> dict[str, Any]:
        """The data a person looking at the instance expects: every live branch's newest token data."""
        states = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED
        tasks = sorted(iter_tasks(self.wf, states), key=lambda t: t.last_state_change)
        data: dict[str, Any] = dict(self.wf.task_tree.data)
        for task in tasks:
            data.update(task.data)
        data.update(self.wf.data)
        return data


def open_operation(services: Services, session: Session | None, instance_id: str, loaded: LoadedVersion,
                   wf: BpmnWorkflow, actor: str, business_key: str | None, now: datetime,
                   replay: ReplayInvoker | None = None) -> Operation:
    """An operation on a loaded workflow, whose expressions get the engine functions bound to it."""
    op = Operation(services, session, instance_id, loaded, wf, actor, business_key, now, replay=replay)
    wf.script_engine = WeibaoScriptEngine(services.sla.script_functions(op))
    services.sla.attach(op)  # deadlines that passed while nobody looked are recorded first
    return op


def _iso_or_none(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
