"""The case page shows the case's incidents, with a retry for process owners (as the API allows), and
the cases linked to it: the one that started it and those it started."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from api.app import create_app
from engine.actor import Actor
from engine.service import Service
from engine.store.models import IncidentRow, OpenTask

from .test_api_helpers import REWORK, flaky_until, make_echo
from .test_console import people_service
from .test_console_work import PEOPLE, signed_in

ENGINEER = Actor("duty_engineer", frozenset({"duty_engineer"}))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    from .conftest import START

    svc = people_service(tmp_path_factory, "case_links", PEOPLE, processes=False,
                         handlers=[make_echo(flaky_until(START))])
    svc.runtime.deploy([(REWORK.name, REWORK.read_bytes())])
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def app(service: Service) -> Any:
    return create_app({"WEIBAO_SERVICE": service, "TESTING": True})


def _failed_case(service: Service) -> str:
    """A case whose service step failed for good: an open incident."""
    case = service.runtime.start("rework", {"summary": "磁盘满", "level": "P2"}, "service_desk")
    with service.store.read() as s:
        task_id = s.scalars(select(OpenTask.id).where(OpenTask.instance_id == case)).one()
    service.runtime.complete(task_id, {"ok": True, "note": "fail"}, ENGINEER)
    return case


def test_an_open_incident_is_listed_and_retried_by_a_process_owner(app: Any, service: Service) -> None:
    case = _failed_case(service)
    desk = signed_in(app, "service_desk")
    page = desk.get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="incidents"' in page and "<code>Record</code>" in page and "未处理" in page
    assert 'id="retry-' not in page  # the service desk sees it, may not retry it
    with service.store.read() as s:
        incident_id = s.scalars(select(IncidentRow.id).where(IncidentRow.instance_id == case)).one()
    assert desk.post(f"/cases/{case}/incidents/{incident_id}/retry").status_code == 403
    owner = signed_in(app, "process_owner")
    page = owner.get(f"/cases/{case}").get_data(as_text=True)
    assert f'id="retry-{incident_id}"' in page
    assert owner.post(f"/cases/{case}/incidents/{incident_id}/retry", csrf=False).status_code == 400
    owner.get(f"/cases/{case}")
    assert owner.post(f"/cases/{case}/incidents/{incident_id}/retry").status_code == 302
    with service.store.read() as s:
        retried = s.get(IncidentRow, incident_id)
        assert retried is not None and retried.status == "resolved"  # its step ran again (and failed anew)
    assert "已处理" in owner.get(f"/cases/{case}").get_data(as_text=True)
    assert signed_in(app, "customer").get(f"/cases/{case}").status_code == 404  # not a case of theirs


def test_linked_cases_are_shown_both_ways(app: Any, service: Service) -> None:
    parent = service.runtime.start("rework", {"summary": "P1 故障", "level": "P1"}, "service_desk",
                                   business_key="F-1")
    child = service.runtime.start("rework", {"summary": "升级为重大事件", "level": "P1"}, "service_desk",
                                  business_key="I-1", parent_instance_id=parent)
    desk = signed_in(app, "service_desk")
    on_parent = desk.get(f"/cases/{parent}").get_data(as_text=True)
    assert f'data-instance="{child}"' in on_parent and "由本工单发起" in on_parent and "I-1" in on_parent
    on_child = desk.get(f"/cases/{child}").get_data(as_text=True)
    assert f'data-instance="{parent}"' in on_child and "发起本工单" in on_child and "F-1" in on_child
