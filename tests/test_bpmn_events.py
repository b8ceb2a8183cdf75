"""Events the Camunda Modeler offers, end to end: an event-based gateway (whichever comes first, the
message or the timer, takes the token), message start events (one message, or one of two on the same
start event) started through POST /messages; each history replays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from engine.clock import ManualClock

from .engine_support import DATA
from .scenario_support import Flow, tick
from .test_api_helpers import ApiHarness, assert_error

GATEWAY = (DATA / "event_gateway.bpmn").read_bytes()
STARTS = (DATA / "message_start.bpmn").read_bytes()


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock)
    harness.service.runtime.deploy([("event_gateway.bpmn", GATEWAY), ("message_start.bpmn", STARTS)])
    yield harness
    harness.close()


def _flow(api: ApiHarness, instance_id: str) -> Flow:
    return Flow(api.service, instance_id)


def test_the_message_wins_the_event_based_gateway(api: ApiHarness) -> None:
    started = api.post("/instances", "service_desk", json={"process": "ebg", "business_key": "PAY-1"}).json
    f = _flow(api, started["id"])
    assert f.open() == [] and list(f.pending()) == ["g"]  # waits on both: the message and a 1 h timer
    assert_error(api.post("/messages", "service_desk", json={"name": "paid", "business_key": "PAY-1",
                                                             "data": {"amount": "many"}}), 422)
    sent = api.post("/messages", "service_desk", json={"name": "paid", "business_key": "PAY-1",
                                                       "data": {"amount": 300}})
    assert sent.status_code == 200 and sent.json == {"instance_id": f.id, "started": False}
    assert f.open() == ["paidTask"] and f.pending() == {}  # the timer branch is gone with it
    assert f.instance().data["amount"] == 300
    tick(api.service, api.clock, timedelta(hours=2))
    assert f.open() == ["paidTask"]
    assert f.replays()


def test_the_timer_wins_the_event_based_gateway(api: ApiHarness) -> None:
    f = _flow(api, api.service.runtime.start("ebg", {}, "dora", business_key="PAY-2"))
    (due,) = f.pending().values()
    assert due == api.clock.now() + timedelta(hours=1)
    tick(api.service, api.clock, timedelta(minutes=59))
    assert f.open() == []
    assert tick(api.service, api.clock, timedelta(minutes=2)) == 1
    assert f.open() == ["lateTask"]
    assert_error(api.post("/messages", "service_desk", json={"name": "paid", "business_key": "PAY-2"}), 409)
    assert f.replays()


def test_a_message_start_event_starts_its_process(api: ApiHarness) -> None:
    alarm = {"name": "monitoring_alarm", "data": {"device": "SW-01"}}
    sent = api.post("/messages", "service_desk", json=alarm)
    assert sent.status_code == 201, sent.json
    assert sent.json["started"] is True
    instance = api.get(sent.headers["Location"].removeprefix("/api/v1")).json
    assert (instance["process"], instance["data"]["device"]) == ("alarm", "SW-01")
    assert [t["element_id"] for t in instance["open_tasks"]] == ["Check"]
    again = api.post("/messages", "service_desk", json={**alarm, "data": {"device": "SW-02"}})
    assert again.status_code == 201 and again.json["instance_id"] != sent.json["instance_id"]
    assert _flow(api, sent.json["instance_id"]).replays()
    assert_error(api.post("/messages", "service_desk", json={"name": "monitoring_alarm", "data": {"x": 1}}),
                 422)
    assert_error(api.post("/messages", "service_desk", json={"name": "no_such_message"}), 422)


def test_either_of_two_messages_on_one_start_event_starts_it(api: ApiHarness) -> None:
    ids = []
    for name in ("fault_mail", "hotline_call"):
        sent = api.post("/messages", "service_desk", json={"name": name, "business_key": f"R-{name}"})
        assert sent.status_code == 201, sent.json
        ids.append(sent.json["instance_id"])
    for instance_id in ids:
        f = _flow(api, instance_id)
        assert f.open() == ["Register"] and f.instance().process_key == "report"
        assert f.replays()


def test_a_correlation_property_is_refused_at_deploy_naming_it(api: ApiHarness) -> None:
    """It used to deploy, and a message without the property's field was a 500 (NameError)."""
    from .test_api_processes import upload

    content = (DATA / "correlation_property.bpmn").read_bytes()
    refused = api.post("/processes", "process_owner", **upload(("correlation_property.bpmn", content)))
    details = assert_error(refused, 422)
    problems = details["errors"]
    assert [(p["file"], p["element_id"]) for p in problems] == [("correlation_property.bpmn", "order_id")]
    assert "correlation properties are not supported" in problems[0]["message"]
