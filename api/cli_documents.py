"""`weibao document …`: the documents a case's steps wrote, listed per case and read as JSON,
Markdown, HTML or PDF, as the API gives them (run on the server, so every case is visible)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from engine import Scope, Settings, queries

from . import pdf
from .compose import product_service

ALL = Scope(customer=None)  # the command line acts on the server itself


def cmd_list(args: argparse.Namespace) -> int:
    service = product_service(settings=Settings.from_env(os.environ))
    try:
        with service.store.read() as session:
            found = queries.documents(session, ALL, args.instance)
    finally:
        service.close()
    for d in found:
        print(f"{d['id']}\t{d['kind']}\t{d['created_at'].isoformat()}\t{','.join(d['formats'])}")
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    """Exit status 1, with the reason on standard error, for a format the document has no rendering of."""
    service = product_service(settings=Settings.from_env(os.environ))
    try:
        with service.store.read() as session:
            found = queries.document(session, ALL, args.document)
    finally:
        service.close()
    wanted = "markdown" if args.format == "md" else args.format
    if wanted not in found["formats"]:
        print(f"weibao: document {args.document} has no {wanted} rendering; it has "
              f"{', '.join(found['formats'])}", file=sys.stderr)
        return 1
    if wanted == "pdf":
        return _write_pdf(found, args.output)
    text = _render(found, wanted)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(args.output)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _render(found: dict[str, Any], wanted: str) -> str:
    if wanted == "json":
        return json.dumps(found, ensure_ascii=False, indent=2, default=str)
    return str(found[wanted])


def _write_pdf(found: dict[str, Any], output: str | None) -> int:
    """A PDF is binary: it goes to a file (or to a pipe), never to a terminal."""
    if not output and sys.stdout.isatty():
        print("weibao: a PDF is not printed to a terminal; give -o FILE or redirect", file=sys.stderr)
        return 1
    try:
        body = pdf.render(found["html"], pdf.margins(found))
    except pdf.RendererMissing as exc:
        print(f"weibao: {exc.message}", file=sys.stderr)
        return 1
    if output:
        Path(output).write_bytes(body)
        print(output)
    else:
        sys.stdout.buffer.write(body)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = sub.add_parser("document", help="the documents a case's steps wrote").add_subparsers(
        dest="document_command", required=True)
    listing = group.add_parser("list", help="a case's documents: id, kind, when, formats")
    listing.add_argument("instance")
    listing.set_defaults(func=cmd_list)
    get = group.add_parser("get", help="one document as json, markdown, html or pdf")
    get.add_argument("document")
    get.add_argument("--format", choices=("json", "markdown", "md", "html", "pdf"), default="json")
    get.add_argument("-o", "--output", help="write it to this file")
    get.set_defaults(func=cmd_get)
