"""What a deploy refuses in an element's SLA properties: entries that could never start, stop or time
their clock (a field the form lacks, a stop on a step nobody claims)."""

from __future__ import annotations

from engine.bpmn.model import Element, split_pairs


def _field_entries(el: Element, key: str, fields: set[str], what: str) -> list[str]:
    return [f"{key} entry {clock}={name}: write clock=field, the field one of this element's {what} "
            f"({sorted(fields) or 'none'})"
            for clock, name in split_pairs(el.properties.get(key)) if not clock or name not in fields]


def _start_if(el: Element, fields: set[str]) -> list[str]:
    """`clock=field` (the form gave it) or `clock=field:value` (it has that value)."""
    problems = []
    for clock, condition in split_pairs(el.properties.get("sla.start_if")):
        name, _, value = condition.partition(":")
        if not clock or name not in fields or (":" in condition and not value):
            problems.append(f"sla.start_if entry {clock}={condition}: write clock=field or "
                            f"clock=field:value, the field one of this element's form fields "
                            f"({sorted(fields) or 'none'})")
    return problems


def sla_problems(el: Element) -> list[str]:
    fields = {f.id for f in el.form}
    dates = {f.id for f in el.form if f.type == "date"}
    problems = _field_entries(el, "sla.stop_if", fields, "form fields")
    problems += _field_entries(el, "sla.due_before", dates, "date fields")
    problems += _field_entries(el, "sla.start_from", dates, "date fields")
    problems += _field_entries(el, "sla.stop_at", dates, "date fields")
    problems += _start_if(el, fields)
    for clock, group in split_pairs(el.properties.get("sla.notify")):
        if not clock or not group:
            problems.append(f"sla.notify entry {clock}={group}: write clock=group")
    if el.properties.get("sla.hand_over") and el.topic != "start_process":
        problems.append("sla.hand_over needs a start_process service task (the case goes on in the "
                        "instance it starts)")
    if el.properties.get("sla.stop_on_claim") and el.kind != "userTask":
        problems.append("sla.stop_on_claim needs a user task (only those are claimed)")
    return problems
