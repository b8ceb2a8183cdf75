"""Periodic inspection (processes/inspection.bpmn, seed 001 §5.2, §4.2.4): started by its monthly timer,
cancelled by the customer (a new round), and an anomaly opening a linked fault repair."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.sla.report import sla_report
from engine.store.models import Instance, PendingTimer

from .scenario_support import (
    CHECKS,
    CUSTOMER,
    DEPT,
    DESK,
    DUTY2,
    LEAD,
    SECOND,
    SITE,
    Flow,
    bj,
    start,
    tick,
)


def start_timers(svc):
    with svc.store.read() as s:
        # Only the inspection's: the period reports (service_report.bpmn) have a start timer of their own.
        query = select(PendingTimer).where(PendingTimer.kind == "start",
                                           PendingTimer.process_key == "inspection")
        return [t.due_at for t in s.scalars(query)]


def plan_round(f, svc, clock, planned: str) -> None:
    """Plan with the customer, name the engineer, notify, wait until 3 days before (seed 001 §5.2)."""
    f.do("Task_plan", DESK, **SITE, planned_date=planned)
    f.do("Task_assign_engineer", LEAD, inspection_engineer="duty_engineer2")
    # seed 001_4ada53786a497df7.txt §5.2 step 4: 3 days before
    reconfirm = bj(f"{planned} 09:00") - timedelta(days=3)
    assert f.pending()["Event_reconfirm_due"] == reconfirm
    tick(svc, clock, at=reconfirm)  # the month's end may start the period reports meanwhile
    assert "Event_reconfirm_due" in f.pending() and "Task_reconfirm" not in f.open()
    tick(svc, clock, SECOND)
    assert f.task("Task_reconfirm").candidate_groups == ["service_desk"]


def report_and_archive(f, signed: bool = True) -> None:
    f.do("Task_fill_report", DUTY2, report_summary="设备运行正常", open_issues_left=False)
    reason = {} if signed else {"no_signature_reason": "负责人出差"}
    f.do("Task_customer_sign", CUSTOMER, signed=signed, **reason)
    if not signed:  # seed 001_4ada53786a497df7.txt 3.1 1.1: no signature → reason + department manager
        f.do("Task_department_sign", DEPT, department_confirmed=True)
    f.do("Task_callback", DESK, satisfied=True)
    f.do("Task_receive_report", DESK, archive_ref="XJ-1")
    f.do("Task_regional_review", LEAD, review_comment="同意")


def rounds_opened(svc, key_prefix: str = "XJ-network_om-") -> list[Instance]:
    with svc.store.read() as s:
        rows = s.scalars(select(Instance).where(Instance.process_key == "inspection")).all()
    found = [r for r in rows if (r.business_key or "").startswith(key_prefix)]
    return sorted(found, key=lambda r: r.business_key)


def test_monthly_inspection_started_by_its_timer(svc, clock):
    first = bj("2026-03-25 09:00")  # R/2026-01-25T09:00+08:00/P1M: next due after the deployment
    assert start_timers(svc) == [first]
    assert tick(svc, clock, at=first) == 0
    assert tick(svc, clock, SECOND) >= 1
    # seed 001_4ada53786a497df7.txt §2.3.3, §5.2: monthly; step 3: 上月末制定下月定期巡检安排表
    assert start_timers(svc) == [bj("2026-04-25 09:00")]
    with svc.store.read() as s:
        (plan,) = s.scalars(select(Instance).where(Instance.process_key == "inspection",
                                                   Instance.parent_instance_id.is_(None))).all()
    assert (plan.started_by, datetime.fromisoformat(plan.data["scheduled_at"])) == ("system", first)
    assert plan.status == "completed" and plan.data["plan_month"] == "2026-04"
    (row,) = rounds_opened(svc)  # network_om's one machine room, on 10 April (a Friday)
    assert (row.business_key, row.parent_instance_id) == ("XJ-network_om-shenyang-20260410", plan.id)
    named = ("contract", "site", "kind", "planned_date", "reconfirm_days_before")
    assert {k: row.data[k] for k in named} == {
        "contract": "network_om", "site": "沈阳机房", "kind": "monthly", "planned_date": "2026-04-10",
        "reconfirm_days_before": 3}
    f = Flow(svc, row.id)
    assert f.open() == ["Task_plan"] and f.task("Task_plan").candidate_groups == ["service_desk"]
    plan_round(f, svc, clock, "2026-04-08")
    notice = f.messages()[0]
    assert (notice.channel, notice.recipient) == ("email", "customer") and "2026-04-08" in notice.body
    f.do("Task_reconfirm", DESK, customer_cancels=False, confirmed_time="2026-04-08")
    f.do("Task_reconfirm_engineer", LEAD, inspection_engineer="duty_engineer2")
    f.do("Task_handover_form", DESK, report_form_no="R-2026-04")
    inspect = f.task("Task_inspect")
    assert (inspect.candidate_groups, inspect.assignee) == (["duty_engineer"], "duty_engineer2")
    f.do("Task_inspect", DUTY2, **CHECKS, config_list_collected=True, anomaly_found=False)
    f.do("Task_talk", DUTY2, talk_notes="客户关注 UPS", new_problem_found=False)
    report_and_archive(f)
    assert f.instance().status == "completed" and f.children() == []
    assert f.outbox() == [("email", "customer"), ("sms", "service_desk")]
    # seed 001_4ada53786a497df7.txt §5.2 step 14: callback within 2 days
    assert f.states()["callback"] == "met"
    assert f.trail(0, "timer_fired") == [("timer_fired", "Event_reconfirm_due")] and f.replays()


def test_a_scheduled_inspection_runs_its_notice_clock(lite, clock):
    tick(lite, clock, at=bj("2026-03-25 09:00:01"))
    (row,) = rounds_opened(lite)
    f = Flow(lite, row.id)
    f.do("Task_plan", DESK, **SITE, planned_date="2026-04-08")
    f.do("Task_assign_engineer", LEAD, inspection_engineer="duty_engineer2")
    # seed 001_4ada53786a497df7.txt §2.3.3.3: 3 working days
    assert f.states().get("inspection_notice") == "met"


def test_the_notice_is_due_three_working_days_before_the_visit(svc, clock):
    f = start(svc, "inspection", SITE)  # Monday 2 March 09:00
    f.do("Task_plan", DESK, **SITE, planned_date="2026-03-12")
    # seed 001_4ada53786a497df7.txt line 13 §2.3.3.3: the customer is told three working days before
    # the visit (Thursday 12 March): Monday, Tuesday and Wednesday must lie between notice and visit, so
    # the notice is due by the close of Friday 6 March, counted back from the visit, not forward from
    # the planning (which gave Thursday 5 March 09:00)
    notice = f.clock("inspection_notice")
    assert notice["due_at"] == bj("2026-03-06 17:30") and notice["target"] == "PT27H"
    assert f.sla_event("sla_started", "inspection_notice").data["due_before"] == "2026-03-11T16:00:00+00:00"
    mark = f.mark()
    tick(svc, clock, at=bj("2026-03-06 17:29"))
    assert f.trail(mark, "sla_breached") == []
    tick(svc, clock, at=bj("2026-03-06 17:31"))
    assert f.states()["inspection_notice"] == "breached"  # the engineer was never named: no notice yet


def test_a_visit_planned_too_close_breaks_the_notice_at_once(svc, clock):
    f = start(svc, "inspection", SITE)  # Monday 09:00: Wednesday's visit leaves one working day
    f.do("Task_plan", DESK, **SITE, planned_date="2026-03-04")
    assert f.clock("inspection_notice")["due_at"] == bj("2026-03-02 09:00")  # due as it starts
    clock.advance(timedelta(minutes=1))
    f.do("Task_assign_engineer", LEAD, inspection_engineer="duty_engineer2")
    assert f.states()["inspection_notice"] == "breached"


def test_customer_cancels_and_a_new_round_starts(svc, clock):
    f = start(svc, "inspection", SITE)
    plan_round(f, svc, clock, "2026-03-12")
    # seed 001_4ada53786a497df7.txt §2.3.3.3: 3 working days before the visit (see above)
    assert f.clock("inspection_notice")["due_at"] == bj("2026-03-06 17:30")
    mark = f.mark()
    f.do("Task_reconfirm", DESK, customer_cancels=True, cancel_reason="客户停电检修")
    # the re-confirmation was made in time (seed 001 §5.2 step 4: 3 days before), then both clocks of
    # the cancelled round are moved aside for the new round's
    assert f.trail(mark) == [
        ("task_completed", "Task_reconfirm"), ("sla_met", "inspection_reconfirm"),
        ("sla_restarted", "inspection_notice"), ("sla_restarted", "inspection_reconfirm"),
        ("service_task_completed", "Task_notify_cancel"), ("task_created", "Task_plan")]
    assert f.sla_event("sla_restarted", "inspection_notice").data["archived_as"] == "inspection_notice#1"
    cancel = f.messages()[-1]
    assert (cancel.recipient, cancel.channel) == ("technical_lead", "sms") and "巡检取消" in cancel.body
    plan_round(f, svc, clock, "2026-03-19")  # the new round, planned on Monday 9 March
    f.do("Task_reconfirm", DESK, customer_cancels=False)
    assert f.open() == ["Task_reconfirm_engineer"]
    assert f.completed() == ["Task_plan", "Task_assign_engineer", "Task_reconfirm"] * 2
    assert [m.recipient for m in f.messages()] == ["customer", "technical_lead", "customer"]
    assert "2026-03-19" in f.messages()[-1].body
    # seed 001 §5.2 step 4: a cancelled visit begins a new round, and its notice clock begins anew,
    # due three working days before the new date (Thursday 19 March: by the close of Friday 13 March)
    assert f.trail(0, "sla_started", "sla_met") == [
        ("sla_started", "inspection_notice"), ("sla_started", "inspection_reconfirm"),
        ("sla_met", "inspection_notice"), ("sla_met", "inspection_reconfirm")] * 2
    assert f.clock("inspection_notice")["due_at"] == bj("2026-03-13 17:30")
    assert f.clock("inspection_notice#1")["due_at"] == bj("2026-03-06 17:30")
    assert f.states() == {"inspection_notice": "met", "inspection_notice#1": "met",
                          "inspection_reconfirm": "met", "inspection_reconfirm#1": "met"}
    with svc.store.read() as session:  # the report counts both rounds' notices as one clock
        (row,) = [r for r in sla_report(session, bj("2026-03-01 00:00"), bj("2026-04-01 00:00"), "inspection")
                  if r["clock"].startswith("inspection_notice")]
    assert (row["clock"], row["count"], row["met"]) == ("inspection_notice", 2, 2)
    assert f.trail(0, "timer_fired") == [("timer_fired", "Event_reconfirm_due")] * 2 and f.replays()


def test_anomaly_opens_a_linked_fault_repair(svc, clock):
    f = start(svc, "inspection", SITE)
    plan_round(f, svc, clock, "2026-03-12")
    f.do("Task_reconfirm", DESK, customer_cancels=False)
    f.do("Task_reconfirm_engineer", LEAD, inspection_engineer="duty_engineer2")
    f.do("Task_handover_form", DESK, report_form_no="R-2026-03")
    f.do("Task_inspect", DUTY2, **{**CHECKS, "check_cpu": "abnormal"}, anomaly_found=True,
         anomaly_summary="CPU 持续 95%")
    assert f.task("Task_register_fault").assignee == "duty_engineer2"
    f.do("Task_register_fault", DUTY2, summary="核心交换机 CPU 持续高负载", level="P3")
    (child,) = f.children()  # seed 001_4ada53786a497df7.txt §5.2 step 9.2: anomaly → fault
    assert child.process_key == "fault_repair" and child.parent_instance_id == f.id
    assert f.instance().data["fault_repair_instance_id"] == child.id
    assert {k: child.data[k] for k in ("source_instance_id", "channel", "summary", "level", "contract")} == {
        "source_instance_id": f.id, "channel": "inspection", "summary": "核心交换机 CPU 持续高负载",
        "level": "P3", "contract": "network_om"}
    fault = Flow(svc, child.id)
    assert fault.open() == ["Task_record_impact"] and fault.outbox() == [("sms", "technical_lead")]
    # seed 001_4ada53786a497df7.txt §2.2.4.3: 60 min
    assert fault.clock("response")["due_at"] == clock.now() + timedelta(hours=1)
    assert f.open() == ["Task_fill_report"]
    report_and_archive(f, signed=False)
    assert f.instance().status == "completed" and fault.instance().status == "running"
    assert f.completed()[-5:] == ["Task_customer_sign", "Task_department_sign", "Task_callback",
                                  "Task_receive_report", "Task_regional_review"]
    assert f.replays() and fault.replays()


def test_an_unfixable_finding_is_fed_back_within_two_working_days(svc, clock):
    f = start(svc, "inspection", SITE)
    plan_round(f, svc, clock, "2026-03-12")
    f.do("Task_reconfirm", DESK, customer_cancels=False)
    f.do("Task_reconfirm_engineer", LEAD, inspection_engineer="duty_engineer2")
    f.do("Task_handover_form", DESK, report_form_no="R-2026-03")
    f.do("Task_inspect", DUTY2, **CHECKS, anomaly_found=False)
    f.do("Task_talk", DUTY2, new_problem_found=False)
    f.do("Task_fill_report", DUTY2, report_summary="UPS 电池老化", open_issues="更换 UPS 电池",
         open_issues_left=True)
    f.do("Task_customer_sign", CUSTOMER, signed=True)
    f.do("Task_callback", DESK, satisfied=True)
    f.do("Task_receive_report", DESK, archive_ref="XJ-2")
    f.do("Task_regional_review", LEAD, review_comment="同意")
    assert f.open() == ["Task_handle_open_issues"] and f.instance().status == "running"
    tick(svc, clock, at=bj("2026-03-13 10:00"))  # handled on Friday 13 March, 10:00
    f.do("Task_handle_open_issues", DUTY2, issues_handling="已更换电池")
    # seed 001_4ada53786a497df7.txt l.13 §2.3.3.8: 在处理问题结束后两工作日内反馈给客户: 18 working
    # hours over the weekend, so by Tuesday 17 March 10:00
    assert f.clock("inspection_feedback")["due_at"] == bj("2026-03-17 10:00")
    tick(svc, clock, at=bj("2026-03-17 09:59"))
    assert f.states()["inspection_feedback"] == "running"
    f.do("Task_feedback_customer", DESK, feedback_notes="已电话告知客户")
    assert f.states()["inspection_feedback"] == "met" and f.instance().status == "completed"
    assert f.replays()
