"""Demo users for `weibao serve --demo`: one per group and one per role, named after it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from engine import GROUPS, ROLES, Store, ensure_user, passwords, users
from engine.clock import Clock

# The shipped duty roster (handlers/data/roster.json) rotates these two; tasks assigned from the roster
# must reach a real user.
ROSTER_EXTRAS: list[tuple[str, list[str], list[str]]] = [("duty_engineer2", ["duty_engineer"], [])]


def create_demo_users(store: Store, clock: Clock, lifetime: users.Lifetime | None = None,
                      password: str | None = None) -> list[tuple[str, str]]:
    """(name, token) pairs; tokens of an earlier demo run are replaced. With `password`, every demo
    user signs in to the console with it."""
    people: list[tuple[str, list[str], list[str]]] = [(group, [group], []) for group in GROUPS]
    people += ROSTER_EXTRAS
    people += [(role, [], [role]) for role in ROLES]
    life = lifetime or users.Lifetime()
    made = [(name, ensure_user(store, clock, name, groups, roles, life)) for name, groups, roles in people]
    if password is not None:
        for name, _ in made:
            passwords.set_password(store, name, password)
    return made


def new_password() -> str:
    """A fresh demo password per start: one printed by an earlier run stops working, like its tokens."""
    return secrets.token_urlsafe(9)


def env_name(user: str) -> str:
    return "WB_" + user.upper()


def export_lines(tokens: list[tuple[str, str]]) -> list[str]:
    return [f"export {env_name(name)}={token}" for name, token in tokens]


def write_tokens_file(path: str, lines: list[str]) -> None:
    # Tokens are secrets even in a demo: readable by the owner only.
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
