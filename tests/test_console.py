"""The console through Flask's test client: sign-in, CSRF, the role rules per page, forms, languages.

The walk through a real browser is tests/test_console_browser.py; these are the rules behind it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from werkzeug.datastructures import MultiDict

from api.app import create_app
from api.cli import main
from api.compose import product_service
from api.console import forms
from engine import passwords, users
from engine.clock import ManualClock
from engine.service import Service
from engine.store.users import add_user

from .conftest import ROOT

PASSWORD = "demo-password-1"
PEOPLE = {"service_desk": (["service_desk"], []), "duty_engineer": (["duty_engineer"], []),
          "duty_engineer2": (["duty_engineer"], []), "customer": (["customer"], []),
          "other_customer": (["customer"], []), "auditor": ([], ["auditor"]), "admin": ([], ["admin"])}
FAULT = {"summary": "核心交换机宕机", "channel": "hotline", "contract": "network_om", "level": "P2",
         "customer": "customer", "site_distance_km": "30"}
CATALOGUE = ROOT / "api" / "console" / "translations" / "zh" / "LC_MESSAGES"


class Console:
    """One browser: its own cookies, and the CSRF token of the last page it read."""

    def __init__(self, app: Any) -> None:
        self.client = app.test_client()
        self.token = ""

    def get(self, path: str) -> Any:
        response = self.client.get(path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
        self.token = found.group(1) if found else self.token
        return response

    def post(self, path: str, data: dict[str, str] | None = None, csrf: bool = True) -> Any:
        body = dict(data or {})
        if csrf:
            body["csrf_token"] = self.token
        return self.client.post(path, data=body)

    def sign_in(self, name: str, password: str = PASSWORD) -> Any:
        self.get("/signin")
        return self.post("/signin", {"name": name, "password": password})


def people_service(tmp_path_factory: pytest.TempPathFactory, folder: str,
                   people: dict[str, tuple[list[str], list[str]]], *, processes: bool = True,
                   handlers: Any = None) -> Service:
    """The product on a SQLite file of its own (the shipped diagrams unless `processes` is false), with
    `people` ({name: (groups, roles)}) as users who sign in with PASSWORD. The console tests share it."""
    from .conftest import START

    url = f"sqlite:///{tmp_path_factory.mktemp(folder) / 'weibao.sqlite3'}"
    svc = product_service(url, clock=ManualClock(START), handlers=handlers)
    if processes:
        svc.deploy_processes(ROOT / "processes")
    for name, (groups, roles) in people.items():
        add_user(svc.store, svc.clock, name, groups, roles)
        passwords.set_password(svc.store, name, PASSWORD)
    return svc


def console_fixtures(name: str, people: dict[str, tuple[list[str], list[str]]],
                     **options: Any) -> tuple[Any, Any]:
    """A module's `service` (the product with these sign-in users) and its `app`, for a console test
    module to bind: `service, app = console_fixtures("console_x", PEOPLE)`."""

    @pytest.fixture(scope="module")
    def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
        svc = people_service(tmp_path_factory, name, people, **options)
        yield svc
        svc.close()

    @pytest.fixture(scope="module")
    def app(service: Service) -> Any:
        return create_app({"WEIBAO_SERVICE": service, "TESTING": True})

    return service, app


service, app = console_fixtures("console", PEOPLE)


def signed_in(app: Any, name: str) -> Console:
    console = Console(app)
    assert console.sign_in(name).status_code == 302
    return console


def report_fault(app: Any) -> str:
    desk = signed_in(app, "service_desk")
    desk.get("/start/fault_repair")
    response = desk.post("/start/fault_repair", {**FAULT, "business_key": "INC-1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.location.rsplit("/", 1)[-1])


def open_task(service: Service, instance_id: str, element_id: str) -> dict[str, Any]:
    from engine import SYSTEM, Scope, queries

    with service.store.snapshot() as conn:
        detail = queries.instance(conn, Scope.of(SYSTEM), instance_id)
    return next(t for t in detail["open_tasks"] if t["element_id"] == element_id)


# ----------------------------------------------------------------- signing in
def test_every_page_sends_a_stranger_to_the_sign_in(app: Any) -> None:
    stranger = Console(app)
    for path in ("/", "/tasks", "/tasks/x", "/start", "/start/fault_repair", "/cases", "/cases/x",
                 "/cases/x/diagram.xml", "/audit", "/audit/x"):
        response = stranger.get(path)
        assert response.status_code == 302 and response.location.startswith("/signin?next="), path
    page = stranger.get("/signin").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and '<label for="name">用户名</label>' in page


def test_sign_in_sets_a_strict_cookie_and_refuses_wrong_passwords(app: Any) -> None:
    console = Console(app)
    for name, password in (("service_desk", "wrong-password"), ("nobody", PASSWORD), ("", "")):
        refused = console.sign_in(name, password)
        assert refused.status_code == 401 and "用户名或密码错误" in refused.get_data(as_text=True)
    response = console.sign_in("service_desk")
    assert response.status_code == 302 and response.location == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert console.get("/tasks").status_code == 200
    console.get("/tasks")
    assert console.post("/signout").status_code == 302
    assert console.get("/tasks").status_code == 302  # signed out


def test_sign_in_goes_on_to_pages_of_this_site_only(app: Any) -> None:
    console = Console(app)
    console.get("/signin")
    outside = console.post("/signin?next=//evil.example/x", {"name": "auditor", "password": PASSWORD})
    assert outside.location == "/"
    console = Console(app)
    console.get("/signin")
    inside = console.post("/signin?next=/cases", {"name": "auditor", "password": PASSWORD})
    assert inside.location == "/cases"


def test_a_disabled_user_is_signed_out_at_once(app: Any, service: Service) -> None:
    engineer = signed_in(app, "duty_engineer2")
    users.set_disabled(service.store, "duty_engineer2", True)
    try:
        assert engineer.get("/tasks").status_code == 302
        assert engineer.sign_in("duty_engineer2").status_code == 401
    finally:
        users.set_disabled(service.store, "duty_engineer2", False)


# ----------------------------------------------------------------- CSRF
def test_forms_posted_without_the_token_are_refused(app: Any, service: Service) -> None:
    instance_id = report_fault(app)
    task = open_task(service, instance_id, "Task_record_impact")
    desk = signed_in(app, "service_desk")
    desk.get(f"/tasks/{task['id']}")
    impact = {"business_impact": "partial", "outage_minutes": "30", "affected_percent": "40",
              "safety_hazard": "false"}
    refused = desk.post(f"/tasks/{task['id']}/complete", impact, csrf=False)
    assert refused.status_code == 400 and "表单已过期" in refused.get_data(as_text=True)
    forged = desk.post(f"/tasks/{task['id']}/complete", {**impact, "csrf_token": "forged"}, csrf=False)
    assert forged.status_code == 400
    assert open_task(service, instance_id, "Task_record_impact")["id"] == task["id"]  # nothing changed
    assert desk.post("/signout", csrf=False).status_code == 400
    assert Console(app).post("/signin", {"name": "service_desk", "password": PASSWORD},
                             csrf=False).status_code == 400
    assert desk.post(f"/tasks/{task['id']}/complete", impact).status_code == 302  # with it: done


# ----------------------------------------------------------------- roles, page by page
def test_the_tasklist_shows_my_groups_tasks_with_the_nearest_deadline(app: Any) -> None:
    instance_id = report_fault(app)
    page = signed_in(app, "service_desk").get("/tasks").get_data(as_text=True)
    assert f'data-element="Task_record_impact" data-instance="{instance_id}"' in page
    assert "截止 <time" in page and 'data-clock="response">响应</span>' in page and "+08:00" in page
    engineer = signed_in(app, "duty_engineer").get("/tasks").get_data(as_text=True)
    assert instance_id not in engineer  # not offered to the engineers yet
    everything = signed_in(app, "auditor").get("/tasks").get_data(as_text=True)
    assert instance_id in everything  # auditors see every task


def test_task_pages_follow_the_policy(app: Any, service: Service) -> None:
    instance_id = report_fault(app)
    task = open_task(service, instance_id, "Task_record_impact")
    path = f"/tasks/{task['id']}"
    desk = signed_in(app, "service_desk").get(path).get_data(as_text=True)
    assert 'id="task-form"' in desk and "部分设备故障，部分业务受限" in desk  # enum value labels
    auditor = signed_in(app, "auditor")
    assert 'id="task-form"' not in auditor.get(path).get_data(as_text=True)  # sees, may not work
    assert auditor.post(f"{path}/complete", {"business_impact": "none"}).status_code == 403
    assert signed_in(app, "duty_engineer").get(path).status_code == 404  # not offered to them
    assert signed_in(app, "customer").get(path).status_code == 404


def test_a_task_held_by_a_colleague_can_be_seen_but_not_taken(app: Any, service: Service) -> None:
    instance_id = report_fault(app)
    task = open_task(service, instance_id, "Task_record_impact")
    desk = signed_in(app, "service_desk")
    desk.get(f"/tasks/{task['id']}")
    assert desk.post(f"/tasks/{task['id']}/claim").status_code == 302
    assert 'id="unclaim"' in desk.get(f"/tasks/{task['id']}").get_data(as_text=True)
    admin = signed_in(app, "admin")  # admins may work on any task, so they see the form
    assert 'id="task-form"' in admin.get(f"/tasks/{task['id']}").get_data(as_text=True)
    desk.get(f"/tasks/{task['id']}")
    assert desk.post(f"/tasks/{task['id']}/unclaim").status_code == 302
    assert open_task(service, instance_id, "Task_record_impact")["assignee"] is None


def test_case_pages_follow_the_instance_scope(app: Any) -> None:
    instance_id = report_fault(app)
    for name in ("service_desk", "duty_engineer", "auditor", "customer"):
        console = signed_in(app, name)
        page = console.get(f"/cases/{instance_id}")
        assert page.status_code == 200, name
        assert 'id="diagram"' in page.get_data(as_text=True)
        xml = console.get(f"/cases/{instance_id}/diagram.xml")
        assert xml.mimetype == "application/xml" and b"Task_phone_diagnosis" in xml.data
    stranger = signed_in(app, "other_customer")
    assert stranger.get(f"/cases/{instance_id}").status_code == 404
    assert stranger.get(f"/cases/{instance_id}/diagram.xml").status_code == 404
    assert instance_id not in stranger.get("/cases").get_data(as_text=True)


def test_audit_pages_are_for_auditors(app: Any) -> None:
    instance_id = report_fault(app)
    for name in ("service_desk", "duty_engineer", "customer"):
        console = signed_in(app, name)
        assert console.get("/audit").status_code == 403, name
        assert console.get(f"/audit/{instance_id}").status_code == 403, name
        assert 'href="/audit"' not in console.get("/tasks").get_data(as_text=True)
    auditor = signed_in(app, "auditor")
    page = auditor.get(f"/audit/{instance_id}?upto=3").get_data(as_text=True)
    assert "哈希链校验通过" in page and "第 3 个事件之后的状态" in page
    assert re.findall(r'<li value="(\d+)">', page) == ["1", "2", "3"]


def test_starting_needs_a_writer_and_shows_the_engines_errors(app: Any) -> None:
    auditor = signed_in(app, "auditor")
    auditor.get("/start/fault_repair")
    assert auditor.post("/start/fault_repair", FAULT).status_code == 403
    desk = signed_in(app, "service_desk")
    desk.get("/start/fault_repair")
    refused = desk.post("/start/fault_repair", {**FAULT, "site_distance_km": "far", "channel": ""})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="f-site_distance_km-error">须为数字' in page  # the engine said it, in English
    assert 'id="f-channel-error">必填' in page
    assert 'value="核心交换机宕机"' in page  # what was typed is kept


# ----------------------------------------------------------------- forms and languages
def test_posted_text_becomes_the_fields_type_or_goes_to_the_engine_as_typed() -> None:
    form = [{"id": "n", "type": "long"}, {"id": "ok", "type": "boolean"}, {"id": "s", "type": "string"},
            {"id": "x", "type": "long"}, {"id": "f", "type": "long"}, {"id": "empty", "type": "string"}]
    posted = MultiDict({"n": " 42 ", "ok": "false", "s": "文本", "x": "abc", "f": "1.5", "empty": ""})
    assert forms.data_from(form, posted) == {"n": 42, "ok": False, "s": "文本", "x": "abc", "f": 1.5}
    shown = forms.shown_values([{"id": "ok", "type": "boolean"}, {"id": "d", "type": "string",
                                                                   "default": "默认"}], {"ok": True})
    assert shown == {"ok": "true", "d": "默认"}


def test_english_is_the_second_language(app: Any) -> None:
    console = signed_in(app, "service_desk")
    assert "我的任务" in console.get("/tasks").get_data(as_text=True)
    assert console.post("/language", {"lang": "en", "back": "/tasks"}).location == "/tasks"
    page = console.get("/tasks").get_data(as_text=True)
    assert '<html lang="en">' in page and "My tasks" in page


def test_the_compiled_catalogue_matches_its_source() -> None:
    with open(CATALOGUE / "messages.po", "rb") as source, open(CATALOGUE / "messages.mo", "rb") as built:
        po, mo = read_po(source), read_mo(built)
    expected = {m.id: m.string for m in po if m.id and not m.fuzzy}
    compile_hint = "run: pybabel compile -d api/console/translations"
    assert {m.id: m.string for m in mo if m.id} == expected, compile_hint
    assert all(expected.values())


def test_times_follow_the_configured_zone(tmp_path: Path) -> None:
    from .conftest import START

    svc = product_service(f"sqlite:///{tmp_path / 'w.sqlite3'}", clock=ManualClock(START),
                          settings={"timezone": "UTC"})
    try:
        svc.deploy_processes(ROOT / "processes")
        add_user(svc.store, svc.clock, "service_desk", ["service_desk"])
        passwords.set_password(svc.store, "service_desk", PASSWORD)
        utc_app = create_app({"WEIBAO_SERVICE": svc, "TESTING": True})
        instance_id = report_fault(utc_app)
        page = signed_in(utc_app, "service_desk").get(f"/cases/{instance_id}").get_data(as_text=True)
        assert "2026-03-02 01:00 +00:00" in page and "+08:00" not in page
    finally:
        svc.close()


# ----------------------------------------------------------------- the command line
def test_user_password_sets_a_console_password(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from engine.store.sessions import Store

    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    assert main(["user", "add", "kim", "--groups", "service_desk"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "password", "kim"]) != 0  # too short: refused, nothing set
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["user", "password", "kim"]) == 0
    store = Store(sqlite_url)
    try:
        assert passwords.sign_in(store, "kim", "a long enough secret").name == "kim"
        assert passwords.sign_in(store, "kim", "short") is None
    finally:
        store.dispose()
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["user", "password", "nobody"]) != 0


def test_engine_errors_are_pages_with_the_apis_status(app: Any, service: Service) -> None:
    instance_id = report_fault(app)
    task = open_task(service, instance_id, "Task_record_impact")
    desk = signed_in(app, "service_desk")
    missing = desk.get("/cases/no-such-case")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert 'id="error-message">未找到。' in missing.get_data(as_text=True)
    assert desk.get("/start/no_such_process").status_code == 404
    colleague = Console(app)
    colleague.sign_in("admin")
    colleague.get(f"/tasks/{task['id']}")
    assert colleague.post(f"/tasks/{task['id']}/claim").status_code == 302
    desk.get("/tasks")
    taken = desk.post(f"/tasks/{task['id']}/claim")  # held by the admin now: told so, not a crash
    assert taken.status_code == 302
    assert "assigned to admin" in desk.get(taken.location).get_data(as_text=True)


def test_engine_messages_are_shown_under_their_field_in_the_pages_language(app: Any) -> None:
    field = {"id": "outage_minutes", "label": "业务已中断时长（分钟）", "type": "long"}
    with app.test_request_context("/"):
        assert forms.field_message(field, "业务已中断时长（分钟） must be a number") == "须为数字"
        too_long = "业务已中断时长（分钟） must be at most 5 characters"
        assert forms.field_message(field, too_long) == "最多 5 个字符"
        assert forms.field_message(field, "something new") == "something new"  # unknown: as the engine said
