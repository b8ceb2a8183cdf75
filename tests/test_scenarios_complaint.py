"""Complaints (processes/complaint.bpmn, seed 001 §2.4, §5): first reply within 2 h, resolved to the
customer's satisfaction within half a month, escalated to the department director until satisfied."""

from __future__ import annotations

from datetime import timedelta

from .scenario_support import CUSTOMER, DEPT, DESK, PM, SECOND, T0, start, tick

COMPLAINT = {"summary": "工程师未按约定时间到场", "customer": "辽宁XX", "contract": "network_om",
             "channel": "complaint_hotline"}
REPLY_DUE = T0 + timedelta(hours=2)  # seed 001_4ada53786a497df7.txt §2.4.1: 2 h


def received(svc, clock, unanswered: bool = False):
    f = start(svc, "complaint", COMPLAINT)
    assert f.trail() == [
        ("instance_started", "StartEvent_complaint"), ("sla_started", "complaint_first_reply"),
        ("sla_started", "complaint_resolution"), ("task_created", "Task_record_complaint")]
    # seed 001_4ada53786a497df7.txt §2.4.1: first reply within 2 h; §2.4.2: satisfied within half a month
    assert f.clock("complaint_first_reply")["due_at"] == REPLY_DUE
    assert f.clock("complaint_resolution")["due_at"] == T0 + timedelta(days=15)
    clock.advance(timedelta(minutes=10))  # the service center records it, apart from support requests
    f.do("Task_record_complaint", DESK, complaint_detail="约定 9 点到场，11 点仍未到",
         unanswered_request=unanswered)
    return f


def test_first_reply_in_time(svc, clock):
    f = received(svc, clock)
    reply = f.task("Task_first_reply")
    assert (reply.candidate_groups, reply.due_at) == (["project_manager"], REPLY_DUE)
    assert f.outbox() == [("sms", "project_manager")] and "2小时内初次回复" in f.messages()[0].body
    # seed 001 line 13 §2.4.1: 2 h from the complaint's arrival, not from the project manager's task
    # (opened 10 minutes later): the director's rung is the clock's own breach, no diagram timer
    assert f.pending()["sla:breach:complaint_first_reply"] == REPLY_DUE
    assert not [k for k in f.pending() if not k.startswith("sla:")]
    clock.advance(timedelta(minutes=50))
    f.do("Task_first_reply", PM, first_reply="已致歉，今日内安排工程师")
    met = f.sla_event("sla_met", "complaint_first_reply")
    assert (met.element_id, met.data["business_seconds"]) == ("Task_first_reply", 3600)
    f.do("Task_investigate", PM, investigation="调度失误", proposal="调整排班并减免当月服务费")
    f.do("Task_customer_feedback", CUSTOMER, satisfied=True)
    f.do("Task_close", DESK, satisfaction="satisfied")
    assert f.instance().status == "completed" and f.pending() == {}
    assert f.states() == {"complaint_first_reply": "met", "complaint_resolution": "met"}
    assert f.trail(0, "timer_fired", "sla_warning", "sla_breached") == []
    assert f.outbox() == [("sms", "project_manager")]  # the department director was never involved
    assert f.replays()


def test_first_reply_late_is_breached_by_the_scheduler_and_told_to_the_director(svc, clock):
    f = received(svc, clock)
    assert tick(svc, clock, at=REPLY_DUE) == 1  # the warning at 75 % only
    assert f.trail(0, "sla_warning", "sla_breached") == [("sla_warning", "complaint_first_reply")]
    tick(svc, clock, SECOND)
    breach = f.sla_event("sla_breached", "complaint_first_reply")
    assert (breach.at, breach.data["due_at"]) == (REPLY_DUE + SECOND, REPLY_DUE.isoformat())
    assert breach.actor == "system"
    assert f.clock_row("complaint_first_reply").breached_at == REPLY_DUE
    # the director is told at the breach itself, 2 h from arrival (the old timer waited 2 h from the task)
    assert f.trail(breach.seq - 1, "sla_breached", "sla_escalated") == [
        ("sla_breached", "complaint_first_reply"), ("sla_escalated", "complaint_first_reply")]
    told = f.messages()[-1]
    assert (told.recipient, told.channel, told.element_id) == (
        "department_director", "sms", "sla:breach:complaint_first_reply")
    assert "complaint_first_reply" in told.body
    assert f.open() == ["Task_first_reply"]  # non-interrupting: the reply is still owed
    clock.advance(timedelta(minutes=20))
    f.do("Task_first_reply", PM, first_reply="迟复致歉")
    stopped = f.sla_event("sla_stopped", "complaint_first_reply")
    assert (stopped.data["state"], stopped.data["business_seconds"]) == ("breached", (2 * 60 + 20) * 60 + 1)
    f.do("Task_investigate", PM, investigation="调度失误", proposal="调整排班")
    f.do("Task_customer_feedback", CUSTOMER, satisfied=True)
    f.do("Task_close", DESK, satisfaction="basically_satisfied")
    assert f.states() == {"complaint_first_reply": "breached", "complaint_resolution": "met"}
    assert f.replays()


def test_escalated_to_the_director_twice_before_the_customer_is_satisfied(svc, clock):
    f = received(svc, clock)
    f.do("Task_first_reply", PM, first_reply="已收到")
    f.do("Task_investigate", PM, investigation="排班冲突", proposal="补派工程师")
    for turn in (1, 2):  # seed 001_4ada53786a497df7.txt 投诉机制 7.2: to the director until no objection
        clock.advance(timedelta(days=3))
        f.do("Task_customer_feedback", CUSTOMER, satisfied=False, objection=f"第{turn}次不满意")
        handle = f.task("Task_director_handle")
        assert handle.candidate_groups == ["department_director"] and handle.due_at is None
        f.do("Task_director_handle", DEPT, director_proposal=f"总监方案 {turn}")
    assert f.task("Task_customer_feedback").candidate_groups == ["customer"]
    f.do("Task_customer_feedback", CUSTOMER, satisfied=True)
    close = f.task("Task_close")
    assert close.due_at == T0 + timedelta(days=15)  # seed 001_4ada53786a497df7.txt §2.4.2: half a month
    clock.advance(timedelta(days=1))
    f.do("Task_close", DESK, satisfaction="satisfied", closing_notes="客户无异议")
    assert f.completed() == [
        "Task_record_complaint", "Task_first_reply", "Task_investigate", "Task_customer_feedback",
        "Task_director_handle", "Task_customer_feedback", "Task_director_handle", "Task_customer_feedback",
        "Task_close"]
    assert f.instance().data["director_proposal"] == "总监方案 2"
    resolution = f.clock_row("complaint_resolution")
    assert (resolution.state, resolution.business_seconds) == ("met", (7 * 24 * 60 + 10) * 60)
    assert f.instance().status == "completed" and f.outbox() == [("sms", "project_manager")]
    assert f.replays()


def test_unanswered_request_goes_straight_to_the_director(svc, clock):
    f = received(svc, clock, unanswered=True)  # seed 001_4ada53786a497df7.txt §2.4.3: straight to the manager
    assert f.outbox() == [("sms", "department_director")] and "未响应" in f.messages()[0].body
    first = f.task("Task_director_first_reply")
    assert (first.candidate_groups, first.due_at) == (["department_director"], REPLY_DUE)
    f.do("Task_director_first_reply", DEPT, first_reply="总监亲自回复")
    assert f.states()["complaint_first_reply"] == "met" and f.open() == ["Task_director_handle"]


def test_outbox_messages_name_the_element_that_sent_them(lite, clock):
    f = received(lite, clock)
    assert f.messages()[0].element_id == "Task_notify_project_manager"


def test_a_late_step_replays(lite, clock):
    f = start(lite, "complaint", COMPLAINT)
    clock.advance(timedelta(hours=1, minutes=40))  # past 75 % of the 2 h first reply; the scheduler never ran
    f.do("Task_record_complaint", DESK, complaint_detail="迟到", unanswered_request=False)
    late = [("sla_warning", "complaint_first_reply"), ("task_completed", "Task_record_complaint")]
    assert f.trail(4)[:2] == late  # the catch-up comes first in the operation
    assert f.replays()
