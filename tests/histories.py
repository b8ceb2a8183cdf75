"""Scenario runs whose histories are saved under tests/data/histories and replayed on every run.

`python -m tests.histories` regenerates the bundles (only when a change to the engine is meant to
change what it records; the replay test then proves old histories still replay).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from engine.audit.verify import export_bundle
from engine.clock import ManualClock
from engine.service import Service

from .conftest import ROOT, START, make_service
from .engine_support import ENGINEER, FLAKY_PLAN, SENIOR, TEST_HANDLERS, deploy, the_task
from .scenario_support import (
    CHECKS,
    CUSTOMER,
    DEPT,
    DESK,
    DIRECTOR,
    DUTY,
    DUTY2,
    EXPERT,
    FAULT,
    GM,
    LEAD,
    PART,
    PLAN,
    PM,
    REPORT,
    SITE,
    VENDOR,
    Flow,
    close_fault,
    part_on_site,
    stock_in,
    tick,
    triage,
)

HISTORIES = Path(__file__).resolve().parent / "data" / "histories"


def rework_with_escalation(svc: Service, clock: ManualClock) -> str:
    deploy(svc, "rework.bpmn")
    iid = svc.runtime.start(
        "rework", {"summary": "交换机端口故障"}, "alice", instance_id="00000000-0000-4000-8000-000000000001"
    )
    for turn in range(3):
        clock.advance(timedelta(minutes=30))
        svc.runtime.complete(the_task(svc, iid, "Work"), {"ok": False, "note": f"第{turn}次"}, ENGINEER)
    clock.advance(timedelta(hours=3))
    svc.runtime.fire_due_timers()
    escalate = the_task(svc, iid, "Escalate")
    svc.runtime.claim(escalate, SENIOR)
    svc.runtime.complete(escalate, {}, SENIOR)
    svc.runtime.complete(the_task(svc, iid, "Work"), {"ok": True, "note": "完成"}, ENGINEER)
    return iid


def message_with_retry(svc: Service, clock: ManualClock) -> str:
    deploy(svc, "signals.bpmn")
    FLAKY_PLAN[:] = ["retry", "fatal"]
    iid = svc.runtime.start(
        "await_reply", {}, "alice", business_key="T-9", instance_id="00000000-0000-4000-8000-000000000002"
    )
    clock.advance(timedelta(minutes=6))
    svc.runtime.fire_due_timers()
    with svc.store.read() as s:
        from engine.store.models import IncidentRow

        incident = s.query(IncidentRow).filter_by(instance_id=iid).one().id
    svc.runtime.retry_incident(incident, "admin")
    svc.runtime.correlate("customer_reply", business_key="T-9", data={"answer": "同意"})
    return iid


# ----------------------------------------------------------------- the seed processes (product handlers)


def _flow(svc: Service, process: str, data: dict[str, Any], number: int, **kw: Any) -> Flow:
    iid = f"00000000-0000-4000-8000-{number:012d}"  # deterministic, like the engine-only histories
    return Flow(svc, svc.runtime.start(process, data, "dora", instance_id=iid, **kw))


def fault_repair_onsite(svc: Service, clock: ManualClock) -> str:
    """Consent pause, remote repair fails, plan objected to once, spare part, tier 3 by time, a new
    problem found in the talk opens a linked fault (seed 001 §2.1, §1.1.2)."""
    data = {**FAULT, "level": "P2", "site_distance_km": 80}
    stock_in(svc)
    f = _flow(svc, "fault_repair", data, 3, business_key="F-2026-1")
    triage(f, "partial", "P2")
    clock.advance(timedelta(minutes=5))
    f.do("Task_phone_diagnosis", DUTY, diagnosis="板卡告警", solved=False)
    clock.advance(timedelta(minutes=20))
    f.do("Task_customer_consent", CUSTOMER, customer_consents=True, consent_reference="授权书-7")
    f.do("Task_remote_repair", DUTY, remote_findings="硬件故障", command_log="show log", solved=False)
    for agrees in (False, True):
        f.do("Task_draft_solution", LEAD, solution_plan="更换板卡", needs_spare_part=True, **PART)
        f.do("Task_director_approve", DIRECTOR, approved=True)
        clock.advance(timedelta(minutes=10))
        f.do("Task_customer_approve_plan", CUSTOMER, customer_agrees=agrees)
    part_on_site(f, "SN-9")
    f.do("Task_prepare_visit", DESK, visit_time="2026-03-02")
    clock.advance(timedelta(minutes=20))
    f.do("Task_arrive_onsite", DUTY, service_request_signed=True)
    tick(svc, clock, timedelta(hours=4, seconds=1))
    f.do("Task_handle_rung", EXPERT, rung_response="更换背板")  # network_om's tier-3 rung (001 §1.1.2)
    f.do("Task_onsite_analysis", DUTY, onsite_findings="背板", plan_changed=True, revised_plan="换背板")
    f.do("Task_director_confirm_change", DIRECTOR, change_approved=True)
    f.do("Task_customer_sign_plan", CUSTOMER, customer_agrees=True)
    f.do("Task_onsite_repair", DUTY, handling="更换背板", solved=True)
    f.do("Task_preventive_talk", DUTY, preventive_done=True, new_problem_found=True)
    f.do("Task_register_new_problem", DUTY, new_problem_summary="UPS 告警", new_problem_level="P4")
    close_fault(f)
    return f.id


def incident_vendor(svc: Service, clock: ManualClock) -> str:
    """Level-1 ladder (team overdue at 30 min), failed plan, vendor, observation day (003, 001 §2.2)."""
    f = _flow(svc, "incident", {"summary": "机房动环监控中断", "customer": "沈阳XX", "contract": "monitoring",
                                "level": "P1"}, 4)
    f.do("Task_expert_remote", EXPERT, expert_remote_findings="采集器离线")
    tick(svc, clock, timedelta(minutes=30, seconds=1))
    f.do("Task_form_team", DIRECTOR, team_members="甲,乙", coordinator="甲")
    f.do("Task_form_expert_group", GM, expert_group_members="专家")
    f.do("Task_dispatch_resources", DIRECTOR, dispatched_engineers="甲", duty_engineer="duty_engineer")
    f.do("Task_arrive_onsite", DUTY, service_request_signed=True)
    for succeeded in (False, True):
        f.do("Task_draw_plan", EXPERT, **PLAN, needs_test=True)
        f.do("Task_director_approve_plan", DIRECTOR, approved=True)
        f.do("Task_test_plan", DIRECTOR, test_passed=True)
        clock.advance(timedelta(minutes=15))
        f.do("Task_customer_agree_plan", CUSTOMER, customer_agrees=True)
        f.do("Task_business_recovery", DUTY, business_restored=True)
        f.do("Task_implement_plan", DUTY, handling="处理", plan_succeeded=succeeded)
        if not succeeded:
            f.do("Task_director_decide", DIRECTOR, within_tolerance=False)
            f.do("Task_vendor_support", VENDOR, vendor_plan="厂商方案")
    f.do("Task_preventive_talk", DUTY, preventive_done=True, new_problem_found=False)
    tick(svc, clock, timedelta(days=1, seconds=1))
    for element, actor, data in [
        ("Task_confirm_stable", DUTY, {"stable": True}), ("Task_fill_report", DUTY, REPORT),
        ("Task_customer_sign_report", CUSTOMER, {"signed": True}),
        ("Task_callback", DESK, {"satisfied": True}),
        ("Task_write_summary", EXPERT, {"incident_summary": "总结"}),
        ("Task_review_meeting", DIRECTOR, {"meeting_minutes": "纪要"}),
        ("Task_gm_signoff", GM, {"gm_instructions": "同意"}), ("Task_archive", DESK, {"archive_ref": "I-1"}),
    ]:
        f.do(element, actor, **data)
    return f.id


def inspection_cancel_anomaly(svc: Service, clock: ManualClock) -> str:
    """Cancelled once (new round), then an anomaly opens a fault repair; unsigned report (001 §5.2)."""
    f = _flow(svc, "inspection", SITE, 5)
    for planned, cancels in (("2026-03-12", True), ("2026-03-19", False)):
        f.do("Task_plan", DESK, **SITE, planned_date=planned)
        f.do("Task_assign_engineer", LEAD, inspection_engineer="duty_engineer2")
        tick(svc, clock, at=datetime.fromisoformat(f"{planned}T09:00:01+08:00") - timedelta(days=3))
        f.do("Task_reconfirm", DESK, customer_cancels=cancels)
    f.do("Task_reconfirm_engineer", LEAD, inspection_engineer="duty_engineer2")
    f.do("Task_handover_form", DESK, report_form_no="R-1")
    checks = {**CHECKS, "check_cpu": "abnormal"}
    f.do("Task_inspect", DUTY2, **checks, anomaly_found=True, anomaly_summary="CPU 高")
    f.do("Task_register_fault", DUTY2, summary="CPU 持续高负载", level="P3")
    f.do("Task_fill_report", DUTY2, report_summary="发现 CPU 异常", open_issues_left=False)
    f.do("Task_customer_sign", CUSTOMER, signed=False, no_signature_reason="负责人出差")
    f.do("Task_department_sign", DEPT, department_confirmed=True)
    f.do("Task_callback", DESK, satisfied=True)
    f.do("Task_receive_report", DESK, archive_ref="XJ-1")
    f.do("Task_regional_review", LEAD, review_comment="同意")
    return f.id


def complaint_late_escalated(svc: Service, clock: ManualClock) -> str:
    """First reply late (breach by the scheduler, director told at 2 h), director twice (001 §2.4)."""
    f = _flow(svc, "complaint", {"summary": "工程师迟到", "customer": "辽宁XX", "contract": "network_om"}, 6)
    f.do("Task_record_complaint", DESK, complaint_detail="迟到两小时", unanswered_request=False)
    tick(svc, clock, timedelta(hours=1, minutes=45))
    tick(svc, clock, timedelta(minutes=15, seconds=1))
    f.do("Task_first_reply", PM, first_reply="致歉")
    f.do("Task_investigate", PM, investigation="排班", proposal="补派")
    for turn in (1, 2):
        f.do("Task_customer_feedback", CUSTOMER, satisfied=False, objection=f"第{turn}次")
        f.do("Task_director_handle", DEPT, director_proposal=f"方案{turn}")
    f.do("Task_customer_feedback", CUSTOMER, satisfied=True)
    f.do("Task_close", DESK, satisfaction="satisfied")
    return f.id


SCENARIOS: dict[str, Callable[[Service, ManualClock], str]] = {
    "rework_with_escalation": rework_with_escalation,
    "message_with_retry": message_with_retry,
    "fault_repair_onsite": fault_repair_onsite,
    "incident_vendor": incident_vendor,
    "inspection_cancel_anomaly": inspection_cancel_anomaly,
    "complaint_late_escalated": complaint_late_escalated,
}
PRODUCT = {"fault_repair_onsite", "incident_vendor", "inspection_cancel_anomaly", "complaint_late_escalated"}


def run(name: str, url: str) -> tuple[Service, str]:
    """Scenarios of the seed processes run with the product handlers and processes/ deployed."""
    clock = ManualClock(START)
    if name in PRODUCT:
        svc = make_service(url, clock)
        svc.deploy_processes(ROOT / "processes")
    else:
        svc = make_service(url, clock, handlers=TEST_HANDLERS)
    return svc, SCENARIOS[name](svc, clock)


def main(names: list[str] | None = None) -> None:
    """Regenerate the named bundles (default: all); `python -m tests.histories incident_vendor`."""
    import tempfile

    HISTORIES.mkdir(parents=True, exist_ok=True)
    for name in names or SCENARIOS:
        svc, iid = run(name, f"sqlite:///{tempfile.mkdtemp()}/h.sqlite3")
        (HISTORIES / f"{name}.zip").write_bytes(export_bundle(svc.store, iid))
        svc.close()
        print("saved", name)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
