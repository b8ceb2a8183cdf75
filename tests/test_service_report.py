"""Period reports (processes/service_report.bpmn): the monthly service summary of seed 001 and the
quarterly system-operation analysis of seeds 003 and 000, started by the month-end timer, written from
the contract's own cases of the period, reviewed by the technical director (who may send it back) and
e-mailed to the customer through the outbox, with the monthly summary's 5-working-day clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.clock import ManualClock
from engine.service import Service
from engine.sla.report import sla_cases, sla_report
from engine.store.models import Instance, OutboxMessage, Record

from .scenario_support import (
    BJ,
    CHECKS,
    CUSTOMER,
    DESK,
    DIRECTOR,
    DUTY,
    DUTY2,
    FAULT,
    LEAD,
    PART,
    PM,
    REPORT,
    SECOND,
    SITE,
    Flow,
    bj,
    close_fault,
    start,
    stock_in,
    tick,
    triage,
)
from .test_scenarios_inspection import report_and_archive


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(bj("2025-12-15 09:00"))  # a Monday, before the first month end the timer sees


def reports(svc: Service) -> dict[str, Flow]:
    with svc.store.read() as s:
        rows = s.scalars(select(Instance).where(Instance.process_key == "service_report")).all()
    # The timer-started instances that open the reports have no business key: named by their day.
    return {r.business_key or f"dispatch {r.created_at.astimezone(BJ):%Y-%m-%d}": Flow(svc, r.id)
            for r in rows}


def month_end(svc: Service, clock: ManualClock, moment: datetime) -> None:
    tick(svc, clock, at=moment)
    tick(svc, clock, SECOND)


def fault(svc: Service, key: str, contract: str = "network_om", fixed: bool = False) -> Flow:
    """A P4 fault of the contract, solved by phone; closed (root cause scenario_support.REPORT) or left
    open before its report is written (the diagnosis done, so no escalation rung fires while it waits)."""
    customer = {"network_om": "辽宁XX", "monitoring": "动环监控客户"}.get(contract, "客户")
    f = start(svc, "fault_repair", {**FAULT, "contract": contract, "customer": customer, "level": "P4"},
              business_key=key)
    triage(f, "none", "P4")
    f.do("Task_phone_diagnosis", DUTY, diagnosis="电话指导修改配置", solved=True)
    if fixed:
        close_fault(f)
    return f


def document(f: Flow) -> dict[str, Any]:
    """The report's current draft: the record its last writing step made."""
    with f.svc.store.read() as s:
        row = s.get(Record, f.instance().data["service_report_id"])
        assert row is not None
        return dict(row.data)


def keys(items: list[dict[str, Any]]) -> list[str]:
    return [i["business_key"] for i in items]


def sla_of(svc: Service, contract: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The contract's SLA outcomes per clock in the period, as GET /reports/sla counts them (its
    rows summed over month, process and level), the period reports themselves left out."""
    tally: dict[str, dict[str, int]] = {}
    with svc.store.read() as s:
        for row in sla_report(s, start, end, contract=contract):
            if row["process"] != "service_report":
                counts = tally.setdefault(row["clock"], {"met": 0, "breached": 0, "ended": 0, "open": 0})
                for outcome in counts:
                    counts[outcome] += row[outcome]
    return [{"clock": name, **counts} for name, counts in sorted(tally.items())]


def inspect_done(svc: Service, clock: ManualClock, planned: str) -> Flow:
    """An inspection of network_om planned for `planned` and carried out (seed 001 §5.2)."""
    f = start(svc, "inspection", SITE)
    f.do("Task_plan", DESK, **SITE, planned_date=planned)
    f.do("Task_assign_engineer", LEAD, inspection_engineer="duty_engineer2")
    tick(svc, clock, at=bj(f"{planned} 09:00") - timedelta(days=3) + SECOND)  # seed 001 §5.2 step 4
    f.do("Task_reconfirm", DESK, customer_cancels=False, confirmed_time=planned)
    f.do("Task_reconfirm_engineer", LEAD, inspection_engineer="duty_engineer2")
    f.do("Task_handover_form", DESK, report_form_no="R-1")
    f.do("Task_inspect", DUTY2, **CHECKS, config_list_collected=True, anomaly_found=False)
    f.do("Task_talk", DUTY2, talk_notes="机房正常", new_problem_found=False)
    report_and_archive(f)
    return f


def march(svc: Service, clock: ManualClock) -> dict[str, Flow]:
    """network_om's cases of February, March and April 2026, with one of monitoring's in March."""
    for moment in ("2026-01-01", "2026-02-01"):
        month_end(svc, clock, bj(f"{moment} 00:00"))
    clock.set(bj("2026-02-09 09:00"))
    cases = {"F-FEB": fault(svc, "F-FEB", fixed=True), "F-FEB-OPEN": fault(svc, "F-FEB-OPEN")}
    month_end(svc, clock, bj("2026-03-01 00:00"))
    clock.set(bj("2026-03-02 09:00"))
    cases |= {"F-MAR": fault(svc, "F-MAR", fixed=True), "F-MAR-OPEN": fault(svc, "F-MAR-OPEN"),
              "F-MAR-MON": fault(svc, "F-MAR-MON", contract="monitoring", fixed=True)}
    cases["I-MAR"] = inspect_done(svc, clock, "2026-03-20")
    for planned in ("2026-03-27", "2026-04-08"):
        start(svc, "inspection", SITE).do("Task_plan", DESK, **SITE, planned_date=planned)
    month_end(svc, clock, bj("2026-04-01 00:00"))
    return cases


def test_the_march_summary_lists_exactly_marchs_faults_clocks_and_inspections(svc, clock):
    cases = march(svc, clock)
    written = clock.now()
    found = reports(svc)
    # seed 001_4ada53786a497df7.txt l.13 §2.3.4.2: a summary after every month, and §4.4.3 a quarterly
    # one too; 003 and 000 promise quarterly analyses only (003 l.95 §1.3.2, 000 l.62), so April 1
    # opens every one's for Q1 as well.
    assert {k for k in found if k.startswith("MS-") and k.endswith("2026-03")} == {"MS-network_om-2026-03"}
    assert {k for k in found if k.startswith("QA-")} == {
        f"QA-{contract}-{quarter}" for contract in ("callcenter_95598", "monitoring", "network_om")
        for quarter in ("2025-10", "2026-01")}
    f = found["MS-network_om-2026-03"]
    assert f.instance().started_by == "system" and f.open() == ["Task_director_review"]
    fields = document(f)["fields"]
    assert fields["period"] == {"label": "2026年3月", "start": "2026-03-01T00:00:00+08:00",
                                "end": "2026-04-01T00:00:00+08:00"}
    assert keys(fields["faults"]) == ["F-MAR", "F-MAR-OPEN"]  # not February's, not monitoring's
    by_key = {x["business_key"]: x for x in fields["faults"]}
    fixed = cases["F-MAR"].instance().data
    assert (by_key["F-MAR"]["level"], by_key["F-MAR"]["root_cause"]) == (fixed["level"], fixed["root_cause"])
    assert by_key["F-MAR"]["root_cause"] == REPORT["root_cause"] and by_key["F-MAR"]["status"] == "completed"
    assert keys(fields["open_problems"]) == ["F-FEB-OPEN", "F-MAR-OPEN"]
    assert fields["sla"] == sla_of(svc, "network_om", bj("2026-03-01 00:00"), bj("2026-04-01 00:00"))
    with svc.store.read() as s:  # the two faults' own clocks, per case (GET /reports/sla/cases/…)
        outcomes = {(c["business_key"], c["clock"]): c["outcome"] for key in ("F-MAR", "F-MAR-OPEN")
                    for c in sla_cases(s, key, written)}
    assert (outcomes[("F-MAR", "callback")], outcomes[("F-MAR-OPEN", "report")]) == ("met", "breached")
    assert {"clock": "response", "met": 2, "breached": 0, "ended": 0, "open": 0} in fields["sla"]
    assert "monthly_summary" not in [c["clock"] for c in fields["sla"]]  # a report is not its own case
    inspections = fields["inspections"]
    # with the round that February's month-end plan opened for 10 March (inspection_plans.json)
    assert (inspections["planned"], inspections["done"]) == (3, 1)
    assert [(i["planned_date"], i["done"]) for i in inspections["items"]] == [
        ("2026-03-10", False), ("2026-03-20", True), ("2026-03-27", False)]
    # Weeks from Monday, clipped to March: 2 March had both network_om faults.
    assert [(t["label"], t["count"]) for t in fields["trend"]] == [
        ("03-01起", 0), ("03-02起", 2), ("03-09起", 0), ("03-16起", 0), ("03-23起", 0), ("03-30起", 0)]
    assert fields["stock_movements"] == []
    february = document(found["MS-network_om-2026-02"])["fields"]
    assert keys(february["faults"]) == ["F-FEB", "F-FEB-OPEN"]
    assert keys(february["open_problems"]) == ["F-FEB-OPEN"]
    quarter = document(found["QA-monitoring-2026-01"])["fields"]
    assert keys(quarter["faults"]) == ["F-MAR-MON"]
    # the rounds February's and March's month-end plans opened for monitoring's first quarter (seed 003
    # l.21, l.91): the Spring Festival round and the two end offices' half-yearly visits
    assert sorted((i["planned_date"], i["site"]) for i in quarter["inspections"]["items"]) == [
        ("2026-02-13", "监控中心（核心机房）"), ("2026-02-24", "东区端局机房"),
        ("2026-02-24", "西区端局机房")]


def test_the_director_sends_it_back_and_the_customer_gets_it_by_e_mail(svc, clock):
    march(svc, clock)
    f = reports(svc)["MS-network_om-2026-03"]
    # seed 001_4ada53786a497df7.txt l.13 §2.3.4.2: within 5 working days after the month's end:
    # 1–3 April, then 7–8 April after the Qingming holiday (4–6 April 2026), 17:30.
    summary = f.clock("monthly_summary")
    assert (summary["state"], summary["target"], summary["calendar"]) == ("running", "PT45H", "workdays")
    assert summary["due_at"] == bj("2026-04-08 17:30")
    clock.set(bj("2026-04-01 10:00"))
    fault(svc, "F-APR", fixed=True)
    first = f.instance().data["service_report_id"]
    f.do("Task_director_review", DIRECTOR, review_decision="send_back", review_comment="补充巡检说明")
    assert f.open() == ["Task_revise_report"]
    assert f.task("Task_revise_report").candidate_groups == ["project_manager"]
    f.do("Task_revise_report", PM, revision_notes="已补充 3 月 27 日巡检未完成的原因")
    second = document(f)
    assert f.instance().data["service_report_id"] != first and f.open() == ["Task_director_review"]
    assert keys(second["fields"]["faults"]) == ["F-MAR", "F-MAR-OPEN"]  # April's fault is not March's
    assert "已补充 3 月 27 日巡检未完成的原因" in second["markdown"]
    assert f.messages() == []  # nothing reaches the customer before the director agrees
    clock.set(bj("2026-04-02 10:00"))
    f.do("Task_director_review", DIRECTOR, review_decision="approve")
    (mail,) = f.messages()
    assert (mail.channel, mail.recipient, mail.status) == ("email", "辽宁XX", "pending")
    assert mail.subject == "月度服务报告：辽宁XX网络设备维保 2026年3月"
    assert f"/api/v1/documents/{second_id(f)}?format=pdf" in mail.body
    assert f.instance().status == "completed" and f.states() == {"monthly_summary": "met"}
    assert f.replays()
    assert reports(svc)["dispatch 2026-04-01"].replays()


def second_id(f: Flow) -> str:
    return str(f.instance().data["service_report_id"])


def test_the_quarterly_analysis_for_003_covers_the_first_quarter_exactly(svc, clock):
    # seed 003_fc58e5a8846aff91.txt l.21 季度系统运行情况分析, l.95 §1.3.2: fault statistics and causes
    at = {"F-DEC": "2025-12-29 09:00", "F-JAN": "2026-01-05 09:00", "F-MAR": "2026-03-30 09:00"}
    for key, moment in at.items():
        tick(svc, clock, at=bj(moment))
        fault(svc, key, contract="monitoring")
        if key == "F-DEC":
            month_end(svc, clock, bj("2026-01-01 00:00"))
    for moment in ("2026-02-01", "2026-03-01", "2026-04-01"):
        month_end(svc, clock, bj(f"{moment} 00:00"))
    clock.set(bj("2026-04-01 09:00"))
    fault(svc, "F-APR", contract="monitoring")
    found = reports(svc)
    q1 = found["QA-monitoring-2026-01"]
    fields = document(q1)["fields"]
    assert fields["title"] == "季度运行分析：机房动环监控维保 2026年第1季度"
    assert (fields["period"]["start"], fields["period"]["end"]) == (
        "2026-01-01T00:00:00+08:00", "2026-04-01T00:00:00+08:00")
    assert keys(fields["faults"]) == ["F-JAN", "F-MAR"]
    assert keys(fields["open_problems"]) == ["F-DEC", "F-JAN", "F-MAR"]
    assert [(t["label"], t["count"]) for t in fields["trend"]] == [("1月", 1), ("2月", 0), ("3月", 1)]
    assert keys(document(found["QA-monitoring-2025-10"])["fields"]["faults"]) == ["F-DEC"]
    assert keys(document(found["QA-callcenter_95598-2026-01"])["fields"]["faults"]) == []
    # No monthly summary clock: 003 promises no such deadline (sla_targets.dmn has no row).
    assert q1.states() == {} and "monthly_summary" in q1.skipped()
    with svc.store.read() as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == q1.id)).all() == []
    assert q1.replays()


def test_the_report_names_the_clocks_as_the_console_does():
    from api.console.labels import CLOCKS as CONSOLE
    from handlers.service_report_render import CLOCKS

    assert CLOCKS == {k: zh for k, (zh, _en) in CONSOLE.items()}


def test_the_summary_lists_the_months_spare_part_requests(svc, clock):
    # seed 001_4ada53786a497df7.txt l.13 §2.3.4.3 备件更换记录: the parts replaced in the period
    month_end(svc, clock, bj("2026-03-01 00:00"))
    clock.set(bj("2026-03-02 09:00"))
    stock_in(svc)
    f = start(svc, "fault_repair", {**FAULT, "level": "P4"}, business_key="F-PART")
    triage(f, "none", "P4")
    f.do("Task_phone_diagnosis", DUTY, diagnosis="板卡故障", solved=False)
    f.do("Task_customer_consent", CUSTOMER, customer_consents=False)
    f.do("Task_draft_solution", LEAD, solution_plan="更换板卡", needs_spare_part=True, **PART)
    f.do("Task_director_approve", DIRECTOR, approved=True)
    f.do("Task_customer_approve_plan", CUSTOMER, customer_agrees=True)
    request = f.records()["spare_part_request"]
    other = start(svc, "fault_repair", {**FAULT, "contract": "monitoring", "level": "P4"})
    triage(other, "none", "P4")
    month_end(svc, clock, bj("2026-04-01 00:00"))
    doc = document(reports(svc)["MS-network_om-2026-03"])
    (part,) = doc["fields"]["spare_parts"]
    assert (part["id"], part["kind"], part["instance_id"], part["data"]["part_type"]) == (
        request.id, "spare_part_request", f.id, "板卡")
    assert f"| 备件申请 | {request.id} | 板卡 | 2026-03-02 09:00 |" in doc["markdown"]
