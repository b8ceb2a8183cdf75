"""The tamper-evident history of an instance, and its verification."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine import queries

from . import auth
from .context import weibao
from .schemas import PageArgs, Timestamp, page_of
from .strict_json import Blueprint

blp = Blueprint("history", __name__, url_prefix="/api/v1/instances", description="Audit history")
blp.before_request(auth.authenticate)


class EventSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    type = ma.fields.String(required=True)
    at = Timestamp(required=True)
    actor = ma.fields.String(allow_none=True, required=True)
    element_id = ma.fields.String(allow_none=True, required=True)
    task_id = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(required=True)
    prev_hash = ma.fields.String(required=True)
    hash = ma.fields.String(required=True, metadata={"description": "sha256(prev_hash + canonical event)"})


class CheckpointRefSchema(ma.Schema):
    number = ma.fields.Integer(required=True)
    at = ma.fields.String(required=True)
    hash = ma.fields.String(required=True)
    instances = ma.fields.Integer(required=True)


CHECKPOINT_DOC = "the newest signed checkpoint in the witness file compared with; null without a witness"


class VerifySchema(ma.Schema):
    verified = ma.fields.Boolean(required=True)
    first_bad_seq = ma.fields.Integer(allow_none=True, required=True)
    events = ma.fields.Integer(required=True)
    checkpoint = ma.fields.Nested(CheckpointRefSchema, allow_none=True, required=True,
                                  metadata={"description": CHECKPOINT_DOC})
    problems = ma.fields.List(ma.fields.String(), required=True)


class HistoryArgs(PageArgs):
    per_page = ma.fields.Integer(load_default=500, validate=ma.validate.Range(min=1, max=5000))


EventPage = page_of(EventSchema, "EventPage")


@blp.route("/<instance_id>/history")
@blp.arguments(HistoryArgs(), location="query")
@blp.response(200, EventPage)
def history(args: dict[str, Any], instance_id: str) -> Any:
    """The instance's events in order, with their hash chain."""
    with weibao().service.store.read() as session:
        queries.visible_instance(session, auth.scope(), instance_id)
        items, total = queries.history(session, instance_id, queries.Page(**args))
    return {"items": items, "total": total}


@blp.route("/<instance_id>/verify")
@blp.response(200, VerifySchema)
def verify(instance_id: str) -> Any:
    """Recompute the hash chain and compare it with the newest signed checkpoint: the first event that
    was altered, removed or inserted, if any, even when the chain was recomputed after the change."""
    from engine.audit.verify import verify_instance

    service = weibao().service
    with service.store.read() as session:
        queries.visible_instance(session, auth.scope(), instance_id)
    return verify_instance(service.store, instance_id, service.settings)


class ReplayArgs(ma.Schema):
    upto = ma.fields.Integer(
        validate=ma.validate.Range(min=1), metadata={"description": "state after event N"}
    )


class ReplaySchema(ma.Schema):
    verified = ma.fields.Boolean(required=True)
    events = ma.fields.Integer(required=True)
    divergence = ma.fields.Dict(
        allow_none=True, metadata={"description": "seq, element_id, expected, actual"}
    )
    state = ma.fields.Dict(allow_none=True, metadata={"description": "with ?upto: open_tasks, data, sla"})


@blp.route("/<instance_id>/replay")
@blp.arguments(ReplayArgs(), location="query")
@blp.response(200, ReplaySchema)
def replay(args: dict[str, Any], instance_id: str) -> Any:
    """Rebuild the instance from its pinned definition and recorded inputs, comparing state digests;
    with `upto=N`, the instance as it stood after event N."""
    from engine.audit.replay import Replayer

    service = weibao().service
    with service.store.read() as session:
        queries.visible_instance(session, auth.scope(), instance_id)
    result = Replayer(service.store, service.definitions, service.runtime.sla, service.settings).replay(
        instance_id, args.get("upto")
    )
    body: dict[str, Any] = {
        "verified": result.verified,
        "events": result.events,
        "divergence": result.divergence,
    }
    if args.get("upto") is not None:
        body["state"] = result.state
    return body


audit_blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit across instances")
audit_blp.before_request(auth.authenticate)


class VerifyAllSchema(ma.Schema):
    instances = ma.fields.Integer(required=True)
    verified = ma.fields.Integer(required=True)
    failed = ma.fields.List(ma.fields.Dict(), required=True, metadata={
        "description": "instance_id, first_bad_seq (and problems with a witness); a deleted instance too"})
    checkpoint = ma.fields.Nested(CheckpointRefSchema, allow_none=True, required=True,
                                  metadata={"description": CHECKPOINT_DOC})
    problems = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "the witness itself: unreadable, a line not signed or not chained"})


@audit_blp.route("/verify")
@audit_blp.response(200, VerifyAllSchema)
def verify_all() -> Any:
    """Recompute every instance's hash chain and compare with the newest signed checkpoint; lists the
    instances whose history differs, and those the checkpoint has that the database lost."""
    from engine.audit.verify import verify_all as verify_everything

    auth.require_role("auditor", "admin")
    return verify_everything(weibao().service.store, weibao().service.settings)
