"""The SLA report tells the truth (issue 15): a clock is met only when it stopped at its stop event by
its due time; a clock whose instance ended first (a cancellation) is "ended" — not kept — and the
per-case drill-down shows every clock of a case once, with its outcome (a clock handed over with the
case is listed where it went).

Seed 004_777e0ef8db92c2e8.txt 系统故障的应急处理方案 1): P1 diagnosed and resolved within 1 h."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from engine.sla.report import REPORT_COLUMNS, outcome, sla_report, to_csv

from .scenario_support import FAULT, T0, Flow, tick, triage
from .test_calendar_years import ProductApi

P1_INTEGRATION = {**FAULT, "contract": "integration", "level": "P1"}


@pytest.fixture
def api(sqlite_url, clock):
    clock.set(T0)  # Monday 2 March 2026, 09:00
    harness = ProductApi(sqlite_url, clock)
    yield harness
    harness.service.close()


def _hand_over(api: ProductApi, clock, key: str) -> tuple[Flow, Flow]:
    """A seed-004 P1 fault reported over the API, triaged as P1 and handed to the incident process."""
    response = api.post("/instances", "service_desk",
                        json={"process": "fault_repair", "data": P1_INTEGRATION, "business_key": key})
    assert response.status_code == 201, response.json
    fault = Flow(api.service, response.json["id"])
    clock.advance(timedelta(minutes=3))
    triage(fault, "total", "P1")
    assert fault.instance().status == "completed"
    (child,) = fault.children()
    return fault, Flow(api.service, child.id)


def _cancelled(api: ProductApi, clock, key: str) -> Flow:
    """A seed-004 P1 fault cancelled 3 minutes after the report: its clocks end unkept."""
    response = api.post("/instances", "service_desk",
                        json={"process": "fault_repair", "data": P1_INTEGRATION, "business_key": key})
    assert response.status_code == 201, response.json
    fault = Flow(api.service, response.json["id"])
    clock.advance(timedelta(minutes=3))
    api.service.runtime.cancel(fault.id, "dora", reason="reported twice")
    return fault


def test_a_fault_that_ends_first_is_not_reported_met(api: ProductApi, clock) -> None:
    fault = _cancelled(api, clock, "F-2026-0302-1")
    ended = {e.data["clock"]: e for e in fault.events() if e.data.get("reason") == "instance_ended"}
    # 3 minutes of a 1-hour promise: the fault instance ended, the promise was not shown kept.
    assert {e.type for e in ended.values()} == {"sla_stopped"}
    assert {e.data["state"] for e in ended.values()} == {"ended"}
    assert {fault.states()[name] for name in ended} == {"ended"}
    assert "resolution" in ended  # seed 004: P1 resolved within 1 h

    tick(api.service, clock, at=T0 + timedelta(minutes=61))
    period = {"from": "2026-03-01T00:00:00+08:00", "to": "2026-04-01T00:00:00+08:00"}
    rows = api.get("/reports/sla", query_string=period).json["items"]
    (resolution,) = [r for r in rows if r["process"] == "fault_repair" and r["clock"] == "resolution"]
    counts = tuple(resolution[k] for k in ("met", "ended", "breached", "open"))
    assert counts == (0, 1, 0, 0)
    assert resolution["pct_met"] == 0.0  # was 100 % before issue 15
    assert all(r["met"] == 0 for r in rows if r["process"] == "fault_repair" and r["clock"] in ended)
    assert fault.replays()


def test_the_case_drill_down_lists_each_clock_once(api: ProductApi, clock) -> None:
    fault, incident = _hand_over(api, clock, "F-2026-0302-2")
    response = api.get("/reports/sla/cases/F-2026-0302-2")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["key"] == "F-2026-0302-2" and body["total"] == len(body["items"])
    names = [i["clock"] for i in body["items"]]
    assert len(names) == len(set(names)), "one clock per name for the case"
    by_clock = {i["clock"]: i for i in body["items"]}
    resolution = by_clock["resolution"]  # the fault's clock, kept in the incident it went to
    assert (resolution["instance_id"], resolution["received_from"]) == (incident.id, fault.id)
    assert (resolution["outcome"], resolution["state"]) == ("open", "running")
    assert resolution["provisional"] is False
    started = datetime.fromisoformat(resolution["started_at"])
    assert started == T0.astimezone(UTC)  # the fault's report, not the incident's start
    assert datetime.fromisoformat(resolution["due_at"]) == started + timedelta(hours=1)
    assert resolution["stopped_at"] is None
    assert {i["outcome"] for i in body["items"]} <= {"met", "breached", "ended", "open"}
    # the same through the instance id of the incident alone
    alone = api.get(f"/reports/sla/cases/{incident.id}").json
    assert {i["instance_id"] for i in alone["items"]} == {incident.id}


def test_the_drill_down_refuses_unknown_keys_and_customers(api: ProductApi) -> None:
    assert api.get("/reports/sla/cases/no-such-case").status_code == 404
    assert api.get("/reports/sla/cases/no-such-case", user="customer").status_code == 403


def test_met_means_stopped_by_the_due_time() -> None:
    due = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert outcome("met", due, due) == "met"  # at the due instant is in time, as the scheduler counts
    assert outcome("met", due, due + timedelta(seconds=1)) == "breached"  # a record that says otherwise
    assert outcome("ended", due, due - timedelta(minutes=57)) == "ended"
    assert outcome("running", due, None) == outcome("paused", None, None) == "open"


def test_csv_columns_include_ended_and_provisional(api: ProductApi, clock) -> None:
    _cancelled(api, clock, "F-2026-0302-3")
    with api.service.store.read() as session:
        rows = sla_report(session, T0 - timedelta(days=1), T0 + timedelta(days=1))
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert list(parsed[0]) == REPORT_COLUMNS
    assert "ended" in REPORT_COLUMNS and "provisional" in REPORT_COLUMNS
    assert sum(int(p["ended"]) for p in parsed) >= 1


def test_histories_recorded_before_ended_replay_as_written(api: ProductApi, clock, monkeypatch) -> None:
    # Before issue 15 the engine counted a clock met when the instance ended first; a history written
    # then must still replay, so the record (sla_met with reason instance_ended) decides, not today's rule.
    from engine.sla import clocks as sc

    stop = sc.stop
    monkeypatch.setattr(sc, "stop", lambda clock_, now, ratio, unknown=sc.live_unknown, ended=False:
                        stop(clock_, now, ratio, unknown, False))
    fault = _cancelled(api, clock, "F-2026-0302-4")
    legacy = [e for e in fault.events() if e.data.get("reason") == "instance_ended"]
    assert legacy and {(e.type, e.data["state"]) for e in legacy} == {("sla_met", "met")}
    monkeypatch.undo()
    assert fault.replays()
