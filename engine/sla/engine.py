"""SLA clocks in business time, driven by `sla.start` / `sla.stop` / `sla.pause` element properties.

Targets and calendars come from the `sla_targets` decision; the clock records live in the workflow
data (see `engine.sla.clocks`) so a replay rebuilds them, and every change is an `sla_*` event. Breach
and warning deadlines go to the pending-timer index as kind "sla", element_id "sla:<kind>:<clock>".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.bpmn.model import split_names, split_pairs
from engine.bpmn.state import is_finished, iter_tasks
from engine.clock import Clock
from engine.sla import clocks as sc
from engine.sla import fields, functions, packed, rounds, rungs, steps
from engine.sla import handover as ho
from engine.sla import provisional as pv
from engine.sla.hooks import Deadline, NoSla, OperationView
from engine.sla.report import clock_views, sync_table
from engine.sla.targets import Targets, inputs_of, relevel

DEFAULT_WARNING_RATIO = 0.75


def _clocks(op: OperationView) -> dict[str, dict[str, Any]]:
    return op.wf.data.get("_sla") or {}


def timer_element_id(kind: str, clock: str) -> str:
    return f"sla:{kind}:{clock}"


class SlaEngine(NoSla):
    def __init__(self, clock: Clock, warning_ratio: float = DEFAULT_WARNING_RATIO) -> None:
        self.clock = clock
        self.ratio = warning_ratio
        self.targets = Targets()
        self.steps = steps.Steps(self.targets, warning_ratio)

    # ----------------------------------------------------------------- hooks
    def attach(self, op: OperationView) -> None:
        packed.pack(op.wf.data)  # step clocks stopped earlier leave the live records
        self._retarget_arrived(op)  # before the catch-up: a guessed due time must not breach a clock
        self._catch_up(op)  # deadlines that passed while nobody looked are recorded first

    def on_enter(self, op: OperationView, task: Task) -> None:
        props = op.element(task).properties
        for name in split_names(props.get("sla.restart")):
            self._restart(op, task, name)
        for name in split_names(props.get("sla.start")):
            self._start(op, task, name)
        for name in split_names(props.get("sla.pause")):
            clock = _clocks(op).get(name)
            if clock is not None and sc.pause(clock, str(task.id), op.now):
                op.event("sla_paused", element_id=task.task_spec.bpmn_id, task_id=str(task.id),
                         actor="system", clock=name, paused_at=clock["paused_at"])
        self.steps.enter(op, task)  # a step of the case gets its own limit, if the contract sets one

    def on_complete(self, op: OperationView, task: Task) -> None:
        props = op.element(task).properties
        for name in split_names(props.get("sla.pause")):
            self._resume(op, name, str(task.id), task.task_spec.bpmn_id)
        # A step that may be claimed first stops its clocks at the claim; completed unclaimed, here.
        for name in split_names(props.get("sla.stop")) + split_names(props.get("sla.stop_on_claim")):
            self._stop(op, task, name)
        for name, given in split_pairs(props.get("sla.stop_if")):
            if _given(task.data.get(given)):  # e.g. a workaround stops only when one was issued
                self._stop(op, task, name)
        # Clocks that count from the moment a step is done (arrival on site, a plan agreed), started
        # with the data the step's form just supplied.
        for name in split_names(props.get("sla.start_on_complete")):
            self._start(op, task, name)
        for name, moment in fields.stops_at(props, task.data).items():
            self._finish_clock(op, name, task.task_spec.bpmn_id, str(task.id), at=moment)
        if props.get("sla.hand_over"):
            self._hand_over(op, task)
        for key in steps.of_task(_clocks(op), task):
            self._stop(op, task, key)

    def after_steps(self, op: OperationView) -> None:
        flags = op.sla_flags
        if not _clocks(op):
            return
        self._release_dead_pauses(op)
        for key, completed in steps.gone(op, _clocks(op)):  # e.g. cancelled by a boundary event
            self._finish_clock(op, key, None, None, reason=None if completed else "step_cancelled")
        if relevel(op, self.targets, self.ratio):
            op.sla_flags.changed = True
        self._catch_up(op)
        if flags.rearming:
            return
        flags.rearming = True
        try:
            rearmed = sc.rearm_timers(op.wf, _clocks(op), flags.changed)
            if rearmed or flags.stepping:  # a due re-armed timer or a rung's task runs now, not later
                flags.stepping = False
                op.advance()
        finally:
            flags.rearming, flags.changed = False, False

    def task_due(self, op: OperationView, task: Task) -> datetime | None:
        clocks, props = _clocks(op), op.element(task).properties
        names = split_names(props.get("sla.stop")) + split_names(props.get("sla.stop_on_claim"))
        names += [clock for clock, _ in split_pairs(props.get("sla.stop_if"))]
        names += steps.of_task(clocks, task)  # the step's own day (seed 004), when its contract has one
        dues = [sc.due_of(clocks[n], sc.calendar_of(clocks[n]), op.now) for n in names
                if n in clocks and not clocks[n]["stopped_at"] and clocks[n]["state"] != ho.HANDED_OVER]
        return min(dues, default=None)

    def save(self, session: Session, op: OperationView) -> None:
        """The write path keeps the SLA table (what the report reads) in step with the clocks."""
        sync_table(session, op.instance_id, op.loaded.process_key, _clocks(op))

    def deadlines(self, op: OperationView) -> list[Deadline]:
        if op.cancelled or is_finished(op.wf):
            return []
        return [
            ("sla", timer_element_id(kind, name), None, due) for kind, name, due in sc.deadlines(_clocks(op))
        ]

    def fire(self, op: OperationView, element_id: str) -> None:
        # "sla:<warning|breach>:<clock>"; whichever deadline it was, record every one that has passed.
        name = element_id.split(":", 2)[-1]
        clock = _clocks(op).get(name)
        if clock is not None:
            self._tick(op, name, clock)

    def script_functions(self, op: OperationView | None = None) -> dict[str, Callable[..., object]]:
        """`sla_due` and `business_due` for the expressions of one operation's workflow."""
        return functions.script_functions(op)

    # ----------------------------------------------------------------- transitions
    def _start(self, op: OperationView, task: Task, name: str) -> None:
        clocks, props = _clocks(op), op.element(task).properties
        if name in clocks or not fields.owed(props, name, task.data):
            return  # one clock per name and instance: re-entering a loop keeps the first start
        element = task.task_spec.bpmn_id
        inputs = inputs_of(task.data)
        result = self.targets.decide(op, name, inputs, element)
        where = {"element_id": element, "task_id": str(task.id), "actor": "system"}
        if not result.get("target"):
            op.event("sla_skipped", **where, clock=name, reason=result["reason"], **inputs)
            return
        start = fields.started_at(props, name, task.data, op.now)
        clock = sc.new_clock(element, inputs, result, start, self.ratio, pv.years_of(op).unknown)
        notify, action = rungs.group_for(op.element(task), name, result)
        rungs.mark(clock, notify, action)
        anchor = rounds.anchor_of(op.element(task), name, task.data)
        if anchor is not None:  # due its target before a date of the case, e.g. a notice before a visit
            rounds.count_back(clock, anchor, self.ratio, pv.years_of(op).unknown)
        op.wf.data.setdefault("_sla", {})[name] = clock
        op.event(
            "sla_started",
            **where,
            clock=name, **inputs, target=clock["target"], calendar=clock["calendar"],
            due_at=clock["due_at"], warn_at=clock["warn_at"],
            **({"notify": notify} if notify else {}),
            **({"rung": clock["rung"]} if clock.get("rung") else {}),
            **({"due_before": clock["due_before"]} if clock.get("due_before") else {}),
            **({"started_at": clock["started_at"]} if start != op.now else {}),
            **pv.extra(clock),
        )
        if name in fields.stops_at(props, task.data):  # measured wholly from the form: done at once
            self._finish_clock(op, name, element, str(task.id), at=fields.stops_at(props, task.data)[name])

    def _restart(self, op: OperationView, task: Task, name: str) -> None:
        """A new round of the case (a cancelled visit planned again) begins the clock afresh."""
        if name not in _clocks(op):
            return
        self._finish_clock(op, name, task.task_spec.bpmn_id, str(task.id), reason="round_restarted")
        key = rounds.archive(_clocks(op), name)
        op.event("sla_restarted", element_id=task.task_spec.bpmn_id, task_id=str(task.id), actor="system",
                 clock=name, archived_as=key, state=_clocks(op)[key]["state"])

    def _resume(self, op: OperationView, name: str, task_id: str | None, element: str | None) -> None:
        clock = _clocks(op).get(name)
        if clock is None:
            return
        seconds = sc.resume(clock, task_id, op.now, self.ratio, pv.years_of(op).unknown)
        if seconds is not None:
            op.sla_flags.changed = True
            op.event("sla_resumed", element_id=element, task_id=task_id, actor="system", clock=name,
                     paused_seconds=seconds, due_at=clock["due_at"], **pv.extra(clock))

    def _hand_over(self, op: OperationView, task: Task) -> None:
        clocks = _clocks(op)
        for name in ho.open_clocks(clocks, split_names(op.element(task).properties.get("sla.hand_over"))):
            self._tick(op, name, clocks[name])  # a deadline that passed here is the parent's to record
            self._resume(op, name, None, task.task_spec.bpmn_id)  # the pausing step stays behind
        ho.hand_over(op, task, clocks)

    def on_claim(self, op: OperationView, task: Task) -> None:
        for name in split_names(op.element(task).properties.get("sla.stop_on_claim")):
            self._stop(op, task, name)

    def receive(self, op: OperationView, records: dict[str, Any], parent_id: str | None) -> None:
        ho.receive(op, records, parent_id)

    def _stop(self, op: OperationView, task: Task, name: str) -> None:
        self._finish_clock(op, name, task.task_spec.bpmn_id, str(task.id))

    def on_finish(self, op: OperationView) -> None:
        """The instance ended (completed, handed over, cancelled): clocks nobody stopped stop now, so
        none stays running for ever and the report counts them."""
        for name in list(_clocks(op)):
            self._finish_clock(op, name, None, None, reason="instance_ended")

    def _finish_clock(
        self, op: OperationView, name: str, element_id: str | None, task_id: str | None,
        reason: str | None = None, at: datetime | None = None,
    ) -> None:
        clock = _clocks(op).get(name)
        if clock is None or clock["stopped_at"] or clock["state"] == ho.HANDED_OVER:
            return  # a clock handed over is the child's to stop
        self._tick(op, name, clock, at)
        self._resume(op, name, None, element_id)  # stopping ends any pause first
        ended = reason in ("instance_ended", "round_restarted", "step_cancelled") and not (
            op.replay is not None and name in op.replay.ended_as_met)
        sc.stop(clock, at or op.now, self.ratio, pv.years_of(op).unknown, ended)
        kind = "sla_met" if clock["state"] == "met" else "sla_stopped"
        extra = {"reason": reason} if reason else {}
        if at is not None:  # a moment the form recorded, not the operation's
            extra["stopped_at"] = clock["stopped_at"]
        op.event(
            kind,
            element_id=element_id,
            task_id=task_id,
            actor="system",
            clock=name,
            state=clock["state"],
            due_at=clock["due_at"],
            business_seconds=clock["business_seconds"],
            **extra,
            **pv.extra(clock),
        )

    def _tick(self, op: OperationView, name: str, clock: dict[str, Any], at: datetime | None = None) -> None:
        """Record the warning and the breach whose time has passed by `at` (default now; strictly, like
        the scheduler: a clock stopped at its due instant is met)."""
        if clock["state"] != "running":
            return
        now = at or op.now
        if not clock["warned"] and datetime.fromisoformat(clock["warn_at"]) < now:
            clock["warned"] = True
            op.event("sla_warning", actor="system", clock=name, warn_at=clock["warn_at"],
                     due_at=clock["due_at"], ratio=self.ratio)
        if datetime.fromisoformat(clock["due_at"]) < now:
            clock.update(state="breached", breached_at=clock["due_at"])
            op.event("sla_breached", actor="system", clock=name, due_at=clock["due_at"],
                     level=clock["level"], target=clock["target"])
            rungs.escalate(op, name, clock)
            upper = self.steps.next_rung(op, name, clock)  # still undone: the next level's day begins
            if upper is not None:
                self._tick(op, upper, _clocks(op)[upper])

    def _retarget_arrived(self, op: OperationView) -> None:
        years = pv.years_of(op)
        for name, clock in sorted(_clocks(op).items()):
            if clock["state"] in sc.LIVE and clock.get("provisional_years") and years.arrived(name, clock):
                fields = pv.retarget(clock, self.ratio, years)
                op.event("sla_retargeted", actor="system", clock=name, **fields)
                op.sla_flags.changed = True

    def _catch_up(self, op: OperationView) -> None:
        for name, clock in sorted(_clocks(op).items()):
            self._tick(op, name, clock)

    def _release_dead_pauses(self, op: OperationView) -> None:
        """A pausing task that was cancelled (e.g. by an interrupting boundary event) never completes."""
        paused = {n: c for n, c in _clocks(op).items() if c["state"] == "paused"}
        if not paused:
            return
        live = {str(t.id) for t in iter_tasks(op.wf, TaskState.NOT_FINISHED_MASK)}
        for name in sc.drop_dead_holders(paused, live):
            self._resume(op, name, None, None)

    # ----------------------------------------------------------------- reading
    def clocks_for(self, conn: Connection, instance_id: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        """The clocks from an instance's stored data (which carries the `_sla` records), measured now."""
        return clock_views(packed.all_records(data), self.clock.now())

    def clocks_from_state(self, wf: BpmnWorkflow, now: datetime) -> list[dict[str, Any]]:
        return clock_views(packed.all_records(wf.data), now)


def _given(value: object) -> bool:
    return value is True or (isinstance(value, str) and bool(value.strip()))


__all__ = ["SlaEngine", "timer_element_id"]
