"""`start_process`: open a linked instance (a P1 fault opens an incident; an inspection anomaly or a
new problem found in the 5-minute talk opens a new fault repair)."""

from __future__ import annotations

from typing import Any

from engine.handler import HandlerContext, HandlerError, handler


@handler("start_process", requires=("process",))
def start_process(ctx: HandlerContext) -> dict[str, Any]:
    process = ctx.properties.get("process")
    if not process:
        raise HandlerError("start_process: property 'process' is required", retryable=False)
    keys = [k.strip() for k in ctx.properties.get("pass", "").split(",") if k.strip()]
    data = {k: ctx.data[k] for k in keys if ctx.data.get(k) is not None}
    link = ctx.properties.get("link_as")
    if link:
        data[link] = ctx.instance_id
    new_id = ctx.effects.start_process(process, data, ctx.business_key)
    return {f"{process}_instance_id": new_id}
