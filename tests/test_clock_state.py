"""The database remembers its clock: the mode, the simulated time, and no start before the last event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Conflict
from engine.store import clock_state
from engine.store.clock_state import SIMULATION, SYSTEM, FollowingClock

from .conftest import START, make_service
from .engine_support import TEST_HANDLERS, deploy

WALL = START + timedelta(days=300)  # the real time, far after the simulation's dates


def test_a_simulation_resumes_where_it_stopped_and_never_starts_before_its_events(db_url, clock):
    svc = make_service(db_url, clock, handlers=TEST_HANDLERS)
    try:
        assert clock_state.read(svc.store).mode is None
        assert clock_state.resolve(svc.store, SIMULATION, START, WALL) == START
        deploy(svc, "rework.bpmn")
        clock.set(START + timedelta(hours=5))
        svc.runtime.start("rework", {"summary": "at five"}, "alice")
        clock_state.save(svc.store, SIMULATION, START + timedelta(hours=6), WALL)  # the last move

        assert clock_state.resolve(svc.store, SIMULATION, None, WALL) == START + timedelta(hours=6)
        with pytest.raises(Conflict) as rewound:
            clock_state.resolve(svc.store, SIMULATION, START, WALL)
        assert "before the last recorded event (2026-03-02T06:00:00+00:00)" in rewound.value.message
        later = START + timedelta(days=1)
        assert clock_state.resolve(svc.store, SIMULATION, later, WALL) == later  # a jump ahead is fine

        with pytest.raises(Conflict) as switched:
            clock_state.resolve(svc.store, SYSTEM, None, WALL)
        assert "runs on the simulation clock" in switched.value.message
        assert "weibao clock mode system" in switched.value.message
        with pytest.raises(Conflict):  # the simulation is ahead of this "real" time
            clock_state.switch(svc.store, SYSTEM, None, START)
        state = clock_state.switch(svc.store, SYSTEM, None, WALL)
        assert (state.mode, state.simulated_at) == (SYSTEM, None)
        with pytest.raises(Conflict) as back:
            clock_state.resolve(svc.store, SIMULATION, later, WALL)
        assert "weibao clock mode simulation" in back.value.message
        with pytest.raises(Conflict):
            clock_state.switch(svc.store, SIMULATION, START, WALL)  # before the events
        resumed = clock_state.switch(svc.store, SIMULATION, None, WALL)
        assert resumed.simulated_at == START + timedelta(hours=5)  # from the last event on
    finally:
        svc.close()


def test_a_following_clock_reads_the_simulated_time(db_url, clock):
    svc = make_service(db_url, clock, handlers=TEST_HANDLERS)
    try:
        follower = FollowingClock(svc.store, refresh=0)
        with pytest.raises(Conflict):
            follower.now()
        clock_state.save(svc.store, SIMULATION, START, WALL)
        assert follower.now() == START
        clock_state.save(svc.store, SIMULATION, START + timedelta(hours=2), WALL)
        assert follower.now() == START + timedelta(hours=2)
    finally:
        svc.close()
