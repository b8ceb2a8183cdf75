"""Spare-part stock per part type and location, and the keeper's manual movements.

A movement is a `stock_adjustment` case of its own, so it is in a hash chain like every other change
(`GET /instances/{instance_id}/verify` checks it) and a replay reads it back without moving stock again.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine import Actor, policy, stock

from . import auth
from .context import weibao
from .schemas import Text, Timestamp
from .strict_json import Blueprint

blp = Blueprint("stock", __name__, url_prefix="/api/v1/stock", description="Spare-part stock")
blp.before_request(auth.authenticate)
KINDS = ("receive", "issue", "return", "write_off")


class StockArgs(ma.Schema):
    type = Text(max_length=64)
    location = Text(max_length=64)


class StockLevelSchema(ma.Schema):
    part_type = ma.fields.String(required=True)
    location = ma.fields.String(required=True)
    quantity = ma.fields.Integer(required=True)
    updated_at = Timestamp(required=True)


class MovementSchema(ma.Schema):
    id = ma.fields.Integer()
    part_type = ma.fields.String()
    location = ma.fields.String()
    kind = ma.fields.String()
    quantity = ma.fields.Integer()
    balance = ma.fields.Integer(metadata={"description": "stock of the type at the location after it"})
    instance_id = ma.fields.String(metadata={"description": "the case whose chain records the movement"})
    element_id = ma.fields.String()
    actor = ma.fields.String()
    reason = ma.fields.String()
    at = Timestamp()


class StockPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(StockLevelSchema), required=True)
    movements = ma.fields.List(ma.fields.Nested(MovementSchema), required=True)
    total = ma.fields.Integer(required=True)


class MoveBody(ma.Schema):
    part_type = Text(max_length=64, required=True, validate=[ma.validate.Length(min=1)])
    location = Text(max_length=64, required=True, validate=[ma.validate.Length(min=1)])
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    quantity = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=100_000))
    reason = Text(max_length=500, load_default="")


@blp.route("")
@blp.arguments(StockArgs(), location="query", unknown=ma.RAISE)
@blp.response(200, StockPage)
def list_stock(args: dict[str, Any]) -> Any:
    """Stock per part type and location, with the latest movements (staff; not customers)."""
    policy.require_stock_reader(auth.actor())
    with weibao().service.store.read() as session:
        items = stock.levels(session, args.get("type"), args.get("location"))
        moves = stock.movements(session, args.get("type"), args.get("location"), limit=50)
    return {"items": items, "movements": moves, "total": len(items)}


@blp.route("/movements", methods=["POST"])
@blp.arguments(MoveBody())
@blp.response(201, MovementSchema)
def move(body: dict[str, Any]) -> Any:
    """A keeper's movement: receive, issue, return or write_off. 409 when stock would go negative."""
    return record_movement(policy.require_stock_keeper(auth.actor()), body), 201


def record_movement(who: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """Starts the `stock_adjustment` case that moves the stock; its movement row, as the ledger has it."""
    service = weibao().service
    data = {"part_type": body["part_type"], "location": body["location"], "movement_kind": body["kind"],
            "quantity": body["quantity"], "reason": body["reason"]}
    instance_id = service.runtime.start("stock_adjustment", data, who,
                                        f"STOCK-{body['part_type']}@{body['location']}")
    with service.store.read() as session:
        found = [m for m in stock.movements(session, body["part_type"], body["location"], limit=20)
                 if m["instance_id"] == instance_id]
    return found[0] if found else {"instance_id": instance_id}
