"""The database remembers its clock: system time or a simulation, and the simulated time.

A simulation's timers, SLA clocks and events are dated on the simulated time line; served later with
the system clock (or the other way round) they would be fired at the wrong dates, and a simulation
restarted at an earlier time would write events dated before the ones it already has. So the mode
is stored with the first `serve` or `worker`, a simulation resumes where it stopped, a start before
the last recorded event is refused, and only `weibao clock mode` switches a database between the two.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.errors import Conflict
from engine.store.models import Base, EventRow
from engine.store.sessions import Store

SYSTEM, SIMULATION = "system", "simulation"
MODES = (SYSTEM, SIMULATION)
_ROW = 1


class ClockRow(Base):
    __tablename__ = "engine_clock"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # one row, id 1
    mode: Mapped[str] = mapped_column(String(16))
    simulated_at: Mapped[datetime | None]  # the simulation's time, saved at every move
    updated_at: Mapped[datetime]  # wall-clock time of the last change


@dataclass(frozen=True)
class ClockState:
    mode: str | None  # None: no serve or worker has run on this database since clocks were recorded
    simulated_at: datetime | None
    last_event_at: datetime | None


def _last_event(session: Session) -> datetime | None:
    found: datetime | None = session.scalar(select(func.max(EventRow.at)))
    return found


def read(store: Store) -> ClockState:
    with store.read() as session:
        row = session.get(ClockRow, _ROW)
        return ClockState(row.mode if row else None, row.simulated_at if row else None, _last_event(session))


def save(store: Store, mode: str, simulated_at: datetime | None, wall: datetime) -> None:
    with store.write() as session:
        row = session.get(ClockRow, _ROW)
        if row is None:
            session.add(ClockRow(id=_ROW, mode=mode, simulated_at=simulated_at, updated_at=wall))
        else:
            row.mode, row.simulated_at, row.updated_at = mode, simulated_at, wall


def _switch_hint(stored: str, wanted: str) -> str:
    flag = "--clock manual" if stored == SIMULATION else "--clock system"
    return (f"this database runs on the {stored} clock; serve it with {flag}, or switch it explicitly "
            f"with `weibao clock mode {wanted}`")


def resolve(store: Store, mode: str, start: datetime | None, wall: datetime) -> datetime | None:
    """The simulated start time for a `serve` or `worker` in `mode` (None for the system clock), checked
    against what the database remembers; the mode is recorded. Refusals are a Conflict, in words."""
    state = read(store)
    if state.mode is not None and state.mode != mode:
        raise Conflict(_switch_hint(state.mode, mode), details={"mode": state.mode})
    if mode == SYSTEM:
        if state.mode is None:
            save(store, SYSTEM, None, wall)
        return None
    moment = start or state.simulated_at or wall.replace(microsecond=0)
    if state.last_event_at is not None and moment < state.last_event_at:
        raise Conflict(f"the clock would start at {moment.isoformat()}, before the last recorded event "
                       f"({state.last_event_at.isoformat()}): time in a history never runs backwards",
                       details={"last_event_at": state.last_event_at.isoformat()})
    save(store, SIMULATION, moment, wall)
    return moment


def switch(store: Store, mode: str, start: datetime | None, wall: datetime) -> ClockState:
    """`weibao clock mode`: the one way to move a database between the system clock and a simulation."""
    state = read(store)
    last = state.last_event_at
    if mode == SYSTEM and last is not None and last > wall:
        raise Conflict(f"the last recorded event ({last.isoformat()}) is later than the real time: the "
                       "system clock would write events dated before it",
                       details={"last_event_at": last.isoformat()})
    moment = None
    if mode == SIMULATION:
        moment = start or max(filter(None, (last, state.simulated_at)), default=wall.replace(microsecond=0))
        if last is not None and moment < last:
            raise Conflict(f"a simulation starting at {moment.isoformat()} would begin before the last "
                           f"recorded event ({last.isoformat()})",
                           details={"last_event_at": last.isoformat()})
    save(store, mode, moment, wall)
    return read(store)


class FollowingClock:
    """The simulated time another process (`serve --clock manual`) moves, read from the database: a
    `worker --clock manual` fires what came due on the simulation's time line, never on the real one.
    Read at most every `refresh` seconds, since every operation asks for the time."""

    def __init__(self, store: Store | None, refresh: float = 0.2) -> None:
        self.store, self.refresh = store, refresh  # the store may be handed over once it exists
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._now: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._now is None or time.monotonic() - self._read_at >= self.refresh:
                if self.store is None:
                    raise RuntimeError("FollowingClock read before its store was set")
                with self.store.read() as session:
                    row = session.get(ClockRow, _ROW)
                if row is None or row.simulated_at is None:
                    raise Conflict("the database has no simulated time to follow")
                self._now, self._read_at = row.simulated_at, time.monotonic()
            return self._now
