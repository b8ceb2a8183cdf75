"""`weibao user …`: add, token, tokens, revoke, disable, enable, password.

Tokens live `WEIBAO_TOKEN_DAYS` days (default 30). A revocation or a disabled user takes effect in
running servers within `WEIBAO_TOKEN_CACHE_SECONDS` (their copy of a token's user), at once through
the API's own routes.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from engine import Store, ensure_schema, groups, passwords, users
from engine.clock import SystemClock
from engine.service import default_database_url

from . import serve as serving


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _store() -> Store:
    store = Store(default_database_url())
    ensure_schema(store)
    return store


def _lifetime() -> users.Lifetime:
    return users.lifetime_of(serving.settings_from_env())


def cmd_add(args: argparse.Namespace) -> int:
    store = _store()
    try:
        token = users.add_user(store, SystemClock(), args.name, _split(args.groups), _split(args.roles),
                               _lifetime())
    finally:
        store.dispose()
    print(token)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    store = _store()
    try:
        token = users.issue_token(store, SystemClock(), args.name, _lifetime())
    finally:
        store.dispose()
    print(token)
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    store = _store()
    try:
        rows = users.tokens_of(store, args.name)
    finally:
        store.dispose()
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        expires = row["expires_at"].isoformat() if row["expires_at"] else "never"
        print(f"{row['id']}\t{state}\texpires {expires}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    store = _store()
    try:
        revoked = users.revoke(store, args.target)
    finally:
        store.dispose()
    print("\n".join(revoked) if revoked else f"# {args.target} has no tokens", flush=True)
    print("weibao: running servers stop accepting them within WEIBAO_TOKEN_CACHE_SECONDS", file=sys.stderr)
    return 0


def _set_disabled(name: str, disabled: bool) -> int:
    store = _store()
    try:
        users.set_disabled(store, name, disabled)
    finally:
        store.dispose()
    return 0


def _read_password() -> str:
    """Typed twice at a terminal; from a pipe, the first line (scripts, provisioning)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("weibao: the two passwords differ; nothing was changed")
    return first


def cmd_password(args: argparse.Namespace) -> int:
    password = _read_password()
    store = _store()
    try:
        passwords.set_password(store, args.name, password)
    finally:
        store.dispose()
    print(f"# {args.name} may now sign in to the console", file=sys.stderr)
    return 0


def cmd_groups(args: argparse.Namespace) -> int:
    store = _store()
    try:
        if args.group_command == "add":
            rows = [groups.add(store, SystemClock(), args.name, args.actor)]
        else:
            rows = groups.overview(store, getattr(args, "name", None))
    finally:
        store.dispose()
    for row in rows:
        used_by = ",".join(row["processes"]) or "-"
        print(f"{row['name']}\t{row['defined_by']}\t{row['members']} member(s)\t{used_by}")
    return 0


def _group_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = sub.add_parser("group", help="candidate groups: list, show, add").add_subparsers(
        dest="group_command", required=True)
    group.add_parser("list", help="known groups: origin, members, processes using them").set_defaults(
        func=cmd_groups)
    show = group.add_parser("show", help="one group")
    show.add_argument("name")
    show.set_defaults(func=cmd_groups)
    add = group.add_parser("add", help="define a group no diagram names yet, so users can join it")
    add.add_argument("name")
    add.add_argument("--actor", default="cli", help="recorded as the one who added it")
    add.set_defaults(func=cmd_groups)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _group_parser(sub)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="create a user and print their token (shown once)")
    add.add_argument("name")
    add.add_argument("--groups", default="", help="comma-separated known groups (`weibao group list`)")
    add.add_argument("--roles", default="", help="comma-separated: process_owner, auditor, admin")
    add.set_defaults(func=cmd_add)
    tok = user.add_parser("token", help="issue an additional token for an existing user")
    tok.add_argument("name")
    tok.set_defaults(func=cmd_token)
    listing = user.add_parser("tokens", help="list a user's token ids, state and expiry")
    listing.add_argument("name")
    listing.set_defaults(func=cmd_tokens)
    rev = user.add_parser("revoke", help="revoke every token of NAME, or one token by TOKEN-ID (tok_…)")
    rev.add_argument("target", metavar="NAME|TOKEN-ID")
    rev.set_defaults(func=cmd_revoke)
    dis = user.add_parser("disable", help="refuse all of a user's tokens until enabled again")
    dis.add_argument("name")
    dis.set_defaults(func=lambda a: _set_disabled(a.name, True))
    ena = user.add_parser("enable", help="accept a disabled user's unexpired tokens again")
    ena.add_argument("name")
    ena.set_defaults(func=lambda a: _set_disabled(a.name, False))
    pw = user.add_parser("password", help="set NAME's console password (from a pipe: its first line)")
    pw.add_argument("name")
    pw.set_defaults(func=cmd_password)
