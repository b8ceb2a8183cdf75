"""What the diagrams nobody here wrote (tests/data/corpus/spiff) showed, each kept as a small case: a
parallel join of three branches completed one operation at a time waited for ever (compaction had
dropped the branches it cancelled); a multi-instance task over a missing collection failed with a bare
TypeError; a user task whose data output the form did not fill failed with a traceback; a parallel
multiple event took a second delivery of the same trigger and changed nothing."""

from __future__ import annotations

import pytest

from engine.actor import Actor
from engine.errors import DefinitionInvalid, ScriptError

from .scenario_support import Flow

DESK = Actor("dora", frozenset({"service_desk"}))
HEAD = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
        '<bpmn:message id="m1" name="m1"/><bpmn:message id="m2" name="m2"/>'
        '<bpmn:process id="p" isExecutable="true">')
TAIL = "</bpmn:process></bpmn:definitions>"


def _task(tid: str, extra: str = "") -> str:
    return f'<bpmn:userTask id="{tid}" camunda:candidateGroups="service_desk">{extra}</bpmn:userTask>'


def _flows(*pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                   for i, (a, b) in enumerate(pairs, 1))


def _deploy(svc, body: str) -> None:
    svc.runtime.deploy([("p.bpmn", (HEAD + body + TAIL).encode())])


@pytest.mark.parametrize("order", [["T1", "T2", "T3"], ["T3", "T1", "T2"]])
def test_a_join_of_three_branches_completed_one_at_a_time_goes_on(svc, clock, order: list[str]) -> None:
    gateways = '<bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>'
    _deploy(svc, '<bpmn:startEvent id="s"/>' + gateways
            + "".join(_task(t) for t in ("T1", "T2", "T3")) + _task("After") + '<bpmn:endEvent id="e"/>'
            + _flows(("s", "split"), ("split", "T1"), ("split", "T2"), ("split", "T3"), ("T1", "join"),
                     ("T2", "join"), ("T3", "join"), ("join", "After"), ("After", "e")))
    f = Flow(svc, svc.runtime.start("p", {}, DESK))
    for element in order:
        assert f.open() != ["After"]
        f.do(element, DESK)  # each in its own operation, compacted after it
    assert f.open() == ["After"]
    f.do("After", DESK)
    assert f.instance().status == "completed" and f.replays()


def test_a_multi_instance_task_over_a_missing_collection_fails_naming_it(svc, clock) -> None:
    loop = ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="${sites}" '
            'camunda:elementVariable="site"/>')
    _deploy(svc, '<bpmn:startEvent id="s"/>' + _task("Visit", loop) + '<bpmn:endEvent id="e"/>'
            + _flows(("s", "Visit"), ("Visit", "e")))
    with pytest.raises(ScriptError) as failed:
        svc.runtime.start("p", {}, DESK)
    assert failed.value.element_id == "Visit" and "'sites'" in failed.value.message
    with pytest.raises(ScriptError, match="a str, not a list"):
        svc.runtime.start("p", {"sites": "北京"}, DESK)
    assert Flow(svc, svc.runtime.start("p", {"sites": ["北京", "上海"]}, DESK)).open() == ["Visit", "Visit"]


def test_a_user_task_whose_data_output_is_missing_fails_naming_the_task(svc, clock) -> None:
    output = ('<bpmn:ioSpecification><bpmn:dataOutput id="out" name="report"/><bpmn:inputSet/>'
              '<bpmn:outputSet><bpmn:dataOutputRefs>out</bpmn:dataOutputRefs></bpmn:outputSet>'
              '</bpmn:ioSpecification><bpmn:dataOutputAssociation><bpmn:sourceRef>out</bpmn:sourceRef>'
              '<bpmn:targetRef>ref</bpmn:targetRef></bpmn:dataOutputAssociation>')
    _deploy(svc, '<bpmn:dataObject id="report"/><bpmn:dataObjectReference id="ref" dataObjectRef="report"/>'
            '<bpmn:startEvent id="s"/>' + _task("Write", output) + '<bpmn:endEvent id="e"/>'
            + _flows(("s", "Write"), ("Write", "e")))
    f = Flow(svc, svc.runtime.start("p", {}, DESK))
    with pytest.raises(ScriptError) as failed:
        f.do("Write", DESK)
    assert failed.value.element_id == "Write"
    assert f.open() == ["Write"]  # nothing was written: the task is still open


def test_a_parallel_multiple_event_is_refused_naming_it(svc, clock) -> None:
    start = ('<bpmn:startEvent id="s" parallelMultiple="true"><bpmn:messageEventDefinition messageRef="m1"/>'
             '<bpmn:messageEventDefinition messageRef="m2"/></bpmn:startEvent>')
    with pytest.raises(DefinitionInvalid) as refused:
        _deploy(svc, start + _task("T") + '<bpmn:endEvent id="e"/>' + _flows(("s", "T"), ("T", "e")))
    assert [e["element_id"] for e in refused.value.errors] == ["s"]
    assert "parallel multiple events" in refused.value.errors[0]["message"]
