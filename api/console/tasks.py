"""The tasklist, a task's form, and the start forms (reporting a fault)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine import Actor, Conflict, Forbidden, InvalidInput, Scope, casework, policy, queries, worklist

from ..context import weibao
from . import forms, tasklist
from .session import actor


def _task_page(task_id: str, errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    service, who = weibao().service, actor()
    with service.store.snapshot() as conn:
        task = worklist.visible_task(conn, who, task_id)
        case = queries.instance(conn, Scope.of(who), task["instance_id"], service.runtime.sla)
        may_hand = _allowed(policy.check_may_reassign, task)
        people = casework.people_for(conn, task["candidate_groups"]) if may_hand else None
    posted = request.form if errors is not None and "assignee" not in errors else None
    values = forms.shown_values(task["form"], case["data"], posted)
    shown_errors = forms.field_messages(task["form"], errors or {})
    return render_template("task.html", task=task, case=case, values=values, errors=shown_errors,
                           may_work=_may_work(task), people=people,
                           reassign_error=(errors or {}).get("assignee")), status


def _allowed(rule: Callable[[Actor, policy.TaskFacts], None], task: dict[str, Any]) -> bool:
    facts = policy.TaskFacts(task["id"], task["instance_id"], task["element_id"], task["assignee"],
                             task["candidate_groups"])
    try:
        policy.require_writer(actor())
        rule(actor(), facts)
    except (Conflict, Forbidden):
        return False
    return True


def _may_work(task: dict[str, Any]) -> bool:
    return _allowed(policy.check_may_work, task)


def reassign(task_id: str) -> Any:
    """A dispatcher hands the task to a colleague; a refused name is shown at the field."""
    who = policy.require_writer(actor())
    assignee = request.form.get("assignee", "").strip()
    try:
        weibao().service.runtime.reassign(task_id, assignee, who)
    except InvalidInput as exc:
        why = _field_errors(exc).get("assignee", exc.message)
        shown = _("is not an enabled user") if why == "is not an enabled user" else \
            _("may not work on this task: not in one of its candidate groups")
        return _task_page(task_id, {"assignee": shown}, 422)
    except Conflict as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.tasklist"))
    flash(_("Task handed to %(name)s.", name=assignee), "info")
    return redirect(url_for("console.task_page", task_id=task_id))


def task_page(task_id: str) -> tuple[str, int]:
    return _task_page(task_id)


def _act(task_id: str, action: str) -> Response:
    who = policy.require_writer(actor())
    runtime = weibao().service.runtime
    try:
        (runtime.claim if action == "claim" else runtime.unclaim)(task_id, who)
    except Conflict as exc:
        flash(str(exc), "error")
    return redirect(url_for("console.task_page", task_id=task_id))


def complete(task_id: str) -> Any:
    who = policy.require_writer(actor())
    with weibao().service.store.snapshot() as conn:
        task = worklist.visible_task(conn, who, task_id)
    try:
        instance_id = weibao().service.runtime.complete(task_id, forms.data_from(task["form"], request.form),
                                                        who)
    except InvalidInput as exc:
        return _task_page(task_id, _field_errors(exc), 422)
    except Conflict as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.tasklist"))
    flash(_("Task completed: %(name)s", name=task["name"]), "info")
    return redirect(url_for("console.case", instance_id=instance_id))


def _field_errors(exc: InvalidInput) -> dict[str, str]:
    fields = dict((exc.details or {}).get("fields") or {})
    return fields or {"": exc.message}


def add_routes(blp: Blueprint) -> None:
    blp.add_url_rule("/tasks", "tasklist", tasklist.tasklist)
    blp.add_url_rule("/tasks/<task_id>", "task_page", task_page)
    blp.add_url_rule("/tasks/<task_id>/claim", "claim", lambda task_id: _act(task_id, "claim"),
                     methods=["POST"])
    blp.add_url_rule("/tasks/<task_id>/unclaim", "unclaim", lambda task_id: _act(task_id, "unclaim"),
                     methods=["POST"])
    blp.add_url_rule("/tasks/<task_id>/complete", "complete", complete, methods=["POST"])
    blp.add_url_rule("/tasks/<task_id>/reassign", "reassign", reassign, methods=["POST"])
    blp.add_url_rule("/start", "start_list", start_list)
    blp.add_url_rule("/start/<key>", "start", start, methods=["GET", "POST"])


# ----------------------------------------------------------------- starting an instance
def _start_form(key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    definitions = weibao().service.definitions
    with weibao().service.store.read() as session:
        latest = definitions.current(session, key)  # the version a start begins on
        form = definitions.load(session, latest.id).model.start_form
        return queries.version_dict(latest), [f.to_dict() for f in form]


def start_list() -> str:
    with weibao().service.store.read() as session:
        processes, _count = queries.processes(session, queries.Page(1, 100))
    return render_template("start_list.html", processes=processes)


def start(key: str) -> Any:
    who = actor()
    process, form = _start_form(key)
    errors: dict[str, str] = {}
    if request.method == "POST":
        policy.require_writer(who)
        data = forms.data_from(form, request.form)
        business_key = request.form.get("business_key", "").strip() or None
        try:
            instance_id = weibao().service.runtime.start(key, data, who, business_key)
        except InvalidInput as exc:
            errors = forms.field_messages(form, _field_errors(exc))
        else:
            flash(_("Case started."), "info")
            return redirect(url_for("console.case", instance_id=instance_id))
    values = forms.shown_values(form, {}, request.form if errors else None)
    return render_template("start.html", process=process, form=form, values=values, errors=errors,
                           business_key=request.form.get("business_key", "")), 422 if errors else 200

