"""Escalation rungs as data: a clock whose `sla_targets` row names a group (`rung_group`) tells that
group when its due time passes; `rung_action` "task" also hands the group a task.

The rung times are the clocks' targets in `sla_targets` by contract and level, so a contract without
a ladder gets none (no rule: the clock is skipped) and a re-level moves the rungs. The group travels
in the clock record, so a rung handed over with the case still fires in the instance that holds it.
The message goes to the outbox in the operation's transaction; an `sla_escalated` event records it,
and a replay, which writes no effects, produces the same event.

A task rung starts the diagram's SLA escalation event subprocess: a non-interrupting message start
event named `sla_rung` whose user task is offered to `${rung_group}`. The engine sends that message
itself (nothing waits for it, so `POST /messages` cannot), once per rung, with the group, the clock
and its target as the subprocess's data. Histories recorded before the rows carried the group name it
in the diagram's `sla.notify` (`clock=group, ...`), which still counts when the row names none.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition

from engine.bpmn.model import Element, split_pairs
from engine.bpmn.patches import MERGE_PAYLOAD
from engine.sla.hooks import OperationView

TEMPLATE = "【SLA升级】{customer}：{summary} 时限“{clock}”（{target}）已到，请{group}介入处理"
RUNG_MESSAGE = "sla_rung"
TASK = "task"


def group_for(element: Element, clock: str, result: dict[str, Any]) -> tuple[str | None, str | None]:
    """(group, action) of a rung: the table row's, else the starting element's `sla.notify` (SMS)."""
    group = result.get("rung_group") or None
    if group:
        return str(group), str(result.get("rung_action") or "sms")
    legacy = dict(split_pairs(element.properties.get("sla.notify"))).get(clock) or None
    return legacy, None


def mark(clock: dict[str, Any], group: str | None, action: str | None) -> None:
    """Keep the rung on the clock record; a clock that is no rung (any more) carries neither key."""
    for key, value in (("notify", group), ("rung", action if action == TASK else None)):
        if value:
            clock[key] = value
        else:
            clock.pop(key, None)


def escalate(op: OperationView, name: str, clock: dict[str, Any]) -> None:
    group = clock.get("notify")
    if not group:
        return
    data = op.current_data()
    body = TEMPLATE.format(customer=data.get("customer", ""), summary=data.get("summary", ""), clock=name,
                           target=clock["target"], group=group)
    op.effects.append({"kind": "outbox", "channel": "sms", "recipient": group, "subject": body,
                       "body": body, "element_id": f"sla:breach:{name}"})
    where = {"clock": name, "group": group, "channel": "sms", "due_at": clock["due_at"]}
    if clock.get("rung") == TASK:
        op.event("sla_escalated", actor="system", **where, task=_open_task(op, name, clock, group))
    else:
        op.event("sla_escalated", actor="system", **where)


def _open_task(op: OperationView, name: str, clock: dict[str, Any], group: str) -> bool:
    """Start the escalation subprocess for this rung; False when the diagram has none."""
    definition = _rung_start(op)
    if definition is None:
        return False
    payload = {"rung_group": group, "rung_clock": name, "rung_target": clock["target"],
               "rung_due_at": clock["due_at"]}
    op.wf.catch(BpmnEvent(definition, {"payload": payload, "result_var": MERGE_PAYLOAD}))
    op.sla_flags.stepping = True  # the subprocess's task is created by the next engine steps
    return True


def _rung_start(op: OperationView) -> MessageEventDefinition | None:
    for spec in op.wf.subprocess_specs.values():
        for start in getattr(spec, "bpmn_start_events", ()):
            definition = getattr(start, "event_definition", None)
            if isinstance(definition, MessageEventDefinition) and definition.name == RUNG_MESSAGE:
                return definition
    return None
