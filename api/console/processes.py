"""Process owners' pages: upload diagrams (the validation problems listed per element), each process's
versions with their running instances, activate, suspend, resume, the migration dry run, the migration
itself and its revert.

The pages call what the API calls (`runtime.deploy`, `runtime.versions`) and `engine.policy` decides;
these pages are for process owners and admins, as the API's changes are.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine import Actor, DefinitionInvalid, InvalidInput, NotFound, policy, queries

from .. import deploying
from ..context import weibao
from .session import actor

MAX_FILES = 50
ACTS = {"activate": "activated", "suspend": "suspended", "resume": "resumed"}


def _owner() -> Actor:
    return policy.require_process_owner(actor())


def by_element(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems grouped by file and element, in the order they were found: one entry per element."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for problem in errors:
        where = (problem.get("file") or "", problem.get("element_id") or "")
        entry = groups.setdefault(where, {"file": where[0], "element_id": where[1], "messages": []})
        entry["messages"].append(problem.get("message", ""))
    return list(groups.values())


def process_list(problems: list[dict[str, Any]] | None = None, results: list[dict[str, Any]] | None = None,
                 status: int = 200) -> tuple[str, int]:
    _owner()
    with weibao().service.store.read() as session:
        processes, total = queries.processes(session, queries.Page(1, 200))
    return render_template("processes.html", processes=processes, total=total, problems=problems,
                           results=results), status


def upload() -> tuple[str, int]:
    who = _owner()
    files = [f for f in request.files.getlist("files") if f.filename][:MAX_FILES + 1]
    wrong = [f.filename for f in files if not (f.filename or "").lower().endswith((".bpmn", ".dmn"))]
    if not files or wrong or len(files) > MAX_FILES:
        why = _("Choose up to %(n)d .bpmn or .dmn files.", n=MAX_FILES)
        return process_list([{"file": name or "", "element_id": "", "messages": [why]}
                             for name in (wrong or [""])], status=422)
    try:
        deployed = weibao().service.runtime.deploy([(f.filename or "", f.read()) for f in files], who.name)
    except DefinitionInvalid as exc:
        return process_list(by_element(exc.errors), status=422)
    return process_list(results=[deploying.deployed_dict(r) for r in deployed],
                        status=201 if any(r.created for r in deployed) else 200)


def process_page(key: str) -> str:
    _owner()
    service = weibao().service
    with service.store.read() as session:
        items, _total = queries.versions(session, key, queries.Page(1, 500))
        states = service.runtime.versions.states(session, key)
        changes = service.runtime.versions.changes(session, key)
    versions = [item | states[item["version"]] for item in items]
    return render_template("process.html", key=key, versions=versions, changes=changes[-50:][::-1],
                           name=versions[0]["name"] if versions else key)


def change(key: str, version: int, act: str) -> Response:
    who = _owner()
    changed = getattr(weibao().service.runtime.versions, act)(key, version, who)
    flash(deploying.change_message(changed, act), "info")
    return redirect(url_for("console.process_page", key=key))


def _target(raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidInput("to: the target version number", details={"fields": {"to": "a version"}}) from exc


def migration(key: str, version: int) -> str:
    who = _owner()
    target = _target(request.args.get("to", ""))
    with weibao().service.store.read() as session:
        known = {v["version"] for v in queries.versions(session, key, queries.Page(1, 500))[0]}
    if target not in known:
        raise NotFound(f"no version {target} of {key!r}")
    plan = weibao().service.runtime.versions.migration_plan(key, version, target, who)
    return render_template("migration.html", key=key, version=version, target=target, plan=plan,
                           movable=sum(1 for m in plan if m["movable"]), versions=sorted(known))


def migrate(key: str, version: int) -> tuple[str, int]:
    """Moves what the dry run showed as movable (it is checked again, instance by instance)."""
    who = _owner()
    target = _target(request.form.get("to", ""))
    result = weibao().service.runtime.migrations.migrate(key, version, target, who)
    return render_template("migration_done.html", key=key, result=result.as_dict()), 201


def revert(key: str, migration_id: int) -> tuple[str, int]:
    who = _owner()
    result = weibao().service.runtime.migrations.revert(key, migration_id, who)
    return render_template("migration_done.html", key=key, result=result.as_dict()), 201


def add_routes(blp: Blueprint) -> None:
    # The upload posts to the list itself: a path under /processes/ would shadow a process key.
    blp.add_url_rule("/processes", "processes", lambda: process_list())
    blp.add_url_rule("/processes", "upload", upload, methods=["POST"])
    blp.add_url_rule("/processes/<key>", "process_page", process_page)
    plan = "/processes/<key>/versions/<int:version>/migration"
    blp.add_url_rule(plan, "migration", migration)
    blp.add_url_rule(plan, "migrate", migrate, methods=["POST"])
    blp.add_url_rule("/processes/<key>/migrations/<int:migration_id>/revert", "revert", revert,
                     methods=["POST"])
    for act in ACTS:
        blp.add_url_rule(f"/processes/<key>/versions/<int:version>/{act}", act,
                         lambda key, version, act=act: change(key, version, act), methods=["POST"])
