"""Console passwords: argon2id hashes (argon2-cffi), checked in constant work whether or not the user
exists, so that the time a sign-in takes does not tell which names are real.

A user without a password cannot sign in to the console; their API tokens work as before.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.actor import Actor
from engine.errors import InvalidInput, NotFound
from engine.store.sessions import Store
from engine.store.users import User

MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 hashes any length; a bound keeps a sign-in from costing what the caller likes
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("no such user: the same work as a real check")


def _checked(password: str) -> str:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput("invalid password", details={"fields": {
            "password": f"use {MIN_LENGTH} to {MAX_LENGTH} characters"}})
    return password


def set_password(store: Store, name: str, password: str) -> None:
    hashed = _HASHER.hash(_checked(password))
    with store.write() as session:
        user = session.get(User, name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        user.password_hash = hashed


def _matches(hashed: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(hashed or _DUMMY, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def sign_in(store: Store, name: str, password: str) -> Actor | None:
    """The user, if the password is theirs and they are not disabled; None in every other case."""
    if len(password) > MAX_LENGTH:
        return None
    with store.read() as session:
        user = session.get(User, name) if name else None
        hashed = user.password_hash if user is not None else None
        if not _matches(hashed, password) or user is None or user.disabled_at is not None:
            return None
        return Actor(user.name, frozenset(user.groups), frozenset(user.roles))


def active_actor(store: Store, name: str) -> Actor | None:
    """A signed-in user as they are now: groups changed or the user disabled take effect at once."""
    with store.read() as session:
        user = session.get(User, name)
        if user is None or user.disabled_at is not None:
            return None
        return Actor(user.name, frozenset(user.groups), frozenset(user.roles))
