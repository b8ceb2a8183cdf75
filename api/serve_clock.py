"""Which clock `serve` and `worker` run on, settled against what the database remembers
(`engine.clock_state`): a simulation resumes where it stopped, a start before the last recorded event
is refused, and a database is never switched between the system clock and a simulation in passing."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from engine import clock_state
from engine.clock import Clock, ManualClock, SystemClock
from engine.errors import Conflict
from engine.service import Service

SERVE_MODES = {"system": clock_state.SYSTEM, "manual": clock_state.SIMULATION}


def parse_start(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise SystemExit("--clock-start needs an offset, e.g. 2026-09-30T09:00:00+08:00")
    return moment


def clock_for(command: str, mode: str | None) -> Clock | None:
    """The clock object to build the service with; `settle` sets it once the database is read."""
    if mode == "manual":
        # A placeholder time until `settle`; nothing reads it before then.
        return ManualClock() if command == "serve" else clock_state.FollowingClock(None)
    return None


def settle(service: Service, command: str, mode: str | None, start: str | None) -> None:
    """Check the clock against the database and record it; a refusal ends the command with status 1."""
    try:
        _settle(service, command, mode, parse_start(start))
    except Conflict as exc:
        service.close()
        print(f"weibao {command}: {exc.message}", file=sys.stderr)
        raise SystemExit(1) from exc


def _settle(service: Service, command: str, mode: str | None, start: datetime | None) -> None:
    wall = SystemClock().now()
    clock = service.clock
    if isinstance(clock, clock_state.FollowingClock):
        clock.store = service.store
        state = clock_state.read(service.store)
        if state.mode != clock_state.SIMULATION:
            raise Conflict(f"this database runs on the {state.mode or 'system'} clock: there is no "
                           "simulation to follow; run the worker without --clock manual")
        clock.now()
        return
    if command == "worker" and mode is None:
        state = clock_state.read(service.store)
        if state.mode == clock_state.SIMULATION:
            raise Conflict(f"this database runs a simulation (at {_iso(state.simulated_at)}): a worker on "
                           "the real clock would fire its timers at real dates; `weibao worker --clock "
                           "manual` follows the simulation instead")
    stored_mode = SERVE_MODES[mode or "system"]
    moment = clock_state.resolve(service.store, stored_mode, start, wall)
    if isinstance(clock, ManualClock) and moment is not None:
        clock.set(moment)
        store = service.store
        clock.on_move = lambda now: clock_state.save(store, clock_state.SIMULATION, now, SystemClock().now())


def _print_state(state: clock_state.ClockState) -> None:
    simulated = state.simulated_at.isoformat() if state.simulated_at else "-"
    last = state.last_event_at.isoformat() if state.last_event_at else "-"
    print(f"mode {state.mode or 'unset'}\tsimulated {simulated}\tlast event {last}")


def cmd_clock(args: Any) -> int:
    from . import serve as serving
    from .compose import product_service

    service = product_service(settings=serving.settings_from_env())
    try:
        if args.clock_command == "mode":
            state = clock_state.switch(service.store, SERVE_MODES.get(args.mode, args.mode),
                                       parse_start(args.start), SystemClock().now())
        else:
            state = clock_state.read(service.store)
    finally:
        service.close()
    _print_state(state)
    return 0


def add_parser(sub: Any) -> None:
    group = sub.add_parser("clock", help="the clock the database runs on: show it, switch it").add_subparsers(
        dest="clock_command", required=True)
    group.add_parser("show", help="mode, simulated time, last recorded event").set_defaults(func=cmd_clock)
    mode = group.add_parser("mode", help="switch between the system clock and a simulation (explicitly)")
    mode.add_argument("mode", choices=("system", "simulation"))
    mode.add_argument("--start", help="simulation: its time, ISO 8601 with offset (default: where it was, or "
                                      "the last recorded event)")
    mode.set_defaults(func=cmd_clock)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "-"
