"""Two small contract processes over the API on the simulation clock: processes/development_request.bpmn
(seed 002's written reply to a second-development request within a week) and processes/training.bpmn
(seed 001's on-site training agreed 30 working days ahead). Each clock is checked at the minute before
and after its due time, only the contract whose seed promises it gets it, and a case replays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine.audit.replay import Replayer

from .contract_api import MINUTE, ContractApi
from .scenario_support import bj


@pytest.fixture
def api(sqlite_url: str, clock: Any) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


def refused(api: ContractApi, user: str, path: str, body: Any) -> dict[str, Any]:
    response = api.client.open("/api/v1" + path, method="POST", json=body,
                               headers={"Authorization": f"Bearer {api.tokens[user]}"})
    assert response.status_code == 422, (path, response.status_code, response.json)
    return dict(response.json["error"])


def document_text(api: ContractApi, user: str, record: str) -> str:
    response = api.client.get(f"/api/v1/documents/{record}?format=markdown",
                              headers={"Authorization": f"Bearer {api.tokens[user]}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def replays(api: ContractApi, instance: str) -> None:
    svc = api.service
    result = Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(instance)
    assert result.verified, result.divergence


# --------------------------------------------------------------------------- 002: second development
def submit(api: ContractApi, contract: str, key: str) -> str:
    body = {"process": "development_request", "business_key": key, "data": {
        "requirement_title": "工单导出增加字段", "requirement": "导出的工单列表增加处理时长一列",
        "contract": contract, "customer": "customer"}}
    return str(api.call("POST", "/instances", "customer", body)["id"])


REPLY = {"solution": "在导出模板中增加处理时长列", "impact_analysis": "只影响导出功能，不改数据库结构",
         "effort_hours": 16, "planned_start": "2026-03-16", "planned_online": "2026-03-30"}


def test_002_a_written_reply_within_one_week_of_the_submission(api: ContractApi) -> None:
    case = submit(api, "support", "DEV-001")
    # seed 002 l.134-136: a written reply within one week of the formal submission (Mon 2 Mar 09:00)
    due = bj("2026-03-09 09:00")
    assert api.due(case, "development_reply") == due
    api.at(due - MINUTE)
    assert api.state(case, "development_reply") == "running"
    api.at(due + MINUTE)
    assert api.state(case, "development_reply") == "breached"
    # the reply must give the solution, the impact on the system and the hours: 422 naming the field
    task = api.task("development_team", case, "Task_write_reply")
    body = refused(api, "development_team", f"/tasks/{task['id']}/complete",
                   {"data": {k: v for k, v in REPLY.items() if k != "effort_hours"}})
    assert set(body["details"]["fields"]) == {"effort_hours"}
    api.do("development_team", case, "Task_write_reply", **REPLY)
    # the reply is a document the customer reads through the API
    reply_id = api.call("GET", f"/instances/{case}", "customer")["data"]["development_reply_id"]
    text = document_text(api, "customer", reply_id)
    assert "二次开发需求书面回复" in text and "只影响导出功能" in text and "16" in text
    # asked again: a new round of one week from the request, the first kept as development_reply#1
    api.at(bj("2026-03-10 10:00"))
    api.do("customer", case, "Task_customer_review", review_decision="revise",
           requirement_change="另需按月汇总")
    clocks = api.clocks(case)
    assert clocks["development_reply#1"]["state"] == "breached"
    again = bj("2026-03-17 10:00")
    assert api.due(case, "development_reply") == again
    api.at(again - MINUTE)
    api.do("development_team", case, "Task_write_reply", **REPLY)
    assert api.state(case, "development_reply") == "met"
    api.do("customer", case, "Task_customer_review", review_decision="accept")
    assert api.call("GET", f"/instances/{case}")["status"] == "completed"
    replays(api, case)


def test_002_other_contracts_promise_no_reply_time(api: ContractApi) -> None:
    for contract, key in (("network_om", "DEV-101"), ("monitoring", "DEV-103")):
        case = submit(api, contract, key)
        assert "development_reply" not in api.clocks(case)
        assert [t["element_id"] for t in api.tasks("development_team", case)] == ["Task_write_reply"]


# --------------------------------------------------------------------------- 001: on-site training
def request_training(api: ContractApi, contract: str, day: str, key: str, major_fault: bool = False) -> str:
    body = {"process": "training", "business_key": key, "data": {
        "training_topic": "交换机日常维护", "training_date": day, "attendees": 12, "major_fault": major_fault,
        "contract": contract, "customer": "customer"}}
    return str(api.call("POST", "/instances", "customer", body)["id"])


AGREED = {"trainer": "王工", "venue": "客户机房会议室"}


def test_001_on_site_training_is_agreed_30_working_days_before_it(api: ContractApi) -> None:
    case = request_training(api, "network_om", "2026-04-20", "TRN-001")
    # seed 001 l.13 §2.3.6: agreed 30 working days before the training. Back from Monday 20 April:
    # 13-17, 7-10 April (Qingming Monday 6 April off), 30 March-3 April, 23-27, 16-20, 9-13 March and
    # 6 March are the 30 working days, so the agreement is due when Thursday 5 March's work ends.
    due = bj("2026-03-05 17:30")
    assert api.due(case, "training_notice") == due
    api.at(due - MINUTE)
    assert api.state(case, "training_notice") == "running"
    api.do("service_desk", case, "Task_agree_training", training_date="2026-04-20", **AGREED)
    assert api.state(case, "training_notice") == "met"
    api.do("technical_lead", case, "Task_deliver_training", trained=True, training_summary="12 人参加")
    assert api.call("GET", f"/instances/{case}")["status"] == "completed"
    replays(api, case)


def test_001_a_request_less_than_30_working_days_ahead_is_flagged_at_once(api: ContractApi) -> None:
    case = request_training(api, "network_om", "2026-03-20", "TRN-002")
    # seed 001 l.13 §2.3.6: the customer must consult 30 working days ahead; a request 14 working days
    # ahead cannot keep it, so the clock is due at once and breaches the next minute
    assert api.due(case, "training_notice") == bj("2026-03-02 09:00")
    api.at(bj("2026-03-02 09:01"))
    assert api.state(case, "training_notice") == "breached"
    assert [t["element_id"] for t in api.tasks("service_desk", case)] == ["Task_agree_training"]


def test_001_training_for_a_major_fault_needs_no_notice(api: ContractApi) -> None:
    # seed 001 l.13 §2.3.6: 在出现重大故障或普遍性故障情况除外
    case = request_training(api, "network_om", "2026-03-04", "TRN-003", major_fault=True)
    assert "training_notice" not in api.clocks(case)
    api.do("service_desk", case, "Task_agree_urgent", training_date="2026-03-04", **AGREED)
    assert [t["element_id"] for t in api.tasks("technical_lead", case)] == ["Task_deliver_training"]


def test_training_forms_and_other_contracts(api: ContractApi) -> None:
    data = {"training_topic": "交换机日常维护", "training_date": "next month", "attendees": 12,
            "major_fault": False, "contract": "network_om", "customer": "customer"}
    body = refused(api, "customer", "/instances",
                   {"process": "training", "business_key": "TRN-9", "data": data})
    assert set(body["details"]["fields"]) == {"training_date"}
    case = request_training(api, "support", "2026-03-20", "TRN-004")  # seed 002 promises no notice time
    assert "training_notice" not in api.clocks(case)
