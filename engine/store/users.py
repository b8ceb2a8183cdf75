"""People who use the service: names, groups (the BPMN candidate groups), roles and bearer tokens.

Tokens are random 32-byte secrets; only their SHA-256 is stored, so a copy of the database does not
let anyone act as a user. A token is shown once, when it is issued. It expires after its lifetime
(30 days unless set otherwise), can be revoked, and stops working while its user is disabled. Its id,
`tok_` and the start of its hash, names it in listings and revocations without revealing it.

Expiry is wall-clock time, not the engine clock: rehearsing months ahead on a manual clock must not
log everyone out, and an old token must not come back to life because a clock was set back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from engine.actor import Actor
from engine.clock import Clock, SystemClock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.settings import Settings
from engine.store import groups as known_groups
from engine.store.groups import STANDARD_GROUPS
from engine.store.models import ApiToken, User
from engine.store.sessions import Store

GROUPS = STANDARD_GROUPS  # the groups known without any deploy; `groups.known` lists them all
ROLES = ("process_owner", "auditor", "admin")
TOKEN_PREFIX = "wb_"
# The engine acts as "system" with admin rights and records it as the actor of automatic steps.
RESERVED_NAMES = {"system"}
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
TOKEN_ID_PREFIX = "tok_"
DEFAULT_LIFETIME = timedelta(days=Settings.token_days)
Wall = Callable[[], datetime]


def wall_now() -> datetime:
    return SystemClock().now()


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: list[str]
    roles: list[str]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_id(digest: str) -> str:
    return TOKEN_ID_PREFIX + digest[:16]


def _checked(name: str, groups: Iterable[str], roles: Iterable[str],
             known: set[str]) -> tuple[list[str], list[str]]:
    errors: dict[str, str] = {}
    if not _NAME.match(name or ""):
        errors["name"] = "use 1 to 128 letters, digits or _ . @ -"
    elif name in RESERVED_NAMES:
        errors["name"] = f"{name!r} is reserved for the engine"
    groups, roles = sorted(set(groups)), sorted(set(roles))
    unknown_groups = [g for g in groups if g not in known]
    unknown_roles = [r for r in roles if r not in ROLES]
    if unknown_groups:
        errors["groups"] = (f"unknown group(s) {', '.join(unknown_groups)}; known: "
                            f"{', '.join(sorted(known))} (a deployed diagram or an admin defines a new one)")
    if unknown_roles:
        errors["roles"] = f"unknown role(s) {', '.join(unknown_roles)}; known: {', '.join(ROLES)}"
    if errors:
        raise InvalidInput("invalid user", details={"fields": errors})
    return groups, roles


@dataclass(frozen=True)
class Lifetime:
    """How long a new token lives, counted on `wall` (the real time; see the module's docstring)."""

    length: timedelta = DEFAULT_LIFETIME
    wall: Wall = wall_now

    def __post_init__(self) -> None:
        if self.length <= timedelta(0):
            raise InvalidInput("a token lifetime must be longer than zero",
                               details={"fields": {"token_days": "must be more than zero"}})


def lifetime_of(settings: Settings) -> Lifetime:
    """`token_days` of the settings (WEIBAO_TOKEN_DAYS)."""
    return Lifetime(timedelta(days=settings.token_days))


def _new_token(session: Session, name: str, now: datetime, lifetime: Lifetime) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(hash=hash_token(token), user_name=name, created_at=now,
                         expires_at=lifetime.wall() + lifetime.length))
    return token


def add_user(store: Store, clock: Clock, name: str, groups: Iterable[str] = (),
             roles: Iterable[str] = (), lifetime: Lifetime = Lifetime()) -> str:
    """Creates the user and returns their first token."""
    with store.write() as session:
        group_list, role_list = _checked(name, groups, roles, known_groups.known(session))
        if session.get(User, name) is not None:
            raise Conflict(f"user {name!r} already exists")
        now = clock.now()
        session.add(User(name=name, groups=group_list, roles=role_list, created_at=now))
        session.flush()
        return _new_token(session, name, now, lifetime)


def ensure_user(store: Store, clock: Clock, name: str, groups: Iterable[str] = (),
                roles: Iterable[str] = (), lifetime: Lifetime = Lifetime()) -> str:
    """Creates or updates the user and replaces their tokens with a new one (the demo users, on every
    start: a token printed by an earlier run stops working)."""
    with store.write() as session:
        group_list, role_list = _checked(name, groups, roles, known_groups.known(session))
        now = clock.now()
        user = session.get(User, name)
        if user is None:
            session.add(User(name=name, groups=group_list, roles=role_list, created_at=now))
            session.flush()
        else:
            user.groups, user.roles = group_list, role_list
            session.execute(delete(ApiToken).where(ApiToken.user_name == name))
        return _new_token(session, name, now, lifetime)


def issue_token(store: Store, clock: Clock, name: str, lifetime: Lifetime = Lifetime()) -> str:
    with store.write() as session:
        if session.get(User, name) is None:
            raise NotFound(f"no user {name!r}")
        return _new_token(session, name, clock.now(), lifetime)


def revoke(store: Store, target: str, wall: Wall = wall_now) -> list[str]:
    """Revokes one token (by id, or the token itself) or every token of a user (by name); returns the
    ids revoked. Unknown targets are NotFound; revoking twice keeps the first time."""
    if target.startswith(TOKEN_ID_PREFIX):
        where = ApiToken.hash.startswith(target[len(TOKEN_ID_PREFIX):], autoescape=True)
    elif target.startswith(TOKEN_PREFIX):
        where = ApiToken.hash == hash_token(target)
    else:
        where = ApiToken.user_name == target
    with store.write() as session:
        rows = session.scalars(select(ApiToken).where(where)).all()
        if not rows and (target.startswith(TOKEN_ID_PREFIX) or session.get(User, target) is None):
            raise NotFound(f"no user or token {target!r}")
        now = wall()
        for row in rows:
            row.revoked_at = row.revoked_at or now
        return [token_id(row.hash) for row in rows]


def set_disabled(store: Store, name: str, disabled: bool, wall: Wall = wall_now) -> None:
    """A disabled user's tokens are refused until the user is enabled again (and have not expired)."""
    with store.write() as session:
        user = session.get(User, name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        if disabled != (user.disabled_at is not None):
            user.disabled_at = wall() if disabled else None


def tokens_of(store: Store, name: str) -> list[dict[str, Any]]:
    with store.read() as session:
        if session.get(User, name) is None:
            raise NotFound(f"no user {name!r}")
        rows = session.scalars(select(ApiToken).where(ApiToken.user_name == name)
                               .order_by(ApiToken.created_at, ApiToken.hash)).all()
        return [{"id": token_id(r.hash), "created_at": r.created_at, "expires_at": r.expires_at,
                 "revoked_at": r.revoked_at} for r in rows]


def get_user(store: Store, name: str) -> UserInfo:
    with store.read() as session:
        user = session.get(User, name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        return UserInfo(user.name, list(user.groups), list(user.roles))


_TOKEN_USER = select(User.name, User.groups, User.roles, ApiToken.expires_at) \
    .join(ApiToken, ApiToken.user_name == User.name) \
    .where(ApiToken.hash == bindparam("hash"), ApiToken.revoked_at.is_(None), User.disabled_at.is_(None))


def _lookup(store: Store, token: str, now: datetime) -> tuple[Actor, datetime | None] | None:
    if not token:
        return None
    with store.engine.connect() as conn:
        found = conn.execute(_TOKEN_USER, {"hash": hash_token(token)}).first()
    if found is None or (found.expires_at is not None and found.expires_at <= now):
        return None
    return Actor(found.name, frozenset(found.groups), frozenset(found.roles)), found.expires_at


def actor_for_token(store: Store, token: str, wall: Wall = wall_now) -> Actor | None:
    """The token's user, unless the token is unknown, expired or revoked, or the user disabled."""
    found = _lookup(store, token, wall())
    return found[0] if found is not None else None


class TokenCache:
    """Remembers which user a token belongs to for `ttl` seconds, so that a request does not pay a
    database round trip to authenticate.

    The price is staleness: a token replaced or revoked, or a user's groups changed or the user
    disabled, by another process (the `weibao user` command, another worker) takes effect here within
    `ttl` seconds. A revocation through this process (`clear`, which the API's revoke routes call)
    takes effect at once, and so does expiry, which is checked on every hit. Unknown tokens are never
    remembered, so a token issued elsewhere works at once. How long a copy is trusted is measured on
    the monotonic clock; expiry on the wall clock.
    """

    def __init__(self, store: Store, ttl: float = 5.0, size: int = 10_000,
                 timer: Callable[[], float] = time.monotonic, wall: Wall = wall_now) -> None:
        self.store, self.ttl, self.size, self.timer, self.wall = store, ttl, size, timer, wall
        self._known: dict[str, tuple[float, Actor, datetime | None]] = {}
        self._lock = threading.Lock()

    def actor(self, token: str) -> Actor | None:
        wall_now_ = self.wall()
        if self.ttl <= 0:
            found = _lookup(self.store, token, wall_now_)
            return found[0] if found is not None else None
        now = self.timer()
        with self._lock:
            hit = self._known.get(token)
        if hit is not None and hit[0] > now and (hit[2] is None or hit[2] > wall_now_):
            return hit[1]
        found = _lookup(self.store, token, wall_now_)
        with self._lock:
            if found is None:
                self._known.pop(token, None)
            else:
                if len(self._known) >= self.size:
                    self._known.clear()  # bounded: a flood of tokens costs lookups, never memory
                self._known[token] = (now + self.ttl, found[0], found[1])
        return found[0] if found is not None else None

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
