"""The rounds of one month of a contract's inspection plan: which site is visited on which day.

Pure: the working days come in through `Days` (the engine's calendar, `PeriodFacts.working_days`), so
the same plan and calendar give the same rounds, and the tests feed it the 2026 calendar itself.
A visit falls on the cadence's day of the month, moved to the next working day; a pre-holiday visit
lies `working_days_before` working days before the first day off of the holiday's break (seed 003 l.91
§1.3.1.2), so a make-up Saturday counts and a weekend joined to the break does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from .inspection_plan import HOLIDAYS, PERIOD_MONTHS, Cadence, ContractPlan, Site

KINDS = {"month": "monthly", "quarter": "quarterly", "half_year": "half_yearly", "holiday": "holiday"}
_DAY = timedelta(days=1)


class Days(Protocol):
    def is_working_day(self, day: date) -> bool: ...

    def provisional(self, year: int) -> bool: ...

    def first_day_off(self, name: str, year: int) -> date | None: ...


@dataclass(frozen=True)
class Round:
    contract: str
    site: Site
    kind: str  # monthly | quarterly | half_yearly | holiday
    planned: date
    holiday: str = ""  # the holiday's Chinese name for a pre-holiday round
    provisional: bool = False  # planned on a year the calendar has no data for

    @property
    def key(self) -> str:
        return f"XJ-{self.contract}-{self.site.id}-{self.planned:%Y%m%d}"


def next_working_day(day: date, days: Days) -> date:
    while not days.is_working_day(day):
        day += _DAY
    return day


def working_days_before(day: date, count: int, days: Days) -> date:
    while count:
        day -= _DAY
        if days.is_working_day(day):
            count -= 1
    return day


def _regular(cadence: Cadence, year: int, month: int, days: Days) -> list[tuple[date, str]]:
    if (month - 1) % PERIOD_MONTHS[cadence.every] != cadence.month - 1:
        return []
    return [(next_working_day(date(year, month, cadence.day), days), "")]


def _before_holidays(cadence: Cadence, year: int, month: int, days: Days) -> list[tuple[date, str]]:
    found = []
    for name in cadence.holidays:
        # New Year's visit falls in the December before; other months need not ask the next year
        for holiday_year in (year, year + 1) if month == 12 else (year,):
            first = days.first_day_off(name, holiday_year)
            if first is None:
                continue
            visit = working_days_before(first, cadence.working_days_before, days)
            if (visit.year, visit.month) == (year, month):
                found.append((visit, name))
    return found


def rounds(plan: ContractPlan, year: int, month: int, days: Days) -> list[Round]:
    """The rounds of `plan` whose visit falls in the month, by date and site; one round per site and
    day (a quarterly and a pre-holiday visit on the same day of the same room are one visit)."""
    chosen: dict[tuple[date, str], Round] = {}
    for cadence in plan.cadences:
        visits = (_before_holidays if cadence.every == "holiday" else _regular)(cadence, year, month, days)
        for planned, holiday in visits:
            if (cadence.start and planned < cadence.start) or (cadence.until and planned > cadence.until):
                continue
            provisional = days.provisional(planned.year) or (
                bool(holiday) and days.provisional(planned.year + (planned.month == 12)))
            for site_id in cadence.sites:
                found = Round(plan.code, plan.sites[site_id], KINDS[cadence.every], planned,
                              HOLIDAYS.get(holiday, ""), provisional)
                chosen.setdefault((planned, site_id), found)
    return [chosen[k] for k in sorted(chosen)]
