"""The console's SLA report: chart and table per month, contract, level and clock, the drill-down to the
cases, the CSV download, and who may read it."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest

from api.console.reports import bars
from engine.service import Service

from .test_console import Console, console_fixtures
from .test_console_work import PEOPLE, diagnosis, report, signed_in

service, app = console_fixtures("console_reports", PEOPLE)


@pytest.fixture(scope="module")
def march(app: Any, service: Service) -> dict[str, str]:
    """Two network_om P2 faults reported on Monday 2 March 09:00. seed 001_4ada53786a497df7.txt line 13
    §2.2.4.3 (a 严重 fault, P2 under that contract): phone response within 10 minutes. The engineer
    takes up the first at once (met); the second waits 11 minutes (breached)."""
    kept = diagnosis(app, service, "INC-M1")
    engineer = signed_in(app, "duty_engineer")
    engineer.get(f"/tasks/{kept['id']}")
    assert engineer.post(f"/tasks/{kept['id']}/claim").status_code == 302
    late = report(app, "INC-M2")
    service.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
    service.runtime.fire_due_timers()
    return {"kept": kept["instance_id"], "late": late}


def response_row(page: str) -> str:
    row = re.search(r'<tr data-clock="response">(.*?)</tr>', page, re.S)
    assert row, page
    return row.group(1)


def test_the_report_shows_compliance_as_a_chart_and_a_table(app: Any, march: dict[str, str]) -> None:
    page = signed_in(app, "duty_engineer").get("/reports?from=2026-03&to=2026-03").get_data(as_text=True)
    cells = re.findall(r"<td>(.*?)</td>", response_row(page), re.S)
    assert cells[:4] == ["2026-03", "网络运维", "P2", "响应"]  # the start form names the contract
    counts = [re.sub(r"<[^>]+>", "", c) for c in cells[4:9]]
    assert counts == ["2", "1", "1", "0", "0"] and cells[9] == "50.0"
    chart = page.split('id="chart"', 1)[1].split("</figure>", 1)[0]
    assert "<svg" in chart and "<script" not in page.split("</head>")[1] and "http" not in chart
    bar = chart.split("响应", 1)[1].split("</svg>", 1)[0]
    assert '<rect class="seg met" x="0.0" y="0" width="50.0"' in bar
    assert '<rect class="seg breached" x="50.0" y="0" width="50.0"' in bar
    assert 'aria-label="已达标 1, 已超时 1"' in bar


def test_a_line_drills_down_to_its_cases(app: Any, march: dict[str, str]) -> None:
    engineer = signed_in(app, "duty_engineer")
    page = engineer.get("/reports?from=2026-03&to=2026-03").get_data(as_text=True)
    breached = re.search(r'href="(/reports/cases\?[^"]*outcome=breached[^"]*)"', response_row(page))
    assert breached
    drill = engineer.get(breached.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert re.findall(r'data-instance="([^"]+)"', drill) == [march["late"]]
    assert f'href="/cases/{march["late"]}">INC-M2</a>' in drill
    everything = engineer.get("/reports/cases?month=2026-03&clock=response").get_data(as_text=True)
    assert set(re.findall(r'data-instance="([^"]+)"', everything)) == {march["kept"], march["late"]}
    assert engineer.get("/reports/cases?month=2026-04&clock=response").get_data(as_text=True).count(
        "data-instance=") == 0
    assert engineer.get("/reports?from=March").status_code == 422


def test_the_csv_download_is_the_reports_table(app: Any, march: dict[str, str]) -> None:
    response = signed_in(app, "auditor").get("/reports/sla.csv?from=2026-03&to=2026-03")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    line = next(r for r in rows if r["clock"] == "response")
    assert (line["contract"], line["level"], line["count"], line["met"], line["breached"]) == \
        ("network_om", "P2", "2", "1", "1")
    assert line["pct_met"] == "50.0"


def test_reports_are_for_staff(app: Any, march: dict[str, str]) -> None:
    for name in ("service_desk", "duty_engineer", "auditor", "process_owner", "admin"):
        console = signed_in(app, name)
        assert console.get("/reports").status_code == 200, name
        assert 'href="/reports"' in console.get("/tasks").get_data(as_text=True)
    customer = signed_in(app, "customer")
    for path in ("/reports", "/reports/sla.csv", "/reports/cases?month=2026-03"):
        assert customer.get(path).status_code == 403, path
    assert 'href="/reports"' not in customer.get("/tasks").get_data(as_text=True)
    for path in ("/reports", "/reports/sla.csv", "/reports/cases"):
        assert Console(app).get(path).status_code == 302


def test_bars_split_each_line_by_outcome() -> None:
    [row] = bars([{"count": 4, "met": 1, "breached": 2, "ended": 0, "open": 1}], width=100.0)
    assert [(s["kind"], s["x"], s["width"]) for s in row["segments"]] == [
        ("met", 0.0, 25.0), ("breached", 25.0, 50.0), ("open", 75.0, 25.0)]
    assert bars([{"count": 0, "met": 0, "breached": 0, "ended": 0, "open": 0}])[0]["segments"] == []
