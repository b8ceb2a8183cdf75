"""`weibao`: serve, worker, validate, deploy, user (cli_users), audit (cli_audit), document (cli_documents).

Standard output carries results only (tokens, problems, deployed versions) so scripts can capture it;
logs and messages for people go to standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from engine import Store, default_database_url, groups
from engine.errors import DefinitionInvalid, EngineError, InvalidInput
from engine.logs import configure as configure_logging

from . import cli_audit, cli_documents, cli_process, cli_users, deploying, exclusive, serve_clock
from . import serve as serving
from .compose import product_service


def _read_files(paths: list[str]) -> list[tuple[str, bytes]]:
    files = []
    for path in paths:
        try:
            files.append((Path(path).name, Path(path).read_bytes()))
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}",
                               details={"fields": {path: "cannot read"}}) from exc
    return files


def _print_problems(errors: list[dict]) -> None:
    for error in errors:
        print(json.dumps({"file": error.get("file"), "element_id": error.get("element_id"),
                          "message": error.get("message")}, ensure_ascii=False))


def cmd_validate(args: argparse.Namespace) -> int:
    """Checks the files together, against nothing already deployed; the configured database, if it
    exists, is only read for its users, to warn about groups nobody is in."""
    service = product_service("sqlite://")
    try:
        problems = service.definitions.validate(_read_files(args.files))
    finally:
        service.close()
    _print_problems(problems)
    if not problems:
        _warn_empty_groups(service.definitions.candidate_groups(_read_files(args.files)))
        print(f"{len(args.files)} file(s) valid", file=sys.stderr)
    return 1 if problems else 0


def _warn_empty_groups(used: list[tuple[str, str, str]]) -> None:
    """Against the configured database's users, when there is one: a group nobody is in is a task
    nobody sees. Only read, and only if the database exists; a warning, never a refusal."""
    url = default_database_url()
    path = exclusive.sqlite_path(url)
    if url.startswith("sqlite") and (path is None or not path.exists()):
        return
    store = Store(url)
    try:
        empty = set(groups.empty(store, {group for _, _, group in used}))
    except Exception:  # no schema yet, or unreachable: there are no users to compare with
        return
    finally:
        store.dispose()
    for file, element_id, group in used:
        if group in empty:
            print(f"weibao: warning: {file}: {element_id}: no user is in candidate group {group!r}",
                  file=sys.stderr)


def cmd_deploy(args: argparse.Namespace) -> int:
    service = product_service(settings=serving.settings_from_env())
    try:
        results = service.runtime.deploy(_read_files(args.files), actor=args.actor)
    except DefinitionInvalid as exc:
        _print_problems(exc.errors)
        return 1
    finally:
        service.close()
    for r in results:
        state = "created" if r.created else "unchanged"
        print(f"{r.process_key}\tv{r.version}\t{state}\t{r.content_hash}\tcurrent v{r.current}")
        print(f"weibao: {deploying.deploy_message(r)}", file=sys.stderr)
        for w in r.warnings:
            print(f"weibao: warning: {w['file']}: {w['element_id']}: {w['message']}", file=sys.stderr)
    return 0


def _serve_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run the HTTP API (granian), the timer scheduler, deploy processes/")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port (printed on start)")
    p.add_argument("--threads", type=int, default=8, help="requests handled at once by each worker")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes, each with its own timer scheduler (PostgreSQL only above 1)")
    p.add_argument("--demo", action="store_true", help="create one user per group and role, print tokens")
    p.add_argument("--tokens-file", help="with --demo: also write the token lines to this file (mode 600)")
    p.add_argument("--clock", choices=("system", "manual"), default="system",
                   help="manual: a simulation clock moved with POST /api/v1/clock")
    p.add_argument("--clock-start", help="with --clock manual: the start time, ISO 8601 with offset; by "
                   "default the simulation resumes where it stopped (never before the last event)")
    p.set_defaults(func=serving.serve)
    w = sub.add_parser("worker", help="fire timers, deliver the outbox (no HTTP); beside serve on PostgreSQL")
    w.add_argument("--clock", choices=("system", "manual"), default=None,
                   help="default: the database's own, refusing a simulation; manual: follow the simulated "
                        "time a `serve --clock manual` moves")
    w.set_defaults(func=serving.worker)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="weibao", description="Weibao BPMN process engine. The database "
                                     "is WEIBAO_DATABASE_URL (default: sqlite:///weibao.sqlite3).")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    v = sub.add_parser("validate", help="check .bpmn/.dmn files; exit 1 and print problems")
    v.add_argument("files", nargs="+")
    v.set_defaults(func=cmd_validate)
    d = sub.add_parser("deploy", help="deploy .bpmn/.dmn files; prints process, version, created|unchanged, "
                                      "hash and the current version")
    d.add_argument("files", nargs="+")
    d.add_argument("--actor", default="cli", help="recorded as the deployer")
    d.set_defaults(func=cmd_deploy)
    cli_users.add_parser(sub)
    cli_process.add_parser(sub)
    cli_audit.add_parser(sub)
    cli_documents.add_parser(sub)
    serve_clock.add_parser(sub)
    _add_verbose(parser, argparse.SUPPRESS)
    return parser


def _add_verbose(parser: argparse.ArgumentParser, default: object) -> None:
    """`--verbose` anywhere on the line (`weibao -v deploy`, `weibao deploy -v`): every subparser gets it,
    with no default of its own so that it does not undo the flag given before the subcommand."""
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="also print info log lines (migrations, deployed versions, operations)")
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        for child in getattr(action, "choices", {}).values():
            _add_verbose(child, argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(verbose=getattr(args, "verbose", False))
    try:
        return int(args.func(args))
    except EngineError as exc:
        fields = exc.details.get("fields") or {}
        print(f"weibao: {exc.message}", file=sys.stderr)
        for field, message in fields.items():
            print(f"  {field}: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
