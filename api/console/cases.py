"""A case: its diagram with the path taken and the open tasks, its SLA clocks, its timeline, its
incidents (with a retry for process owners) and the cases linked to it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from engine import NotFound, Scope, policy, queries

from .. import pdf
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
    service, who = weibao().service, actor()
    with service.store.snapshot() as conn:
        detail = queries.instance(conn, Scope.of(who), instance_id, service.runtime.sla)
    events = _history(instance_id)
    open_elements = {t["element_id"] for t in detail["open_tasks"]}
    marks = {"done": visited(events, open_elements), "open": sorted(open_elements)}
    with service.store.read() as session:
        links = queries.linked(session, Scope.of(who), instance_id, detail.get("parent_instance_id"))
        incidents = queries.incidents(session, queries.Page(1, 50), instance_id=instance_id)[0] \
            if policy.is_staff(who) else []
        documents = queries.documents(session, Scope.of(who), instance_id)
    return render_template("case.html", case=detail, events=events, marks=marks, links=links,
                           incidents=incidents, may_retry=policy.has_role(who, "process_owner"),
                           documents=documents)


def document_page(instance_id: str, document_id: str) -> str:
    with weibao().service.store.read() as session:
        found = queries.document(session, Scope.of(actor()), document_id)
    if found["instance_id"] != instance_id:
        raise NotFound(f"no document {document_id} in case {instance_id}")
    return render_template("document.html", doc=found, instance_id=instance_id)


def document_pdf(instance_id: str, document_id: str) -> Response:
    """The document as the API's ?format=pdf gives it; the API's copy needs a bearer token."""
    with weibao().service.store.read() as session:
        found = queries.document(session, Scope.of(actor()), document_id)
    if found["instance_id"] != instance_id or "pdf" not in found["formats"]:
        raise NotFound(f"no PDF of document {document_id} in case {instance_id}")
    response = Response(pdf.render(found["html"], pdf.margins(found)), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{document_id}.pdf"'
    return response


def retry(instance_id: str, incident_id: int) -> WerkzeugResponse:
    """Runs the failed step again (process owners and admins, as the API)."""
    who = policy.require_role(actor(), "process_owner")
    weibao().service.runtime.retry_incident(incident_id, who)
    return redirect(url_for("console.case", instance_id=instance_id))


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
    blp.add_url_rule("/cases/<instance_id>/documents/<document_id>", "document", document_page)
    blp.add_url_rule("/cases/<instance_id>/documents/<document_id>.pdf", "document_pdf", document_pdf)
    blp.add_url_rule("/cases/<instance_id>/incidents/<int:incident_id>/retry", "retry", retry,
                     methods=["POST"])
