"""Contract 003 (machine-room monitoring, `monitoring`) over the API: seed 003's escalation ladder and
its level-1 emergency steps are monitoring's rows in sla_targets.dmn; each rung tells (or hands a task
to) the group of its row at the minute it is due, and network_om's support tiers never fire.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .contract_api import MINUTE, ContractApi, fault
from .scenario_support import T0

HOUR = 60 * MINUTE


@pytest.fixture
def api(sqlite_url, clock) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


def test_a_level_2_monitoring_fault_climbs_its_ladder(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("monitoring", "P2"), "MON-001")
    api.triage(case, "partial", "P2")
    clocks = api.clocks(case)
    # network_om's tiers (seed 001 §1.1.2) are not monitoring's: no clock, so no rung
    assert not {"escalation_tier2", "escalation_tier3", "escalation_tier4"} & set(clocks)
    # 003_fc58e5a8846aff91.txt line 57 §1.1.9.3 表1-6, level 2 (P2 → 二级): 0.25 h field engineer,
    # 0.75 h emergency team, 1 h customer manager; the general manager is not on level 2's ladder
    assert "escalation_general_manager" not in clocks
    ladder = [(15, "escalation_field_engineer", "duty_engineer", []),
              (45, "escalation_emergency_team", "expert_group", ["expert_group"]),  # takes the case: a task
              (60, "escalation_customer_manager", "customer_manager", ["expert_group"])]
    told: list[tuple[str, str]] = []
    for minutes, rung, group, tasks in ladder:
        assert api.due(case, rung) == T0 + minutes * MINUTE
        api.at(T0 + (minutes - 1) * MINUTE)
        assert api.rung_messages(case) == told and api.state(case, rung) == "running"
        api.at(T0 + (minutes + 1) * MINUTE)
        told.append((rung, group))
        assert api.rung_messages(case) == told and api.state(case, rung) == "breached"
        assert api.rung_task_groups(case) == tasks
    api.at(T0 + 3 * HOUR)  # past network_om's 2 h tier: nothing more
    assert api.escalated(case) == told
    api.do("expert_group", case, "Task_handle_rung", rung_response="应急小组接手")
    assert api.rung_task_groups(case) == []


def test_a_re_level_to_level_1_adds_the_general_managers_rung(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("monitoring", "P3"), "MON-002")
    # 003 line 57: at level 3 the emergency team is the 1 h rung and there is no customer manager rung
    assert api.due(case, "escalation_emergency_team") == T0 + HOUR
    api.do("service_desk", case, "Task_record_impact", business_impact="partial",
           outage_minutes=30, affected_percent=10, safety_hazard=False)
    api.at(T0 + 5 * MINUTE)
    api.do("service_desk", case, "Task_confirm_level", level="P2")
    assert api.due(case, "escalation_emergency_team") == T0 + 45 * MINUTE  # level 2's rung
    api.at(T0 + 46 * MINUTE)
    assert api.rung_task_groups(case) == ["expert_group"]


def test_a_level_1_incident_runs_the_emergency_timeline(api: ContractApi) -> None:
    case = api.start("incident", {"summary": "动环监控中断", "customer": "customer", "contract": "monitoring",
                                  "level": "P1"}, "MON-003")
    # 003 lines 37–39 §1.1.7.2 (c)(d)(e): emergency team 30 min, expert remote access 1 h, expert group
    # 2 h, each overdue step told to management; line 57, level 1: the ladder's 0.25 / 0.5 / 0.75 / 1 h
    expected = [
        (15, [("escalation_field_engineer", "duty_engineer")], []),
        (30, [("emergency_team", "general_manager"), ("escalation_emergency_team", "expert_group")],
         ["expert_group"]),
        (45, [("escalation_customer_manager", "customer_manager")], ["expert_group"]),
        (60, [("emergency_expert_remote", "general_manager"),
              ("escalation_general_manager", "general_manager")], ["expert_group", "general_manager"]),
        (120, [("emergency_expert_group", "technical_director")], ["expert_group", "general_manager"]),
    ]
    told: list[tuple[str, str]] = []
    for minutes, rungs, tasks in expected:
        api.at(T0 + (minutes - 1) * MINUTE)
        assert sorted(api.rung_messages(case)) == sorted(told)
        api.at(T0 + (minutes + 1) * MINUTE)
        told += rungs
        assert sorted(api.rung_messages(case)) == sorted(told), minutes
        assert api.rung_task_groups(case) == tasks, minutes
    assert sorted(api.escalated(case)) == sorted(told)
