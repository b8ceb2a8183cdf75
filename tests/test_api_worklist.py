"""The work list the console and other clients read: filters, the case's deadline, sorting by it, the
search over cases, and what a completion answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from engine.clock import ManualClock

from .conftest import ROOT
from .test_api_helpers import DATA, ApiHarness, assert_error, shown

# seed 004_777e0ef8db92c2e8.txt line 373: after-sales response within half an hour, 7x24
INTEGRATION = {"contract": "integration", "level": "P2", "summary": "存储阵列告警"}
# seed 002_2d9e6ae3473b3647.txt §3 (processes/sla_targets.dmn r002_response_level1): level 1, response
# within 2 working hours
SUPPORT = {"contract": "support", "level": "level1", "summary": "Core switch down"}


@pytest.fixture
def api(db_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(db_url, clock)
    files = [("sla_response.bpmn", (DATA / "bpmn" / "sla_response.bpmn").read_bytes()),
             ("sla_targets.dmn", (ROOT / "processes" / "sla_targets.dmn").read_bytes())]
    harness.service.runtime.deploy(files, "setup")
    yield harness
    harness.close()


def start(api: ApiHarness, data: dict[str, Any], key: str) -> dict[str, Any]:
    response = api.post("/instances", "service_desk", json={"process": "sla_response", "data": data,
                                                           "business_key": key})
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def ids(api: ApiHarness, query: str, user: str = "duty_engineer") -> list[str]:
    body = api.get(f"/tasks{query}", user)
    assert body.status_code == 200, body.json
    return [t["instance_id"] for t in body.json["items"]]


@pytest.fixture
def three(api: ApiHarness) -> dict[str, dict[str, Any]]:
    """A plain case first (no SLA), then a support level-1 case, then an integration one: created in
    that order, due in the opposite one."""
    plain = api.start(business_key="CHG-7", data={"summary": "更换风扇", "level": "P1"})
    api.clock.advance(timedelta(minutes=1))
    support = start(api, SUPPORT, "INC-20")
    api.clock.advance(timedelta(minutes=1))
    integration = start(api, INTEGRATION, "INC-30")
    return {"plain": plain, "support": support, "integration": integration}


def test_due_at_is_the_cases_nearest_open_deadline(api: ApiHarness, three: dict[str, Any]) -> None:
    items = {t["instance_id"]: t for t in api.get("/tasks", "duty_engineer").json["items"]}
    started = api.start_time
    assert items[three["plain"]["id"]]["due_at"] is None
    # 09:02 Beijing + 2 working hours; 09:02 + 30 minutes
    assert items[three["support"]["id"]]["due_at"] == shown(started + timedelta(hours=2, minutes=1))
    assert items[three["integration"]["id"]]["due_at"] == shown(started + timedelta(minutes=32))
    one = api.get(f"/tasks/{items[three['integration']['id']]['id']}", "duty_engineer").json
    assert one["due_at"] == items[three["integration"]["id"]]["due_at"]
    detail = api.get(f"/instances/{three['support']['id']}").json
    assert detail["open_tasks"][0]["due_at"] == items[three["support"]["id"]]["due_at"]


def test_sort_by_due_puts_the_nearest_deadline_first_and_pages_alike(api: ApiHarness,
                                                                     three: dict[str, Any]) -> None:
    created = [three[k]["id"] for k in ("plain", "support", "integration")]
    due = [three[k]["id"] for k in ("integration", "support", "plain")]
    assert ids(api, "") == created
    assert ids(api, "?sort=due") == due
    # Claimed and offered tasks are merged in the same order, one page at a time.
    task = api.get(f"/tasks?instance={three['support']['id']}", "duty_engineer").json["items"][0]
    assert api.post(f"/tasks/{task['id']}/claim", "duty_engineer").status_code == 200
    paged = [i for p in (1, 2, 3) for i in ids(api, f"?sort=due&per_page=1&page={p}")]
    assert paged == due
    assert ids(api, "?sort=due", "admin") == due
    # Overdue: the breached clock is still the case's open deadline, and it stays first.
    api.clock.advance(timedelta(hours=1))
    api.service.runtime.fire_due_timers()
    assert ids(api, "?sort=due") == due
    assert_error(api.get("/tasks?sort=deadline", "duty_engineer"), 422, "invalid_input")


def test_filters_narrow_the_callers_own_list(api: ApiHarness, three: dict[str, Any]) -> None:
    plain, support, integration = (three[k]["id"] for k in ("plain", "support", "integration"))
    assert ids(api, "?contract=support") == [support]
    assert ids(api, "?contract=integration&level=P2") == [integration]
    assert ids(api, "?level=level1") == [support]
    assert ids(api, "?level=P1") == [plain]
    before = quote(shown(api.start_time + timedelta(hours=1)))
    assert ids(api, f"?due_before={before}") == [integration]
    assert ids(api, f"?due_before={quote(shown(api.start_time))}") == []
    assert ids(api, "?candidate_group=duty_engineer", "admin") == [plain, support, integration]
    assert ids(api, "?candidate_group=senior_engineer", "admin") == []
    task = api.get(f"/tasks?instance={integration}", "duty_engineer").json["items"][0]
    api.post(f"/tasks/{task['id']}/claim", "dave")
    assert ids(api, "?assignee=dave", "admin") == [integration]
    assert ids(api, "?assignee=dave", "dave") == [integration]
    # A filter narrows what the caller may see; it never widens it.
    assert ids(api, "?assignee=dave", "duty_engineer") == []
    assert ids(api, "?contract=support", "senior_engineer") == []
    for bad in ("?q=switch", "?assigne=dave", "?due_before=tomorrow", "?level=" + "x" * 40):
        assert_error(api.get(f"/tasks{bad}", "duty_engineer"), 422, "invalid_input")


def test_instances_search_business_key_and_summary(api: ApiHarness, three: dict[str, Any]) -> None:
    def found(q: str, user: str = "admin") -> list[str]:
        body = api.get(f"/instances?q={quote(q)}", user)
        assert body.status_code == 200, body.json
        return sorted(i["business_key"] for i in body.json["items"])

    assert found("inc-") == ["INC-20", "INC-30"]
    assert found("CORE switch") == ["INC-20"]
    assert found("告警") == ["INC-30"]
    assert found("风扇") == ["CHG-7"]
    assert found("%") == [] and found("_") == []  # LIKE's wildcards are plain characters
    assert found("INC", "acme") == []  # a customer searches their own cases only
    assert_error(api.get("/instances?query=INC"), 422, "invalid_input")


def test_a_completion_answers_with_what_comes_next(api: ApiHarness) -> None:
    instance = api.start()
    task = api.work_task(instance)
    # Not done yet: the diagram loops back to the same step, offered to the caller's group again.
    again = api.post(f"/tasks/{task['id']}/complete", "duty_engineer", json={"data": {"ok": False}})
    assert again.status_code == 200, again.json
    body = again.json
    assert (body["instance_id"], body["status"], body["incidents"]) == (instance["id"], "running", [])
    assert [t["element_id"] for t in body["next_tasks"]] == ["Work"]
    assert body["next_tasks"][0]["id"] != task["id"]
    # The service task after it fails for good: the incident it opened is in the answer.
    failed = api.post(f"/tasks/{body['next_tasks'][0]['id']}/complete", "duty_engineer",
                      json={"data": {"ok": False, "note": "fail"}}).json
    assert failed["status"] == "running" and failed["next_tasks"] == []
    [incident] = failed["incidents"]
    assert (incident["element_id"], incident["status"]) == ("Record", "open")
    assert "refused the note" in incident["message"]
    listed = api.get(f"/incidents?instance={instance['id']}").json["items"]
    assert [i["id"] for i in listed] == [incident["id"]]


def test_a_completion_lists_only_the_callers_next_tasks(api: ApiHarness) -> None:
    instance = api.start()
    api.clock.advance(timedelta(hours=2, minutes=1))  # the boundary timer offers seniors a task
    api.service.runtime.fire_due_timers()
    task = api.work_task(api.get(f"/instances/{instance['id']}").json)
    done = api.post(f"/tasks/{task['id']}/complete", "duty_engineer", json={"data": {"ok": False}}).json
    assert [t["element_id"] for t in done["next_tasks"]] == ["Work"]
    seen = api.get(f"/instances/{instance['id']}").json["open_tasks"]
    assert sorted(t["element_id"] for t in seen) == ["Escalate", "Work"]


# ----------------------------------------------------------------- reassigning
def test_a_dispatcher_reassigns_to_a_colleague_who_may_work_on_it(api: ApiHarness) -> None:
    instance = api.start()
    task = api.work_task(instance)
    api.post(f"/tasks/{task['id']}/claim", "duty_engineer")
    # seed 001_4ada53786a497df7.txt line 13 (2.1.1.3): the service desk hands out the tasks
    moved = api.post(f"/tasks/{task['id']}/reassign", "service_desk", json={"assignee": "dave"})
    assert moved.status_code == 200, moved.json
    assert (moved.json["instance_id"], moved.json["task"]["assignee"]) == (instance["id"], "dave")
    assert ids(api, "", "dave") == [instance["id"]]
    assert ids(api, "", "duty_engineer") == []  # held by dave now: no longer offered to the group
    history = api.get(f"/instances/{instance['id']}/history", "auditor").json["items"]
    last = history[-1]
    assert (last["type"], last["actor"], last["task_id"]) == ("task_reassigned", "service_desk", task["id"])
    assert last["data"] == {"assignee": "dave", "previous": "duty_engineer"}
    assert api.get(f"/instances/{instance['id']}/verify", "auditor").json["verified"] is True
    replayed = api.get(f"/instances/{instance['id']}/replay?upto={last['seq']}", "auditor").json
    assert replayed["verified"] is True and replayed["divergence"] is None
    assert len(replayed["state"]["open_tasks"]) == 1
    # The project manager may too (2.2.1.1); and the new holder completes it.
    assert api.post(f"/tasks/{task['id']}/reassign", "project_manager",
                    json={"assignee": "duty_engineer"}).json["task"]["assignee"] == "duty_engineer"
    assert api.post(f"/tasks/{task['id']}/complete", "duty_engineer",
                    json={"data": {"ok": True}}).status_code == 200


def test_reassigning_is_refused_to_a_name_that_would_strand_the_task(api: ApiHarness) -> None:
    task = api.work_task(api.start())
    path = f"/tasks/{task['id']}/reassign"
    api.post("/users/dave/disable", "admin")
    for name in ("duty_enginer", "dave", "senior_engineer", "auditor", "acme"):
        details = assert_error(api.post(path, "service_desk", json={"assignee": name}), 422, "invalid_input")
        assert set(details["fields"]) == {"assignee"}, name
    assert "not an enabled user" in assert_error(
        api.post(path, "service_desk", json={"assignee": "nobody"}), 422)["fields"]["assignee"]
    assert "candidate groups: duty_engineer" in assert_error(
        api.post(path, "service_desk", json={"assignee": "senior_engineer"}), 422)["fields"]["assignee"]
    assert "assignee" in assert_error(api.post(path, "service_desk", json={}), 422)["fields"]
    assert api.get(f"/tasks/{task['id']}", "admin").json["assignee"] is None  # nothing was changed
    assert api.post(path, "service_desk", json={"assignee": "admin"}).status_code == 200


def test_only_dispatchers_and_admins_reassign(api: ApiHarness) -> None:
    task = api.work_task(api.start())
    path = f"/tasks/{task['id']}/reassign"
    for who in ("duty_engineer", "senior_engineer", "process_owner", "auditor"):
        assert_error(api.post(path, who, json={"assignee": "duty_engineer"}), 403, "forbidden")
    assert_error(api.post(path, "acme", json={"assignee": "duty_engineer"}), 404)  # not their case
    assert_error(api.post("/tasks/no-such-task/reassign", "service_desk", json={"assignee": "dave"}), 404)
    assert api.post(path, "admin", json={"assignee": "dave"}).json["task"]["assignee"] == "dave"
