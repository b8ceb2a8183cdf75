"""A step that runs without a caller (a timer firing) and fails opens an incident and leaves a history
event; the timer is held until the incident is retried, so the scheduler does not fail again at every
tick; the history still verifies and replays."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.compose import product_service
from engine.audit.replay import Replayer
from engine.clock import ManualClock
from engine.errors import EngineError
from engine.service import Service
from engine.sla.hooks import NoSla, OperationView
from engine.store.chain import verify_chain
from engine.store.models import EventRow, IncidentRow, PendingTimer

WAIT_THEN_SCRIPT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_wait" targetNamespace="t">
  <bpmn:process id="wait_then_script" name="wait then script" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="WaitDef">
        <bpmn:timeDuration>PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="Compute" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>answer = gate()</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="Review" camunda:candidateGroups="service_desk">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Finish"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Begin" targetRef="Wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="Compute"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Compute" targetRef="Review"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Review" targetRef="Finish"/>
  </bpmn:process>
</bpmn:definitions>"""


class Gate(NoSla):
    """An engine function the script calls: it fails until `open` is set, like a source that is down."""

    def __init__(self) -> None:
        self.open = False

    def script_functions(self, op: OperationView | None = None) -> dict[str, Callable[..., object]]:
        def gate() -> int:
            if not self.open:
                raise EngineError("the rate source is unavailable")
            return 42

        return {"gate": gate}


@pytest.fixture
def gated(db_url: str, clock: ManualClock) -> Iterator[tuple[Service, Gate]]:
    gate = Gate()
    svc = product_service(db_url, clock=clock, handlers=[], sla=gate)
    svc.runtime.deploy([("wait.bpmn", WAIT_THEN_SCRIPT)])
    yield svc, gate
    svc.close()


def _events(svc: Service, iid: str) -> list[EventRow]:
    with svc.store.read() as s:
        return list(s.scalars(select(EventRow).where(EventRow.instance_id == iid).order_by(EventRow.seq)))


def _incidents(svc: Service, iid: str) -> list[IncidentRow]:
    with svc.store.read() as s:
        return list(s.scalars(select(IncidentRow).where(IncidentRow.instance_id == iid)))


def test_a_failing_timer_step_opens_one_incident_and_holds_the_timer(gated, clock) -> None:
    svc, _ = gated
    iid = svc.runtime.start("wait_then_script", {}, "alice")
    clock.advance(timedelta(hours=2))
    svc.runtime.fire_due_timers()
    types = [e.type for e in _events(svc, iid)]
    assert types[-2:] == ["timer_failed", "incident_opened"]
    (incident,) = _incidents(svc, iid)
    assert incident.status == "open" and "rate source" in incident.message and incident.topic == "timer"
    failed = _events(svc, iid)[-2]
    # the incident names the step that failed; its task is the timer that waits for the retry
    assert failed.data["held"] == [incident.task_id] and failed.element_id == incident.element_id == "Compute"
    with svc.store.read() as s:  # held: nothing of this instance is due any more
        assert s.scalars(select(PendingTimer).where(PendingTimer.instance_id == iid)).all() == []
    for _ in range(3):  # later ticks neither fail again nor write anything
        clock.advance(timedelta(minutes=5))
        assert svc.runtime.fire_due_timers() == 0
    assert len(_events(svc, iid)) == len(types) and len(_incidents(svc, iid)) == 1
    assert verify_chain(iid, _events(svc, iid)) == (True, None)
    replayed = Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(iid)
    assert replayed.verified, replayed.divergence


def test_the_retry_fires_the_held_timer_and_a_failing_retry_changes_nothing(gated, clock) -> None:
    svc, gate = gated
    iid = svc.runtime.start("wait_then_script", {}, "alice")
    clock.advance(timedelta(hours=2))
    svc.runtime.fire_due_timers()
    (incident,) = _incidents(svc, iid)
    before = len(_events(svc, iid))
    with pytest.raises(EngineError, match="rate source"):  # a retry has a caller: it is told
        svc.runtime.retry_incident(incident.id, "admin")
    assert len(_events(svc, iid)) == before and _incidents(svc, iid)[0].status == "open"

    gate.open = True
    svc.runtime.retry_incident(incident.id, "admin")
    types = [e.type for e in _events(svc, iid)[before:]]
    assert types[:2] == ["incident_resolved", "timer_fired"] and "task_created" in types
    assert _incidents(svc, iid)[0].status == "resolved"
    replayed = Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(iid)
    assert replayed.verified, replayed.divergence
