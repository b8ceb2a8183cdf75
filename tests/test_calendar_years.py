"""Calendar years (issue 15): which library answers for a year, the Monday-Friday fallback for a year
none has, provisional clocks and their re-targeting when the year is added, and the /health warning.

The 2027 entries written here are stand-ins for a test, not the State Council's notice for 2027."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest

from api import create_app
from api.compose import product_service
from engine.sla import calendar_data, calendar_sources
from engine.sla.calendar import WorkdayCalendar
from engine.sla.calendar_data import CalendarOverrides, year_source
from engine.sla.provisional import calendar_warnings
from engine.store.users import add_user

from .conftest import ROOT
from .scenario_support import BJ, DUTY, FAULT, IMPACT, bj, start, tick, triage

NONE = CalendarOverrides()


def write_overrides(path: Path, years: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"comment": "test", "years": years}), encoding="utf-8")
    return path


@pytest.fixture
def overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty override file in place of the shipped one, so the test decides which years exist."""
    path = write_overrides(tmp_path / "calendar_overrides.json", {})
    monkeypatch.setenv(calendar_data.OVERRIDES_ENV, str(path))
    return path


# ---------------------------------------------------------------- the sources


def _working_days(year: int, is_working: Any) -> set[date]:
    first = date(year, 1, 1)
    days = (first + timedelta(days=n) for n in range(366))
    return {d for d in days if d.year == year and is_working(d)}


@pytest.mark.parametrize("year", range(2006, 2027))
def test_both_libraries_give_the_same_working_days(year: int) -> None:
    # Both transcribe the State Council's notices, make-up working days (调休) included; they differ
    # only on 31 Dec 2005, so either may answer for a year both have.
    holidays_source = calendar_sources.HolidaysSource()
    assert holidays_source.has_year(year)
    assert _working_days(year, holidays_source.is_working_day) == _working_days(
        year, chinese_calendar.is_workday)


def test_the_newest_source_that_has_the_year_answers() -> None:
    names = [s.name.split()[0] for s in calendar_sources.sources()]
    assert names == ["holidays", "chinesecalendar"]  # same last year (2026); holidays is released monthly
    assert calendar_sources.source_for(2026).name.startswith("holidays")  # type: ignore[union-attr]
    # 2001-2003 only `holidays` has: the fallback never applies to them any more.
    assert calendar_sources.source_for(2003).name.startswith("holidays")  # type: ignore[union-attr]
    assert calendar_sources.source_for(2027) is None
    assert year_source(2027, NONE) is None
    # `holidays` computes 2027's festivals by rule, but without the notice there are no make-up
    # Saturdays, so it does not count as having the year.
    assert not calendar_sources.HolidaysSource().has_year(2027)


def test_an_override_year_counts_only_with_its_notice(tmp_path: Path) -> None:
    days_off = {"2027": {"customer_days_off": {"acme": ["2027-03-01"]}}}
    only_customer = write_overrides(tmp_path / "a.json", days_off)
    assert year_source(2027, calendar_data.load_overrides(only_customer)) is None
    notice = write_overrides(tmp_path / "b.json", {"2027": {"holidays": ["2027-01-01"]}})
    assert year_source(2027, calendar_data.load_overrides(notice)).startswith("override file")  # type: ignore[union-attr]


def test_provisional_years_count_monday_to_friday_until_re_targeted(tmp_path: Path) -> None:
    notice = write_overrides(tmp_path / "c.json", {"2027": {"holidays": ["2027-01-04"]}})
    known = calendar_data.load_overrides(notice)
    real = WorkdayCalendar(overrides=known, weekday_fallback=True)
    guessed = real.with_provisional(frozenset({2027}))
    monday = datetime(2027, 1, 4, 10, tzinfo=BJ)
    assert not real.is_working_time(monday) and guessed.is_working_time(monday)
    assert guessed.provisional_years(monday, monday + timedelta(days=400)) == {2027, 2028}
    assert real.provisional_years(monday, monday) == frozenset()


# ---------------------------------------------------------------- a fault in a year without data


def test_a_fault_in_a_year_without_data_is_provisional_and_re_targeted(svc, clock, overrides_file):
    # Friday 8 Jan 2027, 16:00: the fault is accepted although no source has 2027.
    clock.set(bj("2027-01-08 16:00"))
    f = start(svc, "fault_repair", {**FAULT, "level": "P3"})
    triage(f, "degraded", "P3")
    # seed 001_4ada53786a497df7.txt §1.1.2 第3条: tier 4 after 1 working day; Monday 16:00 on the guess
    assert f.sla_event("sla_started", "escalation_tier4").data["provisional_years"] == [2027]
    tier4 = f.clock("escalation_tier4")
    assert (tier4["provisional"], tier4["provisional_years"]) == (True, [2027])
    assert tier4["due_at"] == bj("2027-01-11 16:00")
    assert not f.clock("response")["provisional"]  # a 24x7 clock never guesses

    # The process owner adds 2027 (here: Monday 11 Jan off); the clock's next operation re-targets it.
    write_overrides(overrides_file, {"2027": {"holidays": ["2027-01-11"]}})
    mark = f.mark()
    clock.advance(timedelta(minutes=5))
    f.do("Task_phone_diagnosis", DUTY, diagnosis="端口无光", solved=False)
    retargeted = f.sla_event("sla_retargeted", "escalation_tier4")
    assert retargeted.seq > mark
    assert retargeted.data["before"] == {"due_at": "2027-01-11T08:00:00+00:00", "provisional_years": [2027]}
    assert retargeted.data["provisional_years"] == []
    tier4 = f.clock("escalation_tier4")
    assert (tier4["provisional"], tier4["due_at"]) == (False, bj("2027-01-12 16:00"))
    assert f.pending()["sla:breach:escalation_tier4"] == bj("2027-01-12 16:00")
    tick(svc, clock, at=bj("2027-01-11 16:00:01"))
    assert f.states()["escalation_tier4"] == "running"  # the guessed due time has passed harmlessly
    assert f.replays()  # replay knows what each operation knew of 2027 from its record


def test_a_monitoring_fault_passes_the_tier_4_step_in_an_unknown_year(svc, clock, overrides_file):
    # Issue 15: from 1 Jan 2027 a `monitoring` fault got stuck computing the tier-4 due time; the tier-4
    # rung is network_om's row now, and a monitoring fault in a year without data goes on.
    clock.set(bj("2031-03-03 09:00"))
    f = start(svc, "fault_repair", {**FAULT, "contract": "monitoring", "level": "P2"})
    triage(f, "degraded", "P2")
    assert "escalation_tier4" in f.skipped()
    assert "Task_phone_diagnosis" in f.open()
    assert f.replays()


# ---------------------------------------------------------------- over the API


class ProductApi:
    """The shipped handlers and diagrams behind the Flask test client, on the manual clock."""

    def __init__(self, url: str, clock: Any) -> None:
        self.service = product_service(url, clock=clock)
        self.service.deploy_processes(ROOT / "processes")
        self.client = create_app({"WEIBAO_SERVICE": self.service, "WEIBAO_MANUAL_CLOCK": True,
                                  "TESTING": True}).test_client()
        people = ("service_desk", "customer")
        self.tokens = {g: add_user(self.service.store, clock, g, [g], []) for g in people}
        self.tokens["staff"] = add_user(self.service.store, clock, "staff", [], ["admin"])

    def get(self, path: str, user: str | None = "staff", **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return self.client.get("/api/v1" + path, headers=headers, **kwargs)

    def post(self, path: str, user: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return self.client.post("/api/v1" + path, headers=headers, **kwargs)


@pytest.fixture
def api(sqlite_url, clock, overrides_file):
    harness = ProductApi(sqlite_url, clock)
    yield harness
    harness.service.close()


def test_the_api_accepts_a_fault_in_a_year_without_data(api: ProductApi, clock, overrides_file) -> None:
    clock.set(bj("2027-01-04 09:00"))  # Monday
    body = {"process": "fault_repair", "data": {**FAULT, "level": "P3"}}
    response = api.post("/instances", "service_desk", json=body)
    assert response.status_code == 201, response.json
    views = {c["clock"]: c for c in response.json["sla"]}
    provisional = sorted(name for name, c in views.items() if c["provisional"])
    assert provisional == sorted(name for name, c in views.items() if c["calendar"] != "24x7")
    assert provisional, views  # at least one working-time clock counted on the guess
    assert all(views[name]["provisional_years"] == [2027] for name in provisional)
    # seed 001_4ada53786a497df7.txt §1.1.2 第3条: 1 working day (9 h) from Monday 09:00 on the guess
    assert views["escalation_tier4"]["due_at"] == "2027-01-05T09:00:00+08:00"  # shown in Beijing time

    # The year arrives (here: Tuesday 5 Jan off); the next operation, a task done over the API, re-targets.
    write_overrides(overrides_file, {"2027": {"holidays": ["2027-01-05"]}})
    task = next(t for t in response.json["open_tasks"] if t["element_id"] == "Task_record_impact")
    done = api.post(f"/tasks/{task['id']}/complete", "service_desk",
                    json={"data": {"business_impact": "degraded", **IMPACT}})
    assert done.status_code == 200, done.json
    after = {c["clock"]: c for c in api.get(f"/instances/{response.json['id']}").json["sla"]}
    assert (after["escalation_tier4"]["provisional"], after["escalation_tier4"]["due_at"]) == (
        False, "2027-01-06T09:00:00+08:00")


@pytest.mark.parametrize(("now", "years"), [
    (bj("2026-11-30 23:59"), []),  # December not yet: 2026 itself is known
    (bj("2026-12-01 00:00"), [2027]),  # from 1 December (Beijing) for the coming year
    (bj("2027-02-01 10:00"), [2027]),  # and all through a year that still has no data
])
def test_health_warns_of_a_missing_year(api: ProductApi, clock, now: datetime, years: list[int]) -> None:
    clock.set(now)
    response = api.get("/health", user=None)
    assert response.status_code == 200 and response.json["status"] == "ok"  # a warning, not an outage
    warnings = response.json["warnings"]
    assert [int(w.split("for ")[1][:4]) for w in warnings] == years
    assert calendar_warnings(now) == warnings


def test_health_stops_warning_when_the_year_is_added(api: ProductApi, clock, overrides_file) -> None:
    clock.set(bj("2026-12-03 10:00"))
    assert api.get("/health", user=None).json["warnings"]
    write_overrides(overrides_file, {"2027": {"holidays": ["2027-01-01"]}})
    assert api.get("/health", user=None).json["warnings"] == []


def test_health_names_an_unreadable_override_file(api: ProductApi, clock, overrides_file) -> None:
    overrides_file.write_text("{not json", encoding="utf-8")
    response = api.get("/health", user=None)
    assert response.status_code == 200
    assert ["override file cannot be read" in w for w in response.json["warnings"]] == [True]
