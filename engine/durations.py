"""ISO 8601 durations and month arithmetic: the one parser the engine uses for them.

SLA targets (`PT4H`, `P3M`), start-timer cycles and the simulation clock's `advance` all read
durations here, so a value that one accepts the others accept too. The date part (years, months)
moves the calendar date, clamped to the month's last day: P1M from 31 January is 28/29 February, as
a person reading a contract expects. SpiffWorkflow's own parser is lax (it takes `P` alone) and turns
months into days, so it is not used for this.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.errors import InvalidInput

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class Duration:
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: float = 0.0
    minutes: float = 0.0
    seconds: float = 0.0

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months

    @property
    def time_part(self) -> timedelta:
        return timedelta(hours=self.hours, minutes=self.minutes, seconds=self.seconds)


def parse_duration(text: str, field: str = "duration") -> Duration:
    """Raises InvalidInput naming `field` unless `text` is an ISO 8601 duration with at least one part."""
    match = _DURATION.match(str(text).strip().upper())
    if match is None:
        raise InvalidInput(
            f"not an ISO 8601 duration such as PT4H or P3M: {text!r}",
            details={"fields": {field: "not an ISO 8601 duration"}},
        )
    part = {k: v or "0" for k, v in match.groupdict().items()}
    return Duration(
        years=int(part["years"]), months=int(part["months"]),
        weeks=int(part["weeks"]), days=int(part["days"]),
        hours=float(part["hours"]), minutes=float(part["minutes"]), seconds=float(part["seconds"]),
    )


def shift_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock day `months` later (or earlier), clamped to the target month's length."""
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_duration(start: datetime, text: str, times: int = 1) -> datetime:
    """`start` plus `times` the duration in calendar time (months by date, the rest as elapsed time)."""
    d = parse_duration(text)
    moved = shift_months(start, d.total_months * times) if d.total_months else start
    return moved + (timedelta(weeks=d.weeks, days=d.days) + d.time_part) * times
