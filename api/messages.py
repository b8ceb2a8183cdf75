"""POST /messages: deliver a BPMN message to the instance waiting for it, or start the process it starts."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for

from . import auth
from .context import weibao
from .schemas import Text
from .strict_json import Blueprint

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages", description="BPMN messages")
blp.before_request(auth.authenticate)


class MessageSchema(ma.Schema):
    name = Text(max_length=255, required=True, metadata={"description": "the message name in the diagram"})
    business_key = Text(max_length=255, allow_none=True, load_default=None)
    instance_id = Text(max_length=36, allow_none=True, load_default=None)
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)


class DeliveredSchema(ma.Schema):
    instance_id = ma.fields.String(required=True)
    started = ma.fields.Boolean(required=True,
                                metadata={"description": "true: the message started this instance"})


@blp.route("", methods=["POST"])
@blp.arguments(MessageSchema())
@blp.response(200, DeliveredSchema, description="Delivered to the instance waiting for it")
@blp.alt_response(201, schema=DeliveredSchema, description="Started an instance of the process whose "
                  "message start event catches it", headers={"Location": {"schema": {"type": "string"}}})
def deliver(body: dict[str, Any]) -> Any:
    """Correlate by instance id or business key to the instance waiting for the message; when no
    instance waits for it and a process starts on it (a message start event), start that process with
    the message's data. 409 when the instance found is not waiting for it."""
    who = auth.require_writer()
    instance_id, started = weibao().service.runtime.correlate_or_start(
        body["name"], business_key=body["business_key"], instance_id=body["instance_id"], data=body["data"],
        actor=who)
    if started:
        return ({"instance_id": instance_id, "started": True}, 201,
                {"Location": url_for("instances.get_instance", instance_id=instance_id)})
    return {"instance_id": instance_id, "started": False}
