"""Inspection plans as contract data (handlers/data/inspection_plans.json) and the pure planner that
turns a month and the working calendar into rounds (issue 19): the 2026 calendar's own holidays."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from engine.errors import DefinitionInvalid
from engine.sla.holidays import WorkingDays
from handlers.inspection_plan import PlanError, load_plans, parse_plan
from handlers.inspection_rounds import rounds

from .conftest import ROOT, make_service

SHIPPED = json.loads((ROOT / "handlers/data/inspection_plans.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def days() -> WorkingDays:
    return WorkingDays("workdays")


def year_of(code: str, days: WorkingDays, year: int = 2026) -> list[tuple[str, str, str, str]]:
    plan = load_plans()[code]
    return [(r.planned.isoformat(), r.site.id, r.kind, r.holiday) for m in range(1, 13)
            for r in rounds(plan, year, m, days)]


def test_the_shipped_plans_load_and_every_cadence_cites_its_seed():
    plans = load_plans()
    assert sorted(plans) == ["callcenter_95598", "integration", "monitoring", "network_om"]
    assert all(c.get("seed") for entry in SHIPPED.values() if isinstance(entry, dict)
               for c in entry["cadences"])


def test_2026_holidays_come_from_the_calendar(days):
    # the first day off of each break in the 2026 State Council notice, weekends joined to it
    assert [days.first_day_off(n, 2026) for n in ("new_year", "spring_festival", "labour_day",
                                                   "mid_autumn", "national_day")] == [
        date(2026, 1, 1), date(2026, 2, 15), date(2026, 5, 1), date(2026, 9, 25), date(2026, 10, 1)]
    assert days.is_working_day(date(2026, 2, 14))  # the make-up Saturday before the Spring Festival


def test_a_year_of_003_quarterly_half_yearly_and_pre_holiday(days):
    # seed 003_fc58e5a8846aff91.txt l.21: core rooms once a quarter, end offices once a half-year;
    # l.91 §1.3.1.2: the monitoring centre before 元旦、春节、五一节、中秋节、国庆节 (two working days
    # before the first day off, in the data)
    got = year_of("monitoring", days)
    assert [g for g in got if g[2] == "quarterly"] == [
        (d, site, "quarterly", "") for d in ("2026-01-15", "2026-04-15", "2026-07-15", "2026-10-15")
        for site in ("hub_north", "monitoring_center")]
    # 15 Feb is in the Spring Festival break: the next working day is Tuesday 24 Feb; 15 Aug a Saturday
    assert [g for g in got if g[2] == "half_yearly"] == [
        (d, site, "half_yearly", "") for d in ("2026-02-24", "2026-08-17")
        for site in ("office_east", "office_west")]
    # Spring Festival: break from Sunday 15 Feb, the make-up Saturday 14 Feb counts, so Friday 13 Feb;
    # New Year 2027: visit on Wednesday 30 Dec 2026
    assert [(g[0], g[3]) for g in got if g[2] == "holiday"] == [
        ("2026-02-13", "春节"), ("2026-04-29", "五一节"), ("2026-09-23", "中秋节"), ("2026-09-29", "国庆节"),
        ("2026-12-30", "元旦")]


def test_000_is_quarterly_in_the_first_year_only(days):
    # seed 000_db496af449587f92.txt l.88: 在保修期内第一年做到一季度一次巡检
    assert [g[0] for g in year_of("callcenter_95598", days)] == ["2026-01-15", "2026-04-15", "2026-07-15",
                                                                 "2026-10-15"]
    assert year_of("callcenter_95598", days, 2027) == []


def test_001_and_004_are_monthly_on_working_days(days):
    # seed 001 l.13 §4.2.4 每月一次; 004_777e0ef8db92c2e8.txt l.379 每月1次
    for code in ("network_om", "integration"):
        got = [g[0] for g in year_of(code, days)]
        assert len(got) == 12 and got[0] == "2026-01-12"  # 10 Jan 2026 is a Saturday
        assert "2026-10-10" in got  # a make-up working Saturday (调休) is a working day


def test_a_year_without_data_is_planned_provisionally(days):
    plan = load_plans()["monitoring"]
    (new_year,) = [r for r in rounds(plan, 2026, 12, days) if r.holiday]
    assert new_year.provisional and new_year.planned == date(2026, 12, 30)
    assert all(r.provisional for r in rounds(plan, 2027, 1, days))


@pytest.mark.parametrize(("path", "value", "message"), [
    (("cadences", 0, "every"), "weekly", "monitoring.cadences[0].every: 'weekly' is not one of"),
    (("cadences", 2, "holidays"), ["christmas"], "monitoring.cadences[2].holidays"),
    (("cadences", 1, "sites"), ["nowhere"], "monitoring.cadences[1].sites: unknown site id(s) ['nowhere']"),
    (("cadences", 0, "day"), 31, "monitoring.cadences[0].day: a whole number from 1 to 28"),
    (("cadences", 0, "month"), 4, "monitoring.cadences[0].month: a whole number from 1 to 3"),
    (("cadences", 0, "seed"), "", "monitoring.cadences[0].seed: a non-empty text is required"),
    (("sites", 0, "kind"), "room", "monitoring.sites[0].kind: 'room' is not one of"),
    (("reconfirm_days_before",), 0, "monitoring.reconfirm_days_before"),
    (("calendar",), "weekends", "monitoring.calendar"),
])
def test_a_wrong_entry_names_the_contract_and_field(path, value, message):
    entry = copy.deepcopy(SHIPPED["monitoring"])
    target = entry
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(PlanError) as caught:
        parse_plan("monitoring", entry, "inspection_plans.json")
    assert message in str(caught.value)


def test_a_broken_plan_file_refuses_the_inspection_deploy(sqlite_url, clock, tmp_path, monkeypatch):
    broken = copy.deepcopy(SHIPPED)
    broken["monitoring"]["cadences"][0]["every"] = "weekly"
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("WEIBAO_INSPECTION_PLANS", str(path))
    svc = make_service(sqlite_url, clock)
    try:
        with pytest.raises(DefinitionInvalid) as caught:
            svc.deploy_processes(ROOT / "processes")
        errors = caught.value.errors
        assert sorted((e["file"], e["element_id"]) for e in errors) == [
            ("inspection.bpmn", "Task_plan_rounds"), ("inspection_report_check.bpmn", "Task_list_unreturned")]
        assert all("monitoring.cadences[0].every: 'weekly' is not one of" in e["message"] for e in errors)
        monkeypatch.setenv("WEIBAO_INSPECTION_PLANS", str(ROOT / "handlers/data/inspection_plans.json"))
        assert svc.deploy_processes(ROOT / "processes")  # fixed: the same files deploy
    finally:
        svc.close()
