"""The documents a case's steps wrote (the fault report of seed 001 §2.2.6, the incident special report,
the inspection report, the repair service report the customer signs, spare-part requests, vendor cases,
replacement machines): listed per instance, each read as JSON, Markdown or HTML where its step rendered
one, and as PDF made from that HTML. Customers read those of their own cases only."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from marshmallow import validate

from engine import queries
from engine.errors import NotFound

from . import auth, pdf
from .context import weibao
from .schemas import Timestamp
from .strict_json import Blueprint

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="Documents of a case")
blp.before_request(auth.authenticate)

MEDIA = {"markdown": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


class DocumentSchema(ma.Schema):
    id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "fault_report, spare_part_request, …"})
    instance_id = ma.fields.String(required=True)
    created_at = Timestamp(required=True)
    formats = ma.fields.List(ma.fields.String(), required=True,
                             metadata={"description": "what ?format= may ask for: json, markdown, html, pdf"})


class DocumentDetailSchema(DocumentSchema):
    business_key = ma.fields.String(allow_none=True, required=True, metadata={"description": "the case's"})
    data = ma.fields.Dict(required=True, metadata={"description": "the document's fields"})


class DocumentList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DocumentSchema), required=True)
    total = ma.fields.Integer(required=True)


class FormatArgs(ma.Schema):
    format = ma.fields.String(load_default="json",
                              validate=validate.OneOf(("json", "markdown", "html", "pdf")))


@blp.route("/instances/<instance_id>/documents")
@blp.response(200, DocumentList)
def list_documents(instance_id: str) -> Any:
    """The documents of one case, oldest first."""
    with weibao().service.store.read() as session:
        items = queries.documents(session, auth.scope(), instance_id)
    return {"items": items, "total": len(items)}


@blp.route("/documents/<document_id>")
@blp.arguments(FormatArgs(), location="query", unknown=ma.RAISE)
@blp.response(200, DocumentDetailSchema)
@blp.alt_response(200, content_type="text/markdown", description="?format=markdown")
@blp.alt_response(200, content_type="application/pdf", description="?format=pdf: A4, from the HTML")
@blp.alt_response(503, description="?format=pdf on a server without WeasyPrint or the Noto CJK font")
def get_document(args: dict[str, Any], document_id: str) -> Any:
    """One document: its fields as JSON, the Markdown or HTML its step rendered, or a PDF of that HTML
    (404 when it has none)."""
    with weibao().service.store.read() as session:
        found = queries.document(session, auth.scope(), document_id)
    wanted = args["format"]
    if wanted == "json":
        return found
    if wanted not in found["formats"]:
        has = ", ".join(found["formats"])
        raise NotFound(f"document {document_id} has no {wanted} rendering; it has {has}")
    if wanted == "pdf":
        body = pdf.render(found["html"], pdf.margins(found))
        response = Response(body, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{document_id}.pdf"'
        return response
    response = Response(found[wanted], mimetype=MEDIA[wanted].split(";")[0])
    response.headers["Content-Type"] = MEDIA[wanted]
    # Stored markup is shown, never run: no scripts, no requests from it.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
