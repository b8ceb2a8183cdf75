"""Clocks counted on a year without holiday data, and their re-targeting once the data arrives.

A working-time clock whose span reaches a year that neither the calendar libraries nor the override
file know is still started (a fault report is never refused for a calendar): that year counts
Monday-Friday and the clock record lists it in `provisional_years`. The record keeps counting so, even
after data for the year arrives, until the clock's next operation re-targets it from its start on the
real calendar (an `sla_retargeted` event).

Which years an operation lacked is an outside fact, so replay must not ask today's calendar: every
event that schedules a provisional clock carries its `provisional_years`, and a replayed operation
knows exactly the years its recorded events name, and re-targets exactly the clocks they re-targeted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.sla import clocks as sc
from engine.sla.calendar import SHANGHAI, Calendar, WorkdayCalendar
from engine.sla.calendar_data import load_overrides, year_source
from engine.sla.hooks import OperationView


@dataclass(frozen=True)
class Years:
    """What one operation knows of calendar years. `recorded` is None live (ask the data sources);
    in a replay, the years the original operation recorded as provisional."""

    recorded: frozenset[int] | None = None
    retargeted: frozenset[str] = frozenset()

    def unknown(self, cal: Calendar, start: datetime, end: datetime) -> list[int]:
        if self.recorded is None or not isinstance(cal, WorkdayCalendar):
            return sc.live_unknown(cal, start, end)
        first, last = (m.astimezone(cal.tz).year for m in (start, end))
        return [y for y in range(first, last + 1) if y in cal.provisional or y in self.recorded]

    def lacks(self, year: int) -> bool:
        if self.recorded is None:
            return year_source(year, load_overrides()) is None
        return year in self.recorded

    def arrived(self, name: str, clock: dict[str, Any]) -> bool:
        """Has data come for one of the clock's provisional years (so it is re-targeted now)?"""
        if self.recorded is not None:
            return name in self.retargeted
        return not all(self.lacks(y) for y in clock.get("provisional_years") or ())


LIVE = Years()


def years_of(op: OperationView) -> Years:
    record = op.replay
    if record is None:
        return LIVE
    return Years(frozenset(record.provisional_years), frozenset(record.retargeted))


def extra(clock: dict[str, Any]) -> dict[str, Any]:
    """Event fields of a provisional clock (none otherwise, so known-year events stay as they were)."""
    years = clock.get("provisional_years")
    return {"provisional_years": years} if years else {}


def retarget(clock: dict[str, Any], ratio: float, years: Years) -> dict[str, Any]:
    """Count a live provisional clock again from its start on the calendar as it is now; the fields
    of its `sla_retargeted` event."""
    before = {"due_at": clock["due_at"], "provisional_years": clock["provisional_years"]}
    sc.mark_provisional(clock, [y for y in before["provisional_years"] if years.lacks(y)])
    cal = sc.calendar_of(clock)
    start = datetime.fromisoformat(clock["started_at"])
    clock["target_seconds"] = sc.target_seconds(start, clock["target"], cal)
    if clock["state"] == "running":
        sc.schedule(clock, cal, ratio, years.unknown)
    else:  # paused: the closed pauses are re-counted; the due time is set again on the resume
        clock["paused_seconds"] = sc.paused_seconds(clock, cal)
    return {"before": before, "target_seconds": clock["target_seconds"], "due_at": clock["due_at"],
            "provisional_years": clock.get("provisional_years", [])}


def calendar_warnings(now: datetime) -> list[str]:
    """What /health warns of: the current year without holiday data, and from 1 December (Beijing) the
    coming year, so a process owner adds it before the first clock of the year is counted on a guess."""
    today = now.astimezone(SHANGHAI).date()
    years = [today.year, today.year + 1] if today.month == 12 else [today.year]
    try:
        overrides = load_overrides()
    except (OSError, ValueError) as exc:  # a probe must answer even when the file is being edited
        return [f"calendar: the override file cannot be read ({exc}); holiday data may be missing"]
    return [
        f"calendar: no holiday data for {year} (日历缺少{year}年节假日数据); working-time SLA clocks in "
        f"{year} count Monday-Friday and are marked provisional until the year is added to the override "
        f"file ({overrides.source}) or a calendar library that has it is installed"
        for year in years if year_source(year, overrides) is None
    ]
