"""Which days are working days, and the working-hours option parsing for `engine.calendar`.

The calendar libraries (`engine.sla.calendar_sources`) are the maintained source for China's
statutory holidays and make-up working days (调休). They only know the years published before their
release, and a contract may add days of its own, so a process owner edits a JSON override file that
wins over them. A year that neither has is counted Monday-Friday and called provisional.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

from engine.errors import CalendarDataMissing
from engine.sla.calendar_sources import source_for

log = logging.getLogger("weibao.calendar")

DEFAULT_OVERRIDES_PATH = Path(__file__).parent / "data" / "calendar_overrides.json"
OVERRIDES_ENV = "WEIBAO_CALENDAR_OVERRIDES"

Hours = tuple[tuple[time, time], ...]

_YEAR_KEYS = {"comment", "holidays", "workdays", "customer_days_off"}
# Keyed by (calendar name, year): calendars are created per use, and one warning per year is enough.
_warned_fallback: set[tuple[str, int]] = set()
_cache: dict[tuple[str, int, int], CalendarOverrides] = {}


@dataclass(frozen=True)
class YearOverride:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    customer_days_off: Mapping[str, frozenset[date]] = field(default_factory=dict)

    def decide(self, day: date, customer: str | None) -> bool | None:
        """True/False if this override settles the day, None to fall through to the package."""
        if customer is not None and day in self.customer_days_off.get(customer, frozenset()):
            return False
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return None

    @property
    def statutory(self) -> bool:
        """Does the entry carry the year's notice? Customer days off alone do not make a year known."""
        return bool(self.holidays or self.workdays)


@dataclass(frozen=True)
class CalendarOverrides:
    years: Mapping[int, YearOverride] = field(default_factory=dict)
    source: str = "<none>"


def load_overrides(path: str | Path | None = None) -> CalendarOverrides:
    """Read an override file: `path`, else $WEIBAO_CALENDAR_OVERRIDES, else the shipped file."""
    chosen = Path(path if path is not None else os.environ.get(OVERRIDES_ENV) or DEFAULT_OVERRIDES_PATH)
    # Re-read only when the file changes, so that every calendar creation does not parse JSON.
    stat = chosen.stat()
    key = (str(chosen.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _cache:
        with chosen.open(encoding="utf-8") as handle:
            _cache[key] = parse_overrides(json.load(handle), source=str(chosen))
    return _cache[key]


# Any: JSON as the override file or the decision gives it, checked here field by field
def parse_overrides(raw: Any, source: str = "<data>") -> CalendarOverrides:
    if not isinstance(raw, dict) or not isinstance(raw.get("years", {}), dict):
        raise ValueError(f"{source}: expected an object with a 'years' object")
    unknown = set(raw) - {"comment", "years"}
    if unknown:
        raise ValueError(f"{source}: unknown keys {sorted(unknown)}")
    years: dict[int, YearOverride] = {}
    for key, entry in raw.get("years", {}).items():
        if not (isinstance(key, str) and len(key) == 4 and key.isdigit()):
            raise ValueError(f'{source}: year key {key!r} must be four digits, e.g. "2027"')
        years[int(key)] = _parse_year(int(key), entry, f"{source}: years.{key}")
    return CalendarOverrides(years=years, source=source)


# Any: JSON as the override file or the decision gives it, checked here field by field
def _parse_year(year: int, entry: Any, where: str) -> YearOverride:
    if not isinstance(entry, dict) or set(entry) - _YEAR_KEYS:
        raise ValueError(f"{where}: expected an object with keys among {sorted(_YEAR_KEYS)}")
    holidays = _parse_dates(year, entry.get("holidays", []), f"{where}.holidays")
    workdays = _parse_dates(year, entry.get("workdays", []), f"{where}.workdays")
    clash = holidays & workdays
    if clash:
        raise ValueError(f"{where}: {sorted(d.isoformat() for d in clash)} listed as holiday and workday")
    customers = entry.get("customer_days_off", {})
    if not isinstance(customers, dict):
        raise ValueError(f"{where}.customer_days_off: expected an object of customer -> list of dates")
    days_off = {
        str(name): _parse_dates(year, days, f"{where}.customer_days_off.{name}")
        for name, days in customers.items()
    }
    return YearOverride(holidays=holidays, workdays=workdays, customer_days_off=days_off)


# Any: JSON as the override file or the decision gives it, checked here field by field
def _parse_dates(year: int, values: Any, where: str) -> frozenset[date]:
    if not isinstance(values, list):
        raise ValueError(f"{where}: expected a list of dates")
    days = set()
    for value in values:
        try:
            day = date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None
        if day.year != year:
            raise ValueError(f"{where}: {value} is not in {year}")
        days.add(day)
    return frozenset(days)


def is_working_day(
    day: date,
    overrides: CalendarOverrides,
    *,
    calendar: str = "workdays",
    customer: str | None = None,
    weekday_fallback: bool = False,
    provisional: frozenset[int] = frozenset(),
) -> bool:
    """`provisional`: years to count Monday-Friday even if data for them has arrived since, so a clock
    decided on the fallback keeps its arithmetic until it is re-targeted."""
    entry = overrides.years.get(day.year)
    if entry is not None:
        decided = entry.decide(day, customer)
        if decided is not None and (day.year not in provisional or not entry.statutory):
            return decided
    if day.year not in provisional:
        source = source_for(day.year)
        if source is not None:
            return source.is_working_day(day)
        if entry is not None and entry.statutory:
            return day.weekday() < 5
        if not weekday_fallback:
            raise CalendarDataMissing(day.year, calendar)
        _warn_fallback(calendar, day.year)
    return day.weekday() < 5


def year_source(year: int, overrides: CalendarOverrides) -> str | None:
    """Where the working days of `year` come from; None when nothing has it (Monday-Friday, provisional)."""
    entry = overrides.years.get(year)
    if entry is not None and entry.statutory:
        return f"override file {overrides.source}"
    source = source_for(year)
    return source.name if source is not None else None


def _warn_fallback(calendar: str, year: int) -> None:
    if (calendar, year) in _warned_fallback:
        return
    _warned_fallback.add((calendar, year))
    log.warning(
        "no holiday data for %d (calendar %r): counting Monday-Friday as working days; "
        "add the year to the calendar override file",
        year,
        calendar,
    )


def validate_hours(hours: Hours) -> Hours:
    """Periods must be ordered, non-overlapping, and inside one day (none runs through midnight)."""
    if not hours:
        raise ValueError("working hours need at least one (start, end) period")
    previous_end: time | None = None
    for start, end in hours:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("working hours are wall-clock times in the calendar's tz; drop the tzinfo")
        if start >= end:
            raise ValueError(f"working period {start}-{end} must end after it starts, on the same day")
        if previous_end is not None and start < previous_end:
            raise ValueError("working periods must be in order and must not overlap")
        previous_end = end
    return tuple(hours)


# Any: JSON as the override file or the decision gives it, checked here field by field
def parse_hours(value: Any) -> Hours:
    """Accept contract configuration: "09:00-12:00,13:00-18:00", ["09:00-18:00"], or (start, end) pairs."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"working hours {value!r}: expected e.g. '09:00-18:00' or a list of periods")
    return validate_hours(tuple(_parse_period(item) for item in items))


# Any: JSON as the override file or the decision gives it, checked here field by field
def _parse_period(item: Any) -> tuple[time, time]:
    parts = item.split("-") if isinstance(item, str) else item
    if not isinstance(parts, list | tuple) or len(parts) != 2:
        raise ValueError(f"working period {item!r}: expected 'HH:MM-HH:MM' or a (start, end) pair")
    return _parse_time(parts[0]), _parse_time(parts[1])


# Any: JSON as the override file or the decision gives it, checked here field by field
def _parse_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise ValueError(f"{value!r} is not a time of day (HH:MM)") from None
