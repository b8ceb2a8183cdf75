"""The instance migration dry run: which running instances of a version could move to another, and why not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.cli import main
from api.compose import product_service
from engine.clock import ManualClock

from .conftest import START
from .engine_support import DATA
from .test_api_helpers import ApiHarness, assert_error, flaky_until, make_echo
from .test_api_processes import upload

REWORK = (DATA / "rework.bpmn").read_bytes()
RENAMED = REWORK.replace('name="返工测试"'.encode(), b'name="rework v2"')  # same elements
WITHOUT_WORK = REWORK.replace(b'"Work"', b'"Handle"')  # the task the instances wait on is gone
NEW_FORM = REWORK.replace('label="备注" type="string"'.encode(), 'label="备注" type="long"'.encode())
INSTANCES = 200


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock)
    yield harness
    harness.close()


def _deploy(api: ApiHarness, content: bytes) -> int:
    response = api.post("/processes", "process_owner", **upload(("rework.bpmn", content)))
    assert response.status_code == 201, response.json
    return int(response.json["items"][0]["version"])


def test_the_dry_run_names_for_each_instance_what_keeps_it_from_moving(api: ApiHarness) -> None:
    started = {api.start()["id"] for _ in range(INSTANCES)}
    assert (_deploy(api, RENAMED), _deploy(api, WITHOUT_WORK), _deploy(api, NEW_FORM)) == (2, 3, 4)

    plan = api.get("/processes/rework/versions/1/migration?to=2&per_page=500", "process_owner").json
    assert (plan["total"], plan["movable"]) == (INSTANCES, INSTANCES)
    assert {i["instance_id"] for i in plan["items"]} == started
    assert all(i["reasons"] == [] and "Work" in i["elements"] for i in plan["items"])

    stranded = api.get("/processes/rework/versions/1/migration?to=3&per_page=500", "process_owner").json
    assert stranded["movable"] == 0
    assert {tuple(i["reasons"]) for i in stranded["items"]} == {
        ("an active token on Work (处理), which v3 does not have",)}
    one = next(iter(started))
    changed = api.get(f"/processes/rework/versions/1/migration?to=4&instance={one}", "process_owner").json
    assert changed["items"] == [{"instance_id": one, "movable": False, "elements": ["Late", "Work"],
                                 "reasons": ["the form of the open task Work (处理) changed in v4"],
                                 "blocking": ["Work"]}]

    assert_error(api.get("/processes/rework/versions/1/migration?to=2", "duty_engineer"), 403, "forbidden")
    assert_error(api.get("/processes/rework/versions/1/migration?to=9", "process_owner"), 404, "not_found")


def test_the_dry_run_on_the_command_line(sqlite_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    (tmp_path / "rework.bpmn").write_bytes(REWORK)
    service = product_service(sqlite_url, handlers=[make_echo(flaky_until(START))])  # rework calls `echo`
    try:
        service.runtime.deploy([("rework.bpmn", REWORK)])
        instance = service.runtime.start("rework", {"summary": "disk full", "level": "P2"}, "alice")
        service.runtime.deploy([("rework.bpmn", WITHOUT_WORK)])
    finally:
        service.close()
    assert main(["process", "migration-plan", "rework", "1", "2"]) == 1  # something would be stranded
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{instance}\tstays\tan active token on Work (处理), which v2 does not have",
                   "0 of 1 running instance(s) of rework v1 can move to v2"]
