"""The only place that reads the wall clock.

Everything that needs "now" (timers, SLA clocks, event times, SpiffWorkflow internals) asks the clock
object handed to the engine. Tests and the rehearsal mode use `ManualClock` and move it explicitly.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; thread-safe so the scheduler and requests agree."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        # Told the new time after each move: `serve --clock manual` saves it, so a restart resumes there.
        self.on_move: Callable[[datetime], None] | None = None

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("clock time must be timezone-aware")
        with self._lock:
            self._now = moment.astimezone(UTC)
            now = self._now
        return self._moved(now)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock does not move backwards")
        with self._lock:
            self._now = self._now + delta
            now = self._now
        return self._moved(now)

    def _moved(self, now: datetime) -> datetime:
        if self.on_move is not None:
            self.on_move(now)
        return now


_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("weibao_clock", default=None)


def current_clock() -> Clock:
    """The clock of the engine operation running in this context.

    Raising instead of falling back to the wall clock keeps stray time reads visible.
    """
    clock = _current.get()
    if clock is None:
        raise RuntimeError("no engine clock is active in this context")
    return clock


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


def to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime; every time in Weibao carries an offset")
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """Fixed ISO 8601 form used in events and hashes: UTC, microseconds, explicit offset."""
    return to_utc(moment).isoformat(timespec="microseconds")
