"""Seed 004's notice before a spare part is discontinued (004_777e0ef8db92c2e8.txt l.481: 当厂家在停止生产
所投货物型号的备品、备件时，我方提前半年书面通知本项目用户单位), over the API on the simulation clock:
processes/part_discontinuation.bpmn arms `part_discontinuation_notice` for the integration contract only,
due six calendar months before the vendor's end-of-production day, stopped by the written notice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from engine.audit.replay import Replayer

from .contract_api import MINUTE, ContractApi
from .scenario_support import bj

CLOCK = "part_discontinuation_notice"


@pytest.fixture
def api(sqlite_url: str, clock: Any) -> Iterator[ContractApi]:
    harness = ContractApi(sqlite_url, clock)
    yield harness
    harness.close()


def registered(api: ContractApi, contract: str, end: str, at: datetime) -> str:
    api.at(at)
    body = {"process": "part_discontinuation", "business_key": f"EOL-{contract}", "data": {
        "contract": contract, "customer": "customer", "part_type": "S5720-PWR", "vendor": "华为",
        "production_end_date": end}}
    return str(api.call("POST", "/instances", "spare_parts_keeper", body)["id"])


def notify(api: ContractApi, case: str) -> None:
    api.do("project_manager", case, "Task_draft_notice", last_order_date="2027-03-31",
           replacement_part="S5731-PWR", notice_text="建议在停产前储备 2 块电源模块")


def test_due_six_calendar_months_before_the_end_of_production(api: ContractApi) -> None:
    # 004 l.481: half a year before 30 September 2027 is 30 March 2027, counted back from that day in
    # calendar months, not the 182 days six months after a 1 December start would span
    case = registered(api, "integration", "2027-09-30", bj("2026-12-01 10:00"))
    due = api.due(case, CLOCK)
    assert due == bj("2027-03-30 00:00")
    api.at(due - MINUTE)
    assert api.state(case, CLOCK) == "running"
    api.at(due + MINUTE)
    assert api.state(case, CLOCK) == "breached"


def test_the_written_notice_in_time_keeps_the_promise_and_the_customer_reads_it(api: ContractApi) -> None:
    case = registered(api, "integration", "2027-09-30", bj("2026-12-01 10:00"))  # 004 l.481
    api.at(bj("2027-03-29 23:59"))
    notify(api, case)
    assert api.state(case, CLOCK) == "met"
    mail = [m for m in api.call("GET", f"/outbox?instance={case}")["items"] if m["channel"] == "email"]
    assert [m["recipient"] for m in mail] == ["customer"] and "2027-09-30" in mail[0]["body"]
    (notice,) = [d for d in api.call("GET", f"/instances/{case}/documents", "customer")["items"]
                 if d["kind"] == "discontinuation_notice"]
    text = api.client.get(f"/api/v1/documents/{notice['id']}?format=markdown", headers={
        "Authorization": f"Bearer {api.tokens['customer']}"}).get_data(as_text=True)
    assert "备件停产通知函" in text and "S5720-PWR" in text and "建议在停产前储备 2 块电源模块" in text
    api.do("customer", case, "Task_customer_acknowledge", acknowledged=True)
    assert api.call("GET", f"/instances/{case}")["status"] == "completed"
    svc = api.service
    result = Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(case)
    assert result.verified, result.divergence


def test_an_end_of_production_closer_than_six_months_is_due_at_once(api: ContractApi) -> None:
    # 004 l.481: a vendor announcing three months ahead leaves no half year to give: due at registration
    start = bj("2026-12-01 10:00")
    case = registered(api, "integration", "2027-03-01", start)
    assert api.due(case, CLOCK) == start
    api.at(start + MINUTE)
    assert api.state(case, CLOCK) == "breached"


@pytest.mark.parametrize("contract", ["callcenter_95598", "network_om", "support", "monitoring"])
def test_no_other_contract_promises_the_notice(api: ContractApi, contract: str) -> None:
    # only seed 004 (l.481) promises it; the process still records the vendor's notice for the others
    case = registered(api, contract, "2027-09-30", bj("2026-12-01 10:00"))
    assert CLOCK not in api.clocks(case)
    skipped = [e for e in api.history(case) if e["type"] == "sla_skipped"]
    assert [e["data"]["clock"] for e in skipped] == [CLOCK]
    notify(api, case)
    assert api.task("customer", case, "Task_customer_acknowledge")


def test_a_missing_end_of_production_date_is_named(api: ContractApi) -> None:
    body = {"process": "part_discontinuation", "data": {
        "contract": "integration", "customer": "customer", "part_type": "S5720-PWR", "vendor": "华为"}}
    response = api.client.post("/api/v1/instances", json=body,
                               headers={"Authorization": f"Bearer {api.tokens['spare_parts_keeper']}"})
    assert response.status_code == 422 and "production_end_date" in str(response.json)
