"""The libraries that know China's statutory holidays and make-up working days (调休), year by year.

Two maintained packages publish the State Council's yearly notice: `chinesecalendar` (a release a
year, raises for a year it lacks) and `holidays` (a release a month; it computes any year's festivals
by rule, but has make-up working days only for the years whose notice it has transcribed). A year
counts as known by a source only when the source has that year's notice, because festivals without
their make-up Saturdays give the wrong working days. They agree on 2006-2026 (tests/test_calendar_years.py).

For each year the newest source that has it answers: newest means the one whose data reaches the
latest year, and `holidays` on a tie, since it is released more often and so corrected sooner.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import metadata
from typing import Protocol

import chinese_calendar

# Years before the first notice either package has, and far enough ahead for any release.
_FIRST_YEAR, _PROBE_UNTIL = 2000, 2100


class YearSource(Protocol):
    name: str

    def has_year(self, year: int) -> bool: ...

    def is_working_day(self, day: date) -> bool: ...


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


class ChineseCalendarSource:
    def __init__(self) -> None:
        self.name = f"chinesecalendar {_version('chinesecalendar')}"

    @cache  # noqa: B019 - one instance per process; the years a release knows never change
    def has_year(self, year: int) -> bool:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def is_working_day(self, day: date) -> bool:
        return bool(chinese_calendar.is_workday(day))


class HolidaysSource:
    def __init__(self) -> None:
        from holidays.countries.china import ChinaStaticHolidays

        self.name = f"holidays {_version('holidays')}"
        # The transcribed notices: each year's moved days and their make-up working days.
        self._notices = frozenset(ChinaStaticHolidays.special_public_holidays)

    def has_year(self, year: int) -> bool:
        return year in self._notices

    @cache  # noqa: B019 - as above
    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        import holidays

        china = holidays.China(years=year)
        return frozenset(china), frozenset(china.weekend_workdays)

    def is_working_day(self, day: date) -> bool:
        days_off, make_up = self._year(day.year)
        return day not in days_off and (day.weekday() < 5 or day in make_up)


def last_year(source: YearSource) -> int:
    return max((y for y in range(_FIRST_YEAR, _PROBE_UNTIL) if source.has_year(y)), default=0)


@cache
def sources() -> tuple[YearSource, ...]:
    """The installed sources, newest first."""
    found: list[YearSource] = [ChineseCalendarSource()]
    try:
        found.insert(0, HolidaysSource())
    except ImportError:
        pass  # a deployment without the package keeps chinesecalendar alone
    return tuple(sorted(found, key=last_year, reverse=True))  # stable: holidays first on a tie


def source_for(year: int) -> YearSource | None:
    return next((s for s in sources() if s.has_year(year)), None)
