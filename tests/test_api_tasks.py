"""Tasks: work lists, claim, unclaim, complete with form validation, and who may do what."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from engine.clock import ManualClock

from .test_api_helpers import ApiHarness, assert_error, shown


@pytest.fixture
def api(db_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(db_url, clock)
    yield harness
    harness.close()


def test_work_list_follows_groups(api: ApiHarness) -> None:
    instance = api.start()
    task = api.work_task(instance)
    mine = api.get("/tasks", "duty_engineer").json
    assert [t["id"] for t in mine["items"]] == [task["id"]] and mine["total"] == 1
    item = mine["items"][0]
    assert (item["instance_id"], item["process"], item["element_id"]) == (instance["id"], "rework", "Work")
    assert item["candidate_groups"] == ["duty_engineer"] and item["assignee"] is None
    assert item["created_at"] == shown(api.clock.now()) and item["due_at"] is None
    assert [(f["id"], f["type"], f["required"]) for f in item["form"]] == [("ok", "boolean", True),
                                                                          ("note", "string", False)]
    assert set(item["form"][0]) == {"id", "label", "type", "required", "enum", "max_length", "not_before",
                                    "not_in_future", "with_time"}
    for outsider in ("senior_engineer", "service_desk", "acme"):
        assert api.get("/tasks", outsider).json == {"items": [], "total": 0}
    for overseer in ("admin", "auditor"):
        assert api.get("/tasks", overseer).json["total"] == 1


def test_work_list_pages_merge_claimed_and_offered_tasks_in_creation_order(api: ApiHarness) -> None:
    works = []
    for _ in range(5):
        works.append(api.work_task(api.start())["id"])
        api.clock.advance(timedelta(minutes=1))
    for claimed in (works[1], works[3]):
        assert api.post(f"/tasks/{claimed}/claim", "duty_engineer").status_code == 200

    def pages(user: str) -> tuple[list[str], set[int]]:
        seen, totals = [], set()
        for page in (1, 2, 3, 4):
            body = api.get(f"/tasks?per_page=2&page={page}", user).json
            seen += [t["id"] for t in body["items"]]
            totals.add(body["total"])
        return seen, totals

    # Two claimed by this engineer and three still offered to the group, in the order they were created.
    assert pages("duty_engineer") == (works, {5})
    # A colleague in the same group sees only the three nobody has claimed.
    assert pages("dave") == ([works[0], works[2], works[4]], {3})


def test_work_list_filters(api: ApiHarness) -> None:
    first, second = api.start(), api.start()
    only = api.get(f"/tasks?instance={second['id']}", "duty_engineer").json["items"]
    assert [t["instance_id"] for t in only] == [second["id"]]
    assert api.get("/tasks?process=rework", "duty_engineer").json["total"] == 2
    assert api.get("/tasks?process=confirm", "duty_engineer").json["total"] == 0
    assert api.get(f"/tasks?instance={first['id']}&per_page=1", "duty_engineer").json["total"] == 1


def test_get_task_is_limited_to_who_may_work_on_it(api: ApiHarness) -> None:
    task = api.work_task(api.start())
    assert api.get(f"/tasks/{task['id']}", "dave").json["id"] == task["id"]
    seen = api.get(f"/tasks/{task['id']}", "auditor")
    assert seen.status_code == 200 and seen.json == task
    assert (seen.json["element_id"], seen.json["candidate_groups"]) == ("Work", ["duty_engineer"])
    assert_error(api.get(f"/tasks/{task['id']}", "senior_engineer"), 404, "not_found")
    assert_error(api.get("/tasks/unknown-task", "duty_engineer"), 404)


def test_claim_and_unclaim(api: ApiHarness) -> None:
    task = api.work_task(api.start())
    claimed = api.post(f"/tasks/{task['id']}/claim", "duty_engineer")
    assert claimed.status_code == 200 and claimed.json["task"]["assignee"] == "duty_engineer"
    details = assert_error(api.post(f"/tasks/{task['id']}/claim", "dave"), 409, "conflict")
    assert details["assignee"] == "duty_engineer"
    assert_error(api.post(f"/tasks/{task['id']}/complete", "dave", json={"data": {"ok": True}}), 409)
    assert_error(api.post(f"/tasks/{task['id']}/unclaim", "dave"), 409)
    assert api.get("/tasks", "dave").json["total"] == 0  # claimed by a colleague: not on dave's list
    released = api.post(f"/tasks/{task['id']}/unclaim", "duty_engineer")
    assert released.status_code == 200 and released.json["task"]["assignee"] is None
    assert api.post(f"/tasks/{task['id']}/claim", "dave").json["task"]["assignee"] == "dave"


def test_claim_is_refused_outside_the_candidate_groups(api: ApiHarness) -> None:
    task = api.work_task(api.start())
    assert_error(api.post(f"/tasks/{task['id']}/claim", "senior_engineer"), 403, "forbidden")
    assert_error(api.post(f"/tasks/{task['id']}/claim", "auditor"), 403)
    # A customer does not even learn that a task of another party's instance exists.
    assert_error(api.post(f"/tasks/{task['id']}/complete", "acme", json={"data": {"ok": True}}), 404)
    assert_error(api.post("/tasks/unknown-task/claim", "duty_engineer"), 404)


def test_complete_validates_the_form(api: ApiHarness) -> None:
    task = api.work_task(api.start())
    path = f"/tasks/{task['id']}/complete"
    cases = [({"ok": True, "colour": "red"}, "colour"), ({}, "ok"), ({"ok": "yes"}, "ok"),
             ({"ok": True, "note": 3}, "note")]
    for data, field in cases:
        details = assert_error(api.post(path, "duty_engineer", json={"data": data}), 422, "invalid_input")
        assert field in details["fields"]
        assert details["element_id"] == "Work"
    assert "data" in assert_error(api.post(path, "duty_engineer", json={"data": "x"}), 422)["fields"]
    extra = api.post(path, "duty_engineer", json={"data": {}, "extra": 1})
    assert "extra" in assert_error(extra, 422)["fields"]


def test_complete_moves_the_instance_on(api: ApiHarness) -> None:
    instance = api.start()
    task = api.work_task(instance)
    body = {"data": {"ok": True, "note": "fixed"}}
    done = api.post(f"/tasks/{task['id']}/complete", "duty_engineer", json=body)
    assert done.status_code == 200
    assert done.json == {"instance_id": instance["id"], "status": "completed", "next_tasks": [],
                         "incidents": []}
    after = api.get(f"/instances/{instance['id']}").json
    assert after["status"] == "completed" and after["open_tasks"] == []
    assert after["data"]["echoed"] == "fixed"
    assert_error(api.post(f"/tasks/{task['id']}/complete", "duty_engineer", json={"data": {"ok": True}}), 409,
                 "conflict")
    assert_error(api.post(f"/tasks/{task['id']}/claim", "duty_engineer"), 409)


def test_rework_loop_offers_the_task_again(api: ApiHarness) -> None:
    instance = api.start()
    task = api.work_task(instance)
    api.post(f"/tasks/{task['id']}/complete", "duty_engineer", json={"data": {"ok": False}})
    again = api.get(f"/tasks?instance={instance['id']}", "duty_engineer").json["items"]
    assert [t["element_id"] for t in again] == ["Work"] and again[0]["id"] != task["id"]


def test_boundary_timer_escalates_when_the_clock_moves(api: ApiHarness) -> None:
    instance = api.start()
    assert api.post("/clock", "process_owner", json={"advance": "PT1H"}).json["fired"] == 0
    assert api.get("/tasks", "senior_engineer").json["total"] == 0
    moved = api.post("/clock", "process_owner", json={"advance": "PT1H30M"})
    assert moved.status_code == 200 and moved.json["fired"] == 1
    assert moved.json["now"] == shown(api.clock.now())
    escalated = api.get("/tasks", "senior_engineer").json["items"]
    assert [(t["instance_id"], t["element_id"]) for t in escalated] == [(instance["id"], "Escalate")]
    types = [e["type"] for e in api.get(f"/instances/{instance['id']}/history").json["items"]]
    assert "timer_fired" in types
    # The boundary event does not interrupt: the original task is still open.
    assert api.get("/tasks", "duty_engineer").json["total"] == 1


def test_unknown_task_list_parameters_are_refused(api: ApiHarness) -> None:
    # A filter the list does not know (yet) must not silently widen the answer to every task.
    for query in ("assignee_name=duty_engineer", "q=router", "process=rework&order=due"):
        details = assert_error(api.get(f"/tasks?{query}", "duty_engineer"), 422, "invalid_input")
        unknown = query.split("&")[-1].split("=")[0]
        assert unknown in details["fields"], details
    assert api.get("/tasks?process=rework&page=1&per_page=5", "duty_engineer").status_code == 200
