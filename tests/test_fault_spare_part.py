"""A network_om fault whose plan needs a spare part, over the API on the simulation clock: the fault's
`CallActivity_spare_part` runs spare_part in the fault's own case, the fault goes on once the part is on
site, and the failed part's return runs on as a spare_part_return instance of its own, linked to the
fault by `fault_instance_id` and sharing its business key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .contract_api import MINUTE, ContractApi, fault
from .scenario_support import PART, T0

HOUR = 60 * MINUTE


@pytest.fixture
def api(sqlite_url: str, clock: Any) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


def open_tasks(api: ContractApi, user: str, case: str) -> list[str]:
    return [t["element_id"] for t in api.tasks(user, case)]


def plan_with_a_part(api: ContractApi) -> str:
    api.call("POST", "/stock/movements", "spare_parts_keeper",
             {"part_type": PART["part_type"], "location": PART["location"], "kind": "receive", "quantity": 1})
    case = api.start("fault_repair", fault("network_om", "P3"), "NET-PART-1")
    api.triage(case, "partial", "P3")
    api.phone_fails(case)
    api.at(T0 + 30 * MINUTE)
    api.do("technical_lead", case, "Task_draft_solution", solution_plan="更换板卡", needs_spare_part=True,
           **PART)
    api.do("technical_director", case, "Task_director_approve", approved=True)
    api.do("customer", case, "Task_customer_approve_plan", customer_agrees=True)
    return case


@pytest.mark.parametrize(("late", "state"), [(False, "met"), (True, "breached")])
def test_001_the_called_spare_part_is_on_site_in_4_hours_and_the_fault_goes_on(api: ContractApi, late: bool,
                                                                               state: str) -> None:
    case = plan_with_a_part(api)
    # seed 001 l.13 §2.2.7.1: the engineer brings the spare part on site within 4 hours of the request
    due = T0 + 30 * MINUTE + 4 * HOUR
    assert api.due(case, "spare_part") == due and "spare_part_shipping" not in api.clocks(case)
    assert open_tasks(api, "spare_parts_keeper", case) == ["Task_issue_part"]  # the called process's step
    assert "Task_prepare_visit" not in open_tasks(api, "service_desk", case)  # the fault waits for the part
    api.at(due - MINUTE)
    assert api.state(case, "spare_part") == "running"
    api.at(due + MINUTE if late else due - MINUTE)
    assert api.state(case, "spare_part") == ("breached" if late else "running")
    api.do("spare_parts_keeper", case, "Task_issue_part", spare_part_serial="SP-1")
    api.do("duty_engineer", case, "Task_part_on_site", part_replaced=True)
    assert api.state(case, "spare_part") == state
    assert open_tasks(api, "service_desk", case) == ["Task_prepare_visit"]  # the fault goes on
    api.do("service_desk", case, "Task_prepare_visit", visit_time="2026-03-02")
    assert "Task_arrive_onsite" in open_tasks(api, "duty_engineer", case)

    opener = api.call("GET", f"/instances/{case}")
    assert opener["status"] == "running" and opener["data"]["spare_part_serial"] == "SP-1"
    child = api.call("GET", f"/instances/{opener['data']['spare_part_return_instance_id']}")
    assert (child["process"], child["business_key"], child["status"]) == (
        "spare_part_return", "NET-PART-1", "running")
    assert child["data"]["fault_instance_id"] == case and child["data"]["part_type"] == PART["part_type"]
    assert open_tasks(api, "spare_parts_keeper", child["id"]) == ["Task_receive_failed_part"]
    assert not api.clocks(child["id"])  # 001 promises no failed-part return time
    api.do("spare_parts_keeper", child["id"], "Task_receive_failed_part", repair_route="scrap")
    assert api.call("GET", f"/instances/{child['id']}")["status"] == "completed"
    assert api.call("GET", f"/instances/{case}")["status"] == "running"  # each case ends on its own
