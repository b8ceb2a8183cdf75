"""Deploying definitions: content-hash versions, pinning, and validation errors that name elements."""

from __future__ import annotations

import pytest

from engine.errors import DefinitionInvalid

from .engine_support import DATA, ENGINEER, deploy, instance, the_task

REWORK = (DATA / "rework.bpmn").read_bytes()


def test_same_content_is_same_version_and_change_makes_a_new_one(engine_service):
    first = deploy(engine_service, "rework.bpmn")[0]
    again = deploy(engine_service, "rework.bpmn")[0]
    assert (first.created, again.created) == (True, False)
    assert again.version_id == first.version_id and again.version == 1

    changed = REWORK.replace("处理".encode(), "现场处理".encode())
    second = engine_service.runtime.deploy([("rework.bpmn", changed)])[0]
    assert second.created and second.version == 2 and second.content_hash != first.content_hash


def test_running_instance_stays_on_the_version_it_started_with(engine_service):
    deploy(engine_service, "rework.bpmn")
    old = engine_service.runtime.start("rework", {"summary": "v1"}, "alice")
    changed = REWORK.replace(b'name="\xe5\xa4\x84\xe7\x90\x86"', 'name="新名称"'.encode())
    engine_service.runtime.deploy([("rework.bpmn", changed)])
    new = engine_service.runtime.start("rework", {"summary": "v2"}, "alice")
    assert instance(engine_service, old).version_id != instance(engine_service, new).version_id
    engine_service.runtime.complete(the_task(engine_service, old, "Work"), {"ok": True}, ENGINEER)
    assert instance(engine_service, old).status == "completed"


def refused(service, files):
    with pytest.raises(DefinitionInvalid) as info:
        service.runtime.deploy(files)
    return info.value.errors


def test_unknown_topic_is_refused_naming_the_element(engine_service):
    bad = REWORK.replace(b'camunda:topic="echo"', b'camunda:topic="no_such_topic"')
    errors = refused(engine_service, [("rework.bpmn", bad)])
    assert {"file": "rework.bpmn", "element_id": "Record"} == {
        k: errors[0][k] for k in ("file", "element_id")
    }
    assert "no_such_topic" in errors[0]["message"]


def test_gateway_without_default_is_refused(engine_service):
    bad = REWORK.replace(b' default="f5"', b"")
    errors = refused(engine_service, [("rework.bpmn", bad)])
    assert [e["element_id"] for e in errors] == ["Done"]


def test_missing_decision_is_refused(engine_service):
    bad = REWORK.replace(
        b'<bpmn:serviceTask id="Record" name="\xe8\xae\xb0\xe5\xbd\x95" camunda:type="external" '
        b'camunda:topic="echo">',
        b'<bpmn:businessRuleTask id="Record" name="r" camunda:decisionRef="nowhere">',
    ).replace(b"</bpmn:serviceTask>", b"</bpmn:businessRuleTask>")
    errors = refused(engine_service, [("rework.bpmn", bad)])
    assert any(e["element_id"] == "Record" and "nowhere" in e["message"] for e in errors)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"<not-closed", "not well-formed"),
        (b"<html><body>hello</body></html>", "not a BPMN or DMN document"),
        (b"", "not well-formed"),
    ],
)
def test_xml_that_is_not_bpmn_is_refused(engine_service, content, expected):
    errors = refused(engine_service, [("x.bpmn", content)])
    assert errors[0]["file"] == "x.bpmn" and expected in errors[0]["message"]


def test_schema_violation_names_the_element(engine_service):
    bad = REWORK.replace(
        b'<bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Work"/>',
        b'<bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Work"><bpmn:bogus/>'
        b"</bpmn:sequenceFlow>",
    )
    errors = refused(engine_service, [("rework.bpmn", bad)])
    assert errors[0]["file"] == "rework.bpmn" and "schema" in errors[0]["message"]
    assert errors[0]["element_id"] == "f1"


def test_reserved_ids_and_user_task_without_anyone_are_refused(engine_service):
    bad = REWORK.replace(
        b'id="Escalate" name="\xe5\x8d\x87\xe7\xba\xa7\xe5\xa4\x84\xe7\x90\x86" '
        b'camunda:candidateGroups="senior_engineer"',
        b'id="Escalate" name="x"',
    )
    bad = bad.replace(b'id="EndEscalate"', b'id="End"').replace(
        b'targetRef="EndEscalate"', b'targetRef="End"'
    )
    errors = refused(engine_service, [("rework.bpmn", bad)])
    assert {(e["element_id"], e["message"].split(" ")[0]) for e in errors} >= {
        ("Escalate", "a"),
        ("End", "the"),
    }


def test_a_refused_deploy_keeps_what_was_deployed(engine_service):
    deploy(engine_service, "rework.bpmn")
    iid = engine_service.runtime.start("rework", {"summary": "kept"}, "alice")
    refused(engine_service, [("rework.bpmn", b"<broken")])
    assert engine_service.runtime.deploy([("rework.bpmn", REWORK)])[0].created is False
    assert instance(engine_service, iid).status == "running"
