"""Cron start cycles as the Camunda Modeler writes them: the 5-field crontab line, and Camunda's own
Quartz lines of 6 fields (seconds first) or 7 (a year last), each read into an APScheduler trigger.

The two count weekdays differently: crontab from Sunday as 0 (and 7 again), Quartz from Sunday as 1;
APScheduler itself from Monday as 0. Numbers are therefore turned into day names, which all three
read alike. Quartz's `?` ("no specific value") is `*`; `L` (last day of the month, or `6L` the last
Friday) and `6#3` (the third Friday) have APScheduler equivalents; `W` (nearest weekday) has none and
is refused.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_ORDINALS = {"1": "1st", "2": "2nd", "3": "3rd", "4": "4th", "5": "5th"}
_RANGE = re.compile(r"(\d)(?:-(\d))?(/\d+)?")


def _day(number: int, first: int) -> str:
    if not first <= number <= 7:
        raise ValueError(f"weekday {number} is out of range ({first}-7)")
    return _NAMES[(number - first) % 7]


def _weekdays(field: str, first: int) -> str:
    """Numeric weekdays (Sunday = `first`) as names; a range is listed day by day, so that one that
    runs through Sunday works too."""
    out: list[str] = []
    for part in field.split(","):
        found = _RANGE.fullmatch(part)
        if found is None:
            out.append(part.lower())  # names, `*`, `?`: read alike
            continue
        if found.group(3):
            raise ValueError(f"a weekday step ({part!r}) is not supported; list the days")
        low, high = int(found.group(1)), int(found.group(2) or found.group(1))
        out.extend(_day(d, first) for d in range(low, high + 1))
    return ",".join(dict.fromkeys(out))


def _quartz_days(day: str, weekday: str) -> tuple[str, str]:
    """(day, day_of_week) for APScheduler, which reads `last fri` and `3rd fri` as days of the month."""
    if "W" in day.upper():
        raise ValueError(f"the nearest-weekday form {day!r} is not supported")
    weekday = weekday.replace("?", "*")
    if (last := re.fullmatch(r"(\d)L", weekday)) is not None:
        return f"last {_day(int(last.group(1)), 1)}", "*"
    if (nth := re.fullmatch(r"(\d)#([1-5])", weekday)) is not None:
        return f"{_ORDINALS[nth.group(2)]} {_day(int(nth.group(1)), 1)}", "*"
    return ("last" if day.upper() == "L" else day.replace("?", "*")), _weekdays(weekday, 1)


def trigger(text: str, zone: ZoneInfo) -> Any:
    from apscheduler.triggers.cron import CronTrigger

    fields = text.split()
    if len(fields) == 5:
        fields[4] = _weekdays(fields[4], 0)
        return CronTrigger.from_crontab(" ".join(fields), timezone=zone)
    if len(fields) in (6, 7):
        second, minute, hour, day, month, weekday, *year = fields
        day, weekday = _quartz_days(day, weekday)
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=weekday,
                           year=year[0] if year else None, timezone=zone)
    raise ValueError(f"a cron line has 5 fields (crontab) or 6 or 7 (Quartz, as Camunda); this one has "
                     f"{len(fields)}")
