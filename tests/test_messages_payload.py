"""Message payloads: validated against what the catch event declares; the engine's own keys (`customer`,
anything starting with `_`) are never set from outside, and a refused message changes nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.store.models import EventRow

from .test_api_helpers import ApiHarness, assert_error

# Two waits: the first declares its payload as Camunda Modeler's extension properties, the second
# declares nothing and so takes no data.
PAYLOAD_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_reply" targetNamespace="t">
  <bpmn:message id="Msg_reply" name="reply"/>
  <bpmn:message id="Msg_ping" name="ping"/>
  <bpmn:process id="reply" name="等待答复" isExecutable="true">
    <bpmn:startEvent id="Begin">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="customer" label="客户" type="string"/>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:outgoing>r1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="WaitReply" name="等待答复">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="payload.decision" value="enum:同意|拒绝, required"/>
        <camunda:property name="payload.comment" value="string, maxlength=10"/>
        <camunda:property name="payload.hours" value="long"/>
      </camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>r1</bpmn:incoming><bpmn:outgoing>r2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Msg_reply"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="WaitPing" name="等待确认">
      <bpmn:incoming>r2</bpmn:incoming><bpmn:outgoing>r3</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Msg_ping"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Close" name="关闭" camunda:candidateGroups="service_desk">
      <bpmn:incoming>r3</bpmn:incoming><bpmn:outgoing>r4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Finish"><bpmn:incoming>r4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="r1" sourceRef="Begin" targetRef="WaitReply"/>
    <bpmn:sequenceFlow id="r2" sourceRef="WaitReply" targetRef="WaitPing"/>
    <bpmn:sequenceFlow id="r3" sourceRef="WaitPing" targetRef="Close"/>
    <bpmn:sequenceFlow id="r4" sourceRef="Close" targetRef="Finish"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def api(db_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(db_url, clock)
    harness.service.runtime.deploy([("reply.bpmn", PAYLOAD_BPMN.encode())], "setup")
    yield harness
    harness.close()


def _started(api: ApiHarness, key: str = "R-1") -> dict[str, Any]:
    response = api.post("/instances", "service_desk", json={
        "process": "reply", "data": {"customer": "acme"}, "business_key": key})
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def _snapshot(api: ApiHarness, instance_id: str) -> tuple[Any, int]:
    with api.service.store.read() as session:
        events = session.scalar(select(func.count()).select_from(EventRow)
                                .where(EventRow.instance_id == instance_id))
    return api.get(f"/instances/{instance_id}").json, int(events or 0)


@pytest.mark.parametrize("key", ["customer", "_sla", "_anything"])
def test_reserved_keys_are_refused_and_nothing_changes(api: ApiHarness, key: str) -> None:
    instance = _started(api)
    before = _snapshot(api, instance["id"])
    message = {"name": "reply", "business_key": "R-1", "data": {"decision": "同意", key: "globex"}}
    details = assert_error(api.post("/messages", "acme", json=message), 422, "invalid_input")
    assert key in details["fields"] and details["element_id"] == "WaitReply"
    assert _snapshot(api, instance["id"]) == before
    assert_error(api.get(f"/instances/{instance['id']}", "globex"), 404)  # still not globex's
    assert api.get(f"/instances/{instance['id']}", "service_desk").status_code == 200


def test_payload_is_validated_against_the_declaration(api: ApiHarness) -> None:
    instance = _started(api)
    before = _snapshot(api, instance["id"])
    bad = {"name": "reply", "business_key": "R-1",
           "data": {"decision": "也许", "comment": "x" * 11, "hours": "soon", "colour": "red"}}
    fields = assert_error(api.post("/messages", "service_desk", json=bad), 422)["fields"]
    assert set(fields) == {"decision", "comment", "hours", "colour"}
    missing = assert_error(api.post("/messages", "service_desk", json={**bad, "data": {}}), 422)["fields"]
    assert missing == {"decision": "is required"}
    assert _snapshot(api, instance["id"]) == before
    good = {**bad, "data": {"decision": "拒绝", "comment": "太贵", "hours": 3}}
    assert api.post("/messages", "acme", json=good).status_code == 200
    data = api.get(f"/instances/{instance['id']}").json["data"]
    assert data == {"customer": "acme", "decision": "拒绝", "comment": "太贵", "hours": 3}


def test_a_wait_that_declares_nothing_takes_no_data(api: ApiHarness) -> None:
    instance = _started(api)
    reply = {"name": "reply", "business_key": "R-1", "data": {"decision": "同意"}}
    assert api.post("/messages", "service_desk", json=reply).status_code == 200
    ping = {"name": "ping", "business_key": "R-1", "data": {"decision": "拒绝"}}
    assert assert_error(api.post("/messages", "service_desk", json=ping), 422)["fields"] == {
        "decision": "is not a field of this form"}
    assert api.post("/messages", "service_desk", json={**ping, "data": {}}).status_code == 200
    after = api.get(f"/instances/{instance['id']}").json
    assert after["data"]["decision"] == "同意" and [t["element_id"] for t in after["open_tasks"]] == ["Close"]


def test_start_data_without_a_form_cannot_carry_engine_keys(engine_api: ApiHarness) -> None:
    response = engine_api.post("/instances", "service_desk", json={"process": "free", "data": {"_sla": 1}})
    assert "_sla" in assert_error(response, 422)["fields"]
    fine = engine_api.post("/instances", "service_desk", json={"process": "free", "data": {"note": "x"}})
    assert fine.status_code == 201


FREE_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_free" targetNamespace="t">
  <bpmn:process id="free" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Look" camunda:candidateGroups="service_desk">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Finish"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Begin" targetRef="Look"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Look" targetRef="Finish"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def engine_api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock)
    harness.service.runtime.deploy([("free.bpmn", FREE_BPMN)], "setup")
    yield harness
    harness.close()


@pytest.mark.parametrize(("value", "problem"), [
    ("enum:a|b, sometimes", "unknown option"),
    ("number", "unsupported type"),
    ("string, maxlength=0", "maxlength"),
])
def test_bad_payload_declarations_are_refused_at_deploy(engine_api: ApiHarness, value: str,
                                                        problem: str) -> None:
    bpmn = PAYLOAD_BPMN.replace('"string, maxlength=10"', f'"{value}"')
    bpmn = bpmn.replace('"reply" name=', '"reply_b" name=')
    errors = _deploy(engine_api, bpmn)
    assert (errors[0]["file"], errors[0]["element_id"]) == ("r2.bpmn", "WaitReply")
    assert problem in errors[0]["message"]


@pytest.mark.parametrize("name", ["customer", "_sla"])
def test_a_payload_may_not_declare_engine_keys(engine_api: ApiHarness, name: str) -> None:
    bpmn = PAYLOAD_BPMN.replace("payload.hours", f"payload.{name}")
    bpmn = bpmn.replace('"reply" name=', '"reply_c" name=')
    errors = _deploy(engine_api, bpmn, "r3.bpmn")
    assert errors[0]["element_id"] == "WaitReply" and "reserved" in errors[0]["message"]


def _deploy(api: ApiHarness, bpmn: str, name: str = "r2.bpmn") -> list[dict[str, Any]]:
    files = {"files": [(io.BytesIO(bpmn.encode()), name)]}
    response = api.post("/processes", "process_owner", data=files, content_type="multipart/form-data")
    return assert_error(response, 422, "definition_invalid")["errors"]  # type: ignore[no-any-return]
