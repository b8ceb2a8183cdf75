"""The monthly service summary read through the API (issue 19): its fields checked against the listed
cases' histories, the document as JSON, Markdown, HTML (with the inline SVG fault trend) and PDF, whose
text `pdftotext` extracts; reviewed and delivered through the API; seen by its customer alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.clock import ManualClock

from .conftest import ROOT
from .scenario_support import FAULT, REPORT, SECOND, bj, tick
from .test_api_helpers import ApiHarness, assert_error
from .test_documents_pdf import last_completion, read_all, work


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(bj("2026-02-09 09:00"))


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiHarness]:
    # The shipped contract data with network_om's customer named as a user of the harness.
    contracts = json.loads((ROOT / "handlers/data/service_reports.json").read_text(encoding="utf-8"))
    contracts["network_om"]["customer"] = "acme"
    path = tmp_path / "service_reports.json"
    path.write_text(json.dumps(contracts, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("WEIBAO_SERVICE_REPORTS", str(path))
    harness = ApiHarness(sqlite_url, clock, product_handlers=True)
    harness.service.deploy_processes(ROOT / "processes")
    yield harness
    harness.close()


def fault(api: ApiHarness, key: str, closed: bool) -> str:
    started = api.post("/instances", "service_desk", json={
        "process": "fault_repair", "business_key": key, "data": {**FAULT, "customer": "acme", "level": "P4"}})
    assert started.status_code == 201, started.get_data(as_text=True)
    case = started.json["id"]
    work(api, case, "Task_record_impact", "service_desk", business_impact="none", outage_minutes=0,
         affected_percent=0, safety_hazard=False)
    work(api, case, "Task_confirm_level", "service_desk", level="P4")
    work(api, case, "Task_phone_diagnosis", "duty_engineer", diagnosis="电话指导", solved=True)
    if closed:
        work(api, case, "Task_fill_report", "duty_engineer", **REPORT)
        work(api, case, "Task_customer_sign_report", "acme", signed=True)
        work(api, case, "Task_callback", "service_desk", satisfied=True)
        work(api, case, "Task_writeup", "duty_engineer", writeup="维修过程")
        work(api, case, "Task_director_review", "technical_director", approved=True)
        work(api, case, "Task_archive", "service_desk", archive_ref="A-1")
    return str(case)


def month_end(api: ApiHarness, day: str) -> None:
    tick(api.service, api.clock, at=bj(f"{day} 00:00"))
    tick(api.service, api.clock, SECOND)


def the_report(api: ApiHarness, key: str, user: str = "acme") -> dict[str, Any]:
    (found,) = api.get(f"/instances?process=service_report&business_key={key}", user).json["items"]
    return dict(found)


def test_the_march_summary_reads_through_the_api_in_every_format(api: ApiHarness, tmp_path: Path) -> None:
    fault(api, "F-FEB", closed=True)
    month_end(api, "2026-03-01")
    api.clock.set(bj("2026-03-02 09:00"))
    march = {"F-MAR-1": fault(api, "F-MAR-1", closed=True), "F-MAR-2": fault(api, "F-MAR-2", closed=False)}
    month_end(api, "2026-04-01")
    api.clock.set(bj("2026-04-01 09:00"))
    fault(api, "F-APR", closed=True)
    report = the_report(api, "MS-network_om-2026-03")
    doc = read_all(api, report["id"], "service_report", "acme", tmp_path)
    fields = doc["fields"]
    assert [f["business_key"] for f in fields["faults"]] == ["F-MAR-1", "F-MAR-2"]
    for listed in fields["faults"]:  # each row as the case's own history has it
        case = march[listed["business_key"]]
        history = api.get(f"/instances/{case}/history?limit=500", "admin").json["items"]
        started = next(e for e in history if e["type"] == "instance_started")
        assert (listed["instance_id"], listed["level"]) == (case, started["data"]["data"]["level"])
        filled = [e for e in history
                  if e["type"] == "task_completed" and e["element_id"] == "Task_fill_report"]
        assert listed["root_cause"] == (filled[-1]["data"]["data"]["root_cause"] if filled else "")
    assert fields["faults"][0]["root_cause"] == "光模块老化"
    assert [p["business_key"] for p in fields["open_problems"]] == ["F-MAR-2"]
    assert "| F-MAR-1 | 核心交换机端口故障 | P4 | 光模块老化 |" in doc["markdown"]
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="trend"' in doc["html"] and "03-02起" in doc["html"]
    # The PDF carries the Chinese text, the March figures and the chart's labels (drawn from the SVG).
    for value in ("月度服务报告：辽宁XX网络设备维保2026年3月", "故障记录（共2起）", "F-MAR-1", "光模块老化",
                  "遗留问题（共1项）", "SLA达标情况", "故障趋势", "03-02起", report["id"]):
        assert value in doc["pdf"], value
    assert "F-FEB" not in doc["pdf"] and "F-APR" not in doc["pdf"]
    assert_error(api.get(f"/documents/{doc['id']}", "globex"), 404)


def test_reviewed_and_delivered_through_the_api(api: ApiHarness) -> None:
    month_end(api, "2026-03-01")
    report = the_report(api, "MS-network_om-2026-02", "admin")
    work(api, report["id"], "Task_director_review", "technical_director", review_decision="send_back",
         review_comment="补充说明")
    work(api, report["id"], "Task_revise_report", "project_manager", revision_notes="已补充")
    assert api.get(f"/outbox?instance={report['id']}", "admin").json["items"] == []
    work(api, report["id"], "Task_director_review", "technical_director", review_decision="approve")
    (mail,) = api.get(f"/outbox?instance={report['id']}", "admin").json["items"]
    final = api.get(f"/instances/{report['id']}", "acme").json
    assert (mail["channel"], mail["recipient"]) == ("email", "acme")
    assert final["data"]["service_report_id"] in mail["body"] and final["status"] == "completed"
    review = last_completion(api, report["id"], "Task_director_review")
    assert (review["actor"], review["data"]["data"]["review_decision"]) == ("technical_director", "approve")
    # seed 001_4ada53786a497df7.txt l.13 §2.3.4.2: delivered within 5 working days of the month's end
    (summary,) = [c for c in final["sla"] if c["clock"] == "monthly_summary"]
    assert summary["state"] == "met"
    assert api.get(f"/instances/{report['id']}/verify", "auditor").json["verified"] is True
    assert_error(api.get(f"/instances/{report['id']}", "globex"), 404)

