"""Instance migration over the API and the CLI: 200 running fault-repair instances (the shipped
diagram) move from v1 to a v2 that adds a step after the one they wait on, each history verifies and
replays, their SLA clocks keep their due times, and a revert puts them back on v1; a v3 without the
step they wait on is refused per instance, naming the element."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from api.cli import main
from engine.clock import ManualClock
from engine.store.models import SlaClockRow

from .conftest import ROOT
from .scenario_support import FAULT
from .test_api_helpers import ApiHarness, assert_error
from .test_api_processes import upload
from .test_migration_move import _v2, _v3

INSTANCES = 200


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock, product_handlers=True)
    harness.service.deploy_processes(ROOT / "processes")
    yield harness
    harness.close()


def _deploy(api: ApiHarness, content: bytes) -> int:
    response = api.post("/processes", "process_owner", **upload(("fault_repair.bpmn", content)))
    assert response.status_code == 201, response.json
    return int(response.json["items"][0]["version"])


def _due(api: ApiHarness) -> dict[tuple[str, str], object]:
    with api.service.store.read() as session:
        return {(r.instance_id, r.clock): r.due_at for r in session.scalars(select(SlaClockRow))}


def _open_tasks(api: ApiHarness, instance_id: str) -> list[tuple[str, str]]:
    body = api.get(f"/instances/{instance_id}").json
    return sorted((t["id"], t["element_id"]) for t in body["open_tasks"])


def test_200_instances_move_verify_keep_their_clocks_and_go_back(api: ApiHarness) -> None:
    ids = [api.service.runtime.start("fault_repair", {**FAULT, "level": "P3"}, "dora")
           for _ in range(INSTANCES)]
    tasks, due = {i: _open_tasks(api, i) for i in ids}, _due(api)
    assert _deploy(api, _v2()) == 2

    plan = api.get("/processes/fault_repair/versions/1/migration?to=2&per_page=500", "process_owner").json
    assert (plan["total"], plan["movable"]) == (INSTANCES, INSTANCES)
    assert_error(api.post("/processes/fault_repair/versions/1/migration", "duty_engineer", json={"to": 2}),
                 403)
    moved = api.post("/processes/fault_repair/versions/1/migration", "process_owner", json={"to": 2})
    assert moved.status_code == 201, moved.json
    assert (sorted(moved.json["moved"]), moved.json["refused"]) == (sorted(ids), [])
    read_back = api.get(moved.headers["Location"].removeprefix("/api/v1"), "auditor").json
    assert read_back["moved"] == moved.json["moved"]

    versions = {v["version"]: v["running"] for v in api.get("/processes/fault_repair/versions").json["items"]}
    assert (versions[1], versions[2]) == (0, INSTANCES)
    assert _due(api) == due  # every SLA clock keeps its due time
    for i in ids:
        assert _open_tasks(api, i) == tasks[i]  # the same open task, by id
        assert api.get(f"/instances/{i}/verify", "auditor").json["verified"] is True
        assert api.get(f"/instances/{i}/replay", "auditor").json["verified"] is True

    migration_id = moved.json["migration_id"]
    back = api.post(f"/processes/fault_repair/migrations/{migration_id}/revert", "process_owner")
    assert back.status_code == 201, back.json
    assert (sorted(back.json["moved"]), back.json["reverts"]) == (sorted(ids), moved.json["migration_id"])
    versions = {v["version"]: v["running"] for v in api.get("/processes/fault_repair/versions").json["items"]}
    assert (versions[1], versions[2]) == (INSTANCES, 0)
    assert api.get(f"/instances/{ids[0]}/replay", "auditor").json["verified"] is True
    actions = [c["action"] for c in api.get("/processes/fault_repair/changes?per_page=50").json["items"]]
    assert actions[-2:] == ["migrated", "reverted"]


def test_a_version_without_the_waiting_step_is_refused_per_instance(api: ApiHarness) -> None:
    ids = [api.service.runtime.start("fault_repair", {**FAULT, "level": "P3"}, "dora") for _ in range(3)]
    before = {i: api.get(f"/instances/{i}/history").json["total"] for i in ids}
    assert _deploy(api, _v3()) == 2
    plan = api.get("/processes/fault_repair/versions/1/migration?to=2", "process_owner").json
    assert plan["movable"] == 0 and {tuple(m["blocking"]) for m in plan["items"]} == {("Task_record_impact",)}
    moved = api.post("/processes/fault_repair/versions/1/migration", "process_owner", json={"to": 2}).json
    assert moved["moved"] == [] and sorted(r["instance_id"] for r in moved["refused"]) == sorted(ids)
    assert all(r["reasons"] == ["an active token on Task_record_impact (登记故障影响范围), which v2 does not "
                                "have"] for r in moved["refused"])
    assert {i: api.get(f"/instances/{i}/history").json["total"] for i in ids} == before  # nothing written
    assert_error(api.post("/processes/fault_repair/versions/1/migration", "process_owner", json={"to": 1}),
                 422, "invalid_input")
    assert_error(api.post("/processes/fault_repair/migrations/999/revert", "process_owner"), 404, "not_found")


def test_migrate_and_revert_on_the_command_line(api: ApiHarness, sqlite_url: str,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    instance = api.service.runtime.start("fault_repair", {**FAULT, "level": "P3"}, "dora")
    _deploy(api, _v2())
    assert main(["process", "migrate", "fault_repair", "1", "2", "--as", "process_owner"]) == 0
    *lines, summary = capsys.readouterr().out.splitlines()
    assert lines == [f"{instance}\tmoved"]
    assert summary.endswith(": 1 of 1 instance(s) of fault_repair moved from v1 to v2")
    migration_id = int(summary.removeprefix("migration ").split(":")[0])
    assert main(["process", "revert-migration", "fault_repair", str(migration_id),
                 "--as", "process_owner"]) == 0
    assert f"{instance}\tmoved" in capsys.readouterr().out
    assert api.get(f"/instances/{instance}").json["version"] == 1
