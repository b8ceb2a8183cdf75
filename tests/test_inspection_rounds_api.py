"""Inspection rounds from the contracts' plans over the API on the simulation clock (issue 19): a year of
seed 003's plan, seed 001's notice before a visit after a holiday, and the month-end list of reports
not returned."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from engine.clock import ManualClock

from .contract_api import MINUTE, ContractApi
from .scenario_support import CHECKS, bj


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(bj("2026-01-05 09:00"))


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


def rounds(api: ContractApi, contract: str, month: str = "") -> list[dict[str, Any]]:
    """The rounds opened for `contract` (in `month`, YYYYMM, if given), by business key."""
    found = api.call("GET", f"/instances?process=inspection&q=XJ-{contract}-&per_page=500")["items"]
    found = [r for r in found if r["business_key"].rsplit("-", 1)[1].startswith(month)]
    return sorted(found, key=lambda r: r["business_key"])


def planned(api: ContractApi, contract: str) -> list[tuple[str, str, str, str]]:
    rows = [api.call("GET", f"/instances/{r['id']}")["data"] for r in rounds(api, contract)]
    return sorted((d["planned_date"], d["site"], d["kind"], d.get("holiday", "")) for d in rows)


def month_ends(api: ContractApi, months: list[tuple[int, int]]) -> None:
    for year, month in months:  # the planning timer: the 25th, 09:00 (seed 001 §5.2 step 3: 上月末)
        api.at(datetime(year, month, 25, 9, 0, 1, tzinfo=bj("2026-01-01 00:00").tzinfo))


def checks(api: ContractApi, month: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    found = api.call("GET", "/instances?process=inspection_report_check&per_page=500")["items"]
    pairs = [(c, api.call("GET", f"/instances/{c['id']}")["data"]) for c in found]
    return [(c, d) for c, d in pairs if d.get("report_month") == month]


CORE = ("北区汇聚机房", "监控中心（核心机房）")
OFFICES = ("东区端局机房", "西区端局机房")


def test_a_year_of_003s_plan_on_the_2026_calendar(api):
    # The timer first fires on 25 January and plans February; 25 December plans January 2027.
    month_ends(api, [(2026, m) for m in range(1, 13)])
    # seed 003_fc58e5a8846aff91.txt l.21: 核心机房 一次/季度 (the quarter's first month, the 15th),
    # 50%端局机房 一次/半年 (the half-year's second month, the 15th, moved to a working day);
    # l.91 §1.3.1.2: before 元旦、春节、五一节、中秋节、国庆节, two working days before the break
    expected = sorted(
        [(d, site, "quarterly", "") for d in ("2026-04-15", "2026-07-15", "2026-10-15", "2027-01-15")
         for site in CORE]
        # 15 Feb falls in the Spring Festival break (15-23 Feb): the next working day, 24 Feb;
        # 15 Aug is a Saturday
        + [(d, site, "half_yearly", "") for d in ("2026-02-24", "2026-08-17") for site in OFFICES]
        # the break begins on Sunday 15 Feb and Saturday 14 Feb is a make-up working day (调休): the
        # second working day before is Friday 13 Feb
        + [(d, "监控中心（核心机房）", "holiday", h) for d, h in (
            ("2026-02-13", "春节"), ("2026-04-29", "五一节"), ("2026-09-23", "中秋节"),
            ("2026-09-29", "国庆节"), ("2026-12-30", "元旦"))])
    assert planned(api, "monitoring") == expected
    # each round is an inspection of its own, waiting for the service desk to agree the day
    first = rounds(api, "monitoring")[0]
    assert [t["element_id"] for t in api.tasks("service_desk", first["id"])] == ["Task_plan"]
    # seed 000_db496af449587f92.txt l.88: quarterly in the first year only (2026, in the data)
    assert [p[0] for p in planned(api, "callcenter_95598")] == ["2026-04-15", "2026-07-15", "2026-10-15"]


def test_a_001_visit_on_the_wednesday_after_may_day_is_noticed_three_working_days_before(api):
    month_ends(api, [(2026, 4)])  # 25 April plans May (the earlier 25ths fire on the way)
    (found,) = rounds(api, "network_om", "202605")
    case = found["id"]
    site = {"customer": "辽宁XX", "contract": "network_om", "site": "沈阳机房", "kind": "monthly"}
    # the customer agrees on Wednesday 6 May, the first day after the May Day break (1-5 May)
    api.do("service_desk", case, "Task_plan", **site, planned_date="2026-05-06")
    # seed 001_4ada53786a497df7.txt l.13 §2.3.3.3: three working days before the visit: 30, 29 and
    # 28 April lie between, so the notice is due by the close of Monday 27 April, not 1 May
    assert api.due(case, "inspection_notice") == bj("2026-04-27 17:30")
    # §5.2 step 4: re-confirmed 3 days before (3 May), by the end of that day
    assert api.due(case, "inspection_reconfirm") == bj("2026-05-04 00:00")
    api.at(bj("2026-04-27 17:30") - MINUTE)
    assert api.state(case, "inspection_notice") == "running"
    api.at(bj("2026-04-27 17:30") + MINUTE)
    assert api.state(case, "inspection_notice") == "breached"
    api.do("technical_lead", case, "Task_assign_engineer", inspection_engineer="duty_engineer")
    assert api.state(case, "inspection_notice") == "breached"  # sent, but late
    api.at(bj("2026-05-03 09:00") + MINUTE)  # the re-confirmation timer: 3 days before, 09:00
    api.do("service_desk", case, "Task_reconfirm", customer_cancels=False)
    assert api.state(case, "inspection_reconfirm") == "met"


def test_the_month_end_lists_the_reports_not_returned(api):
    month_ends(api, [(2026, 2)])  # 25 February plans March
    (found,) = rounds(api, "network_om", "202603")
    case = found["id"]
    site = {"customer": "辽宁XX", "contract": "network_om", "site": "沈阳机房", "kind": "monthly"}
    api.do("service_desk", case, "Task_plan", **site, planned_date="2026-03-10")
    api.do("technical_lead", case, "Task_assign_engineer", inspection_engineer="duty_engineer")
    api.at(bj("2026-03-07 09:00") + MINUTE)
    api.do("service_desk", case, "Task_reconfirm", customer_cancels=False)
    api.do("technical_lead", case, "Task_reconfirm_engineer", inspection_engineer="duty_engineer")
    api.do("service_desk", case, "Task_handover_form", report_form_no="R-2026-03")
    api.do("duty_engineer", case, "Task_inspect", **CHECKS, anomaly_found=False)
    api.do("duty_engineer", case, "Task_talk", new_problem_found=False)
    # visited on 10 March, the report not yet handed back (seed 001 §5.2 step 15)
    api.at(bj("2026-03-31 17:00") - MINUTE)
    assert checks(api, "2026-03") == []
    api.at(bj("2026-03-31 17:00") + MINUTE)  # the month's last day, 17:00 (§5.2 step 17: 每月底)
    ((check, data),) = checks(api, "2026-03")
    assert data["report_month"] == "2026-03" and [
        (r["business_key"], r["planned_date"]) for r in data["unreturned_reports"]] == [
        # integration's round was never even planned with its customer: its visit day passed too
        ("XJ-integration-integration_site-20260310", "2026-03-10"),
        ("XJ-network_om-shenyang-20260310", "2026-03-10")]
    history = api.history(check["id"])
    (done,) = [e for e in history if e["type"] == "service_task_completed"]
    (mail,) = done["data"]["effects"]
    assert (mail["channel"], mail["recipient"]) == ("email", "technical_director")
    assert "沈阳机房" in mail["body"] and "2026-03-10" in mail["body"]
    assert datetime.fromisoformat(data["scheduled_at"]) == bj("2026-03-31 17:00")
