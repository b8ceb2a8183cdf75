"""Instances of the fault process as it was before its steps were grouped into embedded subprocesses
(the definition a saved history pins) cannot move onto the grouped diagram: a step that moved into a
subprocess is matched by id within the same (sub)process only, so the plan names the steps the
instance holds at the top level that the target keeps inside `SubProcess_triage`, and nothing is
written. Instances started on the grouped diagram move between its versions (test_migration_api)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

import pytest

from engine.clock import ManualClock

from .conftest import ROOT
from .scenario_support import FAULT
from .test_api_helpers import ApiHarness
from .test_api_processes import upload

FLAT = ROOT / "tests" / "data" / "histories" / "fault_repair_onsite.zip"


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock, product_handlers=True)
    harness.service.deploy_processes(ROOT / "processes")
    yield harness
    harness.close()


def test_a_flat_instance_is_refused_naming_the_steps_now_inside_a_subprocess(api: ApiHarness) -> None:
    with zipfile.ZipFile(FLAT) as bundle:
        flat = bundle.read("definitions/fault_repair.bpmn")
    assert b"SubProcess_triage" not in flat
    response = api.post("/processes", "process_owner", **upload(("fault_repair.bpmn", flat)))
    assert response.status_code == 201, response.json
    assert response.json["items"][0]["version"] == 2
    ids = [api.service.runtime.start("fault_repair", {**FAULT, "level": "P3"}, "dora") for _ in range(2)]
    before = {i: api.get(f"/instances/{i}/history").json["total"] for i in ids}
    assert {api.get(f"/instances/{i}").json["version"] for i in ids} == {2}
    plan = api.get("/processes/fault_repair/versions/2/migration?to=1", "process_owner").json
    assert plan["movable"] == 0
    blocking = {tuple(m["blocking"]) for m in plan["items"]}
    assert blocking == {("Task_notify_technical_lead", "Task_record_impact")}  # both in SubProcess_triage
    moved = api.post("/processes/fault_repair/versions/2/migration", "process_owner", json={"to": 1}).json
    assert moved["moved"] == [] and sorted(r["instance_id"] for r in moved["refused"]) == sorted(ids)
    assert {i: api.get(f"/instances/{i}/history").json["total"] for i in ids} == before  # nothing written
