"""Deploy-time checks: start timers that could never be scheduled, and decision ids that would silently
replace another file's table, are refused naming file and element, and nothing is stored."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.bpmn import definitions
from engine.bpmn.timers import Cycle, next_due
from engine.clock import ManualClock
from engine.errors import DefinitionInvalid
from engine.runtime import schedules
from engine.service import Service
from engine.store.models import FileHead, PendingTimer, ProcessVersion

from .conftest import START

DEPLOY_TIME = START  # where a cycle without a start counts from; these cycles give theirs

TIMER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_tick" targetNamespace="t">
  <bpmn:process id="tick" name="定时" isExecutable="true">
    <bpmn:startEvent id="TickStart">
      <bpmn:outgoing>t1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:userTask id="Plan" camunda:candidateGroups="service_desk">
      <bpmn:incoming>t1</bpmn:incoming><bpmn:outgoing>t2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Late" attachedToRef="Plan" cancelActivity="false">
      <bpmn:outgoing>t3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:{late_kind}>{late}</bpmn:{late_kind}></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="Done"><bpmn:incoming>t2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="LateEnd"><bpmn:incoming>t3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="t1" sourceRef="TickStart" targetRef="Plan"/>
    <bpmn:sequenceFlow id="t2" sourceRef="Plan" targetRef="Done"/>
    <bpmn:sequenceFlow id="t3" sourceRef="Late" targetRef="LateEnd"/>
  </bpmn:process>
</bpmn:definitions>"""


def timer_bpmn(kind: str, text: str, late_kind: str = "timeDuration", late: str = "PT2H") -> bytes:
    return TIMER_BPMN.format(kind=kind, text=text, late_kind=late_kind, late=late).encode()


def _stored(service: Service) -> tuple[int, int, int]:
    with service.store.read() as s:
        return (s.scalar(select(func.count()).select_from(ProcessVersion)) or 0,
                s.scalar(select(func.count()).select_from(FileHead)) or 0,
                s.scalar(select(func.count()).select_from(PendingTimer)) or 0)


@pytest.mark.parametrize(("kind", "text", "says"), [
    ("timeCycle", "R/2026-01-01T00:00:00+08:00/PT0S", "moves nothing"),
    ("timeCycle", "R/2026-01-01T00:00:00+08:00/P0D", "moves nothing"),
    ("timeCycle", "R/2026-01-01T00:00:00+08:00/-PT1H", "not an ISO 8601 duration"),
    ("timeCycle", "R/not-a-date/P1D", "R/not-a-date/P1D"),
    ("timeCycle", "Rx/2026-01-01T00:00:00+08:00/P1D", "repetition count"),
    ("timeCycle", "61 25 * * *", "61 25 * * *"),
    ("timeDate", "not-a-date", "not-a-date"),
    ("timeDate", "2026-05-01T09:00:00", "offset"),
    ("timeDuration", "P", "not an ISO 8601 duration"),
    ("timeDate", "${tomorrow}", "not an expression"),
])
def test_bad_start_timers_are_refused_and_nothing_is_stored(service: Service, kind: str, text: str,
                                                            says: str) -> None:
    before = _stored(service)
    with pytest.raises(DefinitionInvalid) as refused:
        service.runtime.deploy([("tick.bpmn", timer_bpmn(kind, text))])
    (error,) = refused.value.errors
    assert (error["file"], error["element_id"]) == ("tick.bpmn", "TickStart")
    assert says in error["message"]
    assert _stored(service) == before
    assert not service.runtime.fire_due_timers()


@pytest.mark.parametrize(("kind", "text"), [
    ("timeDuration", "PT0X"), ("timeDate", "2026-13-01T00:00:00+08:00"), ("timeCycle", "R3/PT0S")])
def test_bad_literal_boundary_timers_are_refused(service: Service, kind: str, text: str) -> None:
    bpmn = timer_bpmn("timeCycle", "0 9 * * 1", late_kind=kind, late=text)
    with pytest.raises(DefinitionInvalid) as refused:
        service.runtime.deploy([("tick.bpmn", bpmn)])
    assert [(e["file"], e["element_id"]) for e in refused.value.errors] == [("tick.bpmn", "Late")]


def test_a_valid_cron_start_is_armed_at_the_next_beijing_time(service: Service, clock: ManualClock) -> None:
    service.runtime.deploy([("tick.bpmn", timer_bpmn("timeCycle", "0 9 * * mon"))])
    with service.store.read() as s:
        (due,) = s.scalars(select(PendingTimer.due_at).where(PendingTimer.kind == "start")).all()
    assert due == datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # START is Monday 09:00 Beijing, taken as past


def test_a_short_cycle_from_long_ago_is_scheduled_by_arithmetic() -> None:
    # A step-by-step walk would take 825 million steps here; the jump lands on the next second.
    cycle = Cycle.parse("R/2000-01-01T00:00:00+08:00/PT1S", DEPLOY_TIME)
    assert cycle.due_after(START) == START + timedelta(seconds=1)
    monthly = Cycle.parse("R/1990-01-31T09:00:00+08:00/P1M", DEPLOY_TIME)
    assert monthly.due_after(START) == datetime(2026, 3, 31, 9, 0, tzinfo=monthly.start.tzinfo)
    counted = Cycle.parse("R3/2026-01-01T00:00:00+08:00/P1D", DEPLOY_TIME)
    assert counted.due_after(datetime(2026, 1, 2, 12, tzinfo=counted.start.tzinfo)) == \
        datetime(2026, 1, 3, tzinfo=counted.start.tzinfo)
    assert counted.due_after(datetime(2026, 1, 3, tzinfo=counted.start.tzinfo)) is None
    assert next_due("timeCycle:R/2000-01-01T00:00:00+08:00/PT1S", START, START) == \
        START + timedelta(seconds=1)


def test_schedules_are_computed_outside_the_write_transaction(service: Service,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store, writing, seen = service.store, [], []
    original = store.write

    @contextlib.contextmanager
    def tracked() -> Iterator[Any]:
        with original() as session:
            writing.append(True)
            try:
                yield session
            finally:
                writing.pop()

    real, real_check, parsed = schedules.next_due, definitions.check, []
    monkeypatch.setattr(store, "write", tracked)
    monkeypatch.setattr(schedules, "next_due", lambda *args: seen.append(bool(writing)) or real(*args))
    monkeypatch.setattr(definitions, "check",
                        lambda *args, **kw: parsed.append(bool(writing)) or real_check(*args, **kw))
    service.runtime.deploy([("tick.bpmn", timer_bpmn("timeCycle", "R/2026-03-25T09:00:00+08:00/P1M"))])
    assert seen == [False]
    assert parsed and not any(parsed)  # the diagrams are parsed before the write transaction too
    assert _stored(service)[2] == 1


def test_a_deploy_that_raced_another_is_checked_again_inside_the_write(
        service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    service.runtime.deploy([("levels.dmn", dmn("a", "P1"))])
    real_combine = definitions.Definitions._combine
    calls: list[int] = []

    def combine(self: Any, session: Any, files: Any) -> Any:
        if not calls:  # between this deploy's check and its write, another deploy adds rate.bpmn
            calls.append(1)
            result = real_combine(self, session, files)
            service.runtime.deploy([("rate.bpmn", RULE_BPMN)])
            return result
        calls.append(2)
        return real_combine(self, session, files)

    monkeypatch.setattr(definitions.Definitions, "_combine", combine)
    results = service.runtime.deploy([("levels.dmn", dmn("a", "P3"))])
    assert calls == [1, 2, 2]  # this check, the racing deploy's, this one's again inside the write
    assert [(r.process_key, r.version) for r in results] == [("rate", 2)]
    assert _level(service) == "P3"


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Defs_{name}" name="{name}"
             namespace="http://weibao.cn/dmn">
  <decision id="level_table" name="等级">
    <decisionTable id="Table_{name}" hitPolicy="FIRST">
      <input id="In_{name}" label="影响"><inputExpression id="Expr_{name}" typeRef="string">
        <text>impact</text></inputExpression></input>
      <output id="Out_{name}" name="level" typeRef="string"/>
      <rule id="Rule_{name}"><inputEntry id="E_{name}"><text></text></inputEntry>
        <outputEntry id="O_{name}"><text>"{level}"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""

RULE_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_rate" targetNamespace="t">
  <bpmn:process id="rate" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>r1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="Decide" camunda:decisionRef="level_table" camunda:resultVariable="level"
                           camunda:mapDecisionResult="singleEntry">
      <bpmn:incoming>r1</bpmn:incoming><bpmn:outgoing>r2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:userTask id="Look" camunda:candidateGroups="service_desk">
      <bpmn:incoming>r2</bpmn:incoming><bpmn:outgoing>r3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Finish"><bpmn:incoming>r3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="r1" sourceRef="Begin" targetRef="Decide"/>
    <bpmn:sequenceFlow id="r2" sourceRef="Decide" targetRef="Look"/>
    <bpmn:sequenceFlow id="r3" sourceRef="Look" targetRef="Finish"/>
  </bpmn:process>
</bpmn:definitions>"""


def dmn(name: str, level: str) -> bytes:
    return DMN.format(name=name, level=level).encode()


def _level(service: Service) -> Any:
    iid = service.runtime.start("rate", {"impact": "total"})
    with service.store.read() as s:
        from engine.store.models import Instance

        return s.get(Instance, iid).data.get("level")  # type: ignore[union-attr]


def test_a_decision_id_of_another_file_is_refused_naming_both(service: Service) -> None:
    service.runtime.deploy([("levels.dmn", dmn("a", "P1")), ("rate.bpmn", RULE_BPMN)])
    assert _level(service) == "P1"
    before = _stored(service)
    with pytest.raises(DefinitionInvalid) as refused:
        service.runtime.deploy([("other_levels.dmn", dmn("b", "P4"))])
    (error,) = refused.value.errors
    assert error["file"] == "other_levels.dmn" and error["element_id"] == "level_table"
    assert "levels.dmn" in error["message"].replace("other_levels.dmn", "")
    assert _stored(service) == before
    assert _level(service) == "P1"
    # The same file under its own name is an edit, not a clash.
    assert service.runtime.deploy([("levels.dmn", dmn("a", "P2"))])[0].created
    assert _level(service) == "P2"


def test_two_new_files_with_one_decision_id_are_refused(service: Service) -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        service.runtime.deploy([("x.dmn", dmn("x", "P1")), ("y.dmn", dmn("y", "P2")),
                                ("rate.bpmn", RULE_BPMN)])
    assert "x.dmn" in refused.value.errors[0]["message"] and "y.dmn" in refused.value.errors[0]["message"]
    assert _stored(service) == (0, 0, 0)



def test_a_fired_cron_start_is_due_next_week_not_again(service: Service, clock: ManualClock) -> None:
    service.runtime.deploy([("tick.bpmn", timer_bpmn("timeCycle", "0 9 * * mon"))])
    clock.set(datetime(2026, 3, 9, 1, 0, 1, tzinfo=UTC))
    assert service.runtime.fire_due_timers() == 1
    assert service.runtime.fire_due_timers() == 0
    with service.store.read() as s:
        (due,) = s.scalars(select(PendingTimer.due_at).where(PendingTimer.kind == "start")).all()
    assert due == datetime(2026, 3, 16, 1, 0, tzinfo=UTC)
