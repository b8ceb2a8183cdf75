"""Elements a modeler offers that the engine does not do itself: `bpmn:task` and `bpmn:manualTask`
pass through as in Camunda 7; a script in a language other than Python is refused at deploy."""

from __future__ import annotations

import pytest

from engine.errors import DefinitionInvalid
from engine.service import Service
from engine.store.models import Instance

from .engine_support import DESK, open_tasks, the_task

PLAIN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_plain" targetNamespace="t">
  <bpmn:process id="plain" name="plain" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:task id="Note"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>
    <bpmn:manualTask id="CheckCables"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:manualTask>
    <bpmn:scriptTask id="Compute" scriptFormat="{fmt}">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>answer = 42</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="Review" camunda:candidateGroups="service_desk">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Finish"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Begin" targetRef="Note"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Note" targetRef="CheckCables"/>
    <bpmn:sequenceFlow id="f3" sourceRef="CheckCables" targetRef="Compute"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Compute" targetRef="Review"/>
    <bpmn:sequenceFlow id="f5" sourceRef="Review" targetRef="Finish"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_plain_and_manual_tasks_pass_through(service: Service) -> None:
    service.runtime.deploy([("plain.bpmn", PLAIN.format(fmt="python").encode())])
    iid = service.runtime.start("plain", {}, "alice")
    assert [t.element_id for t in open_tasks(service, iid)] == ["Review"]  # not stuck at Note


@pytest.mark.parametrize("fmt", ["javascript", "groovy"])
def test_a_script_in_another_language_is_refused_at_deploy(service: Service, fmt: str) -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        service.runtime.deploy([("plain.bpmn", PLAIN.format(fmt=fmt).encode())])
    assert [(e["file"], e["element_id"]) for e in refused.value.errors] == [("plain.bpmn", "Compute")]
    assert fmt in refused.value.errors[0]["message"]


COLLABORATION = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_collab" targetNamespace="t">
  <bpmn:collaboration id="Collab">
    <bpmn:participant id="Pool_desk" name="服务台" processRef="desk_flow"/>
    <bpmn:participant id="Pool_customer" name="客户" processRef="customer_side"/>
  </bpmn:collaboration>
  <bpmn:process id="desk_flow" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Answer" camunda:candidateGroups="service_desk">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Finish"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Begin" targetRef="Answer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Answer" targetRef="Finish"/>
  </bpmn:process>
  <bpmn:process id="customer_side" isExecutable="false"/>
</bpmn:definitions>""".encode()


def test_a_black_box_pool_documents_the_collaboration_and_is_not_built(service: Service) -> None:
    results = service.runtime.deploy([("collab.bpmn", COLLABORATION)])
    assert [r.process_key for r in results] == ["desk_flow"]  # the customer's pool is no process
    iid = service.runtime.start("desk_flow", {}, "alice")
    assert [t.element_id for t in open_tasks(service, iid)] == ["Answer"]


DATES = PLAIN.replace("<bpmn:script>answer = 42</bpmn:script>",
                      "<bpmn:script>from datetime import date, timedelta\n"
                      "due = date(2026, 1, 1) + timedelta(days=3)\nwait = timedelta(hours=30)</bpmn:script>")
DATES = DATES.replace('<bpmn:endEvent id="Finish"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>',
                      '<bpmn:scriptTask id="Later" scriptFormat="python"><bpmn:incoming>f5</bpmn:incoming>'
                      '<bpmn:outgoing>f6</bpmn:outgoing><bpmn:script>weekday = due.weekday()\n'
                      'hours = wait.total_seconds() / 3600</bpmn:script></bpmn:scriptTask>'
                      '<bpmn:endEvent id="Finish"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>'
                      '<bpmn:sequenceFlow id="f6" sourceRef="Later" targetRef="Finish"/>')
DATES = DATES.replace('targetRef="Finish"/>\n  </bpmn:process>', 'targetRef="Later"/>\n  </bpmn:process>', 1)


def test_dates_a_script_leaves_in_the_data_are_stored_and_come_back_as_dates(service: Service) -> None:
    # Stored after the first script and loaded for the review's completion, `due` must still be a date
    # for the later script: 4 January 2026 is a Sunday.
    from engine.audit.replay import Replayer

    service.runtime.deploy([("plain.bpmn", DATES.format(fmt="python").encode())])
    iid = service.runtime.start("plain", {}, "alice")
    service.runtime.complete(the_task(service, iid, "Review"), {}, DESK)
    with service.store.read() as s:
        row = s.get(Instance, iid)
        assert row.status == "completed"
        assert (row.data["due"], row.data["weekday"], row.data["hours"]) == ("2026-01-04", 6, 30.0)
    result = Replayer(service.store, service.definitions, service.runtime.sla, service.settings).replay(iid)
    assert result.verified, result.divergence
