"""`weibao audit …`: export a bundle, verify chains (database or bundle, offline), replay, and the signed
checkpoints (keygen, checkpoint)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from engine import Settings
from engine.audit import checkpoints
from engine.audit import verify as audit

from .compose import product_service


def _print(result: Any) -> None:
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))


def _service() -> Any:
    return product_service(settings=Settings.from_env(os.environ))


def cmd_export(args: argparse.Namespace) -> int:
    service = _service()
    try:
        Path(args.output).write_bytes(audit.export_bundle(service.store, args.instance, service.settings))
    finally:
        service.close()
    print(args.output)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    if args.bundle:
        public = args.public_key or checkpoints.public_key_path(Settings.from_env(os.environ))
        result = audit.verify_bundle(args.bundle, public if public and Path(public).exists() else None)
        if args.replay and result["verified"]:
            from engine.audit.bundle import replay_bundle

            replayed = replay_bundle(Path(args.bundle).read_bytes())
            result["replay"] = {"verified": replayed.verified, "divergence": replayed.divergence}
            result["verified"] = replayed.verified
        _print(result)
        return 0 if result["verified"] else 1
    service = _service()
    try:
        if args.instance:
            result = audit.verify_instance(service.store, args.instance, service.settings)
            ok = result["verified"]
        else:
            result = audit.verify_all(service.store, service.settings)
            ok = not result["failed"] and not result["problems"]
    finally:
        service.close()
    _print(result)
    return 0 if ok else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from engine.audit.replay import Replayer

    service = _service()
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


def cmd_keygen(args: argparse.Namespace) -> int:
    path = args.key or Settings.from_env(os.environ).audit_key_file
    if not path:
        print("weibao: give --key or set WEIBAO_AUDIT_KEY_FILE", file=sys.stderr)
        return 1
    try:
        private, public, created = checkpoints.keygen(path)
    except OSError as exc:
        print(f"weibao: cannot write the key {path}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"{'created' if created else 'kept the existing'} {private}; public key {public}", file=sys.stderr)
    print(public)
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    service = _service()
    try:
        made = service.checkpointer.make(args.actor)
    finally:
        service.close()
    _print(made)
    return 0


def _checkpoint_parsers(group: Any) -> None:
    keygen = group.add_parser("keygen", help="write the Ed25519 signing key (and KEY.pub) unless it exists")
    keygen.add_argument("--key", help="default: WEIBAO_AUDIT_KEY_FILE; keep it out of the database's reach")
    keygen.set_defaults(func=cmd_keygen)
    checkpoint = group.add_parser("checkpoint", help="sign the chain heads now and append to the witness")
    checkpoint.add_argument("--actor", default="cli", help="recorded as the maker")
    checkpoint.set_defaults(func=cmd_checkpoint)


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
    verify.add_argument("--public-key", help="with --bundle: check its signed checkpoint with this key "
                        "(default: WEIBAO_AUDIT_PUBLIC_KEY_FILE or WEIBAO_AUDIT_KEY_FILE.pub)")
    verify.set_defaults(func=cmd_verify)
    replay = group.add_parser("replay", help="rebuild an instance from its history and compare")
    replay.add_argument("instance")
    replay.add_argument("--upto", type=int, help="show the instance as it stood after event N")
    replay.set_defaults(func=cmd_replay)
    _checkpoint_parsers(group)
