"""Each clock stops at the event the contract means (issue 15): the phone response at the first
response to the caller, the workaround only when one was given, seed 004's emergency plan when
service is restored; and the deploy refuses a stop or a hand-over that could never happen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import DefinitionInvalid

from .scenario_support import (
    CUSTOMER,
    DIRECTOR,
    DUTY,
    EXPERT,
    FAULT,
    PLAN,
    SECOND,
    T0,
    Flow,
    start,
    tick,
    triage,
)

DISPATCH = {"dispatched_engineers": "duty_engineer", "duty_engineer": "duty_engineer"}


def _p2_fault(svc) -> Flow:
    f = start(svc, "fault_repair", {**FAULT, "level": "P2"})
    triage(f, "partial", "P2")
    return f


def test_the_response_stops_when_the_engineer_takes_the_call(svc, clock):
    # seed 001_4ada53786a497df7.txt line 13 (§2.2.4.3 远程支持响应时间表): 严重故障 电话响应 10 分钟.
    f = _p2_fault(svc)
    phone = f.task("Task_phone_diagnosis")
    assert phone.due_at == T0 + timedelta(minutes=10)  # the earliest clock the step can stop
    clock.advance(timedelta(minutes=4))
    mark = f.mark()
    svc.runtime.claim(phone.id, DUTY)
    # §4.2 突发故障 接到电话后 30 分钟内立即响应: the hotline fault's sudden-fault response, same event
    assert f.trail(mark) == [("task_claimed", "Task_phone_diagnosis"), ("sla_met", "response"),
                             ("sla_met", "sudden_fault_response")]
    met = f.sla_event("sla_met", "response")
    assert (met.element_id, met.at) == ("Task_phone_diagnosis", T0 + timedelta(minutes=4))
    # seed 001 line 13 (§2.2.5.8): 严重故障 发出临时解决方案 60 分钟 — still open after the response.
    assert f.states()["workaround"] == "running"
    assert f.task("Task_phone_diagnosis").due_at == T0 + timedelta(hours=1)
    assert f.replays()


def test_an_unclaimed_diagnosis_responds_when_it_is_completed(svc, clock):
    f = _p2_fault(svc)
    clock.advance(timedelta(minutes=12))
    f.do("Task_phone_diagnosis", DUTY, diagnosis="端口无光", solved=False)
    stop = next(e for e in f.events() if e.data.get("clock") == "response" and e.type == "sla_stopped")
    assert (stop.element_id, stop.data["state"]) == ("Task_phone_diagnosis", "breached")  # 12 > 10 min


def test_the_workaround_stops_only_when_one_was_given(svc, clock):
    # seed 001_4ada53786a497df7.txt line 13 (§2.2.5.8): 严重故障 发出临时解决方案 60 分钟.
    without = _p2_fault(svc)
    clock.advance(timedelta(minutes=20))
    without.do("Task_phone_diagnosis", DUTY, diagnosis="端口无光", solved=False)
    assert without.states()["workaround"] == "running"  # a diagnosis is not a workaround
    given = _p2_fault(svc)
    given.do("Task_phone_diagnosis", DUTY, diagnosis="端口无光", workaround="临时切换到备用端口",
             solved=False)
    met = given.sla_event("sla_met", "workaround")
    assert met.element_id == "Task_phone_diagnosis"
    tick(svc, clock, at=T0 + timedelta(hours=1))
    assert without.states()["workaround"] == "running"
    tick(svc, clock, SECOND)
    assert without.states()["workaround"] == "breached" and given.states()["workaround"] == "met"
    assert without.replays() and given.replays()


def _incident(svc, clock) -> Flow:
    inc = start(svc, "incident", {"summary": "系统瘫痪", "customer": "成都XX", "contract": "integration",
                                  "level": "P3"})
    inc.do("Task_form_team", DIRECTOR, team_members="甲", coordinator="甲")
    inc.do("Task_dispatch_resources", DIRECTOR, **DISPATCH)
    inc.do("Task_arrive_onsite", DUTY, service_request_signed=True)
    clock.advance(timedelta(hours=1))
    inc.do("Task_draw_plan", EXPERT, **PLAN, needs_test=False)
    inc.do("Task_director_approve_plan", DIRECTOR, approved=True)
    inc.do("Task_customer_agree_plan", CUSTOMER, customer_agrees=True)
    return inc


def test_the_emergency_plan_stops_when_service_is_restored(svc, clock):
    # seed 004_777e0ef8db92c2e8.txt lines 389-391: any technical fault, 4 h to restore normal running.
    inc = _incident(svc, clock)
    assert inc.states()["emergency_plan"] == "running"  # drafting the plan restores nothing
    clock.advance(timedelta(minutes=30))
    inc.do("Task_business_recovery", DUTY, business_restored=True)
    met = inc.sla_event("sla_met", "emergency_plan")
    assert (met.element_id, met.at) == ("Task_business_recovery", T0 + timedelta(hours=1, minutes=30))
    assert inc.replays()


def test_an_unrestored_business_keeps_the_emergency_clock_until_resolved(svc, clock):
    inc = _incident(svc, clock)
    inc.do("Task_business_recovery", DUTY, business_restored=False)
    assert inc.states()["emergency_plan"] == "running"
    tick(svc, clock, at=T0 + timedelta(hours=4, seconds=1))
    assert inc.states()["emergency_plan"] == "breached"
    inc.do("Task_implement_plan", DUTY, handling="更换主板", plan_succeeded=True)
    stop = inc.sla_event("sla_stopped", "emergency_plan")
    assert stop.element_id == "Event_incident_resolved"
    assert inc.replays()


BAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_stops" targetNamespace="t">
  <bpmn:process id="stops" name="时限" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Answer" camunda:candidateGroups="service_desk">
      <bpmn:extensionElements>
        <camunda:formData><camunda:formField id="reply" label="答复" type="string"/></camunda:formData>
        <camunda:properties><camunda:property name="sla.stop_if" value="{stop_if}"/></camunda:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Done">
      <bpmn:extensionElements>
        <camunda:properties><camunda:property name="sla.stop_on_claim" value="response"/>
          <camunda:property name="sla.hand_over" value="response"/></camunda:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Begin" targetRef="Answer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Answer" targetRef="Done"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("stop_if", ["response=answer", "response"])
def test_a_stop_that_could_never_fire_is_refused(service, stop_if: str) -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        service.runtime.deploy([("stops.bpmn", BAD.format(stop_if=stop_if).encode())])
    errors = {(e["element_id"], e["message"].split(":")[0]) for e in refused.value.errors}
    assert ("Answer", f"sla.stop_if entry {stop_if if '=' in stop_if else stop_if + '='}") in errors
    assert ("Done", "sla.stop_on_claim needs a user task (only those are claimed)") in errors
    assert ("Done", "sla.hand_over needs a start_process service task (the case goes on in the instance "
                    "it starts)") in errors


def test_a_notice_counted_back_from_a_field_that_is_no_date_is_refused(service) -> None:
    # sla.due_before counts back from a date of the form (seed 001 §2.3.3.3's visit date); a text field
    # could not be counted from, so the deploy names it
    text = BAD.format(stop_if="response=reply").replace(
        'name="sla.stop_if"', 'name="sla.due_before"')
    with pytest.raises(DefinitionInvalid) as refused:
        service.runtime.deploy([("notice.bpmn", text.encode())])
    messages = [e["message"] for e in refused.value.errors if e["element_id"] == "Answer"]
    assert messages == ["sla.due_before entry response=reply: write clock=field, the field one of this "
                        "element's date fields (none)"]
