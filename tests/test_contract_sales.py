"""Two small contract processes over the API on the simulation clock: processes/risk_assessment.bpmn (seed
001's risk assessment within 3 months of the contract's signing, the plan approved by the technical
director and stored) and processes/spare_part_sale.bpmn (seed 003's spare parts sold: shipped within
three months of the prepayment, a year's warranty from arrival). Each clock is checked at the minute
before and after its due time, only the contract whose seed promises it gets it, and a case replays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .contract_api import MINUTE, ContractApi
from .scenario_support import bj
from .test_contract_requests import document_text, refused, replays

FAN, SHENYANG = "SW-FAN-01", "沈阳备件库"


@pytest.fixture
def api(sqlite_url: str, clock: Any) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


# --------------------------------------------------------------------------- 001 §3: risk assessment
def signed(api: ContractApi, contract: str, day: str, key: str) -> str:
    return api.start("risk_assessment", {"signed_date": day, "system_scope": "核心交换与小型机",
                                         "contract": contract, "customer": "customer"}, key)


ASSESSED = {"risk_findings": "备份策略未覆盖数据库日志", "risk_level": "medium",
            "hazards": "数据库日志未备份"}


def test_001_the_risk_assessment_is_due_three_months_after_the_signing(api: ContractApi) -> None:
    api.at(bj("2026-11-17 10:00"))
    case = signed(api, "network_om", "2026-11-16", "RA-001")  # recorded the day after the signing
    # seed 001 l.13 §3 step 6: within 3 months of the signing, counted from the signing day; the months
    # roll into the next year
    started = [e for e in api.history(case) if e["type"] == "sla_started"][0]["data"]
    assert started["started_at"] == "2026-11-15T16:00:00+00:00"  # 16 November 00:00 in Beijing
    due = bj("2027-02-16 00:00")
    assert api.due(case, "risk_assessment") == due
    api.at(due - MINUTE)
    assert api.state(case, "risk_assessment") == "running"
    api.at(due + MINUTE)
    assert api.state(case, "risk_assessment") == "breached"


def test_001_the_plan_is_approved_by_the_technical_director_and_stored(api: ContractApi) -> None:
    case = signed(api, "network_om", "2026-03-02", "RA-002")
    api.at(bj("2026-05-29 10:00"))
    api.do("risk_assessment_team", case, "Task_assess", **ASSESSED)
    assert api.state(case, "risk_assessment") == "met"  # seed 001 l.13 §3 step 6: before 2 June
    # step 8: the plan, made with the project's technical lead, approved by the technical director
    assert [t["element_id"] for t in api.tasks("technical_lead", case)] == ["Task_draft_plan"]
    api.do("risk_assessment_team", case, "Task_draft_plan", treatment_plan="增加日志备份")
    api.do("technical_director", case, "Task_director_approve", approval="send_back",
           approval_comment="补充恢复演练")
    api.do("risk_assessment_team", case, "Task_draft_plan", treatment_plan="增加日志备份并每季度演练",
           equipment_prepurchase="磁带库一台")
    api.do("technical_director", case, "Task_director_approve", approval="approve")
    detail = api.call("GET", f"/instances/{case}")
    assert detail["status"] == "completed"
    # stored by the customer service centre: the assessment, the approved plan, the pre-purchase list
    stored = document_text(api, "service_desk", detail["data"]["risk_assessment_id"])
    assert "信息系统风险评估报告" in stored and "每季度演练" in stored and "磁带库一台" in stored
    replays(api, case)


def test_risk_assessment_forms_and_other_contracts(api: ContractApi) -> None:
    data = {"system_scope": "核心交换", "contract": "network_om", "customer": "customer"}
    body = refused(api, "service_desk", "/instances",
                   {"process": "risk_assessment", "business_key": "RA-9", "data": data})
    assert set(body["details"]["fields"]) == {"signed_date"}
    case = signed(api, "monitoring", "2026-03-02", "RA-003")  # seed 003 promises no assessment time
    assert "risk_assessment" not in api.clocks(case)
    # a signing day still ahead counts from now (Monday 2 March 09:00), not from a day to come
    ahead = signed(api, "network_om", "2026-04-01", "RA-004")
    assert api.due(ahead, "risk_assessment") == bj("2026-06-02 09:00")


# --------------------------------------------------------------------------- 003 §1.2.4: spare-part sales
def purchase(api: ContractApi, contract: str, key: str) -> str:
    return api.start("spare_part_sale", {"part_type": FAN, "quantity": 2, "purchase_note": "备用风扇模块",
                                         "contract": contract, "customer": "customer"}, key)


def agreed(api: ContractApi, case: str) -> None:
    """Proposal, a first refusal, a second proposal the customer agrees to, the sales contract."""
    api.do("regional_office", case, "Task_proposal", configuration="风扇模块 2 块", quote_amount=3000)
    api.do("customer", case, "Task_customer_decision", customer_agrees=False, customer_comment="价格偏高")
    api.do("regional_office", case, "Task_proposal", configuration="风扇模块 2 块", quote_amount=2600)
    api.do("customer", case, "Task_customer_decision", customer_agrees=True)
    api.do("customer_manager", case, "Task_sign_contract", sale_contract_no="BJ-2026-018")


def on_hand(api: ContractApi) -> int:
    items = api.call("GET", f"/stock?type={FAN}&location={SHENYANG}", "spare_parts_keeper")["items"]
    return int(items[0]["quantity"]) if items else 0


def test_003_shipped_within_three_months_of_the_prepayment(api: ContractApi) -> None:
    api.call("POST", "/stock/movements", "spare_parts_keeper",
             {"part_type": FAN, "location": SHENYANG, "kind": "receive", "quantity": 5})
    case = purchase(api, "monitoring", "SALE-001")
    agreed(api, case)
    assert "spare_part_sale_shipping" not in api.clocks(case)  # not before the prepayment
    api.at(bj("2026-03-10 14:00"))
    api.do("customer_manager", case, "Task_prepayment", prepayment_amount=1300)
    # seed 003 l.85 §1.2.4.3: shipped within three months of receiving the prepayment
    due = bj("2026-06-10 14:00")
    assert api.due(case, "spare_part_sale_shipping") == due
    api.at(due - MINUTE)
    assert api.state(case, "spare_part_sale_shipping") == "running"
    api.at(due + MINUTE)
    assert api.state(case, "spare_part_sale_shipping") == "breached"
    api.do("spare_parts_keeper", case, "Task_ship", from_stock=True, location=SHENYANG, shipment_no="SF-1")
    assert on_hand(api) == 3  # the two sold left the stock
    api.do("customer", case, "Task_inspect", arrival_date="2026-06-13", signed=True)
    detail = api.call("GET", f"/instances/{case}")
    # seed 003 l.85 §1.2.4.3: a year's warranty counted from the arrival
    assert detail["status"] == "completed" and detail["data"]["warranty_end"] == "2027-06-13"
    replays(api, case)


def test_003_a_part_made_to_order_is_not_taken_from_stock(api: ContractApi) -> None:
    case = purchase(api, "monitoring", "SALE-002")
    agreed(api, case)
    api.do("customer_manager", case, "Task_prepayment", prepayment_amount=1300)
    api.do("spare_parts_keeper", case, "Task_ship", from_stock=False, location=SHENYANG, shipment_no="SF-2")
    assert api.state(case, "spare_part_sale_shipping") == "met"
    assert on_hand(api) == 0
    # arrived on 29 February: the warranty ends on the last day of February a year later
    api.do("customer", case, "Task_inspect", arrival_date="2028-02-29", signed=True)
    assert api.call("GET", f"/instances/{case}")["data"]["warranty_end"] == "2029-02-28"


def test_spare_part_sale_forms_and_other_contracts(api: ContractApi) -> None:
    case = purchase(api, "network_om", "SALE-003")  # seed 001 promises no shipping time for a sale
    task = api.task("regional_office", case, "Task_proposal")
    body = refused(api, "regional_office", f"/tasks/{task['id']}/complete",
                   {"data": {"configuration": "风扇模块", "quote_amount": "很多"}})
    assert set(body["details"]["fields"]) == {"quote_amount"}
    agreed(api, case)
    api.do("customer_manager", case, "Task_prepayment", prepayment_amount=1300)
    assert "spare_part_sale_shipping" not in api.clocks(case)
