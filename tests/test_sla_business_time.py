"""SLA clocks in business time: calendar months, working days, nights, weekends and China's holidays,
and the expression functions sla_due() / business_due(). Figures cite their seed contract."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.errors import EngineError, ScriptError
from engine.sla.clocks import calendar_named, target_seconds

from .engine_support import instance
from .test_sla_engine import BJ, INTEGRATION, clock_of, deploy_sla, pending


@pytest.fixture
def svc(engine_service):
    deploy_sla(engine_service)
    return engine_service


def test_month_targets_move_the_calendar_date():
    always = calendar_named("24x7")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=BJ)
    # seed 003_fc58e5a8846aff91.txt §1.2.3.2: spare loan returned within 3 months, extended to 6 months
    for target, month in (("P3M", 6), ("P6M", 9)):
        end = start + timedelta(seconds=target_seconds(start, target, always))
        assert end == datetime(2026, month, 2, 9, 0, tzinfo=BJ)
    end_of_month = datetime(2026, 1, 31, 12, 0, tzinfo=BJ)
    assert target_seconds(end_of_month, "P1M", always) == 28 * 86400  # 31 Jan + 1 month = 28 Feb


def test_days_count_working_days_on_the_workdays_calendar():
    workdays = calendar_named("workdays")
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=BJ)
    seconds = target_seconds(friday, "P1D", workdays)
    assert seconds == 9 * 3600  # 1.5 h on Friday + 7.5 h on Monday
    assert workdays.add(friday, timedelta(seconds=seconds)) == datetime(2026, 3, 9, 16, 0, tzinfo=BJ)
    with pytest.raises(EngineError, match="ISO 8601"):
        target_seconds(friday, "four hours", workdays)


@pytest.mark.parametrize(("start", "level", "due"), [
    # seed 002_2d9e6ae3473b3647.txt §3: level-1 response within 2 working hours; Friday 16:30 leaves 1 h
    pytest.param(datetime(2026, 3, 6, 16, 30, tzinfo=BJ), "level1", datetime(2026, 3, 9, 9, 30, tzinfo=BJ),
                 id="friday-afternoon"),
    # same figure; Saturday 14 Feb 2026 is a make-up working day, then Spring Festival until 23 Feb
    pytest.param(datetime(2026, 2, 14, 16, 0, tzinfo=BJ), "level1", datetime(2026, 2, 24, 9, 0, tzinfo=BJ),
                 id="spring-festival"),
    # seed 002 §3: level-3 response within 4 working hours; National Day holiday 1-7 Oct 2026
    pytest.param(datetime(2026, 9, 30, 16, 30, tzinfo=BJ), "level3", datetime(2026, 10, 8, 11, 30, tzinfo=BJ),
                 id="national-day"),
])
def test_workdays_clock_skips_nights_weekends_and_holidays(svc, clock, start, level, due):
    clock.set(start)
    iid = svc.runtime.start("sla_response", {"contract": "support", "level": level}, "alice")
    view = clock_of(svc, iid, start, "response")
    assert (view["calendar"], view["due_at"]) == ("workdays", due)
    assert pending(svc, iid)["sla:breach:response"] == due
    clock.set(due - timedelta(minutes=1))
    assert clock_of(svc, iid, clock.now(), "response")["remaining_seconds"] == 60


def test_a_year_without_calendar_data_is_counted_provisionally(svc, clock):
    # Issue 15: a fault report is never refused for a missing year; 2027 counts Monday-Friday and the
    # clock says so (tests/test_calendar_years.py has the re-targeting).
    clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=BJ))
    iid = svc.runtime.start("sla_response", {"contract": "support", "level": "level1"}, "alice")
    view = clock_of(svc, iid, clock.now(), "response")
    assert (view["provisional"], view["provisional_years"]) == (True, [2027])
    assert view["due_at"] == datetime(2027, 3, 1, 11, 0, tzinfo=BJ)  # seed 002 §3: 2 working hours


def test_script_functions(svc):
    iid = svc.runtime.start("sla_script", INTEGRATION, "alice")
    row_data = instance(svc, iid).data
    assert row_data["response_due"] == "2026-03-02T09:30:00+08:00"  # seed 004: 30 min response
    assert row_data["report_due"] == "2026-03-02T13:00:00+08:00"  # business_due('PT4H', 'workdays')
    with pytest.raises(ScriptError, match="onsite_arrival"):
        svc.runtime.start("sla_script_unknown", {}, "alice")
