"""Groups as data, for admins: list the known groups with the diagrams that use them, add a group."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from engine import groups

from . import auth
from .context import weibao
from .schemas import Text, Timestamp
from .strict_json import Blueprint

blp = Blueprint("groups", __name__, url_prefix="/api/v1/groups",
                description="Candidate groups (admins add; admins and process owners read)")
blp.before_request(auth.authenticate)


class GroupSchema(ma.Schema):
    name = ma.fields.String(required=True)
    defined_by = ma.fields.String(required=True, validate=validate.OneOf(("standard", "admin", "diagram")),
                                  metadata={"description": "standard: shipped; admin: added; diagram: "
                                                           "named by a deployed diagram"})
    processes = ma.fields.List(ma.fields.String(), required=True,
                               metadata={"description": "processes whose diagrams name the group"})
    members = ma.fields.Integer(required=True, metadata={"description": "users in the group"})
    created_at = Timestamp(allow_none=True, required=True)
    created_by = ma.fields.String(allow_none=True, required=True)


class GroupListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(GroupSchema), required=True)
    total = ma.fields.Integer(required=True)


class NewGroupSchema(ma.Schema):
    name = Text(max_length=128, required=True, metadata={"description": "lower-case letters, digits, _"})


@blp.route("")
@blp.response(200, GroupListSchema)
def list_groups() -> Any:
    """Every group a user may join."""
    auth.require_role("process_owner")
    items = groups.overview(weibao().service.store)
    return {"items": items, "total": len(items)}


@blp.route("/<name>")
@blp.response(200, GroupSchema)
def get_group(name: str) -> Any:
    auth.require_role("process_owner")
    return groups.overview(weibao().service.store, name)[0]


@blp.route("", methods=["POST"])
@blp.arguments(NewGroupSchema())
@blp.response(201, GroupSchema)
def add_group(body: dict[str, Any]) -> Any:
    """Define a group before any diagram names it, so that its users can be created first (admins)."""
    who = auth.require_role("admin")
    auth.require_writer()
    return groups.add(weibao().service.store, weibao().service.clock, body["name"], who.name)
