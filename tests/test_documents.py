"""The documents a case's steps write, read through the API and the console: the fault report of seed
001 §2.2.6 (故障处理报告) as JSON, Markdown and HTML; the list per case; a customer reads only their own
cases' documents; the console's case page links them and shows the report."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from api.cli import main
from engine import passwords
from engine.clock import ManualClock

from .conftest import ROOT
from .scenario_support import DESK, DUTY, FAULT, Flow, close_fault, triage
from .test_api_helpers import ApiHarness, assert_error
from .test_console import PASSWORD, Console


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock, product_handlers=True)
    harness.service.deploy_processes(ROOT / "processes")
    yield harness
    harness.close()


def closed_fault(api: ApiHarness, business_key: str = "F-DOC") -> Flow:
    """A P4 fault solved by phone and closed: its fault report written."""
    f = Flow(api.service, api.service.runtime.start("fault_repair", {**FAULT, "level": "P4"}, DESK,
                                                     business_key=business_key))
    triage(f, "none", "P4")
    f.do("Task_phone_diagnosis", DUTY, diagnosis="VLAN 配置错误，电话指导修改", solved=True)
    close_fault(f)
    return f


def test_the_fault_report_is_read_as_json_markdown_and_html(api: ApiHarness) -> None:
    f = closed_fault(api)
    listed = api.get(f"/instances/{f.id}/documents", "service_desk").json
    (report,) = [d for d in listed["items"] if d["kind"] == "fault_report"]
    assert report["id"] == f.instance().data["fault_report_id"]
    assert report["formats"] == ["json", "markdown", "html", "pdf"]
    body = api.get(f"/documents/{report['id']}", "service_desk").json
    assert body["data"]["fields"]["root_cause"] == "光模块老化" and "markdown" not in body["data"]
    markdown = api.get(f"/documents/{report['id']}?format=markdown", "service_desk")
    assert markdown.headers["Content-Type"] == "text/markdown; charset=utf-8"
    text = markdown.get_data(as_text=True)
    assert "## 故障原因" in text and "光模块老化" in text
    html = api.get(f"/documents/{report['id']}?format=html", "service_desk")
    assert html.headers["Content-Type"].startswith("text/html")
    assert "sandbox" in html.headers["Content-Security-Policy"]
    assert "<h1>故障处理报告" in html.get_data(as_text=True)
    assert_error(api.get(f"/documents/{report['id']}?format=docx", "service_desk"), 422)
    assert_error(api.get("/documents/FR-NOSUCH", "service_desk"), 404, "not_found")


def test_a_customer_reads_only_their_own_cases_documents(api: ApiHarness) -> None:
    f = closed_fault(api)
    report_id = f.instance().data["fault_report_id"]
    assert_error(api.get(f"/instances/{f.id}/documents", "acme"), 404)  # 辽宁XX's case, not acme's
    assert_error(api.get(f"/documents/{report_id}", "acme"), 404)


def test_the_case_page_links_its_documents(api: ApiHarness) -> None:
    f = closed_fault(api)
    passwords.set_password(api.service.store, "service_desk", PASSWORD)
    console = Console(api.app)
    assert console.sign_in("service_desk").status_code == 302
    report_id = f.instance().data["fault_report_id"]
    page = console.get(f"/cases/{f.id}").get_data(as_text=True)
    assert f'data-document="{report_id}"' in page and "故障处理报告" in page
    shown = console.get(f"/cases/{f.id}/documents/{report_id}").get_data(as_text=True)
    assert 'id="rendered"' in shown and "sandbox" in shown and "光模块老化" in shown
    assert "下载 PDF" in shown or "Download as PDF" in shown
    got = console.client.get(f"/cases/{f.id}/documents/{report_id}.pdf")  # binary: not parsed as a page
    assert (got.status_code, got.mimetype, got.data[:5]) == (200, "application/pdf", b"%PDF-")
    assert console.get(f"/cases/other-case/documents/{report_id}.pdf").status_code == 404
    assert console.get(f"/cases/other-case/documents/{report_id}").status_code == 404


def test_the_command_line_lists_and_writes_a_document(api: ApiHarness, sqlite_url: str, tmp_path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    f = closed_fault(api)
    report_id = f.instance().data["fault_report_id"]
    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    assert main(["document", "list", f.id]) == 0
    listed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [report_id, "fault_report"] in [row[:2] for row in listed]
    out = tmp_path / "report.md"
    assert main(["document", "get", report_id, "--format", "md", "-o", str(out)]) == 0
    assert "## 故障原因" in out.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["document", "get", report_id]) == 0  # JSON by default
    assert json.loads(capsys.readouterr().out)["data"]["fields"]["root_cause"] == "光模块老化"
    assert main(["document", "get", "FR-NOSUCH"]) == 1
    assert "FR-NOSUCH" in capsys.readouterr().err
