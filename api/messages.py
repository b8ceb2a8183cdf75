"""POST /messages: deliver a BPMN message to the instance waiting for it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

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

    @ma.validates_schema
    def _target(self, body: dict[str, Any], **_: Any) -> None:
        if not body.get("business_key") and not body.get("instance_id"):
            raise ma.ValidationError("give business_key or instance_id", "business_key")


class DeliveredSchema(ma.Schema):
    instance_id = ma.fields.String(required=True)


@blp.route("", methods=["POST"])
@blp.arguments(MessageSchema())
@blp.response(200, DeliveredSchema)
def deliver(body: dict[str, Any]) -> Any:
    """Correlate by business key or instance id; 409 when the instance is not waiting for it."""
    who = auth.require_writer()
    instance_id = weibao().service.runtime.correlate(body["name"], business_key=body["business_key"],
                                                     instance_id=body["instance_id"], data=body["data"],
                                                     actor=who)
    return {"instance_id": instance_id}
