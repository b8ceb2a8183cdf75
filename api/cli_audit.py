"""`weibao audit …`: export a bundle, verify chains (database or bundle, offline), replay."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.audit import verify as audit

from .compose import product_service


def _print(result: Any) -> None:
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))


def cmd_export(args: argparse.Namespace) -> int:
    service = product_service()
    try:
        Path(args.output).write_bytes(audit.export_bundle(service.store, args.instance))
    finally:
        service.close()
    print(args.output)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    if args.bundle:
        result = audit.verify_bundle(args.bundle)
        if args.replay and result["verified"]:
            from engine.audit.bundle import replay_bundle

            replayed = replay_bundle(Path(args.bundle).read_bytes())
            result["replay"] = {"verified": replayed.verified, "divergence": replayed.divergence}
            result["verified"] = replayed.verified
        _print(result)
        return 0 if result["verified"] else 1
    service = product_service()
    try:
        if args.instance:
            result = audit.verify_instance(service.store, args.instance)
            ok = result["verified"]
        else:
            result = audit.verify_all(service.store)
            ok = not result["failed"]
    finally:
        service.close()
    _print(result)
    return 0 if ok else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from engine.audit.replay import Replayer

    service = product_service()
    try:
        replayer = Replayer(service.store, service.definitions, service.runtime.sla, service.settings)
        result = replayer.replay(args.instance, args.upto)
    finally:
        service.close()
    _print(
        {
            "verified": result.verified,
            "events": result.events,
            "divergence": result.divergence,
            **({"state": result.state} if args.upto else {}),
        }
    )
    return 0 if result.verified else 1


def add_parser(sub: Any) -> None:
    group = sub.add_parser("audit", help="tamper evidence and replay").add_subparsers(
        dest="audit_command", required=True
    )
    export = group.add_parser("export", help="write an instance's audit bundle (events, diagrams, manifest)")
    export.add_argument("instance")
    export.add_argument("-o", "--output", required=True)
    export.set_defaults(func=cmd_export)
    verify = group.add_parser("verify", help="check hash chains in the database, or a bundle offline")
    verify.add_argument("instance", nargs="?")
    verify.add_argument("--bundle", help="verify this bundle file with no database")
    verify.add_argument("--replay", action="store_true", help="with --bundle: also replay it offline")
    verify.set_defaults(func=cmd_verify)
    replay = group.add_parser("replay", help="rebuild an instance from its history and compare")
    replay.add_argument("instance")
    replay.add_argument("--upto", type=int, help="show the instance as it stood after event N")
    replay.set_defaults(func=cmd_replay)
