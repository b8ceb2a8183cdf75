"""The simulation clock (`weibao serve --clock manual`): read it, or move it and fire what came due.

The blueprint is only registered when the service runs on a manual clock, so on a production service
these routes do not exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import marshmallow as ma

from engine.clock import ManualClock
from engine.durations import add_duration
from engine.errors import InvalidInput

from . import auth
from .context import weibao
from .schemas import Text, Timestamp
from .strict_json import Blueprint

blp = Blueprint("clock", __name__, url_prefix="/api/v1/clock", description="Simulation clock")
blp.before_request(auth.authenticate)

# A rehearsal may jump months ahead; every firing is one transaction, so this bounds one request.
MAX_ROUNDS = 10_000
# Rehearsals cover contract periods; far jumps only reach years without calendar data or overflow dates.
MAX_JUMP = timedelta(days=3660)


class MoveSchema(ma.Schema):
    advance = Text(max_length=64, metadata={"description": "ISO 8601 duration, e.g. PT3H or P1D"})
    set = Timestamp(metadata={"description": "absolute time with offset; never earlier than now"})

    @ma.validates_schema
    def _one(self, body: dict[str, Any], **_: Any) -> None:
        if ("advance" in body) == ("set" in body):
            raise ma.ValidationError("give exactly one of advance or set", "advance")


class ClockSchema(ma.Schema):
    now = Timestamp(required=True)
    fired = ma.fields.Integer(metadata={"description": "timer firings done while moving the clock"})


def _clock() -> ManualClock:
    clock = weibao().service.clock
    assert isinstance(clock, ManualClock)  # registered only for a manual clock
    return clock


def _target(body: dict[str, Any], now: datetime) -> datetime:
    if "set" in body:
        moment: datetime = body["set"]
    else:
        try:
            moment = add_duration(now, body["advance"])
        except (InvalidInput, ValueError, OverflowError) as exc:
            fields = {"advance": "must be an ISO 8601 duration like PT3H"}
            raise InvalidInput("advance is not an ISO 8601 duration", details={"fields": fields}) from exc
    field = "set" if "set" in body else "advance"
    if moment < now:
        raise InvalidInput("the clock does not move backwards",
                           details={"fields": {field: f"must not be before {now.isoformat()}"}})
    if moment - now > MAX_JUMP:
        raise InvalidInput("the clock moves at most ten years at once",
                           details={"fields": {field: "must be within ten years of now"}})
    return moment


def fire_all() -> int:
    runtime = weibao().service.runtime
    fired = 0
    for _ in range(MAX_ROUNDS):
        batch = runtime.fire_due_timers()
        if batch == 0:
            break
        fired += batch
    return fired


@blp.route("")
@blp.response(200, ClockSchema)
def read() -> Any:
    """The simulated time."""
    return {"now": _clock().now()}


@blp.route("", methods=["POST"])
@blp.arguments(MoveSchema())
@blp.response(200, ClockSchema)
def move(body: dict[str, Any]) -> Any:
    """Move time forward (admins, process owners) and fire every timer that came due before answering."""
    auth.require_role("process_owner")
    clock = _clock()
    clock.set(_target(body, clock.now()))
    return {"now": clock.now(), "fired": fire_all()}
