"""Bearer-token authentication and the API's permission rules.

The engine itself decides who may claim or complete a task; the rules here are the ones that belong to
the service's edge: who may deploy, cancel, retry, move the clock, and that auditors change nothing.
"""

from __future__ import annotations

from flask import g, request

from engine import Scope
from engine.actor import Actor
from engine.errors import Forbidden

from .context import weibao
from .errors import Unauthenticated

DIRECTOR_GROUPS = frozenset({"department_director", "technical_director"})


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


def is_auditor_only(who: Actor) -> bool:
    return "auditor" in who.roles and not who.is_admin


def require_writer() -> Actor:
    """Any change: auditors read everything and change nothing."""
    who = actor()
    if is_auditor_only(who):
        raise Forbidden(f"{who.name} is an auditor: auditors read, they do not change anything")
    return who


def require_role(*roles: str, groups: frozenset[str] = frozenset()) -> Actor:
    who = actor()
    if who.is_admin or who.roles.intersection(roles) or who.groups.intersection(groups):
        return who
    wanted = ", ".join([*(f"role {r}" for r in roles), *(f"group {g_}" for g_ in sorted(groups))])
    raise Forbidden(f"{who.name} may not do this; it needs {wanted} or role admin")


def require_staff() -> Actor:
    """Service-wide views (incidents, outbox, reports) are not for customers."""
    who = actor()
    if scope().customer is not None:
        raise Forbidden(f"{who.name} is a customer and sees only their own instances")
    return who
