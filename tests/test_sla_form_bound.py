"""Clocks bound to the form: `sla.start_if`, `sla.start_from`, `sla.stop_at` and the moment constraints
of date fields (`not_before`, `not_in_future`) that they rely on. A deploy refuses an entry that could
never hold; the form refuses a moment out of order. The contract scenarios are in
tests/test_scenario_intake_clocks.py.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bpmn import forms
from engine.bpmn.forms import FormField
from engine.errors import DefinitionInvalid, InvalidInput
from engine.sla import fields

BAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_bound" targetNamespace="t">
  <bpmn:process id="bound" name="时限" isExecutable="true">
    <bpmn:startEvent id="Begin">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="channel" label="渠道" type="string"/>
          <camunda:formField id="arrived" label="来电" type="date"/>
          <camunda:formField id="answered" label="接通" type="date">
            <camunda:validation>
              <camunda:constraint name="not_before" config="{not_before}"/>
            </camunda:validation>
          </camunda:formField>
          <camunda:formField id="count" label="次数" type="long">
            <camunda:validation><camunda:constraint name="not_in_future"/></camunda:validation>
          </camunda:formField>
        </camunda:formData>
        <camunda:properties>
          <camunda:property name="sla.start" value="response"/>
          <camunda:property name="sla.start_if" value="{start_if}"/>
          <camunda:property name="sla.start_from" value="response=channel"/>
          <camunda:property name="sla.stop_at" value="response=later"/>
        </camunda:properties>
      </bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:endEvent id="Done"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Begin" targetRef="Done"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("start_if", ["response=mail", "response=channel:"])
def test_entries_that_could_never_hold_are_refused_at_deploy(service, start_if: str) -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        service.runtime.deploy([("bound.bpmn", BAD.format(start_if=start_if, not_before="gone").encode())])
    messages = [e["message"] for e in refused.value.errors if e["element_id"] == "Begin"]
    assert any(m.startswith(f"sla.start_if entry {start_if}:") for m in messages)
    assert any(m.startswith("sla.start_from entry response=channel:") for m in messages)  # not a date
    assert any(m.startswith("sla.stop_at entry response=later:") for m in messages)
    assert "form field 'answered': not_before names another date field of the form (['arrived'])" in messages
    assert "form field 'count': not_before, not_in_future and time need a date field" in messages


NOW = datetime.fromisoformat("2026-03-02T09:00:00+08:00")
CALL = [FormField("arrived", "来电", "date", not_in_future=True),
        FormField("answered", "接通", "date", not_in_future=True, not_before="arrived")]


def test_moments_are_checked_against_each_other_and_now() -> None:
    ok = {"arrived": "2026-03-02T08:59:00+08:00", "answered": "2026-03-02T01:00:00Z"}
    assert forms.validate(CALL, ok, where="t", now=NOW) == ok  # 01:00 UTC is 09:00 Beijing, not after now
    with pytest.raises(InvalidInput) as out_of_order:
        forms.validate(CALL, {"arrived": "2026-03-02T08:59", "answered": "2026-03-02T08:58:59"}, where="t",
                       now=NOW)
    assert out_of_order.value.details["fields"] == {"answered": "接通 must not be before 来电"}
    with pytest.raises(InvalidInput) as ahead:
        forms.validate(CALL, {"arrived": "2026-03-03"}, where="t", now=NOW)  # a day is its start
    assert ahead.value.details["fields"] == {"arrived": "来电 must not be in the future"}
    assert forms.validate(CALL, {"answered": "2026-03-02T08:00"}, where="t", now=NOW)  # nothing to follow
    with pytest.raises(InvalidInput) as bad:
        forms.validate(CALL, {"arrived": "soon", "answered": "2026-03-02T08:00"}, where="t", now=NOW)
    assert list(bad.value.details["fields"]) == ["arrived"]  # the bad date, not a comparison with it


def test_start_conditions_read_a_value_or_a_given_field() -> None:
    props = {"sla.start_if": "a=channel:email, b=stamp, b=channel:hotline",
             "sla.start_from": "b=stamp", "sla.stop_at": "b=done"}
    assert fields.owed(props, "a", {"channel": "email"}) and not fields.owed(props, "a", {"channel": "web"})
    assert not fields.owed(props, "b", {"channel": "hotline", "stamp": " "})  # every entry of b must hold
    assert fields.owed(props, "b", {"channel": "hotline", "stamp": "2026-03-02T08:00"})
    assert fields.owed(props, "c", {})  # a clock without a condition is owed
    start = fields.started_at(props, "b", {"stamp": "2026-03-02T08:00"}, NOW)
    assert start == datetime.fromisoformat("2026-03-02T08:00:00+08:00")  # typed without offset: Beijing
    assert fields.started_at(props, "b", {}, NOW) == NOW
    assert fields.stops_at(props, {"done": "2026-03-02T08:01:00+08:00"}) == {
        "b": datetime.fromisoformat("2026-03-02T08:01:00+08:00")}
    assert fields.stops_at(props, {}) == {}
