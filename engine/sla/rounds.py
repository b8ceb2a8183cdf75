"""Clocks whose promise is tied to a date in the case, and rounds that begin them anew.

`sla.due_before` (`clock=field, ...`, on the element that starts the clock): the clock is due its
target *before* the date the form gave in `field`, counted backward in the clock's calendar from the
start of that day: seed 001's inspection notice three working days before the planned visit. Planned
too late, the clock is due at once (it cannot be kept). The record keeps the anchor in `due_before`.

(A clock counted from a date of the case rather than from the element's entry is `sla.start_from`,
engine.sla.fields.)

`sla.restart` (clock names, on an element entered when the case starts over, e.g. a cancelled
inspection visit): each named clock's record moves to `<name>#<n>` (the n-th earlier round, ended
first if it was still running) so the next `sla.start` begins the clock afresh for the new round;
the report counts every round under the clock's name.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from engine.bpmn.model import Element, split_pairs
from engine.durations import parse_duration, shift_months
from engine.sla import clocks as sc
from engine.sla.calendar import SHANGHAI, Calendar, DayCalendar, add_working_days

ROUND = "#"
AT = "@"  # a step clock's key names its step: `step_limit@Task_x` (engine.sla.steps)


def anchor_of(element: Element, name: str, data: dict[str, Any]) -> datetime | None:
    """The start of the day named by the element's `sla.due_before` field for this clock, if given."""
    field = dict(split_pairs(element.properties.get("sla.due_before"))).get(name)
    value = data.get(field) if field else None
    if not value:
        return None
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def count_back(clock: dict[str, Any], anchor: datetime, ratio: float, unknown: sc.Unknown) -> None:
    """Make the clock due its target before `anchor`: the business time from its start to the anchor,
    less the target counted back from the anchor, is what it may run."""
    cal = sc.calendar_of(clock)
    ahead = cal.elapsed(datetime.fromisoformat(clock["started_at"]), anchor).total_seconds()
    clock["target_seconds"] = max(0.0, ahead - span_before(anchor, str(clock["target"]), cal))
    clock["due_before"] = sc.iso(anchor)
    sc.schedule(clock, cal, ratio, unknown)


def span_before(anchor: datetime, target: str, cal: Calendar) -> float:
    """Business seconds of `target` counted back from `anchor`. Months must be counted from the anchor's
    side: six months before 30 September is 30 March, not the 182 days that six months after a
    1 December start would span. Working days span the same business time either way."""
    d = parse_duration(target)
    zone = cal.tz if isinstance(cal, DayCalendar) else SHANGHAI
    begin = shift_months(anchor.astimezone(zone), -d.total_months) - timedelta(weeks=d.weeks)
    begin = add_working_days(begin, -d.days, cal)
    return (cal.elapsed(begin, anchor) + d.time_part).total_seconds()


def archive(clocks: dict[str, dict[str, Any]], name: str) -> str:
    """Move the clock's record aside as its earlier round; the key it now has."""
    rounds = sum(1 for key in clocks if key.split(ROUND)[0] == name and ROUND in key)
    key = f"{name}{ROUND}{rounds + 1}"
    clocks[key] = clocks.pop(name)
    return key


def clock_name(key: str) -> str:
    """`inspection_notice#1` (an earlier round) counts as `inspection_notice`."""
    return key.split(ROUND)[0]


def decision_clock(key: str) -> str:
    """The `sla_targets` clock a record is decided by: `step_limit_2@Task_x#2` -> `step_limit_2`."""
    return clock_name(key).split(AT)[0]

