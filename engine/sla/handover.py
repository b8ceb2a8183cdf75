"""Clocks belong to the case: an instance that hands the case to another (a fault becoming an
incident) passes its open clocks on, and the promise is kept or broken there.

The element that starts the linked instance names the clocks it hands over in `sla.hand_over` (`*`:
every clock not yet stopped). Each goes, with its start, pauses and due time, on the `start` effect
the handler produced; the parent's record becomes `handed_over` (an `sla_handed_over` event naming
the child) and stops counting there. The child's `instance_started` event carries the records, so
its first operation receives them (`sla_received`) from its own history, live and in replay, and
its elements' `sla.stop` stop them. A clock the child also starts keeps the received record.
"""

from __future__ import annotations

import copy
from typing import Any

from SpiffWorkflow.task import Task

from engine.bpmn.model import split_names
from engine.sla import clocks as sc
from engine.sla import provisional as pv
from engine.sla.hooks import OperationView

HANDED_OVER = "handed_over"
EVERY = "*"


def open_clocks(clocks: dict[str, dict[str, Any]], names: list[str]) -> list[str]:
    """The clocks to hand over: named (or all, for `*`) and neither stopped nor handed over already.
    A breached clock goes too: its stop in the child still records how late the promise was kept."""
    # A step's clock stays with its task (engine.sla.steps), which does not move to the child.
    wanted = sorted(n for n in clocks if "step" not in clocks[n]) if EVERY in names else names
    return [n for n in wanted if n in clocks and not clocks[n]["stopped_at"]
            and clocks[n]["state"] != HANDED_OVER]


def child_starts(op: OperationView, task: Task) -> list[dict[str, Any]]:
    """The `start` effects this task's handler produced (live and, from the record, in replay)."""
    element = task.task_spec.bpmn_id
    return [e for e in op.effects if e.get("kind") == "start" and e.get("element_id") == element
            and "sla" not in e]


def hand_over(op: OperationView, task: Task, clocks: dict[str, dict[str, Any]]) -> None:
    """Put the open clocks named by the task's `sla.hand_over` on the child it started. Called once
    the caller has recorded the due breaches and ended any pause, so the records travel as of now."""
    names = split_names(op.element(task).properties.get("sla.hand_over"))
    starts = child_starts(op, task)
    if not names or not starts:
        return
    child = starts[-1]  # one start per task: the handler's last is the case's new home
    passing = open_clocks(clocks, names)
    child["sla"] = {n: copy.deepcopy(clocks[n]) for n in passing}
    for name in passing:
        clock = clocks[name]
        was = clock["state"]
        clock.update(state=HANDED_OVER, handed_over_to=child["id"], handed_over_at=sc.iso(op.now),
                     warn_at=None)
        op.event("sla_handed_over", element_id=task.task_spec.bpmn_id, task_id=str(task.id),
                 actor="system", clock=name, to_instance_id=child["id"], to_process=child["process"],
                 state=was, due_at=clock["due_at"], **pv.extra(clock))


def receive(op: OperationView, records: dict[str, Any], parent_id: str | None) -> None:
    """The child's side, in its first operation: the records as the parent's hand-over wrote them."""
    if not records:
        return
    clocks = op.wf.data.setdefault("_sla", {})
    for name, record in sorted(records.items()):
        clock = copy.deepcopy(record)
        clock["received_from"] = parent_id
        clocks[name] = clock
        op.event("sla_received", actor="system", clock=name, from_instance_id=parent_id,
                 state=clock["state"], started_at=clock["started_at"], due_at=clock["due_at"],
                 target=clock["target"], **pv.extra(clock))
