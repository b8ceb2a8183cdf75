"""People who use the service: names, groups (the BPMN candidate groups), roles and bearer tokens.

Tokens are random 32-byte secrets; only their SHA-256 is stored, so a copy of the database does not
let anyone act as a user. A token is shown once, when it is issued.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, bindparam, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from engine.actor import Actor
from engine.clock import Clock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.store.models import Base
from engine.store.sessions import Store

GROUPS = (
    "customer", "service_desk", "duty_engineer", "senior_engineer", "expert_group", "vendor",
    "technical_lead", "technical_director", "project_manager", "department_director", "general_manager",
    "spare_parts_keeper",
)
ROLES = ("process_owner", "auditor", "admin")
TOKEN_PREFIX = "wb_"
# The engine acts as "system" with admin rights and records it as the actor of automatic steps.
RESERVED_NAMES = {"system"}
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")


class User(Base):
    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    groups: Mapped[list[Any]]
    roles: Mapped[list[Any]]
    created_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: list[str]
    roles: list[str]


def ensure_schema(store: Store) -> None:
    """The user tables, for a store whose schema was created before this module was imported."""
    Base.metadata.create_all(store.engine, tables=[Base.metadata.tables["users"],
                                                   Base.metadata.tables["api_tokens"]])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _checked(name: str, groups: Iterable[str], roles: Iterable[str]) -> tuple[list[str], list[str]]:
    errors: dict[str, str] = {}
    if not _NAME.match(name or ""):
        errors["name"] = "use 1 to 128 letters, digits or _ . @ -"
    elif name in RESERVED_NAMES:
        errors["name"] = f"{name!r} is reserved for the engine"
    groups, roles = sorted(set(groups)), sorted(set(roles))
    unknown_groups = [g for g in groups if g not in GROUPS]
    unknown_roles = [r for r in roles if r not in ROLES]
    if unknown_groups:
        errors["groups"] = f"unknown group(s) {', '.join(unknown_groups)}; known: {', '.join(GROUPS)}"
    if unknown_roles:
        errors["roles"] = f"unknown role(s) {', '.join(unknown_roles)}; known: {', '.join(ROLES)}"
    if errors:
        raise InvalidInput("invalid user", details={"fields": errors})
    return groups, roles


def _new_token(session: Any, name: str, now: datetime) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(hash=hash_token(token), user_name=name, created_at=now))
    return token


def add_user(store: Store, clock: Clock, name: str, groups: Iterable[str] = (),
             roles: Iterable[str] = ()) -> str:
    """Creates the user and returns their first token."""
    group_list, role_list = _checked(name, groups, roles)
    with store.write() as session:
        if session.get(User, name) is not None:
            raise Conflict(f"user {name!r} already exists")
        now = clock.now()
        session.add(User(name=name, groups=group_list, roles=role_list, created_at=now))
        session.flush()
        return _new_token(session, name, now)


def ensure_user(store: Store, clock: Clock, name: str, groups: Iterable[str] = (),
                roles: Iterable[str] = ()) -> str:
    """Creates or updates the user and replaces their tokens with a new one (the demo users, on every
    start: a token printed by an earlier run stops working)."""
    group_list, role_list = _checked(name, groups, roles)
    with store.write() as session:
        now = clock.now()
        user = session.get(User, name)
        if user is None:
            session.add(User(name=name, groups=group_list, roles=role_list, created_at=now))
            session.flush()
        else:
            user.groups, user.roles = group_list, role_list
            session.execute(delete(ApiToken).where(ApiToken.user_name == name))
        return _new_token(session, name, now)


def issue_token(store: Store, clock: Clock, name: str) -> str:
    with store.write() as session:
        if session.get(User, name) is None:
            raise NotFound(f"no user {name!r}")
        return _new_token(session, name, clock.now())


def get_user(store: Store, name: str) -> UserInfo:
    with store.read() as session:
        user = session.get(User, name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        return UserInfo(user.name, list(user.groups), list(user.roles))


_TOKEN_USER = select(User.name, User.groups, User.roles) \
    .join(ApiToken, ApiToken.user_name == User.name).where(ApiToken.hash == bindparam("hash"))


def actor_for_token(store: Store, token: str) -> Actor | None:
    if not token:
        return None
    with store.engine.connect() as conn:
        found = conn.execute(_TOKEN_USER, {"hash": hash_token(token)}).first()
    if found is None:
        return None
    return Actor(found.name, frozenset(found.groups), frozenset(found.roles))


class TokenCache:
    """Remembers which user a token belongs to for `ttl` seconds, so that a request does not pay a
    database round trip to authenticate.

    The price is staleness: a token replaced, or a user's groups changed, by another process (the
    `weibao user` command) takes effect here within `ttl` seconds. Unknown tokens are never remembered,
    so a token issued elsewhere works at once. Expiry uses the monotonic clock: it is about how old the
    copy is, not about business time, which is the engine clock's alone.
    """

    def __init__(self, store: Store, ttl: float = 5.0, size: int = 10_000,
                 timer: Callable[[], float] = time.monotonic) -> None:
        self.store, self.ttl, self.size, self.timer = store, ttl, size, timer
        self._known: dict[str, tuple[float, Actor]] = {}
        self._lock = threading.Lock()

    def actor(self, token: str) -> Actor | None:
        if self.ttl <= 0:
            return actor_for_token(self.store, token)
        now = self.timer()
        with self._lock:
            hit = self._known.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = actor_for_token(self.store, token)
        with self._lock:
            if found is None:
                self._known.pop(token, None)
            else:
                if len(self._known) >= self.size:
                    self._known.clear()  # bounded: a flood of tokens costs lookups, never memory
                self._known[token] = (now + self.ttl, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
