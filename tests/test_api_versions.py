"""Version lifecycle through the API: what a deploy made current, rollback, suspension, named starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.clock import ManualClock

from .test_api_helpers import REWORK, ApiHarness, assert_error, shown
from .test_api_processes import upload

V2 = REWORK.read_bytes().replace('name="返工测试"'.encode(), b'name="rework v2"')
START = {"summary": "disk full", "level": "P2"}


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock)
    yield harness
    harness.close()


def start(api: ApiHarness, version: int | None = None, user: str = "service_desk") -> object:
    body: dict[str, object] = {"process": "rework", "data": START}
    if version is not None:
        body["version"] = version
    return api.post("/instances", user, json=body)


def states(api: ApiHarness) -> dict[int, tuple[bool, bool, int]]:
    items = api.get("/processes/rework/versions", "duty_engineer").json["items"]
    return {v["version"]: (v["current"], v["suspended"], v["running"]) for v in items}


def test_deploy_says_what_became_current_and_a_redeploy_does_not_roll_back(api: ApiHarness) -> None:
    created = api.post("/processes", "process_owner", **upload(("rework.bpmn", V2))).json["items"][0]
    assert (created["version"], created["current"], created["previous"]) == (2, 2, 1)
    assert created["message"] == "rework v2 created; new instances start on it (was v1)"
    # The original file again: known content, so nothing changes, and the answer says so.
    again = api.post("/processes", "process_owner", **upload(("rework.bpmn", REWORK.read_bytes())))
    assert again.status_code == 200
    entry = again.json["items"][0]
    assert (entry["version"], entry["created"], entry["current"], entry["previous"]) == (1, False, 2, None)
    assert "new instances stay on v2 (activate v1 to roll back to it)" in entry["message"]
    assert api.get("/processes/rework", "duty_engineer").json["version"] == 2


def test_rollback_named_starts_and_counts_per_version(api: ApiHarness) -> None:
    api.post("/processes", "process_owner", **upload(("rework.bpmn", V2)))
    assert start(api).json["version"] == 2
    assert start(api, version=1).json["version"] == 1
    assert states(api) == {2: (True, False, 1), 1: (False, False, 1)}

    assert_error(api.post("/processes/rework/versions/1/activate", "service_desk"), 403, "forbidden")
    rolled = api.post("/processes/rework/versions/1/activate", "process_owner").json
    assert (rolled["current"], rolled["previous"]) == (1, 2)
    assert rolled["message"] == "rework v1 is current: new instances start on it (was v2)"
    assert api.get("/processes/rework", "duty_engineer").json["version"] == 1
    assert {p["key"]: p["version"] for p in api.get("/processes").json["items"]}["rework"] == 1
    assert start(api).json["version"] == 1
    assert states(api) == {2: (False, False, 1), 1: (True, False, 2)}
    assert_error(api.post("/processes/rework/versions/9/activate", "process_owner"), 404, "not_found")
    fields = assert_error(start(api, version=9), 422, "invalid_input")["fields"]
    assert fields == {"version": "is not a deployed version"}


def test_a_suspended_version_starts_nothing_while_its_instances_go_on(api: ApiHarness) -> None:
    running = start(api).json
    suspended = api.post("/processes/rework/versions/1/suspend", "process_owner").json
    assert (suspended["suspended"], suspended["current"]) == (True, 1)
    assert_error(start(api), 409, "conflict")
    assert_error(start(api, version=1), 409, "conflict")
    task = api.work_task(running)
    done = api.post(f"/tasks/{task['id']}/complete", "duty_engineer", json={"data": {"ok": True}})
    assert done.status_code == 200, done.json
    assert api.get(f"/instances/{running['id']}").json["status"] == "completed"
    assert states(api)[1] == (True, True, 0)
    # A suspended version cannot become current; another version can, and new instances go there.
    api.post("/processes", "process_owner", **upload(("rework.bpmn", V2)))
    assert start(api).json["version"] == 2
    assert_error(api.post("/processes/rework/versions/1/activate", "process_owner"), 409, "conflict")
    api.post("/processes/rework/versions/1/resume", "process_owner")
    assert start(api, version=1).status_code == 201

    changes = api.get("/processes/rework/changes", "auditor").json["items"]
    assert [(c["version"], c["action"], c["actor"], c["previous"]) for c in changes] == [
        (1, "deployed", "setup", None), (1, "suspended", "process_owner", None),
        (2, "deployed", "process_owner", 1), (1, "resumed", "process_owner", None)]
    assert all(c["at"] == shown(api.clock.now()) for c in changes)


def test_a_process_moved_to_a_new_file_becomes_its_next_version(api: ApiHarness) -> None:
    response = api.post("/processes", "process_owner", **upload(("rework_2026.bpmn", V2)))
    assert response.status_code == 201, response.json
    entry = response.json["items"][0]
    assert (entry["process"], entry["version"], entry["moved_from"]) == ("rework", 2, "rework.bpmn")
    assert entry["message"].endswith("rework was defined in rework.bpmn before, this file replaces it")
    assert api.get("/processes/rework/xml").data == V2
    # The old file is no longer combined with later deploys: another file deploys without a conflict.
    other = api.post("/processes", "process_owner", **upload(("rework_2026.bpmn", REWORK.read_bytes())))
    assert other.status_code == 201 and other.json["items"][0]["version"] == 3
