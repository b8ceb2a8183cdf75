"""Groups as data: known groups come from the standard list, deployed diagrams and admins; users may
only join known groups; a deploy warns about a candidate group nobody is in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.cli import main
from engine.clock import ManualClock
from engine.errors import InvalidInput
from engine.store.users import add_user

from .test_api_helpers import MESSAGE_BPMN, ApiHarness, assert_error, shown
from .test_api_processes import upload

SECURITY = MESSAGE_BPMN.replace(b'candidateGroups="service_desk"', b'candidateGroups="network_security"') \
    .replace(b'id="confirm"', b'id="security_check"')


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock)
    yield harness
    harness.close()


def test_a_group_named_by_a_deployed_diagram_can_get_users(api: ApiHarness) -> None:
    with pytest.raises(InvalidInput) as refused:
        add_user(api.service.store, api.clock, "li.wei", ["network_security"])
    assert "unknown group(s) network_security" in refused.value.details["fields"]["groups"]

    deployed = api.post("/processes", "process_owner", **upload(("security.bpmn", SECURITY)))
    assert deployed.status_code == 201
    assert deployed.json["items"][0]["warnings"] == [
        {"file": "security.bpmn", "element_id": "Close",
         "message": "no user is in candidate group 'network_security'"}]
    group = api.get("/groups/network_security").json
    assert (group["defined_by"], group["processes"], group["members"]) == ("diagram", ["security_check"], 0)

    add_user(api.service.store, api.clock, "li.wei", ["network_security"])
    assert api.get("/groups/network_security", "process_owner").json["members"] == 1
    again = api.post("/processes", "process_owner", **upload(("security.bpmn", SECURITY)))
    assert again.json["items"][0]["warnings"] == []  # someone is in the group now


def test_admins_add_groups_and_see_who_uses_them(api: ApiHarness) -> None:
    listed = {g["name"]: g for g in api.get("/groups").json["items"]}
    # The contracts' roles no shipped diagram uses yet are standard groups (seed citations in groups.py).
    assert {"customer_manager", "project_coordinator", "resident_engineer", "development_team",
            "risk_assessment_team", "regional_office"} <= set(listed)
    assert listed["duty_engineer"]["processes"] == ["rework"]  # the harness deployed rework.bpmn
    duty = listed["duty_engineer"]
    assert (duty["defined_by"], duty["members"]) == ("standard", 2)  # duty_engineer and dave

    assert_error(api.post("/groups", "process_owner", json={"name": "spare_x"}), 403, "forbidden")
    created = api.post("/groups", "admin", json={"name": "spare_x"})
    assert created.status_code == 201
    assert (created.json["defined_by"], created.json["created_by"]) == ("admin", "admin")
    assert created.json["created_at"] == shown(api.clock.now())
    assert_error(api.post("/groups", "admin", json={"name": "spare_x"}), 409, "conflict")
    assert_error(api.post("/groups", "admin", json={"name": "Spare X"}), 422, "invalid_input")
    assert_error(api.get("/groups/nobody_here"), 404, "not_found")
    assert_error(api.get("/groups", "duty_engineer"), 403, "forbidden")
    add_user(api.service.store, api.clock, "wang", ["spare_x"])
    assert api.get("/groups/spare_x").json["members"] == 1


def test_group_commands(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    diagram = tmp_path / "security.bpmn"
    diagram.write_bytes(SECURITY)
    assert main(["user", "add", "li.wei", "--groups", "network_security"]) == 1
    assert "unknown group(s) network_security" in capsys.readouterr().err
    assert main(["deploy", str(diagram)]) == 0
    assert "warning: security.bpmn: Close: no user is in candidate group 'network_security'" \
        in capsys.readouterr().err
    assert main(["user", "add", "li.wei", "--groups", "network_security"]) == 0
    capsys.readouterr()
    assert main(["group", "show", "network_security"]) == 0
    assert capsys.readouterr().out == "network_security\tdiagram\t1 member(s)\tsecurity_check\n"
    assert main(["group", "add", "resident_engineer"]) == 1  # a standard group already
    assert main(["group", "add", "night_watch"]) == 0
    capsys.readouterr()
    assert main(["group", "list"]) == 0
    rows = {line.split("\t")[0]: line.split("\t")[1] for line in capsys.readouterr().out.splitlines()}
    assert (rows["night_watch"], rows["network_security"], rows["customer_manager"]) == \
        ("admin", "diagram", "standard")
