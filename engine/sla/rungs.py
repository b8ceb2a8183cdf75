"""Escalation rungs as data: a clock whose starting element names a group for it in `sla.notify`
(`clock=group, ...`) tells that group when its due time passes.

The rung times are the clocks' targets in `sla_targets` by contract and level, so a contract without
a ladder gets none (no rule: the clock is skipped) and a re-level moves the rungs. The group travels
in the clock record, so a rung handed over with the case still fires in the instance that holds it.
The message goes to the outbox in the operation's transaction; an `sla_escalated` event records it,
and a replay, which writes no effects, produces the same event.
"""

from __future__ import annotations

from typing import Any

from engine.bpmn.model import Element, split_pairs
from engine.sla.hooks import OperationView

TEMPLATE = "【SLA升级】{customer}：{summary} 时限“{clock}”（{target}）已到，请{group}介入处理"


def group_for(element: Element, clock: str) -> str | None:
    return dict(split_pairs(element.properties.get("sla.notify"))).get(clock) or None


def escalate(op: OperationView, name: str, clock: dict[str, Any]) -> None:
    group = clock.get("notify")
    if not group:
        return
    data = op.current_data()
    body = TEMPLATE.format(customer=data.get("customer", ""), summary=data.get("summary", ""), clock=name,
                           target=clock["target"], group=group)
    op.effects.append({"kind": "outbox", "channel": "sms", "recipient": group, "subject": body,
                       "body": body, "element_id": f"sla:breach:{name}"})
    op.event("sla_escalated", actor="system", clock=name, group=group, channel="sms", due_at=clock["due_at"])
