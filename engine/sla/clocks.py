"""SLA clock arithmetic on the JSON-safe records kept in the workflow data, `wf.data["_sla"][name]`.

The records live in the workflow state (not in a table) so that a replay of the event log rebuilds
them exactly. Times are ISO 8601 UTC strings, durations are business seconds of the clock's calendar:

    state           running | paused | met | breached | ended (the instance ended first, promise not kept)
                    | handed_over (the case went on in a linked instance, which holds the clock now)
    element         the element whose entry started the clock
    contract, level, distance_km    the sla_targets inputs the target was taken with
    target, calendar                the sla_targets outputs ("PT4H", "P3M"; engine.sla.calendar names)
    started_at, target_seconds      the target measured from the start (months resolved there)
    pauses          closed pauses [[from, to], ...]; paused_seconds is their business time
    paused_at, paused_by            the open pause and the ids of the tasks holding it
    due_at, warn_at                 deadlines while running (a paused clock has none)
    warned, breached_at, stopped_at, business_seconds (time to stop, pauses left out)
    handed_over_to, handed_over_at  the child instance that took the clock over, and when
    received_from                   in the child: the instance that handed the clock over
    notify                          the group told when the due time passes (engine.sla.rungs)
    provisional_years               only while a year it spans lacks holiday data: counted Monday-Friday
                                    until re-targeted (engine.sla.provisional)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.state import iter_tasks
from engine.durations import parse_duration, shift_months
from engine.errors import EngineError, InvalidInput
from engine.sla.calendar import (
    ALWAYS_NAMES,
    SHANGHAI,
    Calendar,
    DayCalendar,
    WorkdayCalendar,
    add_working_days,
    get_calendar,
)
from engine.sla.calendar_data import CalendarOverrides, load_overrides

LIVE = ("running", "paused")
PARKED = "9999-12-31T00:00:00+00:00"  # a timer on a paused clock waits for the resume
_SLA_CALL = re.compile(r"sla_due\(\s*['\"]([^'\"]+)['\"]")

_calendars: dict[tuple[str, frozenset[int]], tuple[CalendarOverrides | None, Calendar]] = {}


def calendar_named(name: str, provisional: Iterable[int] = ()) -> Calendar:
    """One calendar per name keeps its per-day cache warm across operations, until the override file
    changes: a process owner's new holiday counts from the next operation, without a restart. A year
    without data never refuses work: it counts Monday-Friday, and `provisional` years count so even
    after data for them has arrived (see engine.sla.provisional)."""
    overrides = None if name in ALWAYS_NAMES else load_overrides()  # a stat; re-parsed only when edited
    key = (name, frozenset(provisional))
    held = _calendars.get(key)
    if held is None or held[0] is not overrides:
        if overrides is None:
            held = (None, get_calendar(name))
        else:
            cal = get_calendar(name, overrides=overrides, weekday_fallback=True)
            held = (overrides, cal.with_provisional(key[1]) if isinstance(cal, WorkdayCalendar) else cal)
        _calendars[key] = held
    return held[1]


def calendar_of(clock: dict[str, Any]) -> Calendar:
    return calendar_named(clock["calendar"], clock.get("provisional_years") or ())


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def local_iso(moment: datetime) -> str:
    """What expressions see: Beijing time with its offset, readable in a form or a message."""
    return moment.astimezone(SHANGHAI).isoformat()


def target_seconds(start: datetime, target: str, cal: Calendar) -> float:
    """Business seconds of `target` counted from `start`.

    The date part is calendar time: years and months move the wall-clock date in Beijing (P3M from
    2 March ends on 2 June), weeks are 7 days, days are working days on a calendar that has them.
    The time part (PT4H) is business time. The date part becomes the business time it spans, so a
    pause can extend any target the same way.
    """
    try:
        d = parse_duration(target)
    except InvalidInput as exc:
        raise EngineError(f"SLA target {target!r} is not an ISO 8601 duration such as PT4H or P3M") from exc
    zone = cal.tz if isinstance(cal, DayCalendar) else SHANGHAI
    end = shift_months(start.astimezone(zone), d.total_months)
    end += timedelta(weeks=d.weeks)
    end = add_working_days(end, d.days, cal)
    return (cal.elapsed(start, end) + d.time_part).total_seconds()


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def paused_seconds(clock: dict[str, Any], cal: Calendar, now: datetime | None = None) -> float:
    """Business time spent paused; with `now`, the open pause counts up to `now`."""
    total = sum(cal.elapsed(datetime.fromisoformat(a), datetime.fromisoformat(b)).total_seconds()
                for a, b in clock["pauses"])
    if now is not None and clock.get("paused_at"):
        total += cal.elapsed(datetime.fromisoformat(clock["paused_at"]), now).total_seconds()
    return total


def due_of(clock: dict[str, Any], cal: Calendar, now: datetime) -> datetime:
    """The due time as of `now`; for a paused clock, the due time if it resumed now."""
    if clock["state"] not in LIVE:
        return datetime.fromisoformat(clock["due_at"])
    pause = paused_seconds(clock, cal, now) if clock["state"] == "paused" else clock["paused_seconds"]
    return cal.add(datetime.fromisoformat(clock["started_at"]), _seconds(clock["target_seconds"] + pause))


# The years of a span whose working days are only the Monday-Friday guess, for one operation.
Unknown = Callable[[Calendar, datetime, datetime], list[int]]


def live_unknown(cal: Calendar, start: datetime, end: datetime) -> list[int]:
    return sorted(cal.provisional_years(start, end)) if isinstance(cal, WorkdayCalendar) else []


def mark_provisional(clock: dict[str, Any], years: list[int]) -> None:
    if years:
        clock["provisional_years"] = years
    else:
        clock.pop("provisional_years", None)  # absent, so records of known years stay as they were


def schedule(clock: dict[str, Any], cal: Calendar, ratio: float, unknown: Unknown = live_unknown) -> None:
    """Recompute the deadlines of a running clock (after a start, a resume or a re-level)."""
    start = datetime.fromisoformat(clock["started_at"])
    clock["paused_seconds"] = paused_seconds(clock, cal)
    due = cal.add(start, _seconds(clock["target_seconds"] + clock["paused_seconds"]))
    clock["due_at"] = iso(due)
    warn = clock["target_seconds"] * ratio + clock["paused_seconds"]
    clock["warn_at"] = iso(cal.add(start, _seconds(warn)))
    mark_provisional(clock, unknown(cal, start, due))


def add_target(start: datetime, target: str, calendar: str,
               unknown: Unknown = live_unknown) -> tuple[datetime, list[int]]:
    """`start` plus `target` on the named calendar (what business_due() returns), and the years of
    the span that had no holiday data."""
    cal = calendar_named(calendar)
    due = cal.add(start, _seconds(target_seconds(start, target, cal)))
    years = unknown(cal, start, due)
    if years:  # counted again on the guess, which a replay may know better than today's calendar
        cal = calendar_named(calendar, years)
        due = cal.add(start, _seconds(target_seconds(start, target, cal)))
        years = unknown(cal, start, due)
    return due, years


def retarget(clock: dict[str, Any], result: dict[str, Any], ratio: float,
             unknown: Unknown = live_unknown) -> None:
    """A new target (after a re-level), measured from the original start; pauses still count."""
    clock.update(target=result["target"], calendar=result["calendar"])
    cal = calendar_of(clock)
    start = datetime.fromisoformat(clock["started_at"])
    clock["target_seconds"] = target_seconds(start, result["target"], cal)
    if clock["state"] == "running":
        schedule(clock, cal, ratio, unknown)


def deadlines(clocks: dict[str, dict[str, Any]]) -> list[tuple[str, str, datetime]]:
    """(kind, clock, due) of what a running clock waits for: its warning (once) and its breach."""
    out = []
    for name, clock in sorted(clocks.items()):
        if clock["state"] == "running":
            if not clock["warned"]:
                out.append(("warning", name, datetime.fromisoformat(clock["warn_at"])))
            out.append(("breach", name, datetime.fromisoformat(clock["due_at"])))
    return out


def drop_dead_holders(paused: dict[str, dict[str, Any]], live_ids: set[str]) -> list[str]:
    """Forget pausing tasks that ended without completing (cancelled); the clocks nobody holds now."""
    released = []
    for name, clock in paused.items():
        holders = [t for t in clock["paused_by"] if t in live_ids]
        if len(holders) < len(clock["paused_by"]):
            clock["paused_by"] = holders
            if not holders:
                released.append(name)
    return released


def new_clock(element: str, inputs: dict[str, Any], result: dict[str, Any], now: datetime,
              ratio: float, unknown: Unknown = live_unknown) -> dict[str, Any]:
    cal = calendar_named(result["calendar"])
    clock: dict[str, Any] = {
        "state": "running", "element": element, **inputs, "target": result["target"],
        "calendar": result["calendar"], "started_at": iso(now),
        "target_seconds": target_seconds(now, result["target"], cal), "pauses": [], "paused_seconds": 0.0,
        "paused_at": None, "paused_by": [], "warned": False, "breached_at": None, "stopped_at": None,
        "business_seconds": None,
    }
    schedule(clock, cal, ratio, unknown)
    if clock.get("provisional_years"):  # the target itself was counted on the guess too
        cal = calendar_of(clock)
        clock["target_seconds"] = target_seconds(now, result["target"], cal)
        schedule(clock, cal, ratio, unknown)
    return clock


def pause(clock: dict[str, Any], task_id: str, now: datetime) -> bool:
    """Hold the clock for `task_id`; True when this starts the pause (state becomes paused)."""
    if clock["state"] not in LIVE or task_id in clock["paused_by"]:
        return False
    clock["paused_by"].append(task_id)
    if clock["state"] == "paused":
        return False
    clock.update(state="paused", paused_at=iso(now), due_at=None, warn_at=None)
    return True


def resume(clock: dict[str, Any], task_id: str | None, now: datetime, ratio: float,
           unknown: Unknown = live_unknown) -> float | None:
    """Release the hold of `task_id` (None: every hold); the business seconds of the pause when it ends."""
    if clock["state"] != "paused":
        return None
    clock["paused_by"] = [t for t in clock["paused_by"] if task_id is not None and t != task_id]
    if clock["paused_by"]:
        return None
    cal = calendar_of(clock)
    began = datetime.fromisoformat(clock["paused_at"])
    clock["pauses"].append([clock["paused_at"], iso(now)])
    clock.update(state="running", paused_at=None)
    schedule(clock, cal, ratio, unknown)
    return cal.elapsed(began, now).total_seconds()


def stop(clock: dict[str, Any], now: datetime, ratio: float, unknown: Unknown = live_unknown,
         ended: bool = False) -> None:
    """Met if stopped in time at its stop event; `ended` if the instance ended first; breached stays."""
    if clock["state"] == "paused":
        resume(clock, None, now, ratio, unknown)
    cal = calendar_of(clock)
    start = datetime.fromisoformat(clock["started_at"])
    clock["business_seconds"] = cal.elapsed(start, now).total_seconds() - clock["paused_seconds"]
    if clock["state"] == "running":
        clock["state"] = "ended" if ended else "met"
    clock.update(stopped_at=iso(now), warn_at=None)


def remaining_seconds(clock: dict[str, Any], now: datetime) -> float:
    """Working time left by the clock's calendar (0 once breached)."""
    if clock["state"] == "breached":
        return 0.0
    if clock["stopped_at"]:
        return max(0.0, clock["target_seconds"] - clock["business_seconds"])
    cal = calendar_of(clock)
    until = parse_time(clock["paused_at"]) or parse_time(clock.get("handed_over_at")) or now
    used = cal.elapsed(datetime.fromisoformat(clock["started_at"]), until).total_seconds()
    return max(0.0, clock["target_seconds"] - (used - clock["paused_seconds"]))


def rearm_timers(wf: BpmnWorkflow, clocks: dict[str, dict[str, Any]], moved: bool) -> bool:
    """BPMN timers whose date reads sla_due(): parked while the clock pauses, re-evaluated when a due
    time moved (`moved`) or the pause ended. True when a re-armed timer is already due."""
    touched = []
    for task in iter_tasks(wf, TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimeDateEventDefinition):
            continue
        names = _SLA_CALL.findall(definition.expression or "")
        value = task.internal_data.get("event_value")
        if any(clocks.get(n, {}).get("state") == "paused" for n in names):
            task.internal_data["event_value"] = PARKED
        elif names and (moved or value == PARKED):
            task.internal_data.pop("event_value", None)  # SpiffWorkflow evaluates it again on refresh
            touched.append(task)
    if touched:
        wf.refresh_timers()
    return any(not t.has_state(TaskState.WAITING) for t in touched)
