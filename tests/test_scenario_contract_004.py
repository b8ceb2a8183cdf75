"""Contract 004 (integration project service, `integration`) over the API: a P1 fault handed to the
incident keeps its 1 h resolution there, the incident's emergency clocks are 004's, and no general
manager is messaged at 30 min or 1 h (seed 003's emergency steps, which the fixed incident timers used
to fire for every contract).
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


def test_a_p1_integration_fault_is_breached_in_the_incident_and_climbs_no_ladder(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("integration", "P1"), "INT-001")
    api.triage(case, "total", "P1")  # P1: handed over to the incident process
    incident = api.call("GET", f"/instances/{case}")["data"]["incident_instance_id"]
    clocks = api.clocks(incident)
    # 004_777e0ef8db92c2e8.txt line 685: P1 diagnosed and resolved within 1 hour, from the fault report
    assert clocks["resolution"]["received_from"] == case and api.due(incident, "resolution") == T0 + HOUR
    # line 373: a 30-minute response whatever the level (7x24 phone support)
    assert api.due(incident, "response") == T0 + 30 * MINUTE
    # line 655: emergency service responds within half an hour; line 565: on site within 2 h (7x24)
    assert api.due(incident, "emergency_response") == T0 + 30 * MINUTE
    assert api.due(incident, "emergency_onsite_arrival") == T0 + 2 * HOUR
    # seed 003's emergency steps and ladder are monitoring's rows: none runs for 004
    assert not {"emergency_team", "emergency_expert_remote", "emergency_expert_group",
                "escalation_general_manager", "escalation_tier4"} & set(clocks)

    for minute, clock in ((30, "emergency_response"), (60, "resolution")):
        api.at(T0 + (minute - 1) * MINUTE)
        assert api.state(incident, clock) == "running"
        api.at(T0 + (minute + 1) * MINUTE)
        assert api.state(incident, clock) == "breached"
        outbox = api.call("GET", f"/outbox?instance={incident}&per_page=100")["items"]
        assert "general_manager" not in {m["recipient"] for m in outbox}
    # the case's drill-down counts the clock once, where it went, as broken
    items = api.call("GET", "/reports/sla/cases/INT-001")["items"]
    assert [(i["instance_id"], i["outcome"]) for i in items if i["clock"] == "resolution"] == [
        (incident, "breached")]
    api.at(T0 + 3 * HOUR)
    assert api.escalated(case) == [] and api.escalated(incident) == []
    assert api.rung_task_groups(incident) == []


def test_a_repair_over_five_working_days_brings_a_loaner(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("integration", "P3"), "INT-002")
    api.triage(case, "degraded", "P3")
    # 004_777e0ef8db92c2e8.txt line 445: a repair taking more than 5 working days gets a loaner of the
    # same model; 5 × 9 h on the project's 5×8 days (line 363: Mon–Fri 8:30–17:30) from Monday 09:00
    # end next Monday 09:00
    due = bj("2026-03-09 09:00")
    assert api.due(case, "loaner") == due and api.clocks(case)["loaner"]["calendar"] == "workdays_0830_1730"
    api.at(due - MINUTE)
    assert api.rung_task_groups(case) == [] and api.state(case, "loaner") == "running"
    api.at(due + MINUTE)
    # the week-old phone diagnosis has also climbed its step ladder (lines 709-711, test_step_limit.py)
    assert [m for m in api.rung_messages(case) if "@" not in m[0]] == [("loaner", "spare_parts_keeper")]
    assert api.rung_task_groups(case) == ["spare_parts_keeper"]  # in the keeper's tasklist
    api.do("spare_parts_keeper", case, "Task_handle_rung", rung_response="备用交换机已送达")
    api.do("duty_engineer", case, "Task_phone_diagnosis", diagnosis="固件缺陷", solved=True)
    assert api.state(case, "loaner") == "breached"
    assert [e for e in api.escalated(case) if "@" not in e[0]] == [("loaner", "spare_parts_keeper")]


def test_a_repair_done_within_five_working_days_needs_no_loaner(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("integration", "P3"), "INT-003")
    api.triage(case, "degraded", "P3")
    api.at(bj("2026-03-06 17:00"))  # Friday: four and a half working days
    api.do("duty_engineer", case, "Task_phone_diagnosis", diagnosis="固件缺陷", solved=True)
    assert api.state(case, "loaner") == "met"
    api.at(bj("2026-03-10 09:00"))
    assert [e for e in api.escalated(case) if "@" not in e[0]] == [] and api.rung_task_groups(case) == []
