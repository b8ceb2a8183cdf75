"""The expression functions the SLA engine gives a workflow: `sla_due(clock)`, a started clock's due
time, and `business_due(duration, calendar)`, now plus a duration in business time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import EngineError
from engine.sla import clocks as sc
from engine.sla import provisional as pv
from engine.sla.hooks import OperationView


def script_functions(op: OperationView | None) -> dict[str, Callable[..., object]]:
    def sla_due(name: str) -> str:
        return _sla_due(_inside(op, "sla_due"), name)

    def business_due(duration: str, calendar: str = "workdays") -> str:
        inside = _inside(op, "business_due")
        due, years = sc.add_target(inside.now, duration, calendar, pv.years_of(inside).unknown)
        if years:
            inside.event("sla_calendar_provisional", actor="system", calendar=calendar,
                         use="business_due", duration=duration, due_at=sc.iso(due),
                         provisional_years=years)
        return sc.local_iso(due)

    return {"sla_due": sla_due, "business_due": business_due}


def _sla_due(op: OperationView, name: str) -> str:
    clocks: dict[str, Any] = op.wf.data.get("_sla") or {}
    clock = clocks.get(name)
    if clock is None:
        started = sorted(clocks) or "none"
        raise EngineError(
            f"sla_due({name!r}): SLA clock {name!r} has not started in this instance "
            f"(started clocks: {started})",
            instance_id=op.instance_id,
        )
    return sc.local_iso(sc.due_of(clock, sc.calendar_of(clock), op.now))


def _inside(op: OperationView | None, function: str) -> OperationView:
    if op is None:
        raise EngineError(f"{function}() can only be used inside a running process")
    return op
