"""The monthly SLA report over the `sla_clocks` table, and its CSV form."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.sla.report import REPORT_COLUMNS, sla_report, to_csv

from .conftest import START
from .engine_support import ENGINEER, the_task
from .test_sla_engine import deploy_sla

BJ = ZoneInfo("Asia/Shanghai")
# seed 004_777e0ef8db92c2e8.txt: after-sales response within half an hour (24x7)
INTEGRATION = {"contract": "integration"}
# seed 002_2d9e6ae3473b3647.txt §3: level-1 response within 2 working hours
SUPPORT = {"contract": "support", "level": "level1"}


@pytest.fixture
def history(engine_service, clock):
    """March: integration met after 10 min, breached after 40 min, one still open; support met after
    1 working hour. April (Beijing time, 31 March 17:00 UTC): integration met after 5 min."""
    svc = engine_service
    deploy_sla(svc)
    rt = svc.runtime
    met, late, support = (rt.start("sla_response", d, "alice") for d in (INTEGRATION, INTEGRATION, SUPPORT))
    clock.advance(timedelta(minutes=10))
    rt.complete(the_task(svc, met, "Respond"), {}, ENGINEER)
    clock.advance(timedelta(minutes=25))
    rt.start("sla_response", INTEGRATION, "alice")  # open: due at +65 min, the report runs before
    clock.advance(timedelta(minutes=5))
    rt.complete(the_task(svc, late, "Respond"), {}, ENGINEER)
    clock.set(START + timedelta(hours=1))
    rt.complete(the_task(svc, support, "Respond"), {}, ENGINEER)
    clock.set(datetime(2026, 4, 1, 1, 0, tzinfo=BJ))
    april = rt.start("sla_response", INTEGRATION, "alice")
    clock.advance(timedelta(minutes=5))
    rt.complete(the_task(svc, april, "Respond"), {}, ENGINEER)
    return svc


def report(svc, start, end, **filters):
    with svc.store.read() as s:
        return sla_report(s, start, end, **filters)


def test_report_groups_by_month_process_contract_level_and_clock(history):
    rows = report(history, datetime(2026, 3, 1, tzinfo=BJ), datetime(2026, 5, 1, tzinfo=BJ))
    keys = [(r["month"], r["contract"], r["level"], r["clock"]) for r in rows]
    assert keys == [("2026-03", "integration", "", "response"), ("2026-03", "support", "level1", "response"),
                    ("2026-04", "integration", "", "response")]
    march = rows[0]
    assert march["process"] == "sla_response"
    assert (march["count"], march["met"], march["breached"], march["open"]) == (3, 1, 1, 1)
    assert march["pct_met"] == 50.0
    assert (march["median_seconds"], march["p90_seconds"]) == (1500, 2400)
    assert (rows[1]["met"], rows[1]["pct_met"], rows[1]["median_seconds"]) == (1, 100.0, 3600)
    assert (rows[2]["count"], rows[2]["met"], rows[2]["median_seconds"]) == (1, 1, 300)


def test_report_period_is_half_open_and_filters_apply(history):
    march = report(history, datetime(2026, 3, 1, tzinfo=BJ), datetime(2026, 4, 1, tzinfo=BJ))
    assert {r["month"] for r in march} == {"2026-03"}  # 1 April 09:00 Beijing belongs to April
    only_support = report(history, datetime(2026, 3, 1, tzinfo=BJ), datetime(2026, 5, 1, tzinfo=BJ),
                          contract="support")
    assert [r["level"] for r in only_support] == ["level1"]
    assert report(history, datetime(2026, 3, 1, tzinfo=BJ), datetime(2026, 5, 1, tzinfo=BJ),
                  process="sla_pause") == []


def test_csv_has_one_line_per_row_and_blanks_for_missing_figures(history):
    rows = report(history, datetime(2026, 3, 1, tzinfo=BJ), datetime(2026, 5, 1, tzinfo=BJ))
    text = to_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(REPORT_COLUMNS)
    assert [(p["month"], p["contract"], p["count"], p["pct_met"]) for p in parsed] == [
        ("2026-03", "integration", "3", "50.0"), ("2026-03", "support", "1", "100.0"),
        ("2026-04", "integration", "1", "100.0"),
    ]
    assert to_csv([{"month": "2026-05", "count": 1, "pct_met": None}]).splitlines()[1].startswith("2026-05,")
    assert to_csv([]) == ",".join(REPORT_COLUMNS) + "\n"
