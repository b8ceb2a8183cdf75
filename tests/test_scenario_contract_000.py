"""Contract 000 (95598 customer-service system, `callcenter_95598`) over the API: its on-site and
spare-part promises run on the case, and with no escalation ladder of its own no rung ever fires, not
even network_om's 2 h senior-engineer tier while the phone support drags on.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .contract_api import MINUTE, ContractApi, fault
from .scenario_support import PART, T0, bj

HOUR = 60 * MINUTE


@pytest.fixture
def api(sqlite_url, clock) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


def test_a_95598_fault_keeps_its_on_site_and_spare_part_promises_without_a_ladder(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("callcenter_95598", "P2"), "CC-001")
    api.triage(case, "partial", "P2")
    assert not [c for c in api.clocks(case) if c.startswith("escalation")]  # no ladder rows for 000
    api.at(T0 + 10 * MINUTE)
    api.phone_fails(case)  # remote support cannot solve it: on-site support is needed now
    notified = T0 + 10 * MINUTE
    # 000_db496af449587f92.txt line 120: on site within 2 hours when remote support cannot solve it
    assert api.due(case, "onsite_arrival") == notified + 2 * HOUR
    api.at(T0 + 20 * MINUTE)
    api.call("POST", "/stock/movements", "spare_parts_keeper",
             {"part_type": PART["part_type"], "location": PART["location"], "kind": "receive", "quantity": 1})
    api.do("technical_lead", case, "Task_draft_solution", solution_plan="更换板卡", needs_spare_part=True,
           **PART)
    api.do("technical_director", case, "Task_director_approve", approved=True)
    api.do("customer", case, "Task_customer_approve_plan", customer_agrees=True)
    requested = T0 + 20 * MINUTE
    # line 146: within the first year the hardware is sent within four hours
    assert api.due(case, "spare_part") == requested + 4 * HOUR
    # lines 42–44: a spare part asked for on a working day arrives by the next working day (9 working h)
    assert api.due(case, "spare_part_shipping") == bj("2026-03-03 09:20")
    api.at(T0 + HOUR)
    api.do("spare_parts_keeper", case, "Task_issue_part", spare_part_serial="SN-1")  # the called spare_part
    api.do("duty_engineer", case, "Task_part_on_site", part_replaced=True)
    assert api.state(case, "spare_part") == "met" and api.state(case, "spare_part_shipping") == "met"
    api.do("service_desk", case, "Task_prepare_visit", visit_time="2026-03-02")

    api.at(notified + 2 * HOUR - MINUTE)
    assert api.state(case, "onsite_arrival") == "running"
    api.at(notified + 2 * HOUR + MINUTE)
    assert api.state(case, "onsite_arrival") == "breached"
    api.do("duty_engineer", case, "Task_arrive_onsite", service_request_signed=True)
    assert api.state(case, "onsite_arrival") == "breached"  # arriving late does not make it kept
    api.at(bj("2026-03-04 09:00"))  # past every other contract's rungs: none is 000's
    assert api.escalated(case) == [] and api.rung_messages(case) == [] and api.rung_task_groups(case) == []
    outbox = api.call("GET", f"/outbox?instance={case}&per_page=100")["items"]
    assert "senior_engineer" not in {m["recipient"] for m in outbox}
