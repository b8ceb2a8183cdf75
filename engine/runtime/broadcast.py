"""Carrying a thrown signal to every instance that waits for it and to every process it starts, inside
the transaction of the operation that threw it: the throw and its deliveries commit together, so each
waiting subscription gets the signal once, or, if the thrower's transaction fails, none does.

Each receiver is one operation of its own in a savepoint. A receiver that fails (a script error after
its catch event, a payload its catch event does not accept) is rolled back to that savepoint, and when
nobody is there to be answered (an instance threw the signal) it records `signal_failed` and opens an
incident, whose retry delivers the signal again; the thrower and the other receivers go on. A signal
sent through the API answers its caller instead when the payload is refused (422, nothing delivered).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy.orm import Session

from engine.actor import SYSTEM, Actor
from engine.bpmn.definitions import Definitions
from engine.errors import EngineError, InvalidInput
from engine.runtime import commands, signals
from engine.runtime.commands import Act
from engine.runtime.operation import Operation

MAX_DEPTH = 8  # signals thrown by receivers in answer to a signal, and so on: a loop is a modelling error


@dataclass
class Reach:
    """Who a signal reached: instances that caught it, instances it started, and instances where its
    delivery failed and an incident now waits."""

    reached: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)


class OperateIn(Protocol):
    def __call__(self, session: Session, instance_id: str,
                 actor: Actor) -> contextlib.AbstractContextManager[Operation]: ...


StartBySignal = Callable[[Session, int, Actor, dict[str, Any]], str]


class Broadcast:
    def __init__(self, definitions: Definitions, operate_in: OperateIn, start: StartBySignal) -> None:
        self.definitions = definitions
        self.operate_in = operate_in
        self.start = start
        self.depth = 0

    def after(self, session: Session, op: Operation) -> None:
        """The signals an instance's operation threw, once it is written."""
        for sent in op.signals:
            thrower = {"instance_id": op.instance_id, "process": op.loaded.process_key,
                       "element_id": sent["element_id"]}
            self.deliver(session, sent["name"], dict(sent["data"]), thrower, SYSTEM, exclude=op.instance_id)

    def deliver(self, session: Session, name: str, data: dict[str, Any], thrower: dict[str, Any],
                actor: Actor, exclude: str | None = None) -> Reach:
        reach = Reach()
        with self._nested(name):
            for instance_id in signals.receivers(self.definitions, session, name, exclude):
                self._one(session, instance_id, name, data, thrower, actor, reach)
            for version_id in signals.starters(self.definitions, session, name):
                sent = {"name": name, "data": data, "thrower": thrower}
                reach.started.append(self.start(session, version_id, actor, sent))
        return reach

    @contextlib.contextmanager
    def _nested(self, name: str) -> Iterator[None]:
        if self.depth >= MAX_DEPTH:
            raise EngineError(f"signal {name!r}: signals thrown in answer to signals nest deeper than "
                              f"{MAX_DEPTH}; a loop of signals is a modelling error")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def _one(self, session: Session, instance_id: str, name: str, data: dict[str, Any],
             thrower: dict[str, Any], actor: Actor, reach: Reach) -> None:
        act = Act("signal_received", actor, data={"signal": name, "data": data, "thrower": thrower})
        savepoint = session.begin_nested()
        try:
            with self.operate_in(session, instance_id, actor) as op:
                commands.perform(op, act)
            savepoint.commit()
        except (EngineError, SpiffWorkflowException) as exc:
            savepoint.rollback()
            if isinstance(exc, InvalidInput) and "actor" in thrower:
                raise  # the API's caller is told which field, and nothing is delivered
            self._failed(session, instance_id, act, exc)
            reach.incidents.append(instance_id)
            return
        if any(e.type == "signal_received" for e in op.events):
            reach.reached.append(instance_id)

    def _failed(self, session: Session, instance_id: str, act: Act, exc: Exception) -> None:
        message = exc.message if isinstance(exc, EngineError) else str(exc)
        element = exc.element_id if isinstance(exc, EngineError) else None
        with self.operate_in(session, instance_id, SYSTEM) as op:
            commands.perform(op, Act("signal_failed", SYSTEM, data={**act.data, "message": message},
                                     element_id=element))
