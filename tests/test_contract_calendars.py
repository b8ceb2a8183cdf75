"""Working calendars per contract (issue 15): the calendar a clock counts on is named by the contract's
row in processes/sla_targets.dmn, and every name the table may give resolves: always-on (7x24),
working hours written in the name (5x8 08:30-17:30), and a customer's own days off.

Seed 004_777e0ef8db92c2e8.txt line 633: 5×8 on site and 7×24 by telephone; lines 645-649: 星期一至
星期五上午8:30至下午5:30; line 545: 5×8 standard telephone support, 7×24 emergency telephone support."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.errors import InvalidInput
from engine.sla import calendar_data
from engine.sla.calendar import AlwaysCalendar, WorkdayCalendar, get_calendar

from .conftest import ROOT, START
from .engine_support import DATA
from .scenario_support import BJ
from .test_sla_engine import clock_of

DMN = ROOT / "processes" / "sla_targets.dmn"
H = timedelta(hours=1)


def sh(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BJ)  # type: ignore[misc]


def test_always_on_names() -> None:
    # seed 004 line 637: 7×24 telephone support; "24x7" is the older spelling of the same calendar
    assert isinstance(get_calendar("7x24"), AlwaysCalendar)
    assert isinstance(get_calendar("24x7"), AlwaysCalendar)
    assert get_calendar("7x24").add(sh(2026, 3, 7, 23), H) == sh(2026, 3, 8, 0)  # Saturday night counts


def test_hours_in_the_name() -> None:
    # seed 004 lines 645-649: Monday to Friday 8:30 to 17:30 on site
    five_by_eight = get_calendar("workdays_0830_1730")
    assert isinstance(five_by_eight, WorkdayCalendar) and five_by_eight.name == "workdays_0830_1730"
    assert five_by_eight.add(sh(2026, 3, 6, 17), H) == sh(2026, 3, 9, 9)  # Friday 17:00 + 1 h
    assert not five_by_eight.is_working_time(sh(2026, 3, 2, 8, 29))
    assert five_by_eight.is_working_time(sh(2026, 3, 2, 8, 30))
    lunch = get_calendar("workdays_0900_1200_1300_1800")
    assert lunch.add(sh(2026, 3, 2, 11), 2 * H) == sh(2026, 3, 2, 14)  # the lunch hour does not count
    assert get_calendar("workdays").add(sh(2026, 3, 2, 17), H) == five_by_eight.add(sh(2026, 3, 2, 17), H)


def write_overrides(path: Path, years: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"comment": "test", "years": years}), encoding="utf-8")
    return path


def test_customer_days_off_by_customer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    days_off = {"2026": {"customer_days_off": {"acme": ["2026-03-02"], "辽宁XX": ["2026-03-03"]}}}
    monkeypatch.setenv(calendar_data.OVERRIDES_ENV, str(write_overrides(tmp_path / "o.json", days_off)))
    monday = sh(2026, 3, 2, 10)
    assert not get_calendar("workdays@acme").is_working_time(monday)
    assert get_calendar("workdays_0830_1730@辽宁XX").is_working_time(monday)
    assert not get_calendar("workdays_0830_1730@辽宁XX").is_working_time(sh(2026, 3, 3, 10))
    assert get_calendar("workdays_0830_1730").is_working_time(monday)  # no customer: no own days off


@pytest.mark.parametrize("name", ["5x8", "workdays_0830", "workdays_2500_2600", "workdays_1730_0830",
                                  "workdays@", "always", "7x24@acme"])
def test_unknown_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        get_calendar(name)


def _table_calendars() -> dict[str, str]:
    text = DMN.read_text(encoding="utf-8")
    rules = re.findall(r'<rule id="([^"]+)">(.*?)</rule>', text, re.S)
    # the calendar is the second output (after the target, before the rung columns)
    return {rid: re.findall(r'_out2">\s*<text>(.*?)</text>', body, re.S)[0].strip('"') for rid, body in rules}


def test_every_calendar_the_table_names_resolves() -> None:
    calendars = _table_calendars()
    for name in set(calendars.values()):
        get_calendar(name)  # raises InvalidInput for a name nobody can count on
    # seed 004 line 633 / 645-649: the integration contract's on-site clock counts 5×8, its phone clocks 7×24
    assert calendars["r004_onsite_arrival"] == "workdays_0830_1730"
    assert {calendars[r] for r in ("r004_response", "r004_emergency_response",
                                   "r004_emergency_onsite_arrival")} == {"7x24"}


def _deploy_with_response_calendar(svc: Any, calendar: str) -> None:
    """sla_response with seed 004's response row counting on `calendar` (a contract row edited as a
    process owner would)."""
    text = DMN.read_text(encoding="utf-8")
    rule = re.search(r'<rule id="r004_response">.*?</rule>', text, re.S)
    assert rule is not None
    edited = rule.group(0).replace('<text>"7x24"</text>', f'<text>"{calendar}"</text>')
    dmn = (text[: rule.start()] + edited + text[rule.end():]).encode()
    svc.runtime.deploy([("sla_response.bpmn", (DATA / "sla_response.bpmn").read_bytes()),
                        ("sla_targets.dmn", dmn)])


def test_the_contract_row_chooses_the_calendar(engine_service, clock, tmp_path, monkeypatch) -> None:
    days_off = {"2026": {"customer_days_off": {"acme": ["2026-03-02"]}}}
    monkeypatch.setenv(calendar_data.OVERRIDES_ENV, str(write_overrides(tmp_path / "o.json", days_off)))
    clock.set(START)  # Monday 2 March 2026, 09:00
    due = {}
    for calendar in ("7x24", "workdays_0830_1730", "workdays_0830_1730@acme"):
        _deploy_with_response_calendar(engine_service, calendar)
        iid = engine_service.runtime.start("sla_response", {"contract": "integration"}, "alice")
        view = clock_of(engine_service, iid, START, "response")
        assert (view["calendar"], view["provisional"]) == (calendar, False)
        due[calendar] = view["due_at"]
    # seed 004 服务承诺函第 2 条: half an hour; acme's own day off moves it to Tuesday's first half hour
    assert due == {"7x24": sh(2026, 3, 2, 9, 30), "workdays_0830_1730": sh(2026, 3, 2, 9, 30),
                   "workdays_0830_1730@acme": sh(2026, 3, 3, 9, 0)}
