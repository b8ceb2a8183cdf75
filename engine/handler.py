"""Service-task handler contract.

`@handler("topic")` only attaches metadata; the engine is handed an explicit list of handlers, so what
runs is visible in one place. A handler gets a frozen `HandlerContext` and returns a dict merged into
the task data. Errors carry their own retry decision, as `HandlerError(retryable=…, retry_delay=…)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Protocol

from engine.clock import Clock
from engine.errors import EngineError, HandlerError

HANDLER_ATTR = "__weibao_topic__"
REQUIRES_ATTR = "__weibao_requires__"
FACTS_ATTR = "__weibao_reads_period__"
DATA_CHECK_ATTR = "__weibao_checks_data__"
__all__ = ["HandlerContext", "HandlerError", "HandlerRegistry", "Effects", "PeriodFacts", "WorkingDays",
           "handler", "freeze"]


def handler(topic: str, *, requires: tuple[str, ...] = (), reads_period: bool = False,
            checks_data: Callable[[Mapping[str, Any]], None] | None = None,
            ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Marks a handler for its topic. `requires` names the `camunda:properties` every service task of
    that topic must set, so a diagram lacking one is refused at deploy rather than failing at run time.
    `reads_period`: the handler reads facts across cases (`HandlerContext.facts`); only such a handler
    is given them, so every other handler stays a function of its own case. `checks_data(settings)`
    checks the data files the handler reads (raising ValueError naming the entry), run when a diagram
    using the topic is deployed, so a broken file refuses the deploy instead of failing at month end."""

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, HANDLER_ATTR, topic)
        setattr(fn, REQUIRES_ATTR, frozenset(requires))
        setattr(fn, FACTS_ATTR, reads_period)
        setattr(fn, DATA_CHECK_ATTR, checks_data)
        return fn

    return mark


@dataclass(frozen=True)
class Effects:
    """What a handler asks the engine to write in the same transaction (outbox, records, new
    instances). Recorded with the handler's result so a replay neither calls nor repeats them."""

    seed: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)

    def notify(self, channel: str, recipient: str, subject: str, body: str) -> None:
        self.items.append(
            {"kind": "outbox", "channel": channel, "recipient": recipient, "subject": subject, "body": body}
        )

    def record(self, record_id: str, kind: str, data: Mapping[str, Any]) -> None:
        self.items.append({"kind": "record", "id": record_id, "record_kind": kind, "data": dict(data)})

    def move_stock(self, part_type: str, location: str, kind: str, quantity: int, reason: str = "") -> None:
        """A stock movement the case causes; refused with the operation (409) if stock would go negative."""
        self.items.append({"kind": "stock", "part_type": part_type, "location": location, "movement": kind,
                           "quantity": quantity, "reason": reason})

    def start_process(self, process_key: str, data: Mapping[str, Any], business_key: str | None) -> str:
        """Returns the id the new instance will have, so the caller can link to it."""
        from uuid import NAMESPACE_URL, uuid5

        # Derived from the calling task, so a replay of this instance names the same child.
        new_id = str(uuid5(NAMESPACE_URL, f"weibao:{self.seed}:{len(self.items)}"))
        self.items.append(
            {
                "kind": "start",
                "id": new_id,
                "process": process_key,
                "data": dict(data),
                "business_key": business_key,
            }
        )
        return new_id


class PeriodFacts(Protocol):
    """What a period report reads across cases, from the read side, for one contract: its faults,
    SLA clocks, inspections and spare-part movements in [start, end). The handler's result records
    what it read, and a replay takes that result from the log instead of reading again."""

    def period(self, contract: str, start: datetime, end: datetime) -> dict[str, Any]: ...

    def working_days(self, calendar: str) -> WorkingDays:
        """The working calendar by name ('workdays', 'workdays@<customer>'), for plans made from it."""
        ...


class WorkingDays(Protocol):
    """Days of a working calendar: a year without data counts Monday-Friday and is provisional."""

    def is_working_day(self, day: date) -> bool: ...

    def provisional(self, year: int) -> bool: ...

    def first_day_off(self, name: str, year: int) -> date | None:
        """The first day off of the break of statutory holiday `name` (new_year, spring_festival,
        labour_day, mid_autumn, national_day) in `year`."""
        ...


@dataclass(frozen=True)
class HandlerContext:
    instance_id: str
    business_key: str | None
    process_key: str
    element_id: str
    element_name: str
    topic: str
    data: Mapping[str, Any]
    properties: Mapping[str, str]
    clock: Clock
    settings: Mapping[str, Any]
    history: Callable[[], list[dict[str, Any]]]
    effects: Effects
    # Read-only questions the engine answers from the store (`count_records`, `stock_level`): a live
    # call only, since a replay reads the recorded outcome instead of calling the handler.
    lookup: Callable[[str, Mapping[str, Any]], int | None] = field(default=lambda name, args: None)
    facts: PeriodFacts | None = None  # only for a handler marked reads_period

    @property
    def now(self) -> datetime:
        return self.clock.now()


def freeze(data: Mapping[str, Any]) -> Mapping[str, Any]:
    import copy

    return MappingProxyType(copy.deepcopy(dict(data)))


class HandlerRegistry:
    def __init__(self, handlers: Iterable[Callable[..., Any]] = ()) -> None:
        self._by_topic: dict[str, Callable[..., Any]] = {}
        for fn in handlers:
            self.add(fn)

    def add(self, fn: Callable[..., Any]) -> None:
        topic = getattr(fn, HANDLER_ATTR, None)
        if topic is None:
            raise EngineError(f"{fn!r} is not marked with @handler(topic)")
        if topic in self._by_topic and self._by_topic[topic] is not fn:
            raise EngineError(f"two handlers for topic {topic!r}")
        self._by_topic[topic] = fn

    def reads_period(self, topic: str) -> bool:
        return bool(getattr(self._by_topic.get(topic), FACTS_ATTR, False))

    def data_problem(self, topic: str, settings: Mapping[str, Any]) -> str | None:
        """What is wrong with the data files the topic's handler reads, or None."""
        check = getattr(self._by_topic.get(topic), DATA_CHECK_ATTR, None)
        if check is None:
            return None
        try:
            check(settings)
        except ValueError as exc:
            return str(exc)
        return None

    def get(self, topic: str) -> Callable[..., Any] | None:
        return self._by_topic.get(topic)

    def topics(self) -> dict[str, frozenset[str]]:
        """Each topic with the properties its service tasks must set."""
        return {topic: getattr(fn, REQUIRES_ATTR, frozenset()) for topic, fn in self._by_topic.items()}
