"""The shipped handlers, through the engine: outbox, roster assignment, records, reports, linked starts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.actor import Actor
from engine.handler import HandlerError
from engine.store.models import Instance, OutboxMessage, Record
from handlers.notify import render
from handlers.roster import on_duty

from .conftest import make_service
from .engine_support import DATA, open_tasks, the_task, types


@pytest.fixture
def svc(db_url, clock):
    service = make_service(db_url, clock)  # the product's handler list
    service.runtime.deploy([("handlers_demo.bpmn", (DATA / "handlers_demo.bpmn").read_bytes())])
    yield service
    service.close()


def test_roster_assigns_notifies_records_reports_and_links(svc):
    iid = svc.runtime.start("handlers_demo", {}, "desk")
    # 2026-03-02 09:00 Beijing is 120 twelve-hour shifts after the epoch: even, so the first person.
    (task,) = open_tasks(svc, iid, "Diagnose")
    assert task.assignee == "duty_engineer"
    with svc.store.read() as s:
        (sms,) = s.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == iid)).all()
    assert (sms.channel, sms.recipient, sms.status) == ("sms", "duty_engineer", "pending")
    assert sms.body == "新故障：{summary}（{customer}）"

    engineer = Actor("duty_engineer", frozenset({"duty_engineer"}))
    svc.runtime.complete(task.id, {"root_cause": "电源模块老化", "solution": "更换电源模块"}, engineer)
    with svc.store.read() as s:
        row = s.get(Instance, iid)
        records = {r.kind: r for r in s.scalars(select(Record).where(Record.instance_id == iid))}
        child = s.scalars(select(Instance).where(Instance.parent_instance_id == iid)).one()
    assert row.status == "completed"
    assert row.data["spare_part_request_id"] == records["spare_part_request"].id
    report = records["fault_report"].data
    assert row.data["fault_report_id"] == records["fault_report"].id
    assert "## 故障原因\n\n电源模块老化" in report["markdown"] and "<h2>解决方案</h2>" in report["html"]
    assert report["fields"]["engineers"] == ["duty_engineer"]
    assert report["fields"]["remote_support_time"] == "2026-03-02 09:00"
    assert child.process_key == "child_demo" and child.data["parent_ref"] == iid
    assert row.data["child_demo_instance_id"] == child.id
    assert the_task(svc, child.id, "ChildWork")
    assert types(svc, iid).count("service_task_completed") == 5


def test_render_keeps_unknown_placeholders():
    assert render("{summary} @ {site}", {"summary": "断网"}) == "断网 @ {site}"
    with pytest.raises(HandlerError):
        render("{", {})


def test_roster_overrides_win():
    roster = {
        "groups": {
            "duty_engineer": {
                "epoch": "2026-01-01T08:30:00+08:00",
                "shift_hours": 12,
                "rotation": ["a", "b"],
                "overrides": [
                    {"from": "2026-03-02T08:30:00+08:00", "to": "2026-03-02T20:30:00+08:00", "user": "c"}
                ],
            }
        }
    }
    assert on_duty(roster, "duty_engineer", datetime(2026, 3, 2, 1, tzinfo=UTC)) == "c"
    assert on_duty(roster, "duty_engineer", datetime(2026, 3, 2, 13, tzinfo=UTC)) == "b"
    with pytest.raises(HandlerError):
        on_duty(roster, "vendor", datetime(2026, 3, 2, tzinfo=UTC))
