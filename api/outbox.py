"""Notifications written by the processes (the outbox a mail/SMS relay would drain)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine import queries

from . import auth
from .context import weibao
from .schemas import PageArgs, Text, Timestamp, page_of
from .strict_json import Blueprint

blp = Blueprint("outbox", __name__, url_prefix="/api/v1/outbox", description="Notifications")
blp.before_request(auth.authenticate)


class OutboxSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    instance_id = ma.fields.String(required=True)
    element_id = ma.fields.String(required=True)
    channel = ma.fields.String(required=True)
    recipient = ma.fields.String(required=True)
    subject = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    created_at = Timestamp(required=True)


class OutboxArgs(PageArgs):
    instance = Text(max_length=36)


OutboxPage = page_of(OutboxSchema, "OutboxPage")


@blp.route("")
@blp.arguments(OutboxArgs(), location="query")
@blp.response(200, OutboxPage)
def list_outbox(args: dict[str, Any]) -> Any:
    """Notifications in the order they were written (not for customers)."""
    auth.require_staff()
    page = queries.Page(args["page"], args["per_page"])
    with weibao().service.store.read() as session:
        items, total = queries.outbox(session, page, instance_id=args.get("instance"))
    return {"items": items, "total": total}
