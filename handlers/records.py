"""Spare-part requests, vendor cases and replacement machines: records with their own ids."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid5

from engine.handler import HandlerContext, handler

FIELDS = ("summary", "customer", "contract", "level", "site", "part", "part_type", "model", "reason")


def _record(ctx: HandlerContext, kind: str, prefix: str) -> dict[str, Any]:
    # Derived from instance and step, so a retried or replayed call names the same record.
    suffix = uuid5(NAMESPACE_URL, f"{ctx.effects.seed}:{kind}").hex[:10].upper()
    record_id = f"{prefix}-{suffix}"
    payload = {k: ctx.data[k] for k in FIELDS if k in ctx.data}
    payload.update(
        {"requested_at": ctx.now.isoformat(), "element_id": ctx.element_id, "business_key": ctx.business_key}
    )
    payload.update({k: v for k, v in ctx.properties.items() if not k.startswith("sla.")})
    ctx.effects.record(record_id, kind, payload)
    return {f"{kind}_id": record_id}


@handler("spare_part_request")
def spare_part_request(ctx: HandlerContext) -> dict[str, Any]:
    return _record(ctx, "spare_part_request", "SP")


@handler("vendor_case")
def vendor_case(ctx: HandlerContext) -> dict[str, Any]:
    return _record(ctx, "vendor_case", "VC")


@handler("replacement_machine")
def replacement_machine(ctx: HandlerContext) -> dict[str, Any]:
    return _record(ctx, "replacement_machine", "RM")
