"""The console's dispatching and filtering: reassigning on the task page, the tasklist's filters and
clock labels, each with its role rule and its CSRF check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from api.compose import product_service
from engine import passwords
from engine.clock import ManualClock
from engine.service import Service
from engine.store.users import add_user

from .conftest import ROOT
from .test_console import FAULT, PASSWORD, Console, open_task

PEOPLE = {"service_desk": (["service_desk"], []), "duty_engineer": (["duty_engineer"], []),
          "duty_engineer2": (["duty_engineer"], []), "senior_engineer": (["senior_engineer"], []),
          "project_manager": (["project_manager"], []), "customer": (["customer"], []),
          "auditor": ([], ["auditor"]), "process_owner": ([], ["process_owner"]), "admin": ([], ["admin"])}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    from .conftest import START

    url = f"sqlite:///{tmp_path_factory.mktemp('console_work') / 'weibao.sqlite3'}"
    svc = product_service(url, clock=ManualClock(START))
    svc.deploy_processes(ROOT / "processes")
    for name, (groups, roles) in PEOPLE.items():
        add_user(svc.store, svc.clock, name, groups, roles)
        passwords.set_password(svc.store, name, PASSWORD)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def app(service: Service) -> Any:
    return create_app({"WEIBAO_SERVICE": service, "TESTING": True})


def signed_in(app: Any, name: str) -> Console:
    console = Console(app)
    assert console.sign_in(name).status_code == 302
    return console


def report(app: Any, key: str, **changes: str) -> str:
    desk = signed_in(app, "service_desk")
    desk.get("/start/fault_repair")
    response = desk.post("/start/fault_repair", {**FAULT, **changes, "business_key": key})
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.location.rsplit("/", 1)[-1])


def diagnosis(app: Any, service: Service, key: str, **changes: str) -> dict[str, Any]:
    """A fault reported, its impact recorded and its level confirmed: the phone diagnosis goes to the
    engineer on shift (handlers/data/roster.json: duty_engineer at this hour)."""
    instance_id = report(app, key, **changes)
    desk = signed_in(app, "service_desk")
    impact = open_task(service, instance_id, "Task_record_impact")
    desk.get(f"/tasks/{impact['id']}")
    assert desk.post(f"/tasks/{impact['id']}/complete", {
        "business_impact": "partial", "outage_minutes": "30", "affected_percent": "40",
        "safety_hazard": "false"}).status_code == 302
    level = open_task(service, instance_id, "Task_confirm_level")
    desk.get(f"/tasks/{level['id']}")
    confirmed = desk.post(f"/tasks/{level['id']}/complete", {"level": changes.get("level", "P2")})
    assert confirmed.status_code == 302
    return open_task(service, instance_id, "Task_phone_diagnosis")


# ----------------------------------------------------------------- reassigning
def test_a_dispatcher_reassigns_on_the_task_page(app: Any, service: Service) -> None:
    task = diagnosis(app, service, "INC-R1")
    assert task["assignee"] == "duty_engineer"
    path = f"/tasks/{task['id']}"
    desk = signed_in(app, "service_desk")
    page = desk.get(path).get_data(as_text=True)
    assert 'id="reassign-form"' in page and '<label for="assignee">转派给</label>' in page
    options = page.split('id="assignee"', 1)[1].split("</select>", 1)[0]
    # Only people who may work on it are offered: the two engineers on duty (and admins).
    assert 'value="duty_engineer2"' in options and 'value="senior_engineer"' not in options
    assert 'value="auditor"' not in options
    moved = desk.post(f"{path}/reassign", {"assignee": "duty_engineer2"})
    assert moved.status_code == 302 and moved.location == path
    assert open_task(service, task["instance_id"], "Task_phone_diagnosis")["assignee"] == "duty_engineer2"
    assert "任务已转派给 duty_engineer2" in desk.get(path).get_data(as_text=True)
    # seed 001_4ada53786a497df7.txt line 13 (2.2.1.1): the project manager assigns work as well
    manager = signed_in(app, "project_manager")
    assert 'id="reassign-form"' in manager.get(path).get_data(as_text=True)
    assert manager.post(f"{path}/reassign", {"assignee": "duty_engineer"}).status_code == 302
    assert open_task(service, task["instance_id"], "Task_phone_diagnosis")["assignee"] == "duty_engineer"


def test_a_refused_assignee_is_shown_at_the_field(app: Any, service: Service) -> None:
    task = diagnosis(app, service, "INC-R2")
    path = f"/tasks/{task['id']}"
    desk = signed_in(app, "service_desk")
    desk.get(path)
    for name, message in (("duty_enginer", "不是已启用的用户"), ("senior_engineer", "不在其候选组中")):
        refused = desk.post(f"{path}/reassign", {"assignee": name})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422 and 'id="assignee-error"' in page and message in page, name
    assert open_task(service, task["instance_id"], "Task_phone_diagnosis")["assignee"] == task["assignee"]


def test_reassigning_is_for_dispatchers_and_needs_the_forms_token(app: Any, service: Service) -> None:
    task = diagnosis(app, service, "INC-R3")
    path = f"/tasks/{task['id']}"
    for name in ("duty_engineer", "admin"):
        page = signed_in(app, name).get(path).get_data(as_text=True)
        assert ('id="reassign-form"' in page) is (name == "admin"), name
    engineer = signed_in(app, "duty_engineer")
    engineer.get(path)
    assert engineer.post(f"{path}/reassign", {"assignee": "duty_engineer"}).status_code == 403
    auditor = signed_in(app, "auditor")
    auditor.get(path)
    assert auditor.post(f"{path}/reassign", {"assignee": "duty_engineer"}).status_code == 403
    desk = signed_in(app, "service_desk")
    desk.get(path)
    refused = desk.post(f"{path}/reassign", {"assignee": "duty_engineer"}, csrf=False)
    assert refused.status_code == 400
    assert open_task(service, task["instance_id"], "Task_phone_diagnosis")["assignee"] == task["assignee"]
