"""Seed 004's step limit over the API on the simulation clock (issue 15): every step of a fault's
handling has a clock of its own, and a step not done in time is reported one management level up,
and again a level higher each further day (004_777e0ef8db92c2e8.txt lines 709-711: "一般情况下每个
步骤限时1天", "用户维护系统将自动一级级将情况通报上一级管理层"). Only `integration` has the rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from engine.audit.replay import Replayer
from engine.store.models import Instance

from .contract_api import MINUTE, ContractApi, fault
from .scenario_support import T0

DAY = timedelta(days=1)
STEP = "step_limit@Task_record_impact"
LADDER = [(STEP, "support_group_leader"), ("step_limit_2@Task_record_impact", "project_manager"),
          ("step_limit_3@Task_record_impact", "project_director")]
MANAGEMENT = {"support_group_leader", "project_manager", "project_director"}


@pytest.fixture
def api(sqlite_url, clock) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


def _told(api: ContractApi, case: str) -> list[tuple[str, str]]:
    """(clock, group) of the step rungs, as the history records them, checked against the SMS sent."""
    told = [e for e in api.escalated(case) if "@" in e[0]]
    items = api.call("GET", f"/outbox?instance={case}&per_page=100")["items"]
    sms = [(m["element_id"].removeprefix("sla:breach:"), m["recipient"]) for m in items
           if m["channel"] == "sms" and "@" in m["element_id"]]
    assert sms == told
    return told


def _replays(api: ContractApi, case: str) -> bool:
    svc = api.service
    result = Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(case)
    assert result.verified, result.divergence
    return True


def test_a_step_undone_is_reported_up_one_level_a_day(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("integration", "P3"), "INT-STEP-1")
    clock = api.clocks(case)[STEP]
    # 004 lines 709-711: one day per step, counted 24 h round the clock ("1天", not a working day)
    assert (clock["step"], clock["step_name"], clock["target"], clock["calendar"]) == (
        "Task_record_impact", "登记故障影响范围", "PT24H", "7x24")
    assert api.due(case, STEP) == T0 + DAY
    started = [e for e in api.history(case) if e["type"] == "sla_started" and e["data"]["clock"] == STEP]
    assert started[0]["data"]["step_name"] == "登记故障影响范围"  # the history names the step
    for day, told in ((1, LADDER[:1]), (2, LADDER[:2]), (3, LADDER)):
        api.at(T0 + day * DAY - MINUTE)
        assert _told(api, case) == told[:-1], f"nothing new at 23:59 of day {day}"
        api.at(T0 + day * DAY + MINUTE)
        assert _told(api, case) == told  # the next level up, by SMS to its group
    assert api.clocks(case)[LADDER[2][0]]["step"] == "Task_record_impact"
    api.at(T0 + 6 * DAY)
    assert _told(api, case) == LADDER  # the project director is the top of the ladder
    # the step done at last stops every rung it reached; each stays breached, with its stop time
    api.triage(case, "degraded", "P3")
    clocks = api.clocks(case)
    assert {clocks[k]["state"] for k, _ in LADDER} == {"breached"}
    assert all(clocks[k]["stopped_at"] for k, _ in LADDER)
    assert clocks["step_limit@Task_confirm_level"]["state"] == "met"
    assert _replays(api, case)


def test_a_step_done_within_its_day_is_met_and_the_report_counts_it_per_step(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("integration", "P3"), "INT-STEP-2")
    api.at(T0 + DAY - 2 * MINUTE)
    api.do("service_desk", case, "Task_record_impact", business_impact="degraded", outage_minutes=30,
           affected_percent=10, safety_hazard=False)
    assert api.state(case, STEP) == "met"  # 004 lines 709-711: done within the day
    nxt = "step_limit@Task_confirm_level"
    assert api.due(case, nxt) == T0 + 2 * DAY - 2 * MINUTE  # the next step's own day
    api.at(T0 + 3 * DAY)
    assert _told(api, case) == [(nxt, "support_group_leader"), ("step_limit_2@Task_confirm_level",
                                                                 "project_manager")]
    # stopped earlier, the step's record is packed away yet still listed with the instance's clocks
    with api.service.store.read() as session:
        data = session.get(Instance, case).state["data"]
    assert STEP not in data["_sla"] and len(data["_sla_done"]) >= 1
    listed = api.clocks(case)[STEP]
    assert (listed["state"], listed["step_name"], listed["target"]) == ("met", "登记故障影响范围", "PT24H")
    items = {i["clock"]: i for i in api.call("GET", "/reports/sla/cases/INT-STEP-2")["items"]}
    assert (items[STEP]["outcome"], items[STEP]["step"]) == ("met", "Task_record_impact")
    assert (items[nxt]["outcome"], items[nxt]["step_name"]) == ("breached", "确认故障等级")
    period = f"from={(T0 - DAY).isoformat()}&to={(T0 + 7 * DAY).isoformat()}".replace("+", "%2B")
    rows = {r["clock"]: r for r in api.call("GET", f"/reports/sla?{period}&contract=integration")["items"]}
    assert (rows[STEP]["count"], rows[STEP]["met"]) == (1, 1)
    assert (rows[nxt]["count"], rows[nxt]["breached"]) == (1, 1)
    assert _replays(api, case)


def test_no_other_contract_has_a_step_limit(api: ContractApi) -> None:
    # seed 001 (network_om) limits its faults by tier (line 13 §1.1.2), not each step: a step open
    # three days gets no step clock and tells no management level
    cases = [api.start("fault_repair", fault(contract, "P3"), f"STEP-{contract}")
             for contract in ("network_om", "callcenter_95598", "support", "monitoring")]
    api.at(T0 + 3 * DAY)
    for case in cases:
        assert not [c for c in api.clocks(case) if "@" in c]
        assert [e for e in api.escalated(case) if "@" in e[0]] == []
        outbox = api.call("GET", f"/outbox?instance={case}&per_page=100")["items"]
        assert not MANAGEMENT & {m["recipient"] for m in outbox}


def test_the_incident_steps_of_an_integration_case_have_the_limit_too(api: ContractApi) -> None:
    case = api.start("fault_repair", fault("integration", "P1"), "INT-STEP-3")
    api.triage(case, "total", "P1")  # handed over to the incident
    incident = api.call("GET", f"/instances/{case}")["data"]["incident_instance_id"]
    steps = {k: c for k, c in api.clocks(incident).items() if c["step"]}
    assert steps and all(k.startswith("step_limit@") for k in steps)
    # the fault's own steps ended with it: none went over to the incident with the case
    assert not [c for c in api.clocks(incident).values() if c["step"] and c["received_from"]]
    assert {c["state"] for k, c in api.clocks(case).items() if "@" in k} == {"met"}
