"""Request bodies that the database, the SLA clocks or a later response could not hold are 422 naming
the field, and nothing stored changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from engine.bpmn.forms import DEFAULT_MAX_LENGTH
from engine.clock import ManualClock

from .test_api_helpers import ApiHarness, assert_error

BOUNDS_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_bounds" targetNamespace="t">
  <bpmn:process id="bounds" name="\xe8\xbe\xb9\xe7\x95\x8c" isExecutable="true">
    <bpmn:startEvent id="Begin">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="summary" label="Summary" type="string"/>
        <camunda:formField id="site_distance_km" label="Distance" type="long"/>
        <camunda:formField id="reported_at" label="Reported" type="date"/>
        <camunda:formField id="code" label="Code" type="string">
          <camunda:validation><camunda:constraint name="maxlength" config="20"/></camunda:validation>
        </camunda:formField>
        <camunda:formField id="extra" label="Extra" type="string"/>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:outgoing>b1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Look" name="Look" camunda:candidateGroups="service_desk">
      <bpmn:incoming>b1</bpmn:incoming><bpmn:outgoing>b2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Finish"><bpmn:incoming>b2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="b1" sourceRef="Begin" targetRef="Look"/>
    <bpmn:sequenceFlow id="b2" sourceRef="Look" targetRef="Finish"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def api(db_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(db_url, clock)
    harness.service.runtime.deploy([("bounds.bpmn", BOUNDS_BPMN)], "setup")
    yield harness
    harness.close()


def _raw_start(api: ApiHarness, user: str, data_json: str, business_key: str = "null") -> Any:
    text = f'{{"process": "bounds", "business_key": {business_key}, "data": {data_json}}}'
    return api.post("/instances", user, data=text, content_type="application/json")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_and_customers_can_still_list(api: ApiHarness, constant: str) -> None:
    before = api.get("/instances").json["total"]
    response = _raw_start(api, "acme", f'{{"summary": "断网", "site_distance_km": {constant}}}')
    assert "data.site_distance_km" in assert_error(response, 422, "invalid_input")["fields"]
    assert api.get("/instances").json["total"] == before
    listed = api.get("/instances", "acme")
    assert listed.status_code == 200 and listed.json["total"] == 0
    assert api.get("/instances", "globex").status_code == 200


@pytest.mark.parametrize("number", ["1" * 5000, "1e400", "-1e400", str(2**70)])
def test_numbers_beyond_the_limit_are_refused(api: ApiHarness, number: str) -> None:
    response = _raw_start(api, "service_desk", f'{{"site_distance_km": {number}}}')
    assert "data.site_distance_km" in assert_error(response, 422)["fields"]
    assert api.get("/instances").json["total"] == 0


def test_ordinary_numbers_still_pass(api: ApiHarness) -> None:
    response = _raw_start(api, "service_desk", '{"site_distance_km": 12.5, "summary": "ok"}')
    assert response.status_code == 201, response.json
    assert response.json["data"]["site_distance_km"] == 12.5


def test_lone_surrogates_are_refused_in_data_and_in_the_business_key(api: ApiHarness) -> None:
    in_data = _raw_start(api, "service_desk", '{"summary": "bad \\ud800 text"}')
    assert "data.summary" in assert_error(in_data, 422)["fields"]
    in_key = _raw_start(api, "service_desk", '{"summary": "x"}', business_key='"\\udfff"')
    assert "business_key" in assert_error(in_key, 422)["fields"]
    in_a_key = _raw_start(api, "service_desk", '{"\\ud800": "x"}')
    assert "data._keys" in assert_error(in_a_key, 422)["fields"]
    paired = _raw_start(api, "service_desk", '{"summary": "\\ud83d\\ude00"}')  # a proper pair is fine
    assert paired.status_code == 201 and paired.json["data"]["summary"] == "\U0001f600"
    assert api.get("/instances").json["total"] == 1


def test_nul_characters_are_refused_on_both_databases(api: ApiHarness) -> None:
    response = _raw_start(api, "service_desk", '{"summary": "a\\u0000b"}')
    assert "data.summary" in assert_error(response, 422)["fields"]


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
def test_deep_nesting_is_refused(api: ApiHarness, depth: int) -> None:
    response = _raw_start(api, "service_desk", '{"extra": ' + "[" * depth + "]" * depth + "}")
    fields = assert_error(response, 422)["fields"]
    assert any(name.startswith("data.extra") or name == "_request" for name in fields), fields
    assert api.get("/instances").json["total"] == 0


def test_nesting_within_the_limit_reaches_the_form(api: ApiHarness) -> None:
    response = _raw_start(api, "service_desk", '{"extra": ' + "[" * 10 + "]" * 10 + "}")
    assert assert_error(response, 422)["fields"] == {"extra": "Extra must be a string"}


def test_a_ten_megabyte_summary_is_refused(api: ApiHarness) -> None:
    body = {"process": "bounds", "data": {"summary": "x" * 10_000_000}}
    response = api.post("/instances", "service_desk", data=json.dumps(body), content_type="application/json")
    assert "data.summary" in assert_error(response, 422)["fields"]
    escaped = json.dumps({"process": "bounds", "data": {"summary": "长" * 10_000_000}})  # 60 MB as \u957f
    assert_error(api.post("/instances", "service_desk", data=escaped, content_type="application/json"), 413)
    assert api.get("/instances").json["total"] == 0


def test_form_strings_have_a_default_limit_and_a_per_field_one(api: ApiHarness) -> None:
    too_long = api.post("/instances", "service_desk", json={
        "process": "bounds", "data": {"summary": "x" * (DEFAULT_MAX_LENGTH + 1), "code": "c" * 21}})
    fields = assert_error(too_long, 422)["fields"]
    assert fields["summary"] == f"Summary must be at most {DEFAULT_MAX_LENGTH} characters"
    assert fields["code"] == "Code must be at most 20 characters"
    fits = api.post("/instances", "service_desk", json={
        "process": "bounds", "data": {"summary": "x" * DEFAULT_MAX_LENGTH, "code": "c" * 20}})
    assert fits.status_code == 201
    start_form = api.get("/processes/bounds").json["start_form"]
    assert {f["id"]: f["max_length"] for f in start_form}["code"] == 20


def test_a_malformed_maxlength_is_refused_at_deploy(api: ApiHarness) -> None:
    broken = BOUNDS_BPMN.replace(b'config="20"', b'config="twenty"').replace(b'"bounds"', b'"bounds2"')
    response = api.post("/processes", "process_owner", data={"files": [(_stream(broken), "b2.bpmn")]},
                        content_type="multipart/form-data")
    errors = assert_error(response, 422, "definition_invalid")["errors"]
    assert errors[0]["file"] == "b2.bpmn" and errors[0]["element_id"] == "Begin"
    assert "maxlength" in errors[0]["message"]


def _stream(content: bytes) -> Any:
    import io

    return io.BytesIO(content)


def test_dates_without_a_utc_time_are_refused(api: ApiHarness) -> None:
    report = api.get("/reports/sla?from=0001-01-01T00:00:00%2B14:00&to=2026-01-01T00:00:00%2B08:00")
    assert "from" in assert_error(report, 422)["fields"]
    late = api.get("/reports/sla?from=2026-01-01T00:00:00%2B08:00&to=9999-12-31T23:59:59-14:00")
    assert "to" in assert_error(late, 422)["fields"]
    start = api.post("/instances", "service_desk", json={
        "process": "bounds", "data": {"reported_at": "0001-01-01T00:00:00+14:00"}})
    assert "reported_at" in assert_error(start, 422)["fields"]
    assert api.get("/instances").json["total"] == 0
