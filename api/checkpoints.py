"""Signed checkpoints of the chain heads: made on demand here, listed (auditors and admins)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for

from engine.audit import checkpointer

from . import auth
from .context import weibao
from .schemas import PageArgs, Timestamp, page_of
from .strict_json import Blueprint

blp = Blueprint("checkpoints", __name__, url_prefix="/api/v1/audit/checkpoints",
                description="Signed checkpoints of the audit history")
blp.before_request(auth.authenticate)


class CheckpointSchema(ma.Schema):
    number = ma.fields.Integer(required=True)
    at = Timestamp(required=True)
    instances = ma.fields.Integer(required=True, metadata={"description": "leaves under the Merkle root"})
    root = ma.fields.String(required=True, metadata={"description": "Merkle root over the instances' leaves"})
    prev_hash = ma.fields.String(required=True, metadata={"description": "hash of the previous checkpoint"})
    hash = ma.fields.String(required=True)
    key_id = ma.fields.String(required=True, metadata={"description": "which signing key"})
    signature = ma.fields.String(required=True, metadata={"description": "Ed25519, base64"})
    made_by = ma.fields.String(required=True)
    refused = ma.fields.List(ma.fields.String(), metadata={
        "description": "instances whose history no longer leads on from the previous checkpoint: kept "
                       "at their old leaf, not sealed"})


CheckpointPage = page_of(CheckpointSchema, "CheckpointPage")


@blp.route("", methods=["POST"])
@blp.response(201, CheckpointSchema, headers={"Location": {"schema": {"type": "string"},
                                                            "description": "the new checkpoint"}})
def make() -> Any:
    """Sign the heads of every instance's chain now and hand the checkpoint to the witness."""
    who = auth.require_role("auditor", "admin")
    service = weibao().service
    made = service.checkpointer.make(who.name)
    body = checkpointer.stored(service.store, made["number"]) | {"refused": made["refused"]}
    return body, 201, {"Location": url_for("checkpoints.get_checkpoint", number=made["number"])}


@blp.route("")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, CheckpointPage)
def list_checkpoints(args: dict[str, Any]) -> Any:
    """The checkpoints stored in the database, newest first."""
    auth.require_role("auditor", "admin")
    items, total = checkpointer.listing(weibao().service.store, args["page"], args["per_page"])
    return {"items": items, "total": total}


@blp.route("/<int(max=2147483647):number>")
@blp.response(200, CheckpointSchema)
def get_checkpoint(number: int) -> Any:
    """One stored checkpoint."""
    auth.require_role("auditor", "admin")
    return checkpointer.stored(weibao().service.store, number)
