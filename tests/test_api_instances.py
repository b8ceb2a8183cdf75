"""Instances: start, list, read, visibility, cancel, history and verification, messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.clock import ManualClock
from engine.sla.hooks import NoSla
from engine.store.models import EventRow, Instance

from .test_api_helpers import ApiHarness, assert_error, shown

RESPONSE_TARGET = timedelta(hours=4)


class SlaStub(NoSla):
    """One clock per instance derived from its row: checks how the API renders what the SLA engine says."""

    def clocks_for(self, conn: Any, instance_id: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        row = conn.execute(select(Instance.created_at).where(Instance.id == instance_id)).one()
        return [{"clock": "response", "state": "running", "started_at": row.created_at,
                 "due_at": row.created_at + RESPONSE_TARGET, "stopped_at": None, "paused_seconds": 0}]


@pytest.fixture
def api(db_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(db_url, clock, sla=SlaStub())
    yield harness
    harness.close()


def test_start_returns_the_instance_and_its_location(api: ApiHarness) -> None:
    response = api.post("/instances", "service_desk", json={
        "process": "rework", "data": {"summary": "router down", "level": "P1"}, "business_key": "T-100"})
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"] == f"/api/v1/instances/{body['id']}"
    assert (body["process"], body["version"], body["status"]) == ("rework", 1, "running")
    assert (body["business_key"], body["started_by"]) == ("T-100", "service_desk")
    assert body["data"] == {"summary": "router down", "level": "P1"}
    assert [t["element_id"] for t in body["open_tasks"]] == ["Work"]
    assert body["created_at"] == shown(api.clock.now())
    assert api.get(response.headers["Location"].removeprefix("/api/v1")).json == body


def test_instance_shows_sla_clocks_with_offsets(api: ApiHarness) -> None:
    started = api.start()
    clock = started["sla"][0]
    assert clock["clock"] == "response" and clock["state"] == "running"
    assert clock["started_at"] == shown(api.clock.now())
    assert clock["due_at"] == shown(api.clock.now() + RESPONSE_TARGET)
    assert clock["stopped_at"] is None and clock["paused_seconds"] == 0


def test_start_refuses_bad_input_per_field(api: ApiHarness) -> None:
    details = assert_error(api.post("/instances", "service_desk", json={
        "process": "rework", "data": {"summary": 7, "level": "P9", "colour": "red"}}), 422, "invalid_input")
    assert set(details["fields"]) == {"summary", "level", "colour"}
    details = assert_error(api.post("/instances", "service_desk", json={"data": {}}), 422)
    assert "process" in details["fields"]
    details = assert_error(api.post("/instances", "service_desk", json={"process": "nope"}), 422)
    assert "process" in details["fields"]
    not_a_mapping = {"process": "rework", "data": [1]}
    details = assert_error(api.post("/instances", "service_desk", json=not_a_mapping), 422)
    assert "data" in details["fields"]
    assert_error(api.post("/instances", "auditor", json={"process": "rework", "data": {"summary": "x"}}), 403)
    assert_error(api.post("/instances", None, json={"process": "rework"}), 401)


def test_list_filters_and_pages(api: ApiHarness) -> None:
    first, second = api.start(business_key="A-1"), api.start(business_key="B-2")
    api.post(f"/instances/{first['id']}/cancel", "technical_director", json={"reason": "duplicate"})
    everything = api.get("/instances", "duty_engineer").json
    assert everything["total"] == 2
    cancelled = api.get("/instances?status=cancelled").json
    assert [i["id"] for i in cancelled["items"]] == [first["id"]]
    assert [i["id"] for i in api.get("/instances?business_key=B-2").json["items"]] == [second["id"]]
    assert api.get("/instances?process=confirm").json["total"] == 0
    page = api.get("/instances?per_page=1&page=2").json
    assert page["total"] == 2 and len(page["items"]) == 1
    assert "status" in assert_error(api.get("/instances?status=paused"), 422)["fields"]


def test_customers_see_only_their_own_instances(api: ApiHarness) -> None:
    own = api.start(user="acme")
    for_globex = {"process": "confirm", "data": {"customer": "globex"}}
    named = api.post("/instances", "service_desk", json=for_globex).json
    assert [i["id"] for i in api.get("/instances", "acme").json["items"]] == [own["id"]]
    assert [i["id"] for i in api.get("/instances", "globex").json["items"]] == [named["id"]]
    seen = api.get(f"/instances/{named['id']}", "globex")
    assert seen.status_code == 200
    body = seen.json
    assert (body["id"], body["process"], body["status"], body["data"]) == (
        named["id"], "confirm", "running", {"customer": "globex"})
    assert [c["clock"] for c in body["sla"]] == ["response"]
    assert_error(api.get(f"/instances/{own['id']}", "globex"), 404, "not_found")
    assert_error(api.get(f"/instances/{own['id']}/history", "globex"), 404)
    assert api.get("/instances", "auditor").json["total"] == 2


def test_cancel_is_for_directors_and_admins(api: ApiHarness) -> None:
    instance = api.start()
    path = f"/instances/{instance['id']}/cancel"
    assert_error(api.post(path, "duty_engineer", json={"reason": "x"}), 403, "forbidden")
    assert_error(api.post(path, "auditor"), 403)
    response = api.post(path, "department_director", json={"reason": "customer withdrew"})
    assert response.status_code == 200
    assert response.json["status"] == "cancelled" and response.json["open_tasks"] == []
    assert response.json["ended_at"] == shown(api.clock.now())
    assert_error(api.post(path, "admin"), 409, "conflict")
    assert_error(api.post("/instances/no-such-instance/cancel", "admin"), 404)
    assert_error(api.get("/instances/no-such-instance"), 404)


def test_history_is_ordered_and_chained(api: ApiHarness) -> None:
    instance = api.start()
    task = api.work_task(instance)
    api.post(f"/tasks/{task['id']}/claim", "duty_engineer")
    history = api.get(f"/instances/{instance['id']}/history", "auditor").json
    events = history["items"]
    assert history["total"] == len(events)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events[:3]] == ["instance_started", "task_created", "task_claimed"]
    assert events[2]["actor"] == "duty_engineer" and events[2]["element_id"] == "Work"
    for before, after in zip(events, events[1:], strict=False):
        assert after["prev_hash"] == before["hash"]
    paged = api.get(f"/instances/{instance['id']}/history?per_page=1&page=2", "auditor").json
    assert paged["items"] == events[1:2]


def test_verify_detects_a_changed_event(api: ApiHarness) -> None:
    instance = api.start()
    path = f"/instances/{instance['id']}/verify"
    events = api.get(f"/instances/{instance['id']}/history").json["total"]
    assert api.get(path, "auditor").json == {"verified": True, "first_bad_seq": None, "events": events,
                                             "checkpoint": None, "problems": []}
    with api.service.store.write() as session:
        row = session.scalar(select(EventRow).where(EventRow.instance_id == instance["id"],
                                                    EventRow.seq == 2))
        row.data = {**row.data, "name": "forged"}
    result = api.get(path, "auditor").json
    assert result["verified"] is False and result["first_bad_seq"] == 2


def test_messages_reach_the_waiting_instance(api: ApiHarness) -> None:
    started = api.post("/instances", "service_desk", json={
        "process": "confirm", "data": {"customer": "globex"}, "business_key": "C-7"}).json
    message = {"name": "customer_confirmed", "business_key": "C-7", "data": {"rating": 5}}
    assert_error(api.post("/messages", "acme", json=message), 404)  # not acme's instance
    response = api.post("/messages", "globex", json=message)
    assert response.status_code == 200 and response.json == {"instance_id": started["id"], "started": False}
    after = api.get(f"/instances/{started['id']}").json
    assert after["data"] == {"customer": "globex", "rating": 5}
    assert [t["element_id"] for t in after["open_tasks"]] == ["Close"]
    assert_error(api.post("/messages", "service_desk", json={**message, "business_key": None,
                                                             "instance_id": started["id"]}), 409, "conflict")


def test_message_errors(api: ApiHarness) -> None:
    details = assert_error(api.post("/messages", "service_desk", json={"name": "x"}), 422, "invalid_input")
    assert "business_key" in details["fields"]
    assert_error(api.post("/messages", "service_desk", json={"name": "x", "business_key": "none"}), 404)
    assert_error(api.post("/messages", "auditor", json={"name": "x", "business_key": "none"}), 403)
    nameless = api.post("/messages", "service_desk", json={"business_key": "k"})
    assert "name" in assert_error(nameless, 422)["fields"]
