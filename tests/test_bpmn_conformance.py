"""What the Camunda Modeler offers and this engine refuses, each refused at deploy naming the element
and what to draw instead (the README's conformance table), and what it runs in Camunda's way: a send
task calls its handler, a multi-instance task over `camunda:collection="${sites}"`, a terminate end
event ends the other branches, data stores are drawing only."""

from __future__ import annotations

import pytest

from engine.actor import Actor
from engine.errors import DefinitionInvalid

from .scenario_support import Flow

ADMIN = Actor("a", frozenset({"service_desk"}), frozenset({"admin"}))
HEAD = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
        '<bpmn:message id="m1" name="m1"/><bpmn:signal id="sg1" name="sg1"/>'
        '<bpmn:process id="p" name="一致性" isExecutable="true">')
START = '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
TAIL = ('<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="x"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="e"/></bpmn:process></bpmn:definitions>')
IO = "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"


def diagram(middle: str, start: str = START) -> bytes:
    return (HEAD + start + middle + TAIL).encode()


REFUSED = {
    "complex gateway": (f'<bpmn:complexGateway id="x">{IO}</bpmn:complexGateway>', "x", "complex gateways"),
    "ad-hoc subprocess": (f'<bpmn:adHocSubProcess id="x">{IO}</bpmn:adHocSubProcess>', "x", "ad-hoc"),
    "message throw event": (f'<bpmn:intermediateThrowEvent id="x">{IO}<bpmn:messageEventDefinition '
                            'messageRef="m1"/></bpmn:intermediateThrowEvent>', "x", "an implementation"),
    "send task without its handler": (f'<bpmn:sendTask id="x">{IO}</bpmn:sendTask>', "x", "camunda:topic"),
    "service task by Java class": (f'<bpmn:serviceTask id="x" camunda:class="com.acme.Foo">{IO}'
                                   '</bpmn:serviceTask>', "x", "camunda:topic"),
    "collection that is code": (f'<bpmn:userTask id="x" camunda:candidateGroups="service_desk">{IO}'
                                '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${a + b}"/>'
                                '</bpmn:userTask>', "x", "must name a variable"),
}


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_what_the_engine_cannot_run_is_refused_naming_the_element(engine_service, clock, what: str) -> None:
    middle, element, words = REFUSED[what]
    with pytest.raises(DefinitionInvalid) as refused:
        engine_service.runtime.deploy([("p.bpmn", diagram(middle))])
    assert [e["element_id"] for e in refused.value.errors] == [element]
    assert words in refused.value.errors[0]["message"]


def test_a_signal_start_event_is_started_by_its_signal(engine_service, clock) -> None:
    start = '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing><bpmn:signalEventDefinition ' \
            'signalRef="sg1"/></bpmn:startEvent>'
    middle = f'<bpmn:userTask id="x" camunda:candidateGroups="service_desk">{IO}</bpmn:userTask>'
    engine_service.runtime.deploy([("p.bpmn", diagram(middle, start))])
    reach = engine_service.runtime.signal("sg1", actor="admin")
    assert len(reach.started) == 1 and reach.reached == []
    assert Flow(engine_service, reach.started[0]).open() == ["x"]


def test_a_send_task_calls_its_handler(engine_service, clock) -> None:
    middle = f'<bpmn:sendTask id="x" camunda:type="external" camunda:topic="echo">{IO}</bpmn:sendTask>'
    engine_service.runtime.deploy([("p.bpmn", diagram(middle))])
    f = Flow(engine_service, engine_service.runtime.start("p", {"note": "已发送"}, "dora"))
    assert f.instance().status == "completed" and f.instance().data["echoed"] == "已发送"
    assert [e.type for e in f.events()][1] == "service_task_completed"


def test_a_multi_instance_task_over_a_camunda_collection(engine_service, clock) -> None:
    middle = (f'<bpmn:userTask id="x" camunda:candidateGroups="service_desk">{IO}'
              '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${sites}" '
              'camunda:elementVariable="site"/></bpmn:userTask>')
    engine_service.runtime.deploy([("p.bpmn", diagram(middle))])
    f = Flow(engine_service, engine_service.runtime.start("p", {"sites": ["沈阳机房", "大连机房"]}, "dora"))
    assert f.open() == ["x", "x"]  # one task per site
    for task in f.tasks():
        engine_service.runtime.complete(task.id, {}, ADMIN)
    assert f.instance().status == "completed" and f.replays()


def test_a_terminate_end_event_ends_the_other_branches(engine_service, clock) -> None:
    middle = ('<bpmn:parallelGateway id="x"><bpmn:incoming>f1</bpmn:incoming>'
              '<bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:parallelGateway>'
              '<bpmn:userTask id="a" camunda:candidateGroups="service_desk"><bpmn:incoming>f3</bpmn:incoming>'
              '<bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>'
              '<bpmn:userTask id="b" camunda:candidateGroups="service_desk"><bpmn:incoming>f4</bpmn:incoming>'
              '<bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>'
              '<bpmn:endEvent id="stop"><bpmn:incoming>f5</bpmn:incoming><bpmn:terminateEventDefinition/>'
              '</bpmn:endEvent><bpmn:sequenceFlow id="f3" sourceRef="x" targetRef="a"/>'
              '<bpmn:sequenceFlow id="f4" sourceRef="x" targetRef="b"/>'
              '<bpmn:sequenceFlow id="f5" sourceRef="a" targetRef="stop"/>')
    text = diagram(middle).replace(b'<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="e"/>',
                                   b'<bpmn:sequenceFlow id="f2" sourceRef="b" targetRef="e"/>')
    engine_service.runtime.deploy([("p.bpmn", text)])
    f = Flow(engine_service, engine_service.runtime.start("p", {}, "dora"))
    assert f.open() == ["a", "b"]
    f.do("a", ADMIN)
    assert f.open() == [] and f.instance().status == "completed" and f.replays()


def test_a_data_store_is_drawing_only(engine_service, clock) -> None:
    middle = (f'<bpmn:userTask id="x" camunda:candidateGroups="service_desk">{IO}'
              '<bpmn:dataOutputAssociation id="da"><bpmn:targetRef>ds</bpmn:targetRef>'
              '</bpmn:dataOutputAssociation></bpmn:userTask><bpmn:dataStoreReference id="ds" name="备件库"/>')
    engine_service.runtime.deploy([("p.bpmn", diagram(middle))])
    f = Flow(engine_service, engine_service.runtime.start("p", {}, "dora"))
    f.do("x", ADMIN)
    assert f.instance().status == "completed" and f.replays()


def test_a_standard_loop_repeats_while_its_condition_holds(engine_service, clock) -> None:
    from .engine_support import DATA

    engine_service.runtime.deploy([("standard_loop.bpmn", (DATA / "standard_loop.bpmn").read_bytes())])
    f = Flow(engine_service, engine_service.runtime.start("p", {}, "dora"))
    for again in (True, True):
        f.do("x", ADMIN, done=again)
        assert f.open() == ["x"]
    f.do("x", ADMIN, done=True)  # loopMaximum="3": the third turn is the last
    assert f.instance().status == "completed" and f.completed() == ["x", "x", "x"] and f.replays()


def test_an_error_end_event_starts_the_error_event_subprocess(engine_service, clock) -> None:
    from .engine_support import DATA

    content = (DATA / "error_event_subprocess.bpmn").read_bytes()
    engine_service.runtime.deploy([("error_event_subprocess.bpmn", content)])
    f = Flow(engine_service, engine_service.runtime.start("evsub", {}, "dora"))
    f.do("x", ADMIN, bad=True)
    assert f.open() == ["fix"]
    f.do("fix", ADMIN)
    assert f.instance().status == "completed" and f.replays()


def test_several_plain_flows_out_of_a_task_are_all_taken(engine_service, clock) -> None:
    """An uncontrolled split, as BPMN defines it: every outgoing flow without a condition is taken."""
    middle = ('<bpmn:task id="x"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>'
              '<bpmn:outgoing>f4</bpmn:outgoing></bpmn:task>'
              '<bpmn:userTask id="a" camunda:candidateGroups="service_desk"><bpmn:incoming>f3</bpmn:incoming>'
              '<bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>'
              '<bpmn:userTask id="b" camunda:candidateGroups="service_desk"><bpmn:incoming>f4</bpmn:incoming>'
              '<bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>'
              '<bpmn:endEvent id="e2"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>'
              '<bpmn:sequenceFlow id="f3" sourceRef="x" targetRef="a"/>'
              '<bpmn:sequenceFlow id="f4" sourceRef="x" targetRef="b"/>'
              '<bpmn:sequenceFlow id="f5" sourceRef="a" targetRef="e2"/>')
    text = diagram(middle).replace(b'<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="e"/>',
                                   b'<bpmn:sequenceFlow id="f2" sourceRef="b" targetRef="e"/>')
    engine_service.runtime.deploy([("p.bpmn", text)])
    f = Flow(engine_service, engine_service.runtime.start("p", {}, "dora"))
    assert f.open() == ["a", "b"]
    f.do("a", ADMIN)
    f.do("b", ADMIN)
    assert f.instance().status == "completed" and f.replays()
    conditional = text.replace(b'<bpmn:sequenceFlow id="f3" sourceRef="x" targetRef="a"/>',
                               b'<bpmn:sequenceFlow id="f3" sourceRef="x" targetRef="a">'
                               b'<bpmn:conditionExpression>ok == True</bpmn:conditionExpression>'
                               b'</bpmn:sequenceFlow>')
    with pytest.raises(DefinitionInvalid) as refused:
        engine_service.runtime.deploy([("p.bpmn", conditional)])
    assert [e["element_id"] for e in refused.value.errors] == ["x"]
