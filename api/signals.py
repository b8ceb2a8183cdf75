"""POST /signals: throw a BPMN signal to every instance waiting for it and start every process whose
current version starts on it (a signal start event), as Camunda 7 broadcasts signals."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine import policy

from . import auth
from .context import weibao
from .schemas import Text
from .strict_json import Blueprint

blp = Blueprint("signals", __name__, url_prefix="/api/v1/signals", description="BPMN signals")
blp.before_request(auth.authenticate)


class SignalSchema(ma.Schema):
    name = Text(max_length=255, required=True, metadata={"description": "the signal name in the diagram"})
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict,
                          metadata={"description": "the payload, as the catching events declare it"})


class ReachSchema(ma.Schema):
    reached = ma.fields.Integer(required=True, metadata={"description": "instances that caught the signal"})
    instances = ma.fields.List(ma.fields.String(), required=True,
                               metadata={"description": "the instances that caught it"})
    started = ma.fields.List(ma.fields.String(), required=True,
                             metadata={"description": "instances its signal start events started"})
    incidents = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "instances where the step after the catch failed: an incident waits there"})


@blp.route("", methods=["POST"])
@blp.arguments(SignalSchema())
@blp.response(200, ReachSchema, description="Delivered (possibly to nobody: reached 0)")
@blp.alt_response(201, schema=ReachSchema, description="Delivered, and started at least one instance")
def throw(body: dict[str, Any]) -> Any:
    """Every waiting intermediate or boundary signal event of every running instance catches it, once;
    422 naming the field and element when a catching event's declared payload refuses the data
    (nothing is delivered then). Staff only: a signal reaches every customer's cases."""
    who = policy.check_may_signal(auth.actor())
    reach = weibao().service.runtime.signal(body["name"], body["data"], actor=who)
    answer = {"reached": len(reach.reached), "instances": reach.reached, "started": reach.started,
              "incidents": reach.incidents}
    return (answer, 201) if reach.started else answer
