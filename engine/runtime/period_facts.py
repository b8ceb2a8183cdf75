"""The facts a period report reads across cases (engine.handler.PeriodFacts), from the read side.

Only the contract's own cases: a customer's report never names another customer's faults. Faults are
the fault repairs and the incidents reported on their own (an incident a fault started is that fault's
case) started in the period; open problems are the contract's faults started before the period's end
and not finished by it; SLA outcomes are the clocks of the contract's cases started in the period, as
the SLA report counts them; inspections are those planned for a day of the period (or, not planned
yet, started in it). The report's own clocks (the monthly summary) are left out: a report does not
report on itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.handler import HandlerRegistry
from engine.sla.calendar import SHANGHAI
from engine.sla.handover import HANDED_OVER
from engine.sla.holidays import WorkingDays
from engine.sla.report import outcome
from engine.sla.rounds import clock_name
from engine.store.models import Instance, Record, SlaClockRow

FAULT_PROCESSES = ("fault_repair", "incident")
SPARE_PART_KINDS = ("spare_part_request", "replacement_machine", "vendor_case")
OWN_PROCESS = "service_report"


def _day(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat()


def _fault(row: Instance, end: datetime) -> dict[str, Any]:
    data = row.data or {}
    open_at_end = row.ended_at is None or row.ended_at >= end
    return {"instance_id": row.id, "process": row.process_key, "business_key": row.business_key,
            "summary": str(data.get("summary") or ""), "level": str(data.get("level") or ""),
            "root_cause": str(data.get("root_cause") or ""), "started_at": _day(row.created_at),
            "ended_at": _day(row.ended_at) if row.ended_at else None, "status": row.status,
            "open_at_end": open_at_end}


def _planned_in(data: dict[str, Any], start: datetime, end: datetime, created: datetime) -> bool:
    planned = str(data.get("confirmed_time") or data.get("planned_date") or "")[:10]
    try:
        day = date.fromisoformat(planned) if planned else None
    except ValueError:
        day = None  # a date the form did not check (older data): the round counts where it started
    if day is not None:
        return start.astimezone(SHANGHAI).date() <= day < end.astimezone(SHANGHAI).date()
    return start <= created < end


class StorePeriodFacts:
    """Bound to the operation's session, so the report reads what that transaction sees."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _contract_rows(self, processes: tuple[str, ...], contract: str, before: datetime) -> list[Instance]:
        query = select(Instance).where(Instance.process_key.in_(processes), Instance.created_at < before)
        rows = [r for r in self.session.scalars(query) if (r.data or {}).get("contract") == contract]
        return sorted(rows, key=lambda r: (r.created_at, r.business_key or "", r.id))

    def period(self, contract: str, start: datetime, end: datetime) -> dict[str, Any]:
        cases = self._contract_rows(FAULT_PROCESSES, contract, end)
        own = [r for r in cases if r.process_key == "fault_repair" or r.parent_instance_id is None]
        faults = [_fault(r, end) for r in own if r.created_at >= start]
        problems = [_fault(r, end) for r in own if r.created_at < start and _fault(r, end)["open_at_end"]]
        inspections = [
            {"instance_id": r.id,
             "planned_date": str(r.data.get("confirmed_time") or r.data.get("planned_date") or ""),
             "site": str(r.data.get("site") or ""), "business_key": r.business_key,
             "report_returned": bool(r.data.get("archive_ref")),
             "status": r.status, "done": r.status == "completed" and (r.ended_at or end) < end}
            for r in self._contract_rows(("inspection",), contract, end)
            if _planned_in(r.data or {}, start, end, r.created_at)]
        ids = [r.id for r in cases]
        return {"faults": faults, "open_problems": problems + [f for f in faults if f["open_at_end"]],
                "sla": self._sla(contract, start, end), "inspections": inspections,
                "spare_parts": self._spare_parts(ids, start, end), "stock_movements": self.stock_movements()}

    def working_days(self, calendar: str) -> WorkingDays:
        return WorkingDays(calendar)

    def _sla(self, contract: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        query = select(SlaClockRow).where(
            SlaClockRow.contract == contract, SlaClockRow.started_at >= start, SlaClockRow.started_at < end,
            SlaClockRow.process_key != OWN_PROCESS)
        counts: dict[str, dict[str, int]] = {}
        for row in self.session.scalars(query):
            if row.state == HANDED_OVER:
                continue  # counted in the instance that took it over
            tally = counts.setdefault(clock_name(row.clock), {"met": 0, "breached": 0, "ended": 0, "open": 0})
            tally[outcome(row.state, row.due_at, row.stopped_at)] += 1
        return [{"clock": name, **tally} for name, tally in sorted(counts.items())]

    def _spare_parts(self, ids: list[str], start: datetime, end: datetime) -> list[dict[str, Any]]:
        if not ids:
            return []
        query = select(Record).where(Record.kind.in_(SPARE_PART_KINDS), Record.instance_id.in_(ids),
                                     Record.created_at >= start, Record.created_at < end)
        rows = sorted(self.session.scalars(query), key=lambda r: (r.created_at, r.id))
        return [{"id": r.id, "kind": r.kind, "instance_id": r.instance_id, "at": _day(r.created_at),
                 "data": dict(r.data or {})} for r in rows]

    def stock_movements(self) -> list[dict[str, Any]]:
        """Spare-part stock movements (issued, returned, repaired) from the stock ledger. The ledger
        is not part of the engine yet: until it is, the report lists the spare-part requests only."""
        return []


def facts_source(registry: HandlerRegistry) -> Callable[[Session | None, str], StorePeriodFacts | None]:
    """The facts for a topic whose handler declared `reads_period`; None for every other topic."""

    def facts(session: Session | None, topic: str) -> StorePeriodFacts | None:
        return StorePeriodFacts(session) if session is not None and registry.reads_period(topic) else None

    return facts
