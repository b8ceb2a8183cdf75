"""Deployed processes: list, versions, the diagram itself, and uploading new diagrams."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask_smorest.fields import Upload
from marshmallow import validate

from engine import queries
from engine.errors import InvalidInput, NotFound

from . import auth, deploying
from .context import weibao
from .schemas import FormFieldSchema, PageArgs, Text, Timestamp, page_of
from .strict_json import Blueprint

blp = Blueprint("processes", __name__, url_prefix="/api/v1/processes", description="Deployed processes")
blp.before_request(auth.authenticate)

MAX_FILES = 50


class ProcessSchema(ma.Schema):
    key = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    content_hash = ma.fields.String(required=True,
                                    metadata={"description": "SHA-256 over the version's files"})
    deployed_at = Timestamp(required=True)
    deployed_by = ma.fields.String(required=True)
    suspended = ma.fields.Boolean(required=True, metadata={"description": "true: starts no new instances"})


class VersionSchema(ProcessSchema):
    current = ma.fields.Boolean(required=True, metadata={"description": "the version new instances start on"})
    running = ma.fields.Integer(required=True, metadata={"description": "instances running on this version"})


class VersionChangedSchema(ma.Schema):
    process = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True, metadata={"description": "the version acted on"})
    current = ma.fields.Integer(required=True, metadata={"description": "the version new instances use now"})
    previous = ma.fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "the version that was current before"})
    suspended = ma.fields.Boolean(required=True)
    message = ma.fields.String(required=True)


class ChangeSchema(ma.Schema):
    version = ma.fields.Integer(required=True)
    action = ma.fields.String(required=True, validate=validate.OneOf(deploying.ACTIONS))
    actor = ma.fields.String(required=True)
    at = Timestamp(required=True)
    previous = ma.fields.Integer(allow_none=True, required=True)


class ProcessDetailSchema(ProcessSchema):
    start_form = ma.fields.List(ma.fields.Nested(FormFieldSchema), required=True,
                                metadata={"description": "what POST /instances expects in data"})


class ProblemSchema(ma.Schema):
    file = ma.fields.String(allow_none=True, required=True)
    element_id = ma.fields.String(allow_none=True, required=True)
    message = ma.fields.String(required=True)


class DeployedSchema(ma.Schema):
    process = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    content_hash = ma.fields.String(required=True)
    created = ma.fields.Boolean(required=True,
                                metadata={"description": "false: this content was deployed before"})
    current = ma.fields.Integer(required=True,
                                metadata={"description": "the version new instances start on now"})
    previous = ma.fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "the current version before, if it changed"})
    moved_from = ma.fields.String(allow_none=True, required=True,
                                  metadata={"description": "the file that defined the process before"})
    message = ma.fields.String(required=True, metadata={"description": "what the deploy did, in words"})
    warnings = ma.fields.List(ma.fields.Nested(ProblemSchema), required=True,
                              metadata={"description": "candidate groups no user belongs to yet"})


class UploadSchema(ma.Schema):
    files = ma.fields.List(Upload(), required=True, validate=validate.Length(min=1, max=MAX_FILES),
                           metadata={"description": ".bpmn and .dmn files, deployed together"})


class XmlArgs(ma.Schema):
    version = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                metadata={"description": "the current version when absent"})


class MovableSchema(ma.Schema):
    instance_id = ma.fields.String(required=True)
    movable = ma.fields.Boolean(required=True)
    reasons = ma.fields.List(ma.fields.String(), required=True,
                             metadata={"description": "why it cannot move"})
    elements = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "where it waits"})
    blocking = ma.fields.List(ma.fields.String(), required=True,
                              metadata={"description": "the BPMN elements the reasons name"})


class MigrationPlanSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MovableSchema), required=True)
    total = ma.fields.Integer(required=True)
    movable = ma.fields.Integer(required=True, metadata={"description": "instances that could move"})


class MigrationArgs(PageArgs):
    to = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1),
                           metadata={"description": "the target version"})
    instance = Text(max_length=36, metadata={"description": "one instance only"})


ProcessPage = page_of(ProcessSchema, "ProcessPage")
VersionPage = page_of(VersionSchema, "VersionPage")
ChangePage = page_of(ChangeSchema, "ChangePage")
DeployedPage = page_of(DeployedSchema, "DeployedPage")


@blp.route("")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, ProcessPage)
def list_processes(args: dict[str, Any]) -> Any:
    """Deployed process keys with their current version (the one new instances start on)."""
    with weibao().service.store.read() as session:
        items, total = queries.processes(session, queries.Page(**args))
    return {"items": items, "total": total}


@blp.route("/<key>")
@blp.response(200, ProcessDetailSchema)
def get_process(key: str) -> Any:
    """The current version of a process and its start form."""
    definitions = weibao().service.definitions
    with weibao().service.store.read() as session:
        current = definitions.current(session, key)
        form = definitions.load(session, current.id).model.start_form
        return queries.version_dict(current) | {"start_form": [f.to_dict() for f in form]}


@blp.route("/<key>/versions")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, VersionPage)
def list_versions(args: dict[str, Any], key: str) -> Any:
    """Every deployed version of a process, newest first: which one is current, which are suspended,
    how many instances run on each."""
    with weibao().service.store.read() as session:
        items, total = queries.versions(session, key, queries.Page(**args))
        states = weibao().service.runtime.versions.states(session, key)
    return {"items": [item | states[item["version"]] for item in items], "total": total}


@blp.route("/<key>/changes")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, ChangePage)
def list_changes(args: dict[str, Any], key: str) -> Any:
    """What happened to the process's versions, oldest first: deployed, activated, suspended, resumed."""
    page = queries.Page(**args)
    with weibao().service.store.read() as session:
        changes = weibao().service.runtime.versions.changes(session, key)
    if not changes:
        raise NotFound(f"no deployed process {key!r}")
    start = (page.page - 1) * page.per_page
    return {"items": changes[start:start + page.per_page], "total": len(changes)}


def _changed(act: str, key: str, version: int) -> Any:
    who = auth.require_role("process_owner")
    changed = getattr(weibao().service.runtime.versions, act)(key, version, who)
    return deploying.changed_dict(changed, act)


@blp.route("/<key>/versions/<int(min=1, max=2147483647):version>/migration")
@blp.arguments(MigrationArgs(), location="query")
@blp.response(200, MigrationPlanSchema)
def migration_plan(args: dict[str, Any], key: str, version: int) -> Any:
    """Dry run (process owners): could each running instance of this version move to version `to`, and
    if not, why (an active token on an element the target lacks, a changed form of an open task)."""
    who = auth.require_role("process_owner")
    versions = weibao().service.runtime.versions
    found = versions.migration_plan(key, version, args["to"], who, args.get("instance"))
    start = (args["page"] - 1) * args["per_page"]
    return {"items": found[start:start + args["per_page"]], "total": len(found),
            "movable": sum(1 for m in found if m["movable"])}


@blp.route("/<key>/versions/<int(min=1, max=2147483647):version>/activate", methods=["POST"])
@blp.response(200, VersionChangedSchema)
def activate(key: str, version: int) -> Any:
    """Make this version the one new instances start on (a rollback or a roll forward; process owners).
    Running instances stay on their versions; a start timer follows the activated version."""
    return _changed("activate", key, version)


@blp.route("/<key>/versions/<int(min=1, max=2147483647):version>/suspend", methods=["POST"])
@blp.response(200, VersionChangedSchema)
def suspend(key: str, version: int) -> Any:
    """No new instances on this version, by request or by start timer; running ones go on."""
    return _changed("suspend", key, version)


@blp.route("/<key>/versions/<int(min=1, max=2147483647):version>/resume", methods=["POST"])
@blp.response(200, VersionChangedSchema)
def resume(key: str, version: int) -> Any:
    """Undo a suspension."""
    return _changed("resume", key, version)


@blp.route("/<key>/xml")
@blp.arguments(XmlArgs(), location="query")
@blp.response(200, content_type="application/xml", description="The BPMN file that defines the process")
def diagram(args: dict[str, Any], key: str) -> Any:
    """The diagram of a version, as deployed."""
    with weibao().service.store.read() as session:
        name, content = queries.diagram(session, key, args.get("version"))
    response = Response(content, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _read(storage: Any) -> tuple[str, bytes]:
    name = getattr(storage, "filename", None) or ""
    if not name.lower().endswith((".bpmn", ".dmn")):
        raise InvalidInput(f"{name or 'a file'} is neither .bpmn nor .dmn",
                           details={"fields": {"files": f"{name or 'a file'}: only .bpmn and .dmn files"}})
    return name, storage.read()


@blp.route("", methods=["POST"])
@blp.arguments(UploadSchema(), location="files")
@blp.response(201, DeployedPage, description="At least one new version was created")
@blp.alt_response(200, schema=DeployedPage, description="Everything was already deployed with this content")
def deploy(args: dict[str, Any]) -> Any:
    """Upload diagrams (process owners). Refused diagrams give 422 with {file, element_id, message} errors."""
    who = auth.require_role("process_owner")
    files = [_read(f) for f in args["files"]]
    results = weibao().service.runtime.deploy(files, who.name)
    items = [deploying.deployed_dict(r) for r in results]
    return {"items": items, "total": len(items)}, 201 if any(r.created for r in results) else 200
