"""A case: its diagram with the path taken and the open tasks, its SLA clocks, its timeline."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from engine import Scope, queries

from ..context import weibao
from .session import actor

TIMELINE_LIMIT = 500


def visited(events: list[dict[str, Any]], open_elements: set[str]) -> list[str]:
    """Elements the case has passed through, in order, the open ones left to be marked as open."""
    seen: list[str] = []
    for event in events:
        element = event.get("element_id")
        if element and element not in seen and element not in open_elements:
            seen.append(element)
    return seen


def _history(instance_id: str, upto: int | None = None) -> list[dict[str, Any]]:
    with weibao().service.store.read() as session:
        queries.visible_instance(session, Scope.of(actor()), instance_id)
        items, _total = queries.history(session, instance_id, queries.Page(1, TIMELINE_LIMIT))
    return items if upto is None else [e for e in items if e["seq"] <= upto]


def case(instance_id: str) -> str:
    service = weibao().service
    with service.store.snapshot() as conn:
        detail = queries.instance(conn, Scope.of(actor()), instance_id, service.runtime.sla)
    events = _history(instance_id)
    open_elements = {t["element_id"] for t in detail["open_tasks"]}
    marks = {"done": visited(events, open_elements), "open": sorted(open_elements)}
    return render_template("case.html", case=detail, events=events, marks=marks)


def cases() -> str:
    status = request.args.get("status") or None
    q = request.args.get("q", "").strip()[:255]
    with weibao().service.store.read() as session:
        items, total = queries.instances(session, Scope.of(actor()), queries.Page(1, 100), status=status,
                                         q=q or None)
    return render_template("cases.html", cases=items, total=total, status=status or "", q=q)


def diagram(instance_id: str) -> Response:
    """The BPMN file of the case's own version, for bpmn-js; the API's copy needs a bearer token."""
    service = weibao().service
    with service.store.snapshot() as conn:
        detail = queries.instance(conn, Scope.of(actor()), instance_id)
    with service.store.read() as session:
        _name, content = queries.diagram(session, detail["process"], detail["version"])
    return Response(content, mimetype="application/xml")


def add_routes(blp: Blueprint) -> None:
    blp.add_url_rule("/cases", "cases", cases)
    blp.add_url_rule("/cases/<instance_id>", "case", case)
    blp.add_url_rule("/cases/<instance_id>/diagram.xml", "diagram", diagram)
