"""The process owners' pages: upload with the problems listed per element, versions with their running
instances, activate, suspend and resume, the migration dry run, the migration and its revert; each with its
role rule and CSRF check."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from engine.service import Service
from engine.store.models import Instance, ProcessVersion

from .test_api_helpers import BROKEN
from .test_console import Console, console_fixtures
from .test_console_work import PEOPLE, signed_in

# One user task with a form; v2 drops its note field: a changed form of an open task.
REWORK_V1 = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_rework" targetNamespace="t">
  <bpmn:process id="rework" name="返工" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Work" name="处理" camunda:candidateGroups="duty_engineer">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="ok" label="是否完成" type="boolean"/>
        <camunda:formField id="note" label="备注" type="string"/>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Finish"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Begin" targetRef="Work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Work" targetRef="Finish"/>
  </bpmn:process>
</bpmn:definitions>""".encode()
REWORK_V2 = REWORK_V1.replace('<camunda:formField id="note" label="备注" type="string"/>'.encode(), b"")


service, app = console_fixtures("console_processes", PEOPLE, processes=False)


def upload(console: Console, *files: tuple[str, bytes], csrf: bool = True) -> Any:
    console.get("/processes")
    data: dict[str, Any] = {"files": [(io.BytesIO(content), name) for name, content in files]}
    if csrf:
        data["csrf_token"] = console.token
    return console.client.post("/processes", data=data, content_type="multipart/form-data")


@pytest.fixture(scope="module")
def two_versions(app: Any, service: Service) -> str:
    """rework v1 with one case running on it, then v2 (the note field removed from Work)."""
    owner = signed_in(app, "process_owner")
    assert upload(owner, ("rework.bpmn", REWORK_V1)).status_code == 201
    instance_id = service.runtime.start("rework", {}, "service_desk")
    assert upload(owner, ("rework.bpmn", REWORK_V2)).status_code == 201
    return instance_id


def test_a_refused_upload_lists_the_problems_per_element(app: Any) -> None:
    owner = signed_in(app, "process_owner")
    refused = upload(owner, ("broken.bpmn", BROKEN))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="problems"' in page
    row = re.search(r'<tr data-element="Nobody">(.*?)</tr>', page, re.S)
    assert row and "broken.bpmn" in row.group(1)
    assert upload(owner, ("notes.txt", b"hello")).status_code == 422
    assert "broken" not in owner.get("/processes").get_data(as_text=True).split('id="process-list"')[1]


def test_versions_show_their_running_instances_and_change_state(app: Any, two_versions: str) -> None:
    owner = signed_in(app, "process_owner")
    page = owner.get("/processes/rework").get_data(as_text=True)

    def version_row(page: str, n: int) -> str:
        found = re.search(rf'<tr data-version="{n}">(.*?)</tr>', page, re.S)
        assert found, page
        return found.group(1)

    assert '<td class="running" data-label="运行中的实例">1</td>' in version_row(page, 1)
    assert "当前版本" in version_row(page, 2)
    assert '<td class="running" data-label="运行中的实例">0</td>' in version_row(page, 2)
    for act, n in (("suspend", 2), ("resume", 2), ("activate", 1)):
        owner.get("/processes/rework")
        assert owner.post(f"/processes/rework/versions/{n}/{act}").status_code == 302, act
        page = owner.get("/processes/rework").get_data(as_text=True)
        if act == "suspend":
            assert "已暂停" in version_row(page, 2)
    assert "当前版本" in version_row(page, 1) and "已暂停" not in version_row(page, 2)
    changes = page.split('id="changes"', 1)[1]
    assert "v1 启用 · process_owner" in changes and "v2 已暂停 · process_owner" in changes


def test_the_migration_dry_run_is_shown_per_instance(app: Any, two_versions: str) -> None:
    owner = signed_in(app, "process_owner")
    page = owner.get("/processes/rework/versions/1/migration?to=2").get_data(as_text=True)
    row = re.search(rf'<tr class="([^"]+)" data-instance="{two_versions}">(.*?)</tr>', page, re.S)
    assert row and row.group(1) == "state-breached"
    assert "<code>Work</code>" in row.group(2) and "form" in row.group(2)
    assert "1 个运行中的实例中有 0 个可以迁移" in page
    assert owner.get("/processes/rework/versions/1/migration?to=9").status_code == 404
    assert owner.get("/processes/rework/versions/1/migration?to=x").status_code == 422


def test_process_pages_are_for_process_owners(app: Any, two_versions: str) -> None:
    paths = ("/processes", "/processes/rework", "/processes/rework/versions/1/migration?to=2")
    for name in ("service_desk", "duty_engineer", "auditor", "customer"):
        console = signed_in(app, name)
        for path in paths:
            assert console.get(path).status_code == 403, (name, path)
        assert 'href="/processes"' not in console.get("/tasks").get_data(as_text=True)
        console.get("/tasks")
        assert console.post("/processes/rework/versions/1/suspend").status_code == 403, name
        assert upload(console, ("rework.bpmn", REWORK_V2)).status_code == 403, name
    for name in ("process_owner", "admin"):
        console = signed_in(app, name)
        assert all(console.get(path).status_code == 200 for path in paths), name
        assert 'href="/processes"' in console.get("/tasks").get_data(as_text=True)


def test_process_forms_need_the_token(app: Any, two_versions: str) -> None:
    owner = signed_in(app, "process_owner")
    assert upload(owner, ("broken.bpmn", BROKEN), csrf=False).status_code == 400
    owner.get("/processes/rework")
    for act in ("suspend", "resume", "activate"):
        assert owner.post(f"/processes/rework/versions/2/{act}", csrf=False).status_code == 400, act
    page = owner.get("/processes/rework").get_data(as_text=True)
    assert "已暂停" not in page.split('data-version="2"', 1)[1].split("</tr>", 1)[0]


def test_movable_instances_are_migrated_from_the_dry_run_page_and_reverted(app: Any, two_versions: str,
                                                                          service: Service) -> None:
    owner = signed_in(app, "process_owner")
    renamed = REWORK_V1.replace('name="处理"'.encode(), 'name="处理（新）"'.encode())  # the same form
    assert upload(owner, ("rework.bpmn", renamed)).status_code == 201  # v3
    page = owner.get("/processes/rework/versions/1/migration?to=3").get_data(as_text=True)
    assert 'id="migrate"' in page and "将 1 个可迁移的实例迁移到 v3" in page
    assert owner.post("/processes/rework/versions/1/migration", {"to": "3"}, csrf=False).status_code == 400
    desk = signed_in(app, "service_desk")
    desk.get("/tasks")  # its CSRF token
    assert desk.post("/processes/rework/versions/1/migration", {"to": "3"}).status_code == 403
    owner.get("/processes/rework/versions/1/migration?to=3")
    done = owner.post("/processes/rework/versions/1/migration", {"to": "3"})
    page = done.get_data(as_text=True)
    assert done.status_code == 201 and "已迁移 1 个，未迁移 0 个。" in page and two_versions[:8] in page
    assert _version_of(service, two_versions) == 3
    case = owner.get(f"/cases/{two_versions}").get_data(as_text=True)
    assert "迁移到新版本" in case  # the timeline names the event in the page's language
    migration_id = re.search(r'/processes/rework/migrations/(\d+)/revert', page)
    assert migration_id
    back = owner.post(f"/processes/rework/migrations/{migration_id.group(1)}/revert")
    assert back.status_code == 201 and "本次撤销迁移" in back.get_data(as_text=True)
    assert _version_of(service, two_versions) == 1


def _version_of(service: Service, instance_id: str) -> int:
    with service.store.read() as s:
        row = s.get(Instance, instance_id)
        assert row is not None
        version = s.get(ProcessVersion, row.version_id)
        assert version is not None
        return version.version
