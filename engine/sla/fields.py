"""Clocks bound to what the form says: started only when the case's data owes the promise
(`sla.start_if`), counted from a moment the form records (`sla.start_from`), stopped at one
(`sla.stop_at`). A service desk's report brings the call's arrival and answer times with it, so the
clock of the answer is measured from them and is met or breached already when the fault is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from engine.bpmn.forms import moment_of
from engine.bpmn.model import split_pairs


def _given(value: object) -> bool:
    return value is True or (isinstance(value, str) and bool(value.strip()))


def owed(properties: Mapping[str, str], clock: str, data: Mapping[str, object]) -> bool:
    """Every `sla.start_if` entry of the clock holds: `field` was given, `field:value` has the value
    (the e-mail reply only for a fault that came by e-mail)."""
    for name, condition in split_pairs(properties.get("sla.start_if")):
        field, has_value, value = condition.partition(":")
        if name == clock and not (data.get(field) == value if has_value else _given(data.get(field))):
            return False
    return True


def _moment(properties: Mapping[str, str], key: str, clock: str,
            data: Mapping[str, object]) -> datetime | None:
    for name, field in split_pairs(properties.get(key)):
        value = data.get(field)
        if name == clock and isinstance(value, str) and value.strip():
            return moment_of(value)  # the form checked it is a date, not after now
    return None


def started_at(properties: Mapping[str, str], clock: str, data: Mapping[str, object],
               now: datetime) -> datetime:
    """When the clock counts from: the recorded moment (a date: its day's start in Beijing, e.g. a
    contract's signing day), never later than now; else the element's entry."""
    moment = _moment(properties, "sla.start_from", clock, data)
    return now if moment is None else min(moment, now)


def stops_at(properties: Mapping[str, str], data: Mapping[str, object]) -> dict[str, datetime]:
    """The clocks this element stops at a moment its form recorded, and that moment."""
    out = {}
    for clock, _ in split_pairs(properties.get("sla.stop_at")):
        moment = _moment(properties, "sla.stop_at", clock, data)
        if moment is not None:
            out[clock] = moment
    return out
