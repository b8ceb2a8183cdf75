"""Contract 001 (network O&M, `network_om`) over the API: a P3 fault climbs seed 001's support tiers,
each a rung of network_om's ladder in sla_targets.dmn, and nothing of another contract's ladder fires.

Seed 001_4ada53786a497df7.txt is one line (line 13); figures are cited by section.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .contract_api import MINUTE, ContractApi, fault
from .scenario_support import T0, bj

HOUR = 60 * MINUTE


@pytest.fixture
def api(sqlite_url, clock) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


def test_a_network_fault_climbs_the_four_support_tiers(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("network_om", "P3"), "NET-001")
    api.triage(case, "degraded", "P3")
    clocks = api.clocks(case)
    # 001 line 13 §2.2.4.3: a general (一般) fault, P3, is answered by phone within 60 minutes
    assert api.due(case, "response") == T0 + HOUR
    # §1.1.2 第1条: phone / remote support unsolved after 2 h → tier 2 (the senior engineer)
    assert api.due(case, "escalation_tier2") == T0 + 2 * HOUR
    # §1.1.2 第3条: unsolved after one working day (9 working hours from Monday 09:00) → tier 4
    assert api.due(case, "escalation_tier4") == bj("2026-03-03 09:00")
    # seed 003's ladder is monitoring's: network_om has none of its rungs
    assert not {"escalation_field_engineer", "escalation_emergency_team", "escalation_customer_manager",
                "escalation_general_manager"} & set(clocks)

    api.at(T0 + HOUR - MINUTE)
    assert api.state(case, "response") == "running"
    api.at(T0 + HOUR + MINUTE)
    assert api.state(case, "response") == "breached" and api.escalated(case) == []  # no rung of its own

    api.at(T0 + 2 * HOUR - MINUTE)
    assert api.rung_task_groups(case) == [] and api.rung_messages(case) == []
    api.at(T0 + 2 * HOUR + MINUTE)
    assert api.rung_messages(case) == [("escalation_tier2", "senior_engineer")]
    assert api.rung_task_groups(case) == ["senior_engineer"]  # in the senior engineers' tasklist
    task = api.task("senior_engineer", case, "Task_handle_rung")
    assert task["candidate_groups"] == ["senior_engineer"] and task["name"] == "处理SLA升级"
    api.do("senior_engineer", case, "Task_handle_rung", rung_response="指导检查光模块")

    api.phone_fails(case)  # still on the phone at 2 h 01: the remote support ends unsolved
    api.do("technical_lead", case, "Task_draft_solution", solution_plan="更换光模块", needs_spare_part=False,
           loan=False)
    api.do("technical_director", case, "Task_director_approve", approved=True)
    api.do("customer", case, "Task_customer_approve_plan", customer_agrees=True)
    api.do("service_desk", case, "Task_prepare_visit", visit_time="2026-03-02")
    arrived = T0 + 2 * HOUR + 10 * MINUTE
    api.at(arrived)
    api.do("duty_engineer", case, "Task_arrive_onsite", service_request_signed=True)
    # §1.1.2 第2条: unsolved 4 h after the engineer arrived on site → tier 3 (the expert group)
    assert api.due(case, "escalation_tier3") == arrived + 4 * HOUR

    api.at(arrived + 4 * HOUR - MINUTE)
    assert api.rung_task_groups(case) == []
    api.at(arrived + 4 * HOUR + MINUTE)
    assert api.rung_messages(case)[-1] == ("escalation_tier3", "expert_group")
    assert api.rung_task_groups(case) == ["expert_group"]

    api.at(bj("2026-03-03 09:00") - MINUTE)
    assert [c for c, _ in api.escalated(case)] == ["escalation_tier2", "escalation_tier3"]
    api.at(bj("2026-03-03 09:00") + MINUTE)
    # 第四级: the technical director comes on site with the vendor's senior engineer and a machine
    assert api.rung_messages(case)[-1] == ("escalation_tier4", "technical_director")
    assert api.rung_task_groups(case) == ["expert_group", "technical_director"]
    api.do("expert_group", case, "Task_handle_rung", rung_response="专家会诊：更换主控")
    api.do("technical_director", case, "Task_handle_rung", rung_response="原厂工程师与备机到场")

    api.do("duty_engineer", case, "Task_onsite_analysis", onsite_findings="主控故障", plan_changed=False)
    api.do("customer", case, "Task_customer_sign_plan", customer_agrees=True)
    api.do("duty_engineer", case, "Task_onsite_repair", handling="备机替换", solved=True)
    states = {name: c["state"] for name, c in api.clocks(case).items() if name.startswith("escalation")}
    assert states == dict.fromkeys(["escalation_tier2", "escalation_tier3", "escalation_tier4"], "breached")
    # only network_om's three rungs fired, each once, to the group its row names
    assert api.escalated(case) == [("escalation_tier2", "senior_engineer"),
                                   ("escalation_tier3", "expert_group"),
                                   ("escalation_tier4", "technical_director")]
    assert api.rung_task_groups(case) == []
    assert api.call("GET", f"/instances/{case}/verify", "staff")["verified"] is True


def test_a_rung_solved_in_time_never_fires(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("network_om", "P3"), "NET-002")
    api.triage(case, "degraded", "P3")
    api.at(T0 + 2 * HOUR - MINUTE)
    api.do("duty_engineer", case, "Task_phone_diagnosis", diagnosis="配置错误", solved=True)
    api.at(bj("2026-03-04 09:00"))  # long past every tier
    assert api.state(case, "escalation_tier2") == "met" and api.state(case, "escalation_tier4") == "met"
    assert api.escalated(case) == [] and api.rung_task_groups(case) == []


def test_nobody_can_send_the_engines_escalation_message(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("network_om", "P3"), "NET-003")
    response = api.client.post("/api/v1/messages", json={"name": "sla_rung", "instance_id": case},
                               headers={"Authorization": f"Bearer {api.tokens['service_desk']}"})
    assert response.status_code == 409  # nothing waits for it: only a rung starts the subprocess
    assert api.rung_task_groups(case) == []
