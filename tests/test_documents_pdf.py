"""The documents customers receive, read through the API as JSON, Markdown, HTML and PDF (issue 19):
the fault report of seed 001 §2.2.6, the repair service report the customer signs (001 l.13 §3.2.1
steps 14–15), the incident special report (001 l.13 §4.4.5) and the inspection report (001 l.13
§5.2 steps 10–12). Each one's fields are checked against the case's history, and the PDF's text is
extracted with `pdftotext`: the Chinese values must come out as text, not as boxes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api import pdf
from api.cli import main
from engine.actor import Actor
from engine.clock import ManualClock

from .conftest import ROOT
from .scenario_support import (
    CHECKS,
    CUSTOMER,
    DESK,
    DIRECTOR,
    DUTY,
    DUTY2,
    EXPERT,
    FAULT,
    GM,
    LEAD,
    PLAN,
    REPORT,
    SECOND,
    SITE,
    Flow,
    bj,
    tick,
    triage,
)
from .test_api_helpers import ApiHarness, assert_error
from .test_documents import closed_fault


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock, product_handlers=True)
    harness.service.deploy_processes(ROOT / "processes")
    yield harness
    harness.close()

BJ = ZoneInfo("Asia/Shanghai")


def beijing(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(BJ).strftime("%Y-%m-%d %H:%M")


def last_completion(api: ApiHarness, instance_id: str, element: str) -> dict[str, Any]:
    history = api.get(f"/instances/{instance_id}/history?limit=500", "admin").json["items"]
    return [e for e in history if e["type"] == "task_completed" and e["element_id"] == element][-1]


def read_all(api: ApiHarness, instance_id: str, kind: str, user: str, tmp_path: Path) -> dict[str, Any]:
    """The case's one document of `kind`, in every format the API gives: JSON, Markdown, HTML, PDF text."""
    listed = api.get(f"/instances/{instance_id}/documents", user).json["items"]
    (doc,) = [d for d in listed if d["kind"] == kind]
    assert doc["formats"] == ["json", "markdown", "html", "pdf"]
    body = api.get(f"/documents/{doc['id']}", user).json
    markdown = api.get(f"/documents/{doc['id']}?format=markdown", user).get_data(as_text=True)
    page = api.get(f"/documents/{doc['id']}?format=html", user).get_data(as_text=True)
    got = api.get(f"/documents/{doc['id']}?format=pdf", user)
    assert got.status_code == 200, got.get_data(as_text=True)
    return {"id": doc["id"], "fields": body["data"]["fields"], "markdown": markdown, "html": page,
            "pdf": pdf_text(got.data, tmp_path).replace(" ", "")}


def work(api: ApiHarness, instance_id: str, element: str, user: str, **data: Any) -> None:
    """Completes the case's open `element` as `user` through the API, as the console or a client would."""
    items = api.get(f"/tasks?instance={instance_id}", user).json["items"]
    (task,) = [t for t in items if t["element_id"] == element]
    done = api.post(f"/tasks/{task['id']}/complete", user, json={"data": data})
    assert done.status_code == 200, done.get_data(as_text=True)


def pdf_text(body: bytes, tmp_path: Path) -> str:
    assert body.startswith(b"%PDF-")
    path = tmp_path / "doc.pdf"
    path.write_bytes(body)
    out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         check=True, timeout=60)
    return out.stdout.decode("utf-8")


def test_the_fault_report_reads_as_pdf_with_its_chinese_text(api: ApiHarness, tmp_path: Path) -> None:
    f = closed_fault(api, "F-PDF")
    report_id = f.instance().data["fault_report_id"]
    listed = api.get(f"/instances/{f.id}/documents", "service_desk").json["items"]
    assert [d["formats"] for d in listed if d["id"] == report_id] == [["json", "markdown", "html", "pdf"]]
    got = api.get(f"/documents/{report_id}?format=pdf", "service_desk")
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"] == f'inline; filename="{report_id}.pdf"'
    text = pdf_text(got.data, tmp_path)
    # The values the engineer typed (scenario_support.REPORT) and the page furniture, all as text.
    for value in ("故障处理报告", "光模块老化", "辽宁XX", report_id, f.id, "F-PDF", "第1页/共1页"):
        assert value in text.replace(" ", "") or value in text, value


def test_a_server_without_the_font_or_weasyprint_answers_503_naming_it(
        api: ApiHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    f = closed_fault(api, "F-PDF")
    report_id = f.instance().data["fault_report_id"]
    monkeypatch.setattr(pdf, "FONT_FAMILIES", ("Noto Sans CJK XX",))
    body = assert_error(api.get(f"/documents/{report_id}?format=pdf", "service_desk"), 503,
                        "renderer_missing")
    (lacking,) = body["missing"]
    assert "Noto Sans CJK XX" in lacking and "fonts-noto-cjk" in lacking
    monkeypatch.setattr(pdf, "FONT_FAMILIES", ("Noto Sans CJK SC",))
    # WeasyPrint that cannot be imported (not installed, or Pango missing) is named the same way.
    monkeypatch.setitem(__import__("sys").modules, "weasyprint", None)
    body = assert_error(api.get(f"/documents/{report_id}?format=pdf", "service_desk"), 503,
                        "renderer_missing")
    (lacking,) = body["missing"]
    assert "WeasyPrint" in lacking and "libpango" in lacking
    assert api.get(f"/documents/{report_id}?format=html", "service_desk").status_code == 200


def test_the_command_line_writes_the_pdf(api: ApiHarness, sqlite_url: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    f = closed_fault(api, "F-PDF")
    report_id = f.instance().data["fault_report_id"]
    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    out = tmp_path / "report.pdf"
    assert main(["document", "get", report_id, "--format", "pdf", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert "光模块老化" in pdf_text(out.read_bytes(), tmp_path)
    monkeypatch.setattr(pdf, "FONT_FAMILIES", ("Noto Sans CJK XX",))
    assert main(["document", "get", report_id, "--format", "pdf", "-o", str(tmp_path / "no.pdf")]) == 1
    assert "Noto Sans CJK XX" in capsys.readouterr().err and not (tmp_path / "no.pdf").exists()


def test_the_repair_service_report_carries_the_customers_signature(api: ApiHarness, tmp_path: Path) -> None:
    # seed 001 l.13 §3.2.1 steps 14–15: 填写维修服务报告, 请客户签字确认, 双方各保留一份
    started = api.post("/instances", "service_desk", json={
        "process": "fault_repair", "business_key": "F-RS",
        "data": {**FAULT, "customer": "acme", "level": "P4"}})
    assert started.status_code == 201, started.get_data(as_text=True)
    f = Flow(api.service, started.json["id"])
    triage(f, "none", "P4")
    work(api, f.id, "Task_phone_diagnosis", "duty_engineer", diagnosis="VLAN 配置错误，电话指导修改",
         solved=True)
    api.clock.advance(timedelta(minutes=20))
    work(api, f.id, "Task_fill_report", "duty_engineer", **REPORT)
    api.clock.advance(timedelta(minutes=45))
    work(api, f.id, "Task_customer_sign_report", "acme", signed=True, satisfaction="satisfied",
         customer_comment="响应及时，处理专业")
    doc = read_all(api, f.id, "repair_service_report", "acme", tmp_path)
    assert f.instance().data["repair_service_report_id"] == doc["id"] and doc["id"].startswith("RS-")
    signed = last_completion(api, f.id, "Task_customer_sign_report")
    filled = last_completion(api, f.id, "Task_fill_report")
    signature = doc["fields"]["signature"]
    assert (signature["signer"], signature["signed_at"]) == (signed["actor"], beijing(signed["at"]))
    assert (signature["signer"], signature["signed_at"]) == ("acme", "2026-03-02 10:05")
    assert (signature["signed"], signature["satisfaction"], signature["comment"]) == (
        True, "满意", "响应及时，处理专业")
    rows = dict(doc["fields"]["rows"])
    assert rows["填写报告"] == f"{filled['actor']}（{beijing(filled['at'])}）"
    assert rows["填写报告"] == "duty_engineer（2026-03-02 09:20）"
    assert rows["客户"] == "acme" and rows["故障等级"] == "P4 咨询/配置支持" and rows["到达现场"] == "—"
    assert dict(doc["fields"]["sections"])["故障原因"] == REPORT["root_cause"]
    assert "- 签字人：acme" in doc["markdown"] and "- 满意度：满意" in doc["markdown"]
    assert '<div class="signature">' in doc["html"] and "响应及时，处理专业" in doc["html"]
    for value in ("维修服务报告：核心交换机端口故障", "签字人", "acme", "2026-03-0210:05", "已签字确认",
                  "满意", "响应及时，处理专业", "光模块老化", "P4咨询/配置支持", doc["id"], "F-RS"):
        assert value in doc["pdf"], value
    # The customer of another contract does not learn the document exists, in any format.
    for suffix in ("", "?format=html", "?format=pdf"):
        assert_error(api.get(f"/documents/{doc['id']}{suffix}", "globex"), 404, "not_found")
    assert_error(api.get(f"/instances/{f.id}/documents", "globex"), 404)


def test_an_unsigned_report_says_why(api: ApiHarness, tmp_path: Path) -> None:
    f = Flow(api.service, api.service.runtime.start(
        "fault_repair", {**FAULT, "customer": "acme", "level": "P4"}, DESK))
    triage(f, "none", "P4")
    f.do("Task_phone_diagnosis", DUTY, diagnosis="电话指导", solved=True)
    f.do("Task_fill_report", DUTY, **REPORT)
    f.do("Task_customer_sign_report", CUSTOMER, signed=False, no_signature_reason="负责人出差")
    doc = read_all(api, f.id, "repair_service_report", "service_desk", tmp_path)
    assert doc["fields"]["signature"]["signed"] is False
    assert "未签字" in doc["pdf"] and "负责人出差" in doc["pdf"] and "满意度" not in doc["pdf"]
    # The signature's time is the step's, in Beijing time, not shifted a second time on rendering.
    signed = last_completion(api, f.id, "Task_customer_sign_report")
    assert f"签字时间：{beijing(signed['at'])}" in doc["markdown"] and "2026-03-0209:00" in doc["pdf"]


def _incident_to_signoff(api: ApiHarness) -> Flow:
    """A P1 incident from dispatch to the general manager's sign-off (seed 001 l.13 §3.2.2 steps 2–15)."""
    inc = Flow(api.service, api.service.runtime.start(
        "incident", {"summary": "核心路由器宕机", "customer": "acme", "contract": "callcenter_95598",
                     "level": "P1"}, DESK, business_key="I-SR"))
    dispatch = {"dispatched_engineers": "duty_engineer", "duty_engineer": "duty_engineer"}
    steps: list[tuple[str, Actor, dict[str, Any]]] = [
        ("Task_form_team", DIRECTOR, {"team_members": "张工、李工", "coordinator": "张工"}),
        ("Task_expert_remote", EXPERT, {"expert_remote_findings": "主控板内存故障"}),
        ("Task_form_expert_group", GM, {"expert_group_members": "专家组"}),
        ("Task_dispatch_resources", DIRECTOR, dispatch),
        ("Task_arrive_onsite", DUTY, {"service_request_signed": True}),
        ("Task_draw_plan", EXPERT, {**PLAN, "needs_test": False}),
        ("Task_director_approve_plan", DIRECTOR, {"approved": True}),
        ("Task_customer_agree_plan", CUSTOMER, {"customer_agrees": True}),
        ("Task_business_recovery", DUTY, {"business_restored": True}),
        ("Task_implement_plan", DUTY, {"handling": "更换主控板，业务恢复", "plan_succeeded": True}),
        ("Task_preventive_talk", DUTY, {"preventive_done": True, "new_problem_found": False,
                                        "talk_notes": "设备运行正常"}),
    ]
    for element, actor, data in steps:
        inc.do(element, actor, **data)
    tick(api.service, api.clock, timedelta(days=1, seconds=1))  # the observation period
    closing: list[tuple[str, Actor, dict[str, Any]]] = [
        ("Task_confirm_stable", DUTY, {"stable": True}),
        ("Task_fill_report", DUTY, REPORT),
        ("Task_customer_sign_report", CUSTOMER, {"signed": True, "satisfaction": "very_satisfied"}),
        ("Task_callback", DESK, {"satisfied": True}),
        ("Task_write_summary", EXPERT, {"incident_summary": "主控板故障，更换后恢复"}),
        ("Task_review_meeting", DIRECTOR, {"meeting_minutes": "备件储备需加强"}),
        ("Task_gm_signoff", GM, {"gm_instructions": "同意归档"}),
    ]
    for element, actor, data in closing:
        inc.do(element, actor, **data)
    return inc


def test_the_incident_special_report(api: ApiHarness, tmp_path: Path) -> None:
    # seed 001 l.13 §4.4.5: 设备维护情况, 原因分析, 诊断, 解决方法, 完成情况
    inc = _incident_to_signoff(api)
    doc = read_all(api, inc.id, "incident_special_report", "acme", tmp_path)
    assert inc.instance().data["incident_special_report_id"] == doc["id"] and doc["id"].startswith("SR-")
    sections = dict(doc["fields"]["sections"])
    assert (sections["重大故障的诊断"], sections["重大故障的解决方法"], sections["重大故障的完成情况"]) == (
        "主控板内存故障", PLAN["plan_method"], "更换主控板，业务恢复")
    assert sections["设备维护情况"] == "设备运行正常" and sections["总经理批示意见"] == "同意归档"
    arrived = last_completion(api, inc.id, "Task_arrive_onsite")
    rows = dict(doc["fields"]["rows"])
    assert rows["到达现场"] == f"{arrived['actor']}（{beijing(arrived['at'])}）"
    assert rows["应急小组成员"] == "张工、李工" and rows["故障等级"] == "P1 重大故障"
    assert doc["fields"]["signature"]["satisfaction"] == "非常满意"
    sent = [m for m in inc.messages() if m.recipient == "customer" and doc["id"] in m.body]
    assert len(sent) == 1  # 向客户报送专题报告 names the report
    for value in ("重大故障专题报告：核心路由器宕机", "主控板内存故障", "切换备用链路",
                  "更换主控板，业务恢复", "备件储备需加强", "非常满意", "I-SR"):
        assert value in doc["pdf"], value


def test_the_inspection_report(api: ApiHarness, tmp_path: Path) -> None:
    # seed 001 l.13 §5.2 steps 9–12: 巡检, 填写系统维护巡检报告, 请客户签字确认
    f = Flow(api.service, api.service.runtime.start("inspection", {**SITE, "customer": "acme"}, DESK))
    f.do("Task_plan", DESK, **{**SITE, "customer": "acme"}, planned_date="2026-03-12")
    f.do("Task_assign_engineer", LEAD, inspection_engineer="duty_engineer2")
    tick(api.service, api.clock, at=bj("2026-03-09 09:00") + SECOND)  # 3 days before (§5.2 step 4)
    f.do("Task_reconfirm", DESK, customer_cancels=False, confirmed_time="2026-03-12")
    f.do("Task_reconfirm_engineer", LEAD, inspection_engineer="duty_engineer2")
    f.do("Task_handover_form", DESK, report_form_no="XJ-2026-03")
    f.do("Task_inspect", DUTY2, **{**CHECKS, "check_room_humidity": "abnormal"}, config_list_collected=True,
         anomaly_found=False, check_notes="机房湿度偏高，已告知客户")
    f.do("Task_talk", DUTY2, talk_notes="客户关注 UPS", new_problem_found=False)
    f.do("Task_fill_report", DUTY2, report_summary="设备运行正常", open_issues="加装除湿机",
         open_issues_left=True)
    f.do("Task_customer_sign", CUSTOMER, signed=True, satisfaction="satisfied")
    doc = read_all(api, f.id, "inspection_report", "acme", tmp_path)
    assert f.instance().data["inspection_report_id"] == doc["id"] and doc["id"].startswith("IR-")
    rows = dict(doc["fields"]["rows"])
    assert (rows["巡检地点/机房"], rows["报告编号"], rows["巡检类型"]) == (
        "沈阳机房", "XJ-2026-03", "月度例行巡检")
    assert (rows["机房湿度"], rows["端口状态"], rows["已获取客户配置详细清单"]) == ("异常", "正常", "是")
    inspected = last_completion(api, f.id, "Task_inspect")
    assert rows["现场巡检"] == f"{inspected['actor']}（{beijing(inspected['at'])}）"
    signed = last_completion(api, f.id, "Task_customer_sign")
    assert doc["fields"]["signature"]["signer"] == signed["actor"] == "acme"
    for value in ("系统维护巡检报告：沈阳机房", "机房湿度", "异常", "机房湿度偏高，已告知客户", "加装除湿机",
                  "XJ-2026-03", "签字人"):
        assert value in doc["pdf"], value
