"""Spare-part stock movements and the yearly spare-service quota (seed 003 l.21: 备件服务10次/年).

A movement is an effect the engine applies in the step's own transaction, refused whole (409) when it
would make the stock negative. The quota counts the contract's spare services of the Beijing calendar
year from the records this handler leaves; the contract's figures are the task's properties, so a
contract not named there has no quota and no new-product rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from engine.handler import HandlerContext, HandlerError, handler

BEIJING = ZoneInfo("Asia/Shanghai")


@handler("stock_movement")
def stock_movement(ctx: HandlerContext) -> dict[str, Any]:
    """Moves `quantity` (default 1) of the case's `part_type` at its `location`; the property `kind`
    says which movement (issue, return, receive, write_off)."""
    kind = ctx.properties.get("kind") or ctx.data.get("movement_kind")
    quantity = ctx.data.get("quantity", 1)
    part_type, location = ctx.data.get("part_type"), ctx.data.get("location")
    if not isinstance(part_type, str) or not isinstance(location, str) or not isinstance(quantity, int):
        raise HandlerError("the case names no part_type, location or quantity to move", retryable=False)
    ctx.effects.move_stock(part_type, location, str(kind), quantity, str(ctx.data.get("reason", "")))
    return {"last_stock_movement": kind}


def per_contract(text: str) -> dict[str, int]:
    """`monitoring=10, integration=2` → {"monitoring": 10, "integration": 2}."""
    pairs = (part.split("=", 1) for part in text.split(",") if "=" in part)
    return {name.strip(): int(value) for name, value in pairs}


@handler("spare_part_quota")
def spare_part_quota(ctx: HandlerContext) -> dict[str, Any]:
    contract, unit = str(ctx.data.get("contract", "")), str(ctx.data.get("unit_serial", ""))
    limit = per_contract(ctx.properties.get("quota", "")).get(contract, 0)
    new_after = per_contract(ctx.properties.get("new_product_after", "")).get(contract, 0)
    now = ctx.now.astimezone(BEIJING)
    year_start = datetime(now.year, 1, 1, tzinfo=BEIJING).isoformat()
    used = int(ctx.lookup("count_records", {"kind": "spare_service", "since": year_start,
                                            "match": {"contract": contract, "counted": True}}) or 0)
    earlier = int(ctx.lookup("count_records", {"kind": "spare_service", "since": "2000-01-01T00:00:00+08:00",
                                               "match": {"contract": contract, "unit_serial": unit}}) or 0)
    within = limit == 0 or used < limit
    record_id = "SS-" + uuid5(NAMESPACE_URL, f"{ctx.effects.seed}:spare_service").hex[:10].upper()
    ctx.effects.record(record_id, "spare_service", {
        "contract": contract, "unit_serial": unit, "part_type": ctx.data.get("part_type"), "year": now.year,
        "counted": within, "business_key": ctx.business_key, "requested_at": ctx.now.isoformat()})
    return {"spare_service_id": record_id, "quota_limit": limit, "quota_used": used + (1 if within else 0),
            "within_quota": within, "unit_failures": earlier + 1,
            "replace_with_new": bool(new_after) and bool(unit) and earlier + 1 >= new_after}
