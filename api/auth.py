"""Bearer-token authentication, and the request's actor handed to the rules of `engine.policy`."""

from __future__ import annotations

from flask import g, request

from engine import Scope, policy
from engine.actor import Actor

from .context import weibao
from .errors import Unauthenticated

DIRECTOR_GROUPS = policy.DIRECTOR_GROUPS


def authenticate() -> None:
    """`before_request` hook of every blueprint that needs a user."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer token is required: Authorization: Bearer <token>")
    actor = weibao().service.tokens.actor(token.strip())
    if actor is None:
        raise Unauthenticated("unknown, expired or revoked token, or a disabled user")
    g.actor = actor


def actor() -> Actor:
    return g.actor  # type: ignore[no-any-return]


def scope() -> Scope:
    return Scope.of(actor())


def require_writer() -> Actor:
    return policy.require_writer(actor())


def require_role(*roles: str, groups: frozenset[str] = frozenset()) -> Actor:
    return policy.require_role(actor(), *roles, groups=groups)


def require_staff() -> Actor:
    return policy.require_staff(actor())
