"""SLA clocks through the runtime: start/stop, pauses, warnings, breaches by the scheduler or a later
operation, sla_due() boundary timers, re-levelling, replay. Every figure cites the seed contract it
comes from (../shared/seeds/00N_*.txt) via processes/sla_targets.dmn."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.audit.replay import Replayer
from engine.sla.clocks import drop_dead_holders
from engine.sla.report import clocks_for, sla_report
from engine.store.models import PendingTimer, SlaClockRow

from .conftest import ROOT, START, make_service
from .engine_support import DATA, DESK, ENGINEER, TEST_HANDLERS, events, open_tasks, the_task, types

BJ = ZoneInfo("Asia/Shanghai")
T0 = START  # Monday 2 March 2026, 09:00 Beijing
SLA_FILES = ["sla_response.bpmn", "sla_pause.bpmn", "sla_incident.bpmn", "sla_script.bpmn"]
# seed 004_777e0ef8db92c2e8.txt: P1 resolved within 1 h, P3 within 4 h; after-sales response within 30 min
INTEGRATION = {"contract": "integration"}


def deploy_sla(svc):
    files = [(n, (DATA / n).read_bytes()) for n in SLA_FILES]
    files.append(("sla_targets.dmn", (ROOT / "processes" / "sla_targets.dmn").read_bytes()))
    return svc.runtime.deploy(files)


@pytest.fixture
def svc(engine_service):
    deploy_sla(engine_service)
    return engine_service


def clock_of(svc, iid, now, name):
    with svc.store.read() as s:
        return next(c for c in clocks_for(s, iid, now) if c["clock"] == name)


def sla_events(svc, iid):
    return [e for e in events(svc, iid) if e.type.startswith("sla_")]


def pending(svc, iid):
    with svc.store.read() as s:
        rows = s.scalars(select(PendingTimer).where(PendingTimer.instance_id == iid)).all()
    return {r.element_id: r.due_at for r in rows}


def table_row(svc, iid, name):
    with svc.store.read() as s:
        return s.get(SlaClockRow, (iid, name))


# ----------------------------------------------------------------- pure helpers (no database)


def test_cancelled_pausing_tasks_release_their_pause():
    paused = {"resolution": {"paused_by": ["a", "b"]}, "response": {"paused_by": ["c"]}}
    assert drop_dead_holders(paused, {"b"}) == ["response"]
    assert paused["resolution"]["paused_by"] == ["b"]


# ----------------------------------------------------------------- start, stop, warning, breach


def test_clock_starts_and_is_met(svc, clock):
    iid = svc.runtime.start("sla_response", INTEGRATION, "alice")
    due = T0 + timedelta(minutes=30)  # seed 004_777e0ef8db92c2e8.txt: response within half an hour
    started = sla_events(svc, iid)[0]
    assert started.type == "sla_started" and started.element_id == "Reported"
    # seed 004 line 637: 7×24 telephone support (the contract row names the calendar "7x24")
    assert started.data["target"] == "PT30M" and started.data["calendar"] == "7x24"
    assert open_tasks(svc, iid, "Respond")[0].due_at == due
    assert pending(svc, iid) == {"sla:warning:response": T0 + timedelta(minutes=22, seconds=30),
                                 "sla:breach:response": due}
    clock.advance(timedelta(minutes=20))
    svc.runtime.complete(the_task(svc, iid, "Respond"), {}, ENGINEER)
    assert [e.type for e in sla_events(svc, iid)] == ["sla_started", "sla_met"]
    view = clock_of(svc, iid, clock.now(), "response")
    assert view["state"] == "met" and view["stopped_at"] == clock.now() and view["remaining_seconds"] == 600
    row = table_row(svc, iid, "response")
    assert (row.state, row.contract, row.business_seconds) == ("met", "integration", 1200)
    assert row.breached_at is None
    assert pending(svc, iid) == {}


@pytest.mark.parametrize(("ratio", "warn_after"), [(None, timedelta(minutes=22, seconds=30)),
                                                   (0.5, timedelta(minutes=15))])
def test_warning_at_a_share_of_the_target(db_url, clock, ratio, warn_after):
    settings = {} if ratio is None else {"sla_warning_ratio": ratio}
    service = make_service(db_url, clock, handlers=TEST_HANDLERS, **settings)
    try:
        deploy_sla(service)
        iid = service.runtime.start("sla_response", INTEGRATION, "alice")  # seed 004: 30 min response
        clock.advance(warn_after)
        assert service.runtime.fire_due_timers() == 0  # fired once the instant has passed
        clock.advance(timedelta(seconds=1))
        assert service.runtime.fire_due_timers() == 1
        warning = sla_events(service, iid)[-1]
        assert warning.type == "sla_warning" and warning.at == T0 + warn_after + timedelta(seconds=1)
        assert warning.data["warn_at"] == (T0 + warn_after).isoformat()
        assert "sla:warning:response" not in pending(service, iid)
    finally:
        service.close()


def test_breach_is_fired_by_the_scheduler_without_a_bpmn_timer(svc, clock):
    iid = svc.runtime.start("sla_response", INTEGRATION, "alice")
    due = T0 + timedelta(minutes=30)  # seed 004_777e0ef8db92c2e8.txt: response within half an hour
    clock.advance(timedelta(minutes=23))
    svc.runtime.fire_due_timers()
    clock.advance(timedelta(minutes=7, seconds=1))
    assert svc.runtime.fire_due_timers() == 1
    breach = sla_events(svc, iid)[-1]
    assert breach.type == "sla_breached" and breach.data["due_at"] == due.isoformat()
    assert clock_of(svc, iid, clock.now(), "response")["state"] == "breached"
    assert table_row(svc, iid, "response").breached_at == due
    assert svc.runtime.fire_due_timers() == 0
    clock.advance(timedelta(minutes=10))
    svc.runtime.complete(the_task(svc, iid, "Respond"), {}, ENGINEER)
    stopped = sla_events(svc, iid)[-1]
    assert stopped.type == "sla_stopped" and stopped.data["state"] == "breached"
    assert table_row(svc, iid, "response").business_seconds == 40 * 60 + 1


def test_an_operation_after_the_due_time_records_the_breach_first(svc, clock):
    iid = svc.runtime.start("sla_response", INTEGRATION, "alice")
    clock.advance(timedelta(minutes=40))  # seed 004: due after 30 min; the scheduler never ran
    svc.runtime.complete(the_task(svc, iid, "Respond"), {}, ENGINEER)
    assert types(svc, iid)[-5:] == [
        "sla_warning", "sla_breached", "task_completed", "sla_stopped", "instance_completed",
    ]


def test_no_rule_means_no_clock(svc):
    iid = svc.runtime.start("sla_response", {"contract": "no_such_contract"}, "alice")
    skipped = sla_events(svc, iid)
    assert [e.type for e in skipped] == ["sla_skipped"] and skipped[0].data["clock"] == "response"
    assert pending(svc, iid) == {} and the_task(svc, iid, "Respond")


# ----------------------------------------------------------------- pauses and calendars


def test_pause_does_not_count_and_moves_the_due_time(svc, clock):
    # seed 004_777e0ef8db92c2e8.txt: P3 resolved within 4 h; seed 001_4ada53786a497df7.txt §2.2.4.1: the
    # time the customer takes to approve the remote-repair plan is not counted in the committed time.
    iid = svc.runtime.start("sla_pause", {**INTEGRATION, "level": "P3"}, "alice")
    clock.advance(timedelta(hours=1))
    svc.runtime.complete(the_task(svc, iid, "Diagnose"), {}, ENGINEER)
    assert sla_events(svc, iid)[-1].type == "sla_paused"
    assert pending(svc, iid) == {}  # a paused clock cannot breach
    clock.advance(timedelta(hours=1))
    view = clock_of(svc, iid, clock.now(), "resolution")
    assert view["state"] == "paused" and view["remaining_seconds"] == 3 * 3600
    assert view["due_at"] == T0 + timedelta(hours=5) and view["paused_seconds"] == 3600
    clock.advance(timedelta(hours=1))
    svc.runtime.complete(the_task(svc, iid, "ApprovePlan"), {}, DESK)
    resumed = sla_events(svc, iid)[-1]
    assert resumed.type == "sla_resumed" and resumed.data["paused_seconds"] == 2 * 3600
    assert pending(svc, iid)["sla:breach:resolution"] == T0 + timedelta(hours=6)
    clock.advance(timedelta(hours=2, minutes=30))  # 5.5 h after the start, 3.5 h of it counted
    svc.runtime.complete(the_task(svc, iid, "Repair"), {}, ENGINEER)
    assert sla_events(svc, iid)[-1].type == "sla_met"
    row = table_row(svc, iid, "resolution")
    assert (row.state, row.paused_seconds, row.business_seconds) == ("met", 7200, 3.5 * 3600)


# ----------------------------------------------------------------- expressions, timers, re-levelling


def test_boundary_timer_fires_at_the_sla_due_time(svc, clock):
    iid = svc.runtime.start("sla_incident", {**INTEGRATION, "level": "P3"}, "alice")
    due = T0 + timedelta(hours=4)  # seed 004_777e0ef8db92c2e8.txt: P3 within 4 h
    assert pending(svc, iid)["ResolveLate"] == due
    clock.set(due)
    svc.runtime.fire_due_timers()
    assert not open_tasks(svc, iid, "Escalate")
    clock.advance(timedelta(seconds=1))
    svc.runtime.fire_due_timers()
    assert the_task(svc, iid, "Escalate")
    fired = next(e for e in events(svc, iid) if e.type == "timer_fired")
    assert datetime.fromisoformat(fired.data["due_at"]) == due


def test_relevel_p3_to_p1_measures_from_the_start_and_rearms_the_timer(svc, clock):
    iid = svc.runtime.start("sla_incident", {**INTEGRATION, "level": "P3"}, "alice")
    clock.advance(timedelta(minutes=30))
    svc.runtime.complete(the_task(svc, iid, "Reassess"), {"level": "P1", "need_approval": False}, DESK)
    due = T0 + timedelta(hours=1)  # seed 004_777e0ef8db92c2e8.txt: P1 within 1 h, from the original report
    relevel = sla_events(svc, iid)[-1]
    assert relevel.type == "sla_relevelled"
    assert (relevel.data["before"]["target"], relevel.data["target"]) == ("PT4H", "PT1H")
    assert clock_of(svc, iid, clock.now(), "resolution")["due_at"] == due
    assert pending(svc, iid)["ResolveLate"] == due
    assert open_tasks(svc, iid, "Resolve")[0].due_at == due
    clock.set(due + timedelta(seconds=1))
    svc.runtime.fire_due_timers()
    assert the_task(svc, iid, "Escalate")
    assert [e.type for e in sla_events(svc, iid)][-2:] == ["sla_warning", "sla_breached"]


def test_relevel_to_a_due_time_already_passed_breaches_and_escalates_at_once(svc, clock):
    iid = svc.runtime.start("sla_incident", {**INTEGRATION, "level": "P3"}, "alice")
    clock.advance(timedelta(minutes=90))  # seed 004_777e0ef8db92c2e8.txt: P1 within 1 h, so already late
    svc.runtime.complete(the_task(svc, iid, "Reassess"), {"level": "P1", "need_approval": False}, DESK)
    assert types(svc, iid)[-6:] == [
        "task_completed", "sla_relevelled", "sla_warning", "sla_breached", "timer_fired", "task_created",
    ]
    assert the_task(svc, iid, "Escalate")
    replayed = Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(iid)
    assert replayed.verified, replayed.divergence


def test_pause_relevel_and_breach_scenario(svc, clock):
    # seed 004_777e0ef8db92c2e8.txt: P3 4 h, P1 1 h; seed 001_4ada53786a497df7.txt §2.2.4.1: customer
    # approval time is not counted.
    late = svc.runtime.start("sla_incident", {**INTEGRATION, "level": "P3"}, "alice")
    on_time = svc.runtime.start("sla_incident", {**INTEGRATION, "level": "P1"}, "alice")
    clock.advance(timedelta(minutes=30))
    svc.runtime.complete(the_task(svc, late, "Reassess"), {"level": "P1", "need_approval": True}, DESK)
    clock.advance(timedelta(minutes=20))
    svc.runtime.complete(the_task(svc, on_time, "Resolve"), {}, ENGINEER)  # met after 50 min
    clock.set(T0 + timedelta(hours=1, seconds=1))  # the old P1 due time passes during the pause
    svc.runtime.fire_due_timers()
    assert not open_tasks(svc, late, "Escalate") and pending(svc, late)["ResolveLate"].year == 9999
    clock.set(T0 + timedelta(minutes=90))
    svc.runtime.complete(the_task(svc, late, "CustomerApproval"), {}, DESK)  # paused for 60 min
    assert pending(svc, late)["ResolveLate"] == T0 + timedelta(hours=2)
    clock.set(T0 + timedelta(minutes=105, seconds=1))  # 75 % of 1 h plus the pause
    svc.runtime.fire_due_timers()
    clock.set(T0 + timedelta(hours=2, seconds=1))
    svc.runtime.fire_due_timers()
    assert the_task(svc, late, "Escalate")
    clock.set(T0 + timedelta(minutes=130))
    svc.runtime.complete(the_task(svc, late, "Resolve"), {}, ENGINEER)
    assert [e.type for e in sla_events(svc, late)] == [
        "sla_started", "sla_paused", "sla_relevelled", "sla_resumed", "sla_warning", "sla_breached",
        "sla_stopped",
    ]
    assert sla_events(svc, late)[-1].data["business_seconds"] == 70 * 60
    with svc.store.read() as s:
        [row] = sla_report(s, datetime(2026, 3, 1, tzinfo=BJ), datetime(2026, 4, 1, tzinfo=BJ),
                           process="sla_incident")
    assert (row["count"], row["met"], row["breached"], row["pct_met"]) == (2, 1, 1, 50.0)
    assert (row["level"], row["median_seconds"], row["p90_seconds"]) == ("P1", 3600, 4200)
    replayed = Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(late)
    assert replayed.verified, replayed.divergence
    assert replayed.state["sla"][0]["state"] == "breached"
