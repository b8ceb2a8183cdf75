"""The spare-part processes per contract over the API on the simulation clock: processes/spare_part.bpmn
ends when the part is on site and opens processes/spare_part_return.bpmn (the failed part, its repair and
the loan) as its own instance with the same business key. Each contract arms only the clocks its seed
promises, due times checked at the minute before and after; the stock the issue and return steps move,
each in its own case's hash chain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine.audit.replay import Replayer

from .conftest import ROOT
from .contract_api import MINUTE, ContractApi
from .scenario_support import bj

FAN, SHENYANG = "SW-FAN-01", "沈阳备件库"
PART_CLOCKS = {"spare_part", "spare_part_shipping", "failed_part_return", "repaired_part_return",
               "repaired_part_return_abroad", "spare_part_loan", "spare_part_loan_total"}


@pytest.fixture
def api(sqlite_url: str, clock: Any) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


def request(contract: str, serial: str = "SN-0001", loan: bool = False) -> dict[str, Any]:
    return {"summary": "交换机风扇模块故障", "contract": contract, "customer": "customer", "part_type": FAN,
            "location": SHENYANG, "unit_serial": serial, "loan": loan}


def receive(api: ContractApi, quantity: int) -> None:
    api.call("POST", "/stock/movements", "spare_parts_keeper",
             {"part_type": FAN, "location": SHENYANG, "kind": "receive", "quantity": quantity})


def on_hand(api: ContractApi) -> int:
    items = api.call("GET", f"/stock?type={FAN}&location={SHENYANG}", "duty_engineer")["items"]
    return int(items[0]["quantity"]) if items else 0


def to_site(api: ContractApi, case: str) -> None:
    api.do("spare_parts_keeper", case, "Task_issue_part", spare_part_serial="SP-778")
    api.do("duty_engineer", case, "Task_part_on_site", part_replaced=True)


def returned(api: ContractApi, case: str) -> str:
    """The spare_part_return instance the part on site opened, checked to be linked and keyed like it."""
    opener = api.call("GET", f"/instances/{case}")
    child = api.call("GET", f"/instances/{opener['data']['spare_part_return_instance_id']}")
    assert child["process"] == "spare_part_return" and child["business_key"] == opener["business_key"]
    assert child["data"]["fault_instance_id"] == case
    return str(child["id"])


def armed(api: ContractApi, case: str) -> set[str]:
    return set(api.clocks(case)) & PART_CLOCKS


def test_000_a_failed_part_not_returned_on_the_10th_working_day_is_breached(api: ContractApi) -> None:
    receive(api, 2)
    case = api.start("spare_part", request("callcenter_95598"), "INC-2001")
    api.at(bj("2026-03-02 10:00"))
    to_site(api, case)
    assert on_hand(api) == 1  # the issue step moved the stock
    assert api.call("GET", f"/instances/{case}")["status"] == "completed"
    ret = returned(api, case)
    # seed 000 l.50: the customer returns the failed part within 10 working days of the replacement;
    # 9-hour working days 08:30-17:30 from Monday 2 March 10:00 end Monday 16 March 10:00
    due = bj("2026-03-16 10:00")
    assert api.due(ret, "failed_part_return") == due
    assert armed(api, case) == {"spare_part", "spare_part_shipping"}
    assert armed(api, ret) == {"failed_part_return"}
    api.at(due - MINUTE)
    assert api.state(ret, "failed_part_return") == "running"
    api.at(due + MINUTE)
    assert api.state(ret, "failed_part_return") == "breached"


def test_000_a_failed_part_returned_in_time_meets_its_clock(api: ContractApi) -> None:
    receive(api, 1)
    case = api.start("spare_part", request("callcenter_95598"), "INC-2002")
    to_site(api, case)
    # seed 000 l.42: the part on site the next working day (9 working hours); seed 000 l.146: sent in 4 h
    assert api.state(case, "spare_part_shipping") == "met" and api.state(case, "spare_part") == "met"
    ret = returned(api, case)
    api.at(bj("2026-03-13 17:00"))
    api.do("spare_parts_keeper", ret, "Task_receive_failed_part", repair_route="domestic")
    assert api.state(ret, "failed_part_return") == "met"
    assert "repaired_part_return" not in api.clocks(ret)  # seed 000 promises no repair time


def test_001_the_part_on_site_within_4_hours(api: ContractApi) -> None:
    receive(api, 1)
    case = api.start("spare_part", request("network_om"), "INC-2003")
    # seed 001 l.13 §2.2.7.1: the engineer brings the spare part on site within 4 hours
    due = bj("2026-03-02 13:00")
    assert api.due(case, "spare_part") == due and armed(api, case) == {"spare_part"}
    api.at(due - MINUTE)
    assert api.state(case, "spare_part") == "running"
    api.at(due + MINUTE)
    assert api.state(case, "spare_part") == "breached"
    to_site(api, case)
    assert armed(api, case) == {"spare_part"}
    assert armed(api, returned(api, case)) == set()  # 001 promises no failed-part return time


@pytest.mark.parametrize(("route", "which", "due"), [
    # seed 003 l.75 §1.2.1.3: repaired in 30 working days domestic, 60 abroad (9-hour working days)
    ("domestic", "repaired_part_return", "2026-04-14 09:00"),
    # (Qingming 4-6 April, Labour Day 1-5 May off; Saturday 9 May a working day)
    ("abroad", "repaired_part_return_abroad", "2026-05-28 09:00"),
])
def test_003_the_repaired_part_comes_back_in_30_or_60_working_days(api: ContractApi, route: str, which: str,
                                                                   due: str) -> None:
    receive(api, 1)
    case = api.start("spare_part", request("monitoring"), "MON-2001")
    to_site(api, case)
    ret = returned(api, case)
    api.do("spare_parts_keeper", ret, "Task_receive_failed_part", repair_route=route)
    assert api.due(ret, which) == bj(due)
    api.at(bj(due) - MINUTE)
    assert api.state(ret, which) == "running"
    api.at(bj(due) + MINUTE)
    assert api.state(ret, which) == "breached"
    element = "Task_repair_domestic" if route == "domestic" else "Task_repair_abroad"
    api.do("spare_parts_keeper", ret, element, repaired=True)
    assert on_hand(api) == 1  # not a loan: the repaired part goes back to stock


def test_003_a_loan_of_three_months_extended_once_to_six(api: ContractApi) -> None:
    receive(api, 1)
    case = api.start("spare_part", request("monitoring", loan=True), "MON-2002")
    to_site(api, case)
    assert on_hand(api) == 0
    case = returned(api, case)  # the loan runs on in the return instance
    # seed 003 l.79 §1.2.3.2 item 3: three months at most; l.81 item 5: extended, six months in all
    assert api.due(case, "spare_part_loan") == bj("2026-06-02 09:00")
    assert api.due(case, "spare_part_loan_total") == bj("2026-09-02 09:00")
    api.at(bj("2026-06-02 08:59"))
    assert api.state(case, "spare_part_loan") == "running"
    api.do("spare_parts_keeper", case, "Task_loan_return", loan_outcome="extend")
    assert api.state(case, "spare_part_loan") == "met"
    api.at(bj("2026-09-02 09:01"))
    assert api.state(case, "spare_part_loan_total") == "breached"
    api.do("spare_parts_keeper", case, "Task_loan_extended", loan_outcome_final="sold")
    api.do("customer_manager", case, "Task_loan_sale", sale_note="转入备件销售")
    api.do("spare_parts_keeper", case, "Task_receive_failed_part", repair_route="domestic")
    api.do("spare_parts_keeper", case, "Task_repair_domestic", repaired=True)
    assert api.call("GET", f"/instances/{case}")["status"] == "completed"
    assert on_hand(api) == 0  # sold, and the repaired part went back to the customer


def test_003_the_eleventh_spare_service_of_the_year_goes_to_the_customer_manager(api: ContractApi) -> None:
    receive(api, 20)
    # seed 003 l.21: 备件服务 10次/年, counted per contract over the calendar year
    for n in range(10):
        case = api.start("spare_part", request("monitoring", serial=f"SN-{n}"), f"MON-3{n:02d}")
        assert [t["element_id"] for t in api.tasks("spare_parts_keeper", case)] == ["Task_issue_part"]
    other = api.start("spare_part", request("network_om", serial="SN-X"), "INC-3000")  # another contract
    assert [t["element_id"] for t in api.tasks("spare_parts_keeper", other)] == ["Task_issue_part"]
    eleventh = api.start("spare_part", request("monitoring", serial="SN-11"), "MON-311")
    assert api.tasks("spare_parts_keeper", eleventh) == []
    api.do("customer_manager", eleventh, "Task_quota_exceeded", quota_decision="charge")
    assert [t["element_id"] for t in api.tasks("spare_parts_keeper", eleventh)] == ["Task_issue_part"]
    twelfth = api.start("spare_part", request("monitoring", serial="SN-12"), "MON-312")
    api.do("customer_manager", twelfth, "Task_quota_exceeded", quota_decision="decline")
    assert api.call("GET", f"/instances/{twelfth}")["status"] == "completed"
    api.at(bj("2027-01-04 09:00"))  # a new year, a new quota
    new_year = api.start("spare_part", request("monitoring", serial="SN-13"), "MON-400")
    assert [t["element_id"] for t in api.tasks("spare_parts_keeper", new_year)] == ["Task_issue_part"]


def test_004_the_second_failure_of_a_unit_brings_a_new_product(api: ContractApi) -> None:
    receive(api, 3)
    first = api.start("spare_part", request("integration", serial="SN-7"), "INT-2001")
    assert [t["element_id"] for t in api.tasks("spare_parts_keeper", first)] == ["Task_issue_part"]
    # seed 004 l.445: the same product failing twice is replaced by a new one
    second = api.start("spare_part", request("integration", serial="SN-7"), "INT-2002")
    assert [t["element_id"] for t in api.tasks("spare_parts_keeper", second)] == ["Task_new_product"]
    api.do("spare_parts_keeper", second, "Task_new_product", new_product_serial="NEW-1")
    assert on_hand(api) == 2
    again = api.start("spare_part", request("network_om", serial="SN-7"), "INC-2004")  # not 004's rule
    assert [t["element_id"] for t in api.tasks("spare_parts_keeper", again)] == ["Task_issue_part"]


def test_stock_movements_are_in_the_case_chain_verified_and_replayed(api: ContractApi) -> None:
    receive(api, 1)
    case = api.start("spare_part", request("callcenter_95598"), "INC-2005")
    to_site(api, case)
    moved = [e for e in api.history(case) if e["type"] == "service_task_completed"
             and e["element_id"] == "Task_stock_issue"]
    assert moved[0]["data"]["effects"] == [{"kind": "stock", "part_type": FAN, "location": SHENYANG,
                                            "movement": "issue", "quantity": 1, "reason": ""}]
    stock = api.call("GET", f"/stock?type={FAN}", "spare_parts_keeper")
    assert [(m["kind"], m["balance"]) for m in stock["movements"]] == [("issue", 0), ("receive", 1)]
    adjustment = stock["movements"][1]["instance_id"]
    for instance in (case, adjustment):
        assert api.call("GET", f"/instances/{instance}/verify", "staff")["verified"] is True
        svc = api.service
        result = Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(instance)
        assert result.verified, result.divergence
    assert on_hand(api) == 0  # the replays moved nothing
    whole = api.call("GET", "/audit/verify", "staff")
    assert whole["failed"] == [] and whole["verified"] == whole["instances"] >= 2


def test_a_call_activity_runs_it_in_the_calling_case(api: ContractApi) -> None:
    """As the fault process calls it: the called process runs inside the caller's instance, with the
    caller's data, so its clocks and its stock movements are the caller's, in the caller's chain; it
    returns when the part is on site."""
    caller = (ROOT / "tests" / "data" / "bpmn" / "spare_part_caller.bpmn").read_bytes()
    api.service.runtime.deploy([("spare_part_caller.bpmn", caller),
                                *((p.name, p.read_bytes()) for p in (ROOT / "processes").glob("*.?mn"))])
    receive(api, 1)
    case = api.start("spare_part_caller", request("network_om"), "INC-2006")
    # seed 001 l.13 §2.2.7.1: 4 hours to the part on site, counted in the calling case
    assert api.due(case, "spare_part") == bj("2026-03-02 13:00")
    to_site(api, case)
    assert on_hand(api) == 0 and api.state(case, "spare_part") == "met"
    assert "Task_stock_issue" in [e["element_id"] for e in api.history(case)]
    # the caller goes on once the part is on site; the failed part is a case of its own
    assert api.call("GET", f"/instances/{case}")["status"] == "completed"
    ret = returned(api, case)
    api.do("spare_parts_keeper", ret, "Task_receive_failed_part", repair_route="scrap")
    assert api.call("GET", f"/instances/{ret}")["status"] == "completed"
