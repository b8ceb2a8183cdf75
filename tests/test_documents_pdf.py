"""The documents customers receive, read through the API as JSON, Markdown, HTML and PDF (issue 19):
the fault report of seed 001 §2.2.6, the repair service report the customer signs (001 l.13 §3.2.1
steps 14–15), the incident special report (001 l.13 §4.4.5) and the inspection report (001 l.13
§5.2 steps 10–12). Each one's fields are checked against the case's history, and the PDF's text is
extracted with `pdftotext`: the Chinese values must come out as text, not as boxes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import pdf
from api.cli import main
from engine.clock import ManualClock

from .conftest import ROOT
from .scenario_support import DESK, DUTY, FAULT, Flow, close_fault, triage
from .test_api_helpers import ApiHarness, assert_error


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock, product_handlers=True)
    harness.service.deploy_processes(ROOT / "processes")
    yield harness
    harness.close()


def pdf_text(body: bytes, tmp_path: Path) -> str:
    assert body.startswith(b"%PDF-")
    path = tmp_path / "doc.pdf"
    path.write_bytes(body)
    out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         check=True, timeout=60)
    return out.stdout.decode("utf-8")


def _closed_fault(api: ApiHarness) -> Flow:
    f = Flow(api.service, api.service.runtime.start("fault_repair", {**FAULT, "level": "P4"}, DESK,
                                                     business_key="F-PDF"))
    triage(f, "none", "P4")
    f.do("Task_phone_diagnosis", DUTY, diagnosis="VLAN 配置错误，电话指导修改", solved=True)
    close_fault(f)
    return f


def test_the_fault_report_reads_as_pdf_with_its_chinese_text(api: ApiHarness, tmp_path: Path) -> None:
    f = _closed_fault(api)
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
    f = _closed_fault(api)
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
    f = _closed_fault(api)
    report_id = f.instance().data["fault_report_id"]
    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    out = tmp_path / "report.pdf"
    assert main(["document", "get", report_id, "--format", "pdf", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert "光模块老化" in pdf_text(out.read_bytes(), tmp_path)
    monkeypatch.setattr(pdf, "FONT_FAMILIES", ("Noto Sans CJK XX",))
    assert main(["document", "get", report_id, "--format", "pdf", "-o", str(tmp_path / "no.pdf")]) == 1
    assert "Noto Sans CJK XX" in capsys.readouterr().err and not (tmp_path / "no.pdf").exists()
