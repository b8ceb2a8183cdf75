"""Inspection plans per contract as data (data/inspection_plans.json): the sites of a contract and the
cadences that visit them (seed 001 §4.2.4 / §5.2, 003 l.21 and l.91 §1.3.1, 000 l.88, 004 l.379).

`load_plans` reads and checks the file whole; a wrong entry is refused with the contract and the field
it names, so a process owner who edits the file sees what to fix before any round is planned from it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

DEFAULT_PLANS = Path(__file__).resolve().parent / "data" / "inspection_plans.json"
EVERY = ("month", "quarter", "half_year", "holiday")
HOLIDAYS = {"new_year": "元旦", "spring_festival": "春节", "labour_day": "五一节", "mid_autumn": "中秋节",
            "national_day": "国庆节"}
SITE_KINDS = ("core", "end_office", "site")
PERIOD_MONTHS = {"month": 1, "quarter": 3, "half_year": 6}


class PlanError(ValueError):
    """A plan entry that cannot be used; the message names the contract and the field."""


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class Cadence:
    every: str
    sites: tuple[str, ...]  # site ids
    month: int = 1
    day: int = 10
    start: date | None = None
    until: date | None = None
    holidays: tuple[str, ...] = ()
    working_days_before: int = 1


@dataclass(frozen=True)
class ContractPlan:
    code: str
    customer: str
    calendar: str
    reconfirm_days_before: int
    sites: dict[str, Site]
    cadences: tuple[Cadence, ...]


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PlanError(f"{where}.{key}: a non-empty text is required")
    return value


def _int(entry: dict[str, Any], key: str, where: str, default: int, low: int, high: int) -> int:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PlanError(f"{where}.{key}: a whole number from {low} to {high} is required, got {value!r}")
    return value


def _date(entry: dict[str, Any], key: str, where: str) -> date | None:
    value = entry.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PlanError(f"{where}.{key}: a date YYYY-MM-DD is required, got {value!r}") from None


def _site(entry: Any, where: str) -> Site:
    if not isinstance(entry, dict):
        raise PlanError(f"{where}: an object with id, name and kind is required")
    kind = _text(entry, "kind", where)
    if kind not in SITE_KINDS:
        raise PlanError(f"{where}.kind: {kind!r} is not one of {', '.join(SITE_KINDS)}")
    return Site(_text(entry, "id", where), _text(entry, "name", where), kind)


def _site_ids(value: Any, sites: dict[str, Site], where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        chosen = tuple(s.id for s in sites.values() if s.kind == value)
        if not chosen:
            raise PlanError(f"{where}.sites: no site of kind {value!r}")
        return chosen
    if not isinstance(value, list) or not value:
        raise PlanError(f"{where}.sites: a site kind or a list of site ids is required")
    unknown = [s for s in value if s not in sites]
    if unknown:
        raise PlanError(f"{where}.sites: unknown site id(s) {unknown}")
    return tuple(value)


def _cadence(entry: Any, sites: dict[str, Site], where: str) -> Cadence:
    if not isinstance(entry, dict):
        raise PlanError(f"{where}: an object is required")
    every = _text(entry, "every", where)
    if every not in EVERY:
        raise PlanError(f"{where}.every: {every!r} is not one of {', '.join(EVERY)}")
    _text(entry, "seed", where)  # every promise cites the contract line it comes from
    holidays = entry.get("holidays", [])
    named = isinstance(holidays, list) and bool(holidays) and all(h in HOLIDAYS for h in holidays)
    if every == "holiday" and not named:
        raise PlanError(f"{where}.holidays: a list of {', '.join(HOLIDAYS)} is required, got {holidays!r}")
    start, until = _date(entry, "from", where), _date(entry, "until", where)
    if start and until and until < start:
        raise PlanError(f"{where}.until: {until} is before from {start}")
    return Cadence(every, _site_ids(entry.get("sites"), sites, where),
                   _int(entry, "month", where, 1, 1, PERIOD_MONTHS.get(every, 1)),
                   _int(entry, "day", where, 10, 1, 28), start, until, tuple(holidays),
                   _int(entry, "working_days_before", where, 1, 1, 10))


def parse_plan(code: str, entry: Any, source: str) -> ContractPlan:
    where = f"{source}: {code}"
    if not isinstance(entry, dict):
        raise PlanError(f"{where}: an object is required")
    raw_sites = entry.get("sites")
    if not isinstance(raw_sites, list) or not raw_sites:
        raise PlanError(f"{where}.sites: a list of sites is required")
    sites: dict[str, Site] = {}
    for n, raw in enumerate(raw_sites):
        site = _site(raw, f"{where}.sites[{n}]")
        if site.id in sites:
            raise PlanError(f"{where}.sites[{n}].id: {site.id!r} is listed twice")
        sites[site.id] = site
    raw_cadences = entry.get("cadences")
    if not isinstance(raw_cadences, list) or not raw_cadences:
        raise PlanError(f"{where}.cadences: a list of cadences is required")
    cadences = tuple(_cadence(c, sites, f"{where}.cadences[{n}]") for n, c in enumerate(raw_cadences))
    calendar = str(entry.get("calendar") or "workdays")
    if calendar != "workdays" and not calendar.startswith("workdays@"):
        raise PlanError(f"{where}.calendar: 'workdays' or 'workdays@<customer>' is required, "
                        f"got {calendar!r}")
    return ContractPlan(code, _text(entry, "customer", where), calendar,
                        _int(entry, "reconfirm_days_before", where, 3, 1, 10), sites, cadences)


def load_plans(path: object = None) -> dict[str, ContractPlan]:
    chosen = Path(str(path or os.environ.get("WEIBAO_INSPECTION_PLANS") or DEFAULT_PLANS))
    try:
        raw = json.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanError(f"inspection plans {chosen} cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise PlanError(f"inspection plans {chosen}: an object keyed by contract is required")
    return {code: parse_plan(code, entry, chosen.name) for code, entry in raw.items()
            if not code.startswith("_")}
