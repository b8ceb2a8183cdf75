"""Business-time calendars for SLA clocks ("respond within 4 working hours", "fix within 3 working days").

Conventions shared by every calendar here:

- all datetimes must be timezone-aware (ValueError otherwise); results come back in the timezone of
  the input, and the arithmetic is done in UTC so a DST change in the caller's zone cannot bend it;
- a working period is half-open, [08:30, 17:30): 17:30 itself is not working time, but a duration
  that runs out exactly at the end of a period ends there (17:30), not at the next morning;
- `add(start, 0)` returns `start` if it is working time, otherwise the next working moment;
- `add` only goes forward (negative durations are refused); `add_working_days` goes both ways.

Holiday data comes from `engine.calendar_data` (chinesecalendar package + override file).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InvalidInput
from engine.sla import calendar_data
from engine.sla.calendar_data import CalendarOverrides, Hours, load_overrides

__all__ = [
    "AlwaysCalendar",
    "Calendar",
    "CalendarOverrides",
    "WorkdayCalendar",
    "add_working_days",
    "get_calendar",
    "load_overrides",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_HOURS: Hours = ((time(8, 30), time(17, 30)),)
ONE_DAY = timedelta(days=1)
ZERO = timedelta(0)

Period = tuple[datetime, datetime]  # UTC bounds of one working period on one day


class Calendar(Protocol):
    name: str

    def add(self, start: datetime, duration: timedelta) -> datetime: ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta: ...

    def is_working_time(self, moment: datetime) -> bool: ...


@runtime_checkable
class DayCalendar(Protocol):
    """A calendar that can also say whether a whole day counts (used by `add_working_days`)."""

    tz: tzinfo

    def is_working_day(self, day: date) -> bool: ...


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no timezone; calendars need aware datetimes")
    return moment.astimezone(UTC)


def _check_duration(duration: timedelta) -> None:
    if duration < ZERO:
        raise ValueError(f"duration {duration} is negative; add() only counts forward")


def _like(start: datetime, moment: datetime) -> datetime:
    """`moment` (UTC) in the timezone of `start`; `start` itself when nothing moved."""
    return start if moment == start else moment.astimezone(start.tzinfo)


class AlwaysCalendar:
    """The "24x7" calendar: every minute counts."""

    name: str = "24x7"

    def add(self, start: datetime, duration: timedelta) -> datetime:
        _check_duration(duration)
        return _like(start, _utc(start) + duration)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return max(ZERO, _utc(end) - _utc(start))

    def is_working_time(self, moment: datetime) -> bool:
        _utc(moment)
        return True


class WorkdayCalendar:
    """Working hours on China's working days: statutory holidays off, make-up weekends (调休) on.

    `hours` are wall-clock periods in `tz`, so a lunch break is two periods. `customer` selects the
    customer's own days off from the override file. Day lookups are cached per instance; create a
    new calendar to see an edited override file.
    """

    def __init__(
        self,
        name: str = "workdays",
        hours: Hours = DEFAULT_HOURS,
        tz: tzinfo = SHANGHAI,
        overrides: CalendarOverrides | None = None,
        weekday_fallback: bool = False,
        customer: str | None = None,
    ) -> None:
        self.name = name
        self.hours = calendar_data.validate_hours(hours)
        self.tz = tz
        self.overrides = overrides if overrides is not None else load_overrides()
        self.weekday_fallback = weekday_fallback
        self.customer = customer
        self._periods_by_day: dict[date, tuple[Period, ...]] = {}

    def is_working_day(self, day: date) -> bool:
        return calendar_data.is_working_day(
            day,
            self.overrides,
            calendar=self.name,
            customer=self.customer,
            weekday_fallback=self.weekday_fallback,
        )

    def _periods(self, day: date) -> tuple[Period, ...]:
        periods = self._periods_by_day.get(day)
        if periods is None:
            periods = ()
            if self.is_working_day(day):
                periods = tuple((self._at(day, begin), self._at(day, end)) for begin, end in self.hours)
            self._periods_by_day[day] = periods
        return periods

    def _at(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.tz).astimezone(UTC)

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def add(self, start: datetime, duration: timedelta) -> datetime:
        cursor = _utc(start)
        _check_duration(duration)
        remaining = duration
        day = self._local_day(cursor)
        # Day by day, so 30 working days cost ~45 iterations; terminates because every known year has
        # working days and an unknown year raises CalendarDataMissing.
        while True:
            for begin, end in self._periods(day):
                if end <= cursor:
                    continue
                begin = max(begin, cursor)
                if remaining <= end - begin:
                    return _like(start, begin + remaining)
                remaining -= end - begin
            day += ONE_DAY

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        low, high = _utc(start), _utc(end)
        total = ZERO
        if high <= low:
            return total
        day, last = self._local_day(low), self._local_day(high)
        while day <= last:
            for begin, finish in self._periods(day):
                total += max(ZERO, min(finish, high) - max(begin, low))
            day += ONE_DAY
        return total

    def is_working_time(self, moment: datetime) -> bool:
        instant = _utc(moment)
        return any(begin <= instant < end for begin, end in self._periods(self._local_day(instant)))


def add_working_days(start: datetime, days: int, calendar: Calendar) -> datetime:
    """The same wall-clock time `days` working days after (or, if negative, before) `start`.

    Days are counted in the calendar's tz; the result is not rolled into working hours, because
    "within 3 working days" means by that time of day. A calendar without `is_working_day` (24x7)
    counts every day.
    """
    instant = _utc(start)
    if days == 0:
        return start
    if isinstance(calendar, DayCalendar):
        zone, counts = calendar.tz, calendar.is_working_day
    else:
        zone, counts = start.tzinfo or UTC, _every_day
    local = instant.astimezone(zone)
    day, step, left = local.date(), (ONE_DAY if days > 0 else -ONE_DAY), abs(days)
    while left:
        day += step
        if counts(day):
            left -= 1
    return datetime.combine(day, local.time(), tzinfo=zone).astimezone(start.tzinfo)


def _every_day(day: date) -> bool:
    return True


def get_calendar(name: str, **options: Any) -> Calendar:
    """A calendar by name: "24x7" (no options) or "workdays" (WorkdayCalendar keyword arguments;
    `hours` may be "09:00-12:00,13:00-18:00" and `tz` a zone name, as stored in contract data)."""
    if name == "24x7":
        if options:
            raise InvalidInput(
                f"calendar '24x7' takes no options, got {sorted(options)}",
                details={"calendar": name, "fields": sorted(options)},
            )
        return AlwaysCalendar()
    if name == "workdays":
        return WorkdayCalendar(**_workday_options(options))
    raise InvalidInput(
        f"unknown calendar {name!r}; known calendars: '24x7', 'workdays'",
        details={"calendar": name, "known": ["24x7", "workdays"]},
    )


def _workday_options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - {"hours", "tz", "overrides", "weekday_fallback", "customer"})
    if unknown:
        raise InvalidInput(
            f"calendar 'workdays' has no option(s) {unknown}",
            details={"calendar": "workdays", "fields": unknown},
        )
    converted = dict(options)
    try:
        if "hours" in converted:
            converted["hours"] = calendar_data.parse_hours(converted["hours"])
        if isinstance(converted.get("tz"), str):
            converted["tz"] = ZoneInfo(converted["tz"])
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise InvalidInput(f"calendar 'workdays': {exc}", details={"calendar": "workdays"}) from exc
    return converted
