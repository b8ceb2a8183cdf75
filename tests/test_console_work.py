"""The console's dispatching and filtering: reassigning on the task page, the tasklist's filters and
clock labels, each with its role rule and its CSRF check."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from api.app import create_app
from engine.service import Service

from .conftest import ROOT
from .test_console import FAULT, PASSWORD, Console, console_fixtures, open_task

PEOPLE = {"service_desk": (["service_desk"], []), "duty_engineer": (["duty_engineer"], []),
          "duty_engineer2": (["duty_engineer"], []), "senior_engineer": (["senior_engineer"], []),
          "project_manager": (["project_manager"], []), "customer": (["customer"], []),
          "auditor": ([], ["auditor"]), "process_owner": ([], ["process_owner"]), "admin": ([], ["admin"])}


service, app = console_fixtures("console_work", PEOPLE)


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


# ----------------------------------------------------------------- the tasklist's filters and labels
def listed(console: Console, query: str = "") -> list[str]:
    page = console.get(f"/tasks{query}")
    assert page.status_code == 200
    return re.findall(r'data-instance="([^"]+)"', page.get_data(as_text=True))


def test_the_tasklist_filters_by_contract_level_assignee_and_due(app: Any, service: Service) -> None:
    network = diagnosis(app, service, "INC-F1")["instance_id"]
    support = diagnosis(app, service, "INC-F2", contract="support", level="P3")["instance_id"]
    engineer = signed_in(app, "duty_engineer")
    both = listed(engineer)
    assert network in both and support in both
    only_support = listed(engineer, "?contract=support")
    assert support in only_support and network not in only_support
    assert network not in listed(engineer, "?level=P3") and support in listed(engineer, "?level=P3")
    assert network in listed(engineer, "?process=fault_repair&contract=network_om&level=P2")
    assert listed(engineer, "?process=complaint") == []
    # The roster gave both diagnoses to duty_engineer; a colleague holds neither.
    assert {network, support} <= set(listed(engineer, "?assignee=duty_engineer"))
    assert listed(engineer, "?assignee=duty_engineer2") == []
    assert listed(engineer, "?due=overdue") == []
    # seed 004_777e0ef8db92c2e8.txt P1/P2 and seed 002's level table aside, every open response clock
    # here is due within a day of the report.
    assert {network, support} <= set(listed(engineer, "?due=24h"))
    page = engineer.get("/tasks?contract=support").get_data(as_text=True)
    assert '<option value="support" selected>技术支持与售后</option>' in page  # labels from the start form
    assert 'id="clear-filters"' in page
    for field in ("process", "contract", "level", "assignee", "due"):
        assert f'<label for="{field}">' in page and f'<select id="{field}" name="{field}">' in page


def test_overdue_cases_come_first_and_are_marked(app: Any, service: Service) -> None:
    late = diagnosis(app, service, "INC-F3")["instance_id"]
    clock = service.clock
    clock.advance(timedelta(hours=5))  # type: ignore[attr-defined]
    service.runtime.fire_due_timers()
    fresh = diagnosis(app, service, "INC-F4")["instance_id"]
    engineer = signed_in(app, "duty_engineer")
    order = listed(engineer, "?assignee=duty_engineer")
    assert order.index(late) < order.index(fresh)
    assert late in listed(engineer, "?due=overdue") and fresh not in listed(engineer, "?due=overdue")
    page = engineer.get("/tasks?due=overdue").get_data(as_text=True)
    item = page.split(f'data-instance="{late}"', 1)[1].split("</li>", 1)[0]
    assert 'class="late"' in item and "超时" in item


def test_clocks_are_named_in_the_pages_language() -> None:
    from api.console.labels import CLOCKS

    started = set()
    for path in (ROOT / "processes").glob("*.bpmn"):
        for value in re.findall(r'name="sla\.start" value="([^"]+)"', path.read_text(encoding="utf-8")):
            started.update(v.strip() for v in value.split(","))
    assert started and started <= set(CLOCKS), sorted(started - set(CLOCKS))
    assert CLOCKS["escalation_tier2"][0] == "升级至二级支持" and CLOCKS["onsite_arrival"][0] == "到场"


def test_case_clocks_show_their_labels(app: Any, service: Service) -> None:
    instance_id = report(app, "INC-F5")
    page = signed_in(app, "service_desk").get(f"/cases/{instance_id}").get_data(as_text=True)
    assert '<span data-clock="workaround">临时解决</span>' in page
    assert '<span data-clock="escalation_tier4">升级至四级支持</span>' in page
    english = signed_in(app, "service_desk")
    english.get("/tasks")
    english.post("/language", {"lang": "en", "back": f"/cases/{instance_id}"})
    assert '<span data-clock="workaround">Workaround</span>' in english.get(
        f"/cases/{instance_id}").get_data(as_text=True)


def test_the_tasklist_reads_every_cases_clocks_in_one_query(app: Any, service: Service) -> None:
    # Its own cases: the test must not depend on what the module's other tests left behind.
    support = diagnosis(app, service, "INC-Q1", contract="support", level="P3")["instance_id"]
    network = {diagnosis(app, service, f"INC-Q{n}")["instance_id"] for n in (2, 3, 4)}
    engine = service.store.engine
    statements: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    def clock_reads(query: str) -> int:
        statements.clear()
        assert signed_in(app, "admin").get(f"/tasks{query}").status_code == 200
        return sum("sla_clocks" in s for s in statements)

    event.listen(engine, "connect", trace)
    engine.dispose()
    try:
        one, many = clock_reads("?contract=support"), clock_reads("")
    finally:
        event.remove(engine, "connect", trace)
        engine.dispose()
    only_support = set(listed(signed_in(app, "admin"), "?contract=support"))
    assert support in only_support and not only_support & network
    assert {support, *network} <= set(listed(signed_in(app, "admin")))
    assert one == many == 2  # the list (its deadline, in SQL) and the clocks of all listed cases


# ----------------------------------------------------------------- the session cookie over https
def _cookie(app: Any, base_url: str) -> str:
    client = app.test_client()
    client.get("/signin", base_url=base_url)
    found = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/signin", base_url=base_url).get_data(as_text=True))
    assert found
    signed = client.post("/signin", base_url=base_url,
                         data={"name": "service_desk", "password": PASSWORD, "csrf_token": found.group(1)})
    assert signed.status_code == 302
    return str(signed.headers["Set-Cookie"])


def test_the_session_cookie_is_secure_over_https(app: Any) -> None:
    assert "; Secure" in _cookie(app, "https://console.example")
    plain = _cookie(app, "http://console.example")
    assert "; Secure" not in plain and "HttpOnly" in plain


@pytest.mark.parametrize(("setting", "secure_on_http"), [("1", True), ("0", False)])
def test_weibao_cookie_secure_decides_whatever_the_scheme(service: Service, setting: str,
                                                          secure_on_http: bool) -> None:
    from dataclasses import replace

    from engine import Settings

    chosen = Settings.from_env({"WEIBAO_COOKIE_SECURE": setting})
    assert chosen.cookie_secure is secure_on_http
    forced = replace(service, settings=replace(service.settings, cookie_secure=chosen.cookie_secure))
    app = create_app({"WEIBAO_SERVICE": forced, "TESTING": True})
    assert ("; Secure" in _cookie(app, "http://console.example")) is secure_on_http
    assert ("; Secure" in _cookie(app, "https://console.example")) is secure_on_http


def test_cases_are_searched_by_business_key_and_summary(app: Any) -> None:
    report(app, "INC-S1", summary="UPS 电池告警")
    desk = signed_in(app, "service_desk")
    found = desk.get("/cases?q=电池").get_data(as_text=True).split('id="cases"', 1)[1]
    assert "INC-S1" in found and "INC-R1" not in found
    assert "INC-S1" in desk.get("/cases?q=inc-s").get_data(as_text=True)
    stranger = signed_in(app, "customer")  # FAULT names "customer": their own cases only
    assert "INC-S1" in stranger.get("/cases?q=INC-S1").get_data(as_text=True)
