"""Incidents (processes/incident.bpmn, seed 001 §2.2, seed 003 §1.1.7/§1.1.9, seed 000 §4): a P1 fault
opening an incident and its emergency ladder, and a failed plan going to vendor support."""

from __future__ import annotations

from datetime import timedelta

from .scenario_support import (
    CUSTOMER,
    DESK,
    DIRECTOR,
    DUTY,
    EXPERT,
    FAULT,
    GM,
    PLAN,
    REPORT,
    SECOND,
    T0,
    VENDOR,
    Flow,
    start,
    tick,
    triage,
)

LADDER = ("escalation_field_engineer", "escalation_emergency_team", "escalation_customer_manager",
          "escalation_general_manager")
DISPATCH = {"dispatched_engineers": "duty_engineer", "duty_engineer": "duty_engineer"}


def test_p1_fault_opens_an_incident_whose_ladder_fires_by_time(svc, clock):
    fault = start(svc, "fault_repair", {**FAULT, "contract": "monitoring", "level": "P1"})
    clock.advance(timedelta(minutes=3))
    triage(fault, "total", "P1")
    assert fault.instance().data["suggested_level"] == "P1"  # fault_level.dmn Rule_2: business stopped
    assert fault.trail(0, "service_task_completed", "instance_completed") == [
        ("service_task_completed", "Task_notify_technical_lead"),
        ("service_task_completed", "Task_notify_project_manager"),  # seed 001_4ada53786a497df7.txt 2.2.1.1
        ("service_task_completed", "Task_start_incident_p1"), ("instance_completed", None)]
    (child,) = fault.children()
    inc = Flow(svc, child.id)
    assert child.process_key == "incident" and fault.instance().data["incident_instance_id"] == inc.id
    assert (child.data["fault_instance_id"], child.data["level"], child.data["contract"]) == (
        fault.id, "P1", "monitoring")
    opened = clock.now()
    # seed 003_fc58e5a8846aff91.txt §1.1.7.2 (a)(c)(d)(e): manager 15 min, team 30 min,
    # expert remote 1 h, expert group 2 h
    started = {e.data["clock"]: e.data["target"] for e in inc.events() if e.type == "sla_started"}
    assert started == {"emergency_notify_manager": "PT15M", "emergency_team": "PT30M",
                       "emergency_expert_remote": "PT1H", "emergency_expert_group": "PT2H",
                       "onsite_arrival": "PT2H"}  # seed 003_fc58e5a8846aff91.txt §1.1.8.3 表1-3: 2 h
    # the fault's own clocks without a monitoring target are looked up again, and have none here either
    assert inc.skipped() == ["emergency_onsite_arrival", "emergency_plan", "emergency_response",
                             "escalation_tier4", "loaner", "resolution", "workaround"]
    groups = {t.element_id: t.candidate_groups for t in inc.tasks()}
    assert groups == {"Task_dispatch_resources": ["technical_director"],
                      "Task_form_team": ["technical_director"], "Task_expert_remote": ["expert_group"],
                      "Task_form_expert_group": ["general_manager"]}
    # The manager is told at once (well inside 15 min): director and project manager SMS.
    assert inc.outbox() == [("sms", "technical_director"), ("sms", "project_manager")]
    assert inc.states()["emergency_notify_manager"] == "met"
    # the emergency steps' deadlines are clocks of monitoring's rows, no diagram timer (003 lines 37–39)
    assert inc.pending()["sla:breach:emergency_team"] == opened + timedelta(minutes=30)
    assert not [k for k in inc.pending() if not k.startswith("sla:")]
    # The fault's phone-response promise goes on with the case: 30 min from the fault's report, 3 min
    # before the incident opened (seed 003_fc58e5a8846aff91.txt §1.1.5.3 表1-1: level 1 < 30 min).
    received = inc.sla_event("sla_received", "response")
    assert received.data["from_instance_id"] == fault.id
    assert received.data["due_at"] == (T0 + timedelta(minutes=30)).isoformat()
    assert fault.states()["response"] == "handed_over"

    def rung(name: str) -> list[tuple[str, str | None]]:
        return [("sla_breached", name), ("sla_escalated", name)]

    task = [("task_created", "Task_handle_rung")]

    # seed 003_fc58e5a8846aff91.txt line 57 (§1.1.9.3 表1-6), level 1: field engineer 0.25 h, emergency
    # team 0.5 h, customer manager 0.75 h, service-centre general manager 1 h — from the fault's report,
    # 3 minutes before the incident opened.
    rungs = [  # minutes after the incident opened: (events once due, who is told)
        (12, rung("escalation_field_engineer"), ["duty_engineer"]),
        (15, [], []),
        (27, rung("escalation_emergency_team") + [("sla_breached", "response")] + task, ["expert_group"]),
        (30, rung("emergency_team"), ["general_manager"]),
        # the general manager's 75 % warning falls on the customer manager's rung (45 min)
        (42, rung("escalation_customer_manager") + [("sla_warning", "escalation_general_manager")],
         ["customer_manager"]),
        (57, rung("escalation_general_manager") + task, ["general_manager"]),
        (60, rung("emergency_expert_remote"), ["general_manager"]),
        (120, rung("emergency_expert_group") + [("sla_breached", "onsite_arrival")], ["technical_director"]),
    ]
    for minutes, expected, told in rungs:
        mark, sent = inc.mark(), len(inc.messages())
        tick(svc, clock, at=opened + timedelta(minutes=minutes))  # exactly at the rung: not yet
        assert {kind for kind, _ in inc.trail(mark)} <= {"sla_warning"}  # 75 % warnings only
        mark = inc.mark()
        tick(svc, clock, SECOND)
        assert inc.trail(mark) == expected
        assert inc.outbox()[sent:] == [("sms", group) for group in told]
    assert inc.trail(0, "sla_warning") == [("sla_warning", c) for c in (
        "escalation_field_engineer", "emergency_team", "escalation_emergency_team", "response",
        "escalation_customer_manager", "escalation_general_manager", "emergency_expert_remote",
        "emergency_expert_group", "onsite_arrival")]
    ladder = [m for m in inc.messages() if m.element_id.startswith("sla:breach:")]
    # every rung is a row now, the emergency steps' included (003 lines 37–39): nothing else messages
    assert [(m.element_id.removeprefix("sla:breach:"), m.recipient) for m in ladder] == [
        ("escalation_field_engineer", "duty_engineer"), ("escalation_emergency_team", "expert_group"),
        ("emergency_team", "general_manager"), ("escalation_customer_manager", "customer_manager"),
        ("escalation_general_manager", "general_manager"), ("emergency_expert_remote", "general_manager"),
        ("emergency_expert_group", "technical_director")]
    assert "时限“escalation_field_engineer”（PT15M）已到" in ladder[0].body
    assert len(inc.messages()) == 2 + len(ladder)
    # the ladder escalates, the work stays open; the emergency team and the general manager take it up
    assert inc.open() == sorted([*groups, "Task_handle_rung", "Task_handle_rung"])
    assert sorted(t.candidate_groups[0] for t in inc.tasks() if t.element_id == "Task_handle_rung") == [
        "expert_group", "general_manager"]
    assert inc.states() == {"emergency_notify_manager": "met", "emergency_team": "breached",
                            "emergency_expert_remote": "breached", "emergency_expert_group": "breached",
                            "onsite_arrival": "breached", "response": "breached",
                            **dict.fromkeys(LADDER, "breached")}
    assert fault.replays() and inc.replays()


def test_handing_a_p1_fault_to_an_incident_leaves_no_clock_running_in_the_fault(lite, clock):
    fault = start(lite, "fault_repair", {**FAULT, "contract": "monitoring", "level": "P1"})
    triage(fault, "total", "P1")
    tick(lite, clock, timedelta(days=1))  # seed 003_fc58e5a8846aff91.txt §1.1.5.3: P1 phone response 30 min
    assert fault.instance().status == "completed"
    assert fault.states()["response"] == "handed_over" and not fault.pending()
    (child,) = fault.children()
    assert Flow(lite, child.id).states()["response"] == "breached"  # the incident holds it now


def test_failed_plan_goes_to_vendor_support(svc, clock):
    inc = start(svc, "incident", {"summary": "95598 系统宕机", "customer": "国网XX",
                                  "contract": "callcenter_95598", "level": "P1"})
    # seed 000_db496af449587f92.txt §4 第2条: emergency, on site within 1 h of the report
    assert inc.clock("emergency_onsite_arrival")["due_at"] == T0 + timedelta(hours=1)
    inc.do("Task_form_team", DIRECTOR, team_members="甲,乙,丙", coordinator="甲")
    inc.do("Task_expert_remote", EXPERT, expert_remote_findings="数据库锁表")
    inc.do("Task_form_expert_group", GM, expert_group_members="专家一,专家二")
    inc.do("Task_dispatch_resources", DIRECTOR, **DISPATCH)
    assert inc.task("Task_arrive_onsite").assignee == "duty_engineer"
    clock.advance(timedelta(minutes=40))
    inc.do("Task_arrive_onsite", DUTY, service_request_signed=True)
    resolve = inc.clock("emergency_resolve")  # seed 000_db496af449587f92.txt §4 第2条: 2 h
    assert resolve["target"] == "PT2H" and inc.states()["emergency_onsite_arrival"] == "met"
    clock.advance(timedelta(minutes=20))
    inc.do("Task_draw_plan", EXPERT, **PLAN, needs_test=False)
    inc.do("Task_director_approve_plan", DIRECTOR, approved=True)
    clock.advance(timedelta(minutes=10))  # the customer's written agreement is not counted
    inc.do("Task_customer_agree_plan", CUSTOMER, customer_agrees=True)
    inc.do("Task_business_recovery", DUTY, business_restored=True)  # business recovery comes first
    clock.advance(timedelta(minutes=30))
    mark = inc.mark()
    inc.do("Task_implement_plan", DUTY, handling="重建索引", plan_succeeded=False)
    assert inc.task("Task_director_decide").candidate_groups == ["technical_director"]
    # seed 001_4ada53786a497df7.txt 事故处理 3.2.2.2: vendor
    inc.do("Task_director_decide", DIRECTOR, within_tolerance=False)
    assert inc.trail(mark, "task_completed", "service_task_completed", "task_created") == [
        ("task_completed", "Task_implement_plan"), ("task_created", "Task_director_decide"),
        ("task_completed", "Task_director_decide"), ("service_task_completed", "Task_vendor_case"),
        ("task_created", "Task_vendor_support")]
    case = inc.records()["vendor_case"]
    assert case.id.startswith("VC-") and "容许时间内未找到" in case.data["reason"]
    assert inc.task("Task_vendor_support").candidate_groups == ["vendor"]
    due = resolve["started_at"] + timedelta(hours=2, minutes=10)  # 2 h plus the 10 min pause
    tick(svc, clock, at=due)
    assert inc.states()["emergency_resolve"] == "running"
    tick(svc, clock, SECOND)
    breach = inc.sla_event("sla_breached", "emergency_resolve")
    assert (breach.at, breach.data["due_at"]) == (due + SECOND, due.isoformat())
    inc.do("Task_vendor_support", VENDOR, vendor_plan="厂商补丁")
    inc.do("Task_draw_plan", EXPERT, **PLAN, needs_test=True)
    inc.do("Task_director_approve_plan", DIRECTOR, approved=True)
    inc.do("Task_test_plan", DIRECTOR, test_passed=True)
    inc.do("Task_customer_agree_plan", CUSTOMER, customer_agrees=True)
    inc.do("Task_business_recovery", DUTY, business_restored=True)
    inc.do("Task_implement_plan", DUTY, handling="打厂商补丁", plan_succeeded=True)
    stopped = inc.sla_event("sla_stopped", "emergency_resolve")
    assert (stopped.element_id, stopped.data["state"]) == ("Event_incident_resolved", "breached")
    inc.do("Task_preventive_talk", DUTY, preventive_done=True, new_problem_found=False)
    observe = clock.now() + timedelta(days=1)  # seed 003_fc58e5a8846aff91.txt §1.1.7.2 第3条: observe
    assert inc.pending() == {"Event_observation": observe}
    assert tick(svc, clock, at=observe) == 0
    tick(svc, clock, SECOND)
    inc.do("Task_confirm_stable", DUTY, stable=True)
    inc.do("Task_fill_report", DUTY, **REPORT)
    inc.do("Task_customer_sign_report", CUSTOMER, signed=True)
    inc.do("Task_callback", DESK, satisfied=True)
    inc.do("Task_write_summary", EXPERT, incident_summary="厂商补丁修复")
    inc.do("Task_review_meeting", DIRECTOR, meeting_minutes="技术总结会纪要")
    inc.do("Task_gm_signoff", GM, gm_instructions="同意归档")
    inc.do("Task_archive", DESK, archive_ref="I-1")
    assert inc.instance().status == "completed"
    done = inc.completed()
    assert done.count("Task_draw_plan") == done.count("Task_implement_plan") == 2
    assert done.index("Task_director_decide") < done.index("Task_vendor_support") < len(done) - 1
    assert inc.states() == {"emergency_locate": "met", "emergency_onsite_arrival": "met",
                            "emergency_resolve": "breached", "onsite_arrival": "met"}
    assert inc.outbox()[-2:] == [("sms", "service_desk"), ("email", "customer")]  # the special report
    assert set(inc.records()) == {"vendor_case", "incident_special_report"}
    # seed 001_4ada53786a497df7.txt §4.4.5: special report
    special = dict(inc.records()["incident_special_report"].data["fields"]["rows"])
    assert (special["到达现场"], special["故障等级"]) == ("duty_engineer（2026-03-02 09:40）", "P1 重大故障")
    assert inc.replays()  # the plan was drawn after the locate warning instant


def test_emergency_resolve_counts_from_arrival(lite, clock):
    inc = start(lite, "incident", {"summary": "宕机", "customer": "国网XX", "contract": "callcenter_95598",
                                  "level": "P1"})
    inc.do("Task_dispatch_resources", DIRECTOR, **DISPATCH)
    clock.advance(timedelta(minutes=40))
    inc.do("Task_arrive_onsite", DUTY, service_request_signed=True)
    # seed 000_db496af449587f92.txt §4 第2条: locate within 1 h, resolve within 2 h, from the arrival
    assert inc.clock("emergency_locate")["due_at"] == clock.now() + timedelta(hours=1)
    assert inc.clock("emergency_resolve")["due_at"] == clock.now() + timedelta(hours=2)


def test_special_report_repair_time_is_the_successful_attempt(lite, clock):
    inc = start(lite, "incident", {"summary": "宕机", "customer": "国网XX", "contract": "callcenter_95598",
                                   "level": "P1"})
    for element, actor, data in [
        ("Task_form_team", DIRECTOR, {"team_members": "甲", "coordinator": "甲"}),
        ("Task_expert_remote", EXPERT, {"expert_remote_findings": "x"}),
        ("Task_form_expert_group", GM, {"expert_group_members": "e"}),
        ("Task_dispatch_resources", DIRECTOR, DISPATCH),
        ("Task_arrive_onsite", DUTY, {"service_request_signed": True}),
    ]:
        inc.do(element, actor, **data)
    for succeeded in (False, True):
        inc.do("Task_draw_plan", EXPERT, **PLAN, needs_test=False)
        inc.do("Task_director_approve_plan", DIRECTOR, approved=True)
        inc.do("Task_customer_agree_plan", CUSTOMER, customer_agrees=True)
        inc.do("Task_business_recovery", DUTY, business_restored=True)
        clock.advance(timedelta(hours=1))
        inc.do("Task_implement_plan", DUTY, handling="h", plan_succeeded=succeeded)
        if not succeeded:
            inc.do("Task_director_decide", DIRECTOR, within_tolerance=True)
    inc.do("Task_preventive_talk", DUTY, preventive_done=True, new_problem_found=False)
    tick(lite, clock, timedelta(days=1, seconds=1))
    inc.do("Task_confirm_stable", DUTY, stable=True)
    inc.do("Task_fill_report", DUTY, **REPORT)
    inc.do("Task_customer_sign_report", CUSTOMER, signed=True)
    inc.do("Task_callback", DESK, satisfied=True)
    inc.do("Task_write_summary", EXPERT, incident_summary="s")
    inc.do("Task_review_meeting", DIRECTOR, meeting_minutes="m")
    inc.do("Task_gm_signoff", GM, gm_instructions="ok")
    rows = dict(inc.records()["incident_special_report"].data["fields"]["rows"])
    assert rows["方案实施完成"] == "duty_engineer（2026-03-02 11:00）"  # the successful attempt
