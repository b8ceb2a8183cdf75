"""`weibao process …`: list, versions, changes, activate, suspend, resume.

Whoever runs the command line holds the database, so by default it acts as a process owner named
`cli`; `--as NAME` acts as that user instead, with their groups and roles (a user who is not a process
owner is refused, as through the API), and records them as the actor.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine import Actor, queries, users
from engine.service import Service

from . import deploying
from . import serve as serving
from .compose import product_service

CLI_ACTOR = Actor("cli", roles=frozenset({"process_owner"}))


def _service() -> Service:
    return product_service(settings=serving.settings_from_env())


def _actor(service: Service, name: str | None) -> Actor:
    if not name:
        return CLI_ACTOR
    user = users.get_user(service.store, name)
    return Actor(user.name, frozenset(user.groups), frozenset(user.roles))


def cmd_list(args: argparse.Namespace) -> int:
    service = _service()
    try:
        with service.store.read() as session:
            items, _ = queries.processes(session, queries.Page(1, 1000))
        for item in items:
            state = "\tsuspended" if item["suspended"] else ""
            print(f"{item['key']}\tv{item['version']}\t{item['name']}{state}")
    finally:
        service.close()
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    service = _service()
    try:
        with service.store.read() as session:
            items, _ = queries.versions(session, args.key, queries.Page(1, 1000))
            states = service.runtime.versions.states(session, args.key)
        for item in items:
            state = states[item["version"]]
            label = ("current" if state["current"] else "-") + (",suspended" if state["suspended"] else "")
            print(f"v{item['version']}\t{label}\trunning {state['running']}\t"
                  f"{item['deployed_at'].isoformat()}\t{item['deployed_by']}\t{item['content_hash'][:12]}")
    finally:
        service.close()
    return 0


def cmd_changes(args: argparse.Namespace) -> int:
    service = _service()
    try:
        with service.store.read() as session:
            changes = service.runtime.versions.changes(session, args.key)
        for change in changes:
            before = f"\t(was v{change['previous']})" if change["previous"] else ""
            print(f"{change['at'].isoformat()}\tv{change['version']}\t{change['action']}\t"
                  f"{change['actor']}{before}")
    finally:
        service.close()
    return 0


def _act(act: str, args: argparse.Namespace) -> int:
    service = _service()
    try:
        who = _actor(service, args.as_user)
        changed = getattr(service.runtime.versions, act)(args.key, args.version, who)
    finally:
        service.close()
    print(deploying.change_message(changed, act))
    return 0


def cmd_migration_plan(args: argparse.Namespace) -> int:
    """Exit status 1 when some instance could not move, so a script can stop before a rollout."""
    service = _service()
    try:
        found = service.runtime.versions.migration_plan(args.key, args.source, args.target,
                                                        _actor(service, args.as_user), args.instance)
    finally:
        service.close()
    for m in found:
        print(f"{m['instance_id']}\t{'moves' if m['movable'] else 'stays'}\t{'; '.join(m['reasons']) or '-'}")
    movable = sum(1 for m in found if m["movable"])
    print(f"{movable} of {len(found)} running instance(s) of {args.key} v{args.source} can move to "
          f"v{args.target}")
    return 0 if movable == len(found) else 1


def _print_migration(result: Any) -> int:
    for instance_id in result.moved:
        print(f"{instance_id}\tmoved")
    for refused in result.refused:
        print(f"{refused['instance_id']}\tstays\t{'; '.join(refused['reasons'])}")
    total = len(result.moved) + len(result.refused)
    print(f"migration {result.migration_id}: {len(result.moved)} of {total} instance(s) of "
          f"{result.process_key} "
          f"moved from v{result.from_version} to v{result.to_version}"
          + (f" (reverting migration {result.reverts})" if result.reverts else ""))
    return 0 if not result.refused else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    """Exit status 1 when some instance stayed."""
    service = _service()
    try:
        result = service.runtime.migrations.migrate(args.key, args.source, args.target,
                                                    _actor(service, args.as_user), args.instance)
    finally:
        service.close()
    return _print_migration(result)


def cmd_revert_migration(args: argparse.Namespace) -> int:
    service = _service()
    try:
        result = service.runtime.migrations.revert(args.key, args.migration_id, _actor(service, args.as_user))
    finally:
        service.close()
    return _print_migration(result)


def _add_migration_parsers(group: Any) -> None:
    move = group.add_parser("migrate", help="move the running instances of SOURCE (or one) to TARGET")
    move.add_argument("key")
    move.add_argument("source", type=lambda v: int(v.lstrip("v")))
    move.add_argument("target", type=lambda v: int(v.lstrip("v")))
    move.add_argument("--instance", help="one instance only")
    move.add_argument("--as", dest="as_user", help="act as this user (must be a process owner)")
    move.set_defaults(func=cmd_migrate)
    back = group.add_parser("revert-migration", help="move back what migration ID moved")
    back.add_argument("key")
    back.add_argument("migration_id", type=int)
    back.add_argument("--as", dest="as_user", help="act as this user (must be a process owner)")
    back.set_defaults(func=cmd_revert_migration)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = sub.add_parser("process", help="deployed processes and their versions").add_subparsers(
        dest="process_command", required=True)
    group.add_parser("list", help="each process with its current version").set_defaults(func=cmd_list)
    versions = group.add_parser("versions", help="every version: current, suspended, instances running")
    versions.add_argument("key")
    versions.set_defaults(func=cmd_versions)
    changes = group.add_parser("changes", help="who deployed, activated, suspended or resumed what, when")
    changes.add_argument("key")
    changes.set_defaults(func=cmd_changes)
    plan = group.add_parser("migration-plan", help="dry run: could each running instance of SOURCE move "
                                                   "to TARGET, and why not")
    plan.add_argument("key")
    plan.add_argument("source", type=lambda v: int(v.lstrip("v")))
    plan.add_argument("target", type=lambda v: int(v.lstrip("v")))
    plan.add_argument("--instance", help="one instance only")
    plan.add_argument("--as", dest="as_user", help="act as this user (must be a process owner)")
    plan.set_defaults(func=cmd_migration_plan)
    _add_migration_parsers(group)
    helps = {"activate": "make VERSION the one new instances start on (roll back or forward)",
             "suspend": "VERSION starts no new instances; running ones go on",
             "resume": "undo a suspension"}
    for act, text in helps.items():
        p = group.add_parser(act, help=text)
        p.add_argument("key")
        p.add_argument("version", type=lambda v: int(v.lstrip("v")), help="the version number, e.g. 2 or v2")
        p.add_argument("--as", dest="as_user", help="act as this user (recorded; must be a process owner)")
        p.set_defaults(func=lambda a, act=act: _act(act, a))
