"""Business-time calendars for SLA clocks ("respond within 4 working hours", "fix within 3 working days").

Conventions shared by every calendar here:

- all datetimes must be timezone-aware (ValueError otherwise); results come back in the timezone of
  the input, and the arithmetic is done in UTC so a DST change in the caller's zone cannot bend it;
- a working period is half-open, [08:30, 17:30): 17:30 itself is not working time, but a duration
  that runs out exactly at the end of a period ends there (17:30), not at the next morning;
- `add(start, 0)` returns `start` if it is working time, otherwise the next working moment;
- `add` only goes forward (negative durations are refused); `add_working_days` goes both ways.

Holiday data comes from `engine.sla.calendar_data` (calendar libraries + override file).

Calendar names, as a contract row of sla_targets gives them:

- "24x7" or "7x24": every minute counts (seed 004 line 633: 7×24 telephone support);
- "workdays": Monday-Friday 08:30-17:30 on China's working days;
- "workdays_0830_1730", "workdays_0900_1200_1300_1800": the same with the hours in the name, one
  HHMM_HHMM pair per period (seed 004 lines 645-649: 星期一至星期五上午8:30至下午5:30);
- any workdays name + "@<customer>": also the customer's own days off from the override file.
"""

from __future__ import annotations

import re
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
        provisional: frozenset[int] = frozenset(),
    ) -> None:
        self.name = name
        self.hours = calendar_data.validate_hours(hours)
        self.tz = tz
        self.overrides = overrides if overrides is not None else load_overrides()
        self.weekday_fallback = weekday_fallback
        self.customer = customer
        self.provisional = provisional
        self._periods_by_day: dict[date, tuple[Period, ...]] = {}

    def with_provisional(self, years: frozenset[int]) -> WorkdayCalendar:
        """The same calendar counting `years` Monday-Friday whatever data has arrived for them."""
        return WorkdayCalendar(self.name, self.hours, self.tz, self.overrides, self.weekday_fallback,
                               self.customer, years)

    def provisional_years(self, start: datetime, end: datetime) -> frozenset[int]:
        """The years between `start` and `end` (local dates) whose working days are the Mon-Fri guess."""
        first, last = self._local_day(_utc(start)).year, self._local_day(_utc(end)).year
        return frozenset(
            y for y in range(first, last + 1)
            if y in self.provisional or calendar_data.year_source(y, self.overrides) is None
        )

    def is_working_day(self, day: date) -> bool:
        return calendar_data.is_working_day(
            day,
            self.overrides,
            calendar=self.name,
            customer=self.customer,
            weekday_fallback=self.weekday_fallback,
            provisional=self.provisional,
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
        # working days and an unknown year either raises CalendarDataMissing or counts Mon-Fri.
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


ALWAYS_NAMES = ("24x7", "7x24")
_WORKDAYS_NAME = re.compile(r"workdays((?:_\d{4}_\d{4})*)(?:@(.+))?")


def get_calendar(name: str, **options: Any) -> Calendar:
    """A calendar by name (see the module docstring), with WorkdayCalendar keyword arguments for a
    workdays name (`hours` may be "09:00-12:00,13:00-18:00" and `tz` a zone name)."""
    if name in ALWAYS_NAMES:
        if options:
            raise InvalidInput(
                f"calendar {name!r} takes no options, got {sorted(options)}",
                details={"calendar": name, "fields": sorted(options)},
            )
        return AlwaysCalendar()
    match = _WORKDAYS_NAME.fullmatch(name)
    if match is None:
        raise InvalidInput(
            f"unknown calendar {name!r}; known calendars: '24x7' / '7x24', 'workdays', "
            "'workdays_HHMM_HHMM[...]', each workdays name optionally '@<customer>'",
            details={"calendar": name, "known": ["24x7", "7x24", "workdays"]},
        )
    named = _named_options(name, match)
    clash = sorted(set(named) & set(options))
    if clash:
        raise InvalidInput(f"calendar {name!r} already sets {clash}", details={"calendar": name})
    calendar = WorkdayCalendar(**_workday_options({**named, **options}))
    calendar.name = name
    return calendar


def _named_options(name: str, match: re.Match[str]) -> dict[str, Any]:
    named: dict[str, Any] = {}
    digits = [d for d in match.group(1).split("_") if d]
    if digits:
        if len(digits) % 2:
            raise InvalidInput(f"calendar {name!r}: hours come in HHMM_HHMM pairs",
                               details={"calendar": name})
        named["hours"] = [f"{a[:2]}:{a[2:]}-{b[:2]}:{b[2:]}" for a, b in zip(digits[::2], digits[1::2],
                                                                              strict=True)]
    if match.group(2):
        named["customer"] = match.group(2)
    return named


def _workday_options(options: dict[str, Any]) -> dict[str, Any]:
    known = {"hours", "tz", "overrides", "weekday_fallback", "customer", "provisional"}
    unknown = sorted(set(options) - known)
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
    except (ValueError, TypeError, ZoneInfoNotFoundError) as exc:
        raise InvalidInput(f"calendar 'workdays': {exc}", details={"calendar": "workdays"}) from exc
    return converted
