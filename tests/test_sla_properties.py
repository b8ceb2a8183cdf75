"""Properties of the SLA clock arithmetic (engine/sla/clocks.py) over its calendars: a target measured
back from its due time is the target, pauses only ever push a due time later, and a due time is never
an instant the calendar does not work. Examples are derandomized (the `weibao` profile in conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sla import clocks as sc

MICRO = timedelta(microseconds=1)
# Starts in years the holiday data knows, early enough that a month-long target plus pauses stays in them.
starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 6, 30),
                      timezones=st.just(UTC))
targets = st.sampled_from(["PT30M", "PT4H", "PT27H", "P3D", "P1W", "P1M", "P1DT2H"])
calendars = st.sampled_from(["24x7", "workdays"])
seconds = st.integers(min_value=0, max_value=5 * 86400).map(lambda s: timedelta(seconds=s))
# A pause: how long after the previous event it begins, how long it lasts, and whether a second task
# joins it (overlapping holds, released in the other order).
pauses = st.lists(st.tuples(seconds, seconds, st.booleans()), max_size=4)
checks = settings(max_examples=60)


def _new(start: datetime, target: str, calendar: str) -> dict[str, Any]:
    inputs = {"contract": "c", "level": "P1", "distance_km": None}
    return sc.new_clock("E", inputs, {"target": target, "calendar": calendar}, start, 0.75)


def _on_working_time(calendar: str, moment: datetime) -> bool:
    """Working time, or the very end of a working period (a duration may run out exactly there)."""
    cal = sc.calendar_named(calendar)
    return cal.is_working_time(moment) or cal.is_working_time(moment - MICRO)


def _due(clock: dict[str, Any], business: float) -> datetime:
    """The reference: the start plus `business` seconds on the clock's calendar."""
    cal = sc.calendar_named(clock["calendar"])
    return cal.add(datetime.fromisoformat(clock["started_at"]), timedelta(seconds=business))


def _run_pauses(clock: dict[str, Any], start: datetime, steps: list[Any]) -> list[datetime]:
    """Apply the pauses, checking each against a paused total kept here; the due time before the
    first pause and after each resume."""
    cal = sc.calendar_named(clock["calendar"])
    now, paused, dues = start, 0.0, [datetime.fromisoformat(clock["due_at"])]
    for n, (gap, length, overlap) in enumerate(steps):
        now += gap
        began, middle = now, now + length / 2
        assert sc.pause(clock, f"a{n}", began) is True
        open_part = cal.elapsed(began, middle).total_seconds()
        assert sc.due_of(clock, cal, middle) == _due(clock, clock["target_seconds"] + paused + open_part)
        if overlap:  # a second hold joins; the first is released while the second still holds
            assert sc.pause(clock, f"b{n}", middle) is False
            assert sc.resume(clock, f"a{n}", middle, 0.75) is None
        now += length
        sc.resume(clock, f"b{n}" if overlap else f"a{n}", now, 0.75)
        paused += cal.elapsed(began, now).total_seconds()
        assert clock["state"] == "running"
        assert clock["paused_seconds"] == pytest.approx(paused)
        assert clock["due_at"] == sc.iso(_due(clock, clock["target_seconds"] + paused))
        assert clock["warn_at"] == sc.iso(_due(clock, clock["target_seconds"] * 0.75 + paused))
        dues.append(datetime.fromisoformat(clock["due_at"]))
    return dues


@checks
@given(start=starts, target=targets, calendar=calendars, steps=pauses)
def test_pauses_never_make_the_due_time_earlier(start, target, calendar, steps):
    clock = _new(start, target, calendar)
    dues = _run_pauses(clock, start, steps)
    assert dues == sorted(dues)
    assert len(clock["pauses"]) == len(steps)
    cal = sc.calendar_named(calendar)
    spans = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in clock["pauses"]]
    total = sum((cal.elapsed(a, b) for a, b in spans), timedelta())
    assert clock["paused_seconds"] == pytest.approx(total.total_seconds())


@checks
@given(start=starts, target=targets, calendar=calendars, steps=pauses)
def test_stopped_at_its_due_time_a_clock_used_exactly_its_target(start, target, calendar, steps):
    clock = _new(start, target, calendar)
    _run_pauses(clock, start, steps)
    due = datetime.fromisoformat(clock["due_at"])
    assert sc.remaining_seconds(clock, due) == pytest.approx(0, abs=1e-6)
    sc.stop(clock, due, 0.75)
    assert clock["state"] == "met"
    assert clock["business_seconds"] == pytest.approx(clock["target_seconds"], abs=1e-6)


@checks
@given(start=starts, target=targets, calendar=calendars, steps=pauses)
def test_due_and_warning_times_are_working_time(start, target, calendar, steps):
    clock = _new(start, target, calendar)
    _run_pauses(clock, start, steps)
    due, warn = datetime.fromisoformat(clock["due_at"]), datetime.fromisoformat(clock["warn_at"])
    assert _on_working_time(calendar, due) and _on_working_time(calendar, warn)
    assert datetime.fromisoformat(clock["started_at"]) <= warn <= due


@checks
@given(start=starts, target=targets, calendar=calendars)
def test_add_target_measures_back_to_the_target(start, target, calendar):
    cal = sc.calendar_named(calendar)
    due, _years = sc.add_target(start, target, calendar)
    assert cal.elapsed(start, due).total_seconds() == pytest.approx(sc.target_seconds(start, target, cal))
    assert _on_working_time(calendar, due)
    if calendar == "24x7":
        assert due - start == cal.elapsed(start, due)
