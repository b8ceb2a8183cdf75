"""The auditor's page: the hash chain verified, and the case replayed to event N."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from engine import Scope, policy, queries

from ..context import weibao
from .cases import _history, visited
from .session import actor


def _auditor() -> None:
    policy.require_role(actor(), "auditor", "admin")


def audit_list() -> str:
    _auditor()
    with weibao().service.store.read() as session:
        items, total = queries.instances(session, Scope.of(actor()), queries.Page(1, 100))
    return render_template("audit_list.html", cases=items, total=total)


def _upto(events: int) -> int | None:
    raw = request.args.get("upto", "")
    if not raw.strip().isdigit():
        return None
    return min(max(int(raw), 1), max(events, 1))


def audit_case(instance_id: str) -> str:
    from engine.audit.replay import Replayer
    from engine.audit.verify import verify_instance

    _auditor()
    service = weibao().service
    with service.store.read() as session:
        queries.visible_instance(session, Scope.of(actor()), instance_id)
    # the API's verdict: the chain, its head and the newest signed checkpoint
    check = verify_instance(service.store, instance_id, service.settings)
    upto = _upto(check["events"])
    result = Replayer(service.store, service.definitions, service.runtime.sla, service.settings).replay(
        instance_id, upto)
    state: dict[str, Any] = result.state or {}
    events = _history(instance_id, upto)
    open_elements = {t["element_id"] for t in state.get("open_tasks", [])}
    marks = {"done": visited(events, open_elements), "open": sorted(open_elements)}
    return render_template("audit.html", instance_id=instance_id, check=check, replay=result, upto=upto,
                           state=state, events=events, marks=marks)


def add_routes(blp: Blueprint) -> None:
    blp.add_url_rule("/audit", "audit_list", audit_list)
    blp.add_url_rule("/audit/<instance_id>", "audit_case", audit_case)
