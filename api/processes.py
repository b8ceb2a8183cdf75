"""Deployed processes: list, versions, the diagram itself, and uploading new diagrams."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask_smorest.fields import Upload
from marshmallow import validate

from engine import queries
from engine.errors import InvalidInput

from . import auth
from .context import weibao
from .schemas import FormFieldSchema, PageArgs, Timestamp, page_of
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


class ProcessDetailSchema(ProcessSchema):
    start_form = ma.fields.List(ma.fields.Nested(FormFieldSchema), required=True,
                                metadata={"description": "what POST /instances expects in data"})


class DeployedSchema(ma.Schema):
    process = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    content_hash = ma.fields.String(required=True)
    created = ma.fields.Boolean(required=True,
                                metadata={"description": "false: this content was deployed before"})


class UploadSchema(ma.Schema):
    files = ma.fields.List(Upload(), required=True, validate=validate.Length(min=1, max=MAX_FILES),
                           metadata={"description": ".bpmn and .dmn files, deployed together"})


class XmlArgs(ma.Schema):
    version = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                metadata={"description": "the newest version when absent"})


ProcessPage = page_of(ProcessSchema, "ProcessPage")
DeployedPage = page_of(DeployedSchema, "DeployedPage")


@blp.route("")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, ProcessPage)
def list_processes(args: dict[str, Any]) -> Any:
    """Deployed process keys with their newest version."""
    with weibao().service.store.read() as session:
        items, total = queries.processes(session, queries.Page(**args))
    return {"items": items, "total": total}


@blp.route("/<key>")
@blp.response(200, ProcessDetailSchema)
def get_process(key: str) -> Any:
    """The newest version of a process and its start form."""
    definitions = weibao().service.definitions
    with weibao().service.store.read() as session:
        latest = definitions.latest(session, key)
        form = definitions.load(session, latest.id).model.start_form
        return queries.version_dict(latest) | {"start_form": [f.to_dict() for f in form]}


@blp.route("/<key>/versions")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, ProcessPage)
def list_versions(args: dict[str, Any], key: str) -> Any:
    """Every deployed version of a process, newest first."""
    with weibao().service.store.read() as session:
        items, total = queries.versions(session, key, queries.Page(**args))
    return {"items": items, "total": total}


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
    items = [{"process": r.process_key, "version": r.version, "content_hash": r.content_hash,
              "created": r.created} for r in results]
    return {"items": items, "total": len(items)}, 201 if any(r.created for r in results) else 200
