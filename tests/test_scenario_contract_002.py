"""Contract 002 (technical support and after-sales, `support`) over the API: its response and repair
times count in working hours, and a fault on the phone past 2 h reaches no senior engineer (network_om's
tier, which the fixed diagram timer used to fire for every contract).
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


def test_a_support_fault_counts_working_hours_and_climbs_no_ladder(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("support", "P2"), "SUP-001")
    api.triage(case, "partial", "P2")
    assert not [c for c in api.clocks(case) if c.startswith("escalation")]
    # 002_2d9e6ae3473b3647.txt lines 186–188 (故障表, P2 → 二级): response under 2 working hours,
    # repair under 6 working hours; Monday 09:00 on the 08:30–17:30 working day
    assert api.due(case, "response") == T0 + 2 * HOUR
    assert api.due(case, "resolution") == T0 + 6 * HOUR
    api.at(T0 + 2 * HOUR - MINUTE)
    assert api.state(case, "response") == "running"
    api.at(T0 + 2 * HOUR + MINUTE)
    assert api.state(case, "response") == "breached"
    assert api.rung_messages(case) == [] and api.rung_task_groups(case) == []  # no 2 h senior engineer
    outbox = api.call("GET", f"/outbox?instance={case}&per_page=100")["items"]
    assert {m["recipient"] for m in outbox} == {"technical_lead", "project_manager"}  # the report's SMS

    api.at(T0 + 6 * HOUR - MINUTE)
    assert api.state(case, "resolution") == "running"
    api.at(T0 + 6 * HOUR + MINUTE)
    assert api.state(case, "resolution") == "breached"
    api.do("duty_engineer", case, "Task_phone_diagnosis", diagnosis="驱动版本不符", solved=True)
    assert api.state(case, "resolution") == "breached"


def test_a_level_3_repair_runs_over_the_night_in_working_hours(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("support", "P3"), "SUP-002")
    api.triage(case, "degraded", "P3")
    # lines 194–196 (三级): repair under 12 working hours: Monday 09:00 + 8.5 h to 17:30, + 3.5 h Tuesday
    due = bj("2026-03-03 12:00")
    assert api.due(case, "resolution") == due
    api.at(due - MINUTE)
    assert api.state(case, "resolution") == "running"
    api.do("duty_engineer", case, "Task_phone_diagnosis", diagnosis="配置错误", solved=True)
    assert api.state(case, "resolution") == "met"
    assert api.escalated(case) == [] and api.rung_messages(case) == []
