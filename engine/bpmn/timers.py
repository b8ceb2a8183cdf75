"""Timers: SpiffWorkflow's deadlines (ISO strings in a task's internal data), and the start timers' schedule,
checked at deploy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn import cron
from engine.durations import Duration, add_duration, parse_duration
from engine.errors import InvalidInput


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def timer_due(task: Any) -> datetime | None:
    definition = getattr(task.task_spec, "event_definition", None)
    inner = getattr(definition, "event_definitions", None)  # an event-based gateway waits on its events'
    if not isinstance(definition, TimerEventDefinition) and not any(
            isinstance(d, TimerEventDefinition) for d in inner or ()):
        return None
    value = task.internal_data.get("event_value")
    if value is None:
        return None
    if isinstance(value, dict):
        return _parse(value["next"]) if value.get("cycles", 0) != 0 else None
    text = str(value)
    if text.upper().startswith("P"):
        return None  # an unevaluated duration; SpiffWorkflow turns it into a date on first refresh
    return _parse(text)


# Cron start cycles read as the contracts do, in Beijing time.
CRON_TZ = ZoneInfo("Asia/Shanghai")


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("needs an offset such as +08:00")
    moment.astimezone(UTC)  # raises OverflowError for instants with no UTC time
    return moment


def _positive(period: str) -> Duration:
    d = parse_duration(period)
    if d.total_months == 0 and timedelta(weeks=d.weeks, days=d.days) + d.time_part <= timedelta(0):
        raise ValueError(f"the period {period!r} moves nothing; a cycle needs a period longer than zero")
    return d


@dataclass(frozen=True)
class Cycle:
    """`R[n]/start/period`: n repetitions (unbounded without n) from `start`, `period` apart."""

    count: int
    start: datetime
    period: str
    duration: Duration

    @classmethod
    def parse(cls, text: str, deployed_at: datetime) -> Cycle:
        """`R[n]/start/period`, or `R[n]/period` as Camunda reads it: the first time one period after
        the deploy."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not parts[0].upper().startswith("R"):
            raise ValueError("a start cycle is R[n]/start/period or R[n]/period, e.g. "
                             "R/2026-01-25T09:00:00+08:00/P1M or R3/PT10M")
        repeat, period = parts[0][1:], parts[-1]
        if repeat and not repeat.isdigit():
            raise ValueError(f"the repetition count {repeat!r} is not a whole number")
        duration = _positive(period)
        start = _moment(parts[1]) if len(parts) == 3 else add_duration(deployed_at, period)
        return cls(int(repeat) if repeat else -1, start, period, duration)

    def _first_candidate(self, after: datetime) -> int:
        # Jumps close to `after` instead of stepping from the start: a short period from long ago
        # would otherwise take millions of steps.
        if after <= self.start:
            return 0
        if self.duration.total_months:
            months = (after.year - self.start.year) * 12 + after.month - self.start.month
            return max(0, months // self.duration.total_months - 1)
        step = timedelta(weeks=self.duration.weeks, days=self.duration.days) + self.duration.time_part
        return max(0, int((after - self.start) / step) - 1)

    def due_after(self, after: datetime) -> datetime | None:
        step = self._first_candidate(after)
        while self.count < 0 or step < self.count:
            moment = add_duration(self.start, self.period, step)
            if moment > after:
                return moment
            step += 1
        return None


def _cron(text: str) -> Any:
    return cron.trigger(text, CRON_TZ)


def next_due(expression: str, after: datetime, deployed_at: datetime) -> datetime | None:
    """The next due time after `after` of a start timer, `kind:text` as `ProcessModel.start_timer`."""
    kind, _, text = expression.partition(":")
    text = text.strip()
    if kind == "timeDate":
        moment = _moment(text)
        return moment if moment > after else None
    if kind == "timeDuration":
        moment = add_duration(deployed_at, text)
        return moment if moment > after else None
    if text.upper().startswith("R"):
        return Cycle.parse(text, deployed_at).due_after(after)
    # APScheduler answers times at or after its argument; a due time is strictly after `after`, or a
    # fired start would find itself due again.
    return _cron(text).get_next_fire_time(None, after + timedelta(microseconds=1))  # type: ignore[no-any-return]


def start_timer_problem(expression: str) -> str | None:
    """Why a timer start event cannot be scheduled, or None. Checked at deploy: nothing evaluates a
    start timer's expression, so it must be a literal date, duration, cycle or 5-field cron."""
    kind, _, text = expression.partition(":")
    text = text.strip()
    if "${" in text or "#{" in text:
        return f"a timer start event takes a literal {kind}, not an expression: {text!r}"
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        return (f"{kind} {text!r}: write the literal without quotes, as the Camunda Modeler does: "
                f"{text[1:-1]}")
    try:
        if kind == "timeDate":
            _moment(text)
        elif kind == "timeDuration":
            parse_duration(text)
        elif text.upper().startswith("R"):
            Cycle.parse(text, datetime(2000, 1, 1, tzinfo=UTC))  # the form only: no deploy time yet
        else:
            _cron(text)
    except InvalidInput as exc:
        return f"{kind} {text!r}: {exc.message}"
    except (ValueError, OverflowError) as exc:
        return f"{kind} {text!r}: {exc}"
    return None


def looks_literal(text: str) -> bool:
    """A timer text meant as a literal (a date, a duration, a cycle, a cron line), however malformed:
    the timer checks name its problem; only the rest is code for the sandbox."""
    t = text.strip()
    if not t or "${" in t or "#{" in t:
        return False
    return t[:1].isdigit() or t[:1] == "*" or (t[:1].upper() in "PR" and t[1:2].upper() in "0123456789/TX")


def literal_timer_problem(kind: str, text: str) -> str | None:
    """The same for a literal on an intermediate or boundary timer (expressions are checked where
    they are evaluated)."""
    text = text.strip()
    if not text or "${" in text or "#{" in text or not text[:1].isalnum():
        return None
    try:
        if kind == "timeDate" and text[:1].isdigit():
            _moment(text)
        elif kind == "timeDuration" and text.upper().startswith("P"):
            parse_duration(text)
        elif kind == "timeCycle" and text.upper().startswith("R"):
            _positive(text.split("/")[-1])
    except InvalidInput as exc:
        return f"{kind} {text!r}: {exc.message}"
    except (ValueError, OverflowError) as exc:
        return f"{kind} {text!r}: {exc}"
    return None
