"""The named statutory holidays of a year and the working days around them, for plans made from the
calendar (the pre-holiday inspections of seed 003 l.91 §1.3.1.2: 元旦、春节、五一节、中秋节、国庆节).

A holiday is named by the day it celebrates (its anchor): fixed days for New Year, May Day and National
Day, the lunisolar calendar for the Spring Festival and Mid-Autumn, so a year the State Council has not
published yet still has its holidays; which days around the anchor are off comes from the working
calendar (engine.sla.calendar_data), so a make-up working day (调休) is a working day here too.
"""

from __future__ import annotations

from datetime import date, timedelta

from engine.sla.calendar import get_calendar
from engine.sla.calendar_data import load_overrides, year_source

FIXED = {"new_year": (1, 1), "labour_day": (5, 1), "national_day": (10, 1)}
LUNAR = ("spring_festival", "mid_autumn")
NAMES = tuple(FIXED) + LUNAR
# The longest statutory break (Spring Festival, National Day: 8-9 days with the weekends) and a margin.
_LONGEST_BREAK = 12


def _lunar(name: str, year: int) -> date | None:
    try:  # the holidays package's own lunisolar table (1901-2099), which its China calendar uses
        from holidays.calendars.chinese import _ChineseLunisolar
    except ImportError:
        return None
    table = _ChineseLunisolar()
    found = table.lunar_new_year_date(year) if name == "spring_festival" else table.mid_autumn_date(year)
    return found[0] if isinstance(found, tuple) else found


def anchor(name: str, year: int) -> date | None:
    """The day holiday `name` celebrates in `year`; None for a name not in NAMES or out of the table."""
    if name in FIXED:
        return date(year, *FIXED[name])
    return _lunar(name, year) if name in LUNAR else None


class WorkingDays:
    """Answers for one calendar name ('workdays', 'workdays@<customer>'); a year without data counts
    Monday-Friday and is provisional, as the SLA clocks count it."""

    def __init__(self, calendar: str = "workdays") -> None:
        self.calendar = get_calendar(calendar, weekday_fallback=True)
        self.overrides = load_overrides()

    def is_working_day(self, day: date) -> bool:
        return bool(self.calendar.is_working_day(day))  # type: ignore[attr-defined]

    def provisional(self, year: int) -> bool:
        return year_source(year, self.overrides) is None

    def first_day_off(self, name: str, year: int) -> date | None:
        """The first day of the break holding the anchor: the run of days off it belongs to (the
        weekend before it included), or None when the anchor falls on a working day. In a year without
        data the anchor itself is taken as off (the notice will name it), provisionally."""
        day = anchor(name, year)
        if day is None or (self.is_working_day(day) and not self.provisional(day.year)):
            return None
        for _ in range(_LONGEST_BREAK):
            if self.is_working_day(day - timedelta(days=1)):
                return day
            day -= timedelta(days=1)
        return day
