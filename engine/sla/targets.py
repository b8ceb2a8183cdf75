"""A clock's target: decided by the `sla_targets` table at start, and again when the level or the site
distance it was decided on changes (a re-level)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from engine.bpmn.definitions import SLA_DECISION
from engine.bpmn.spiff import WeibaoScriptEngine
from engine.errors import EngineError
from engine.sla import clocks as sc
from engine.sla import provisional as pv
from engine.sla import rungs
from engine.sla.hooks import OperationView
from engine.sla.rounds import decision_clock

_DMN_SCRIPTS = WeibaoScriptEngine()  # the sandbox, as for every other table and diagram


def decide(engine: Any, clock: str,  # Any: SpiffWorkflow's DMNEngine is untyped
           inputs: dict[str, Any]) -> dict[str, Any]:
    """Ask sla_targets (a DMNEngine) for {"target", "calendar"}; {} when no rule matches."""
    workflow = SimpleNamespace(script_engine=_DMN_SCRIPTS, spec=SimpleNamespace(file="sla_targets"))
    workflow.top_workflow = workflow  # what SpiffWorkflow reads to describe a failing expression
    probe = SimpleNamespace(data={**inputs, "clock": clock}, workflow=workflow,
                            task_spec=SimpleNamespace(bpmn_name="sla_targets", name="sla_targets"))
    return dict(engine.result(probe))


def inputs_of(data: dict[str, Any], contract: object = None) -> dict[str, Any]:
    return {
        "contract": contract if contract is not None else data.get("contract"),
        "level": data.get("level"),
        "distance_km": data.get("site_distance_km"),
    }


class Targets:
    def __init__(self) -> None:
        self._decisions: dict[str, Any] = {}  # parsed sla_targets per version
        self._results: dict[tuple[object, ...], dict[str, Any]] = {}  # per version, clock and inputs

    def decide(self, op: OperationView, name: str, inputs: dict[str, Any],
               element: str | None) -> dict[str, Any]:
        """{"target", "calendar"}; {"reason"} when there is none."""
        engine = self._decisions.get(op.loaded.content_hash)
        if engine is None:
            engine = op.loaded.decision(SLA_DECISION)
            if engine is None:
                return {"reason": "the sla_targets decision is not deployed with this process"}
            self._decisions[op.loaded.content_hash] = engine
        memo: tuple[object, ...] | None = (op.loaded.content_hash, name, *inputs.values())
        try:
            known = self._results.get(memo) if memo is not None else None
        except TypeError:  # data that is no plain value (a list as the level): asked each time
            memo, known = None, None
        if known is not None:
            return dict(known)
        try:
            result = decide(engine, name, inputs) or {"reason": "no sla_targets rule"}
        except Exception as exc:  # bad data (e.g. a text distance) must name the clock and the element
            raise EngineError(
                f"SLA target of clock {name!r} could not be decided: {exc}",
                instance_id=op.instance_id,
                element_id=element,
                details=inputs,
            ) from exc
        if memo is not None:  # a table is a pure function of its inputs: each user task asks it again
            if len(self._results) > 4096:
                self._results.clear()
            self._results[memo] = dict(result)
        return result


def relevel(op: OperationView, targets: Targets, ratio: float) -> bool:
    """Re-decide the live clocks whose level or distance changed; True when a due time moved."""
    live = {n: c for n, c in (op.wf.data.get("_sla") or {}).items() if c["state"] in sc.LIVE}
    moved = False
    data = op.current_data() if live else {}
    for name, clock in sorted(live.items()):
        inputs = inputs_of(data, clock["contract"])
        if (inputs["level"], inputs["distance_km"]) == (clock["level"], clock["distance_km"]):
            continue
        result = targets.decide(op, decision_clock(name), inputs, None)
        before = {k: clock[k] for k in ("level", "distance_km", "target", "calendar", "due_at")}
        clock.update(level=inputs["level"], distance_km=inputs["distance_km"])
        if not result.get("target"):
            op.event("sla_skipped", actor="system", clock=name, reason=f"{result['reason']} after re-level",
                     **inputs)
            continue
        sc.retarget(clock, result, ratio, pv.years_of(op).unknown)
        if "rung_group" in result:  # the new level's row says whom its rung tells (older tables: no column)
            rungs.mark(clock, result["rung_group"] or None, result.get("rung_action") or None)
        moved = True
        op.event("sla_relevelled", actor="system", clock=name, before=before, level=clock["level"],
                 distance_km=clock["distance_km"], target=clock["target"], calendar=clock["calendar"],
                 due_at=clock["due_at"], **pv.extra(clock))
    return moved
