"""Step clocks: every user task of a case is a step with a time limit of its own, reported up the
management ladder one level at a time while it stays undone (seed 004 l.709-711: "一般情况下每个步骤
限时1天", "用户维护系统将自动一级级将情况通报上一级管理层").

A process says that its user tasks are the steps of the case with `sla.step_limit` (a clock name) on
the process itself, not on each task; the contract's `sla_targets` rows say whether there is a limit
and how long: a row for `<name>` is the first rung, `<name>_2`, `<name>_3`, ... the levels above it.
Each rung is an ordinary clock whose row names its group (`rung_group`, `rung_action`, see
engine.sla.rungs). Rung n+1 starts at rung n's due time while the step is still open, and counts its
own target from there, so a step done in time costs one clock, a contract without a row a cached table
lookup per step, and a process without the property nothing.

A step clock's key names the step, `step_limit@Task_phone_diagnosis` (`#2`, `#3`, ... when the element
is entered again, as engine.sla.rounds counts rounds); its record carries `step` (element id),
`step_name`, `task_id` and `step_rung`. It stops when that task completes, and ends (`step_cancelled`,
not breached unless it already was) when the task is gone without completing, e.g. cancelled by an
interrupting boundary event. A step stays with its task: a hand-over of every clock (`*`) leaves it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.versions import LoadedVersion
from engine.sla import clocks as sc
from engine.sla import provisional as pv
from engine.sla import rungs
from engine.sla.hooks import OperationView
from engine.sla.rounds import AT, ROUND, decision_clock
from engine.sla.targets import Targets, inputs_of

PROPERTY = "sla.step_limit"
USER_TASK = "userTask"
ENTRIES = "_sla_step_entries"  # element id -> how often its step was entered (keys of later rounds)
KEY_LENGTH = 64  # engine.store.models.SlaClockRow.clock


def base_of(loaded: LoadedVersion) -> str | None:
    """The step clock the process declares, if any."""
    return loaded.model.properties.get(PROPERTY, "").strip() or None


def is_step(clock: dict[str, Any]) -> bool:
    return "step" in clock


def rung_clock(base: str, rung: int) -> str:
    return base if rung == 1 else f"{base}_{rung}"


def _fresh_key(data: dict[str, Any], base: str, element: str) -> str:
    entries = data.setdefault(ENTRIES, {})
    n = entries[element] = int(entries.get(element, 0)) + 1
    # the report's table keeps 64 characters of a key: room for `_<level>` and `#<round>`
    room = max(12, KEY_LENGTH - len(base) - 8)
    if len(element) > room:
        element = f"{element[:room - 9]}~{hashlib.sha256(element.encode()).hexdigest()[:8]}"
    return f"{base}{AT}{element}" + (f"{ROUND}{n}" if n > 1 else "")


class Steps:
    def __init__(self, targets: Targets, ratio: float) -> None:
        self.targets = targets
        self.ratio = ratio

    def enter(self, op: OperationView, task: Task) -> str | None:
        """Arm the first rung for a user task just entered; the clock's key, or None."""
        base = base_of(op.loaded)
        element = op.element(task)
        if base is None or element.kind != USER_TASK:
            return None
        inputs = inputs_of(task.data)
        result = self.targets.decide(op, base, inputs, element.id)
        if not result.get("target"):
            return None  # the contract sets no step limit: nothing recorded, nothing to count
        key = _fresh_key(op.wf.data, base, element.id)
        step = {"step": element.id, "step_name": element.name, "task_id": str(task.id), "step_rung": 1}
        self._arm(op, key, step, inputs, result, op.now)
        return key

    def next_rung(self, op: OperationView, key: str, clock: dict[str, Any]) -> str | None:
        """The rung above a step clock whose due time just passed, started at that due time; None at
        the top of the ladder (the table has no row for the next level)."""
        if not is_step(clock):
            return None
        rung = int(clock["step_rung"])
        name = decision_clock(key)
        base = name if rung == 1 else name[: -len(f"_{rung}")]
        inputs = {"contract": clock["contract"], "level": clock["level"], "distance_km": clock["distance_km"]}
        result = self.targets.decide(op, rung_clock(base, rung + 1), inputs, clock["step"])
        if not result.get("target"):
            return None
        upper = f"{rung_clock(base, rung + 1)}{AT}{key.split(AT, 1)[1]}"
        step = {k: clock[k] for k in ("step", "step_name", "task_id")} | {"step_rung": rung + 1}
        self._arm(op, upper, step, inputs, result, sc.parse_time(clock["due_at"]) or op.now)
        return upper

    def _arm(self, op: OperationView, key: str, step: dict[str, Any], inputs: dict[str, Any],
             result: dict[str, Any], start: datetime) -> None:
        clock = sc.new_clock(step["step"], inputs, result, start, self.ratio, pv.years_of(op).unknown)
        group = result.get("rung_group") or None
        rungs.mark(clock, group, (result.get("rung_action") or "sms") if group else None)
        clock.update(step)
        op.wf.data.setdefault("_sla", {})[key] = clock
        op.event("sla_started", element_id=step["step"], task_id=step["task_id"], actor="system",
                 clock=key, **inputs, step=step["step"], step_name=step["step_name"],
                 step_rung=step["step_rung"], target=clock["target"], calendar=clock["calendar"],
                 started_at=clock["started_at"], due_at=clock["due_at"], warn_at=clock["warn_at"],
                 **({"notify": group} if group else {}), **pv.extra(clock))


def of_task(clocks: dict[str, dict[str, Any]], task: Task) -> list[str]:
    """The open step clocks of a task (every rung it reached)."""
    tid = str(task.id)
    return [k for k, c in clocks.items() if c.get("task_id") == tid and not c["stopped_at"]]


def gone(op: OperationView, clocks: dict[str, dict[str, Any]]) -> list[tuple[str, bool]]:
    """(key, completed) of open step clocks whose task is no longer live: completed without the hook
    seeing it (stopped as usual), or cancelled, or dropped with its subprocess (ended)."""
    out = []
    for key, clock in sorted(clocks.items()):
        if not is_step(clock) or clock["stopped_at"] or clock["state"] not in (*sc.LIVE, "breached"):
            continue
        try:
            task = op.wf.get_task_from_id(UUID(clock["task_id"]))
        except TaskNotFoundException:
            task = None
        if task is None or not task.has_state(TaskState.NOT_FINISHED_MASK):
            out.append((key, task is not None and task.has_state(TaskState.COMPLETED)))
    return out
