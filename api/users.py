"""Users and their tokens, for admins: add and read users, list token ids, revoke tokens, disable and
enable users.

A change here takes effect at once in this process (its token cache is cleared); other worker
processes follow within WEIBAO_TOKEN_CACHE_SECONDS.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine import users
from engine.errors import NotFound

from . import auth
from .context import weibao
from .schemas import Text, Timestamp
from .strict_json import Blueprint

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users and tokens (admins)")
blp.before_request(auth.authenticate)


class NewUserSchema(ma.Schema):
    name = Text(max_length=128, required=True, metadata={"description": "letters, digits, _ . @ -"})
    groups = ma.fields.List(Text(max_length=128), load_default=list,
                            metadata={"description": "candidate groups known to the service"})
    roles = ma.fields.List(Text(max_length=32), load_default=list,
                           metadata={"description": "process_owner, auditor, admin"})


class UserSchema(ma.Schema):
    name = ma.fields.String(required=True)
    groups = ma.fields.List(ma.fields.String(), required=True)
    roles = ma.fields.List(ma.fields.String(), required=True)


class CreatedUserSchema(UserSchema):
    token = ma.fields.String(required=True, metadata={"description": "the first bearer token, shown once"})


class TokenSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "tok_…; names the token, is not it"})
    created_at = Timestamp(required=True)
    expires_at = Timestamp(allow_none=True, required=True)
    revoked_at = Timestamp(allow_none=True, required=True)


class TokenListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TokenSchema), required=True)
    total = ma.fields.Integer(required=True)


class RevokedSchema(ma.Schema):
    revoked = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "token ids"})


class UserStateSchema(ma.Schema):
    name = ma.fields.String(required=True)
    disabled = ma.fields.Boolean(required=True)


def _admin() -> None:
    auth.require_role("admin")
    auth.require_writer()


@blp.route("", methods=["POST"])
@blp.arguments(NewUserSchema())
@blp.response(201, CreatedUserSchema, headers={"Location": {"schema": {"type": "string"},
                                                             "description": "the new user"}})
def add(body: dict[str, Any]) -> Any:
    """Add a user with their groups and roles; the answer holds their first token, shown once (admins)."""
    _admin()
    service = weibao().service
    token = users.add_user(service.store, service.clock, body["name"], body["groups"], body["roles"],
                           users.lifetime_of(service.settings))
    user = users.get_user(service.store, body["name"])
    created = {"name": user.name, "groups": user.groups, "roles": user.roles, "token": token}
    return created, 201, {"Location": f"/api/v1/users/{user.name}"}


@blp.route("/<name>")
@blp.response(200, UserSchema)
def get(name: str) -> Any:
    """A user's groups and roles (admins)."""
    _admin()
    user = users.get_user(weibao().service.store, name)
    return {"name": user.name, "groups": user.groups, "roles": user.roles}


@blp.route("/<name>/tokens")
@blp.response(200, TokenListSchema)
def list_tokens(name: str) -> Any:
    """A user's tokens: ids, expiry, revocation (admins)."""
    _admin()
    rows = users.tokens_of(weibao().service.store, name)
    return {"items": rows, "total": len(rows)}


def _revoke(target: str) -> dict[str, Any]:
    _admin()
    service = weibao().service
    revoked = users.revoke(service.store, target)
    service.tokens.clear()
    return {"revoked": revoked}


@blp.route("/<name>/revoke", methods=["POST"])
@blp.response(200, RevokedSchema)
def revoke_user_tokens(name: str) -> Any:
    """Revoke every token of the user (admins)."""
    return _revoke(name)


@blp.route("/<name>/tokens/<token_id>/revoke", methods=["POST"])
@blp.response(200, RevokedSchema)
def revoke_token(name: str, token_id: str) -> Any:
    """Revoke one token of the user by its id (admins)."""
    _admin()
    if not any(row["id"] == token_id for row in users.tokens_of(weibao().service.store, name)):
        raise NotFound(f"no token {token_id!r} of {name!r}")
    return _revoke(token_id)


def _set_disabled(name: str, disabled: bool) -> dict[str, Any]:
    _admin()
    service = weibao().service
    users.set_disabled(service.store, name, disabled)
    service.tokens.clear()
    return {"name": name, "disabled": disabled}


@blp.route("/<name>/disable", methods=["POST"])
@blp.response(200, UserStateSchema)
def disable(name: str) -> Any:
    """Refuse every token of the user until enabled again (admins)."""
    return _set_disabled(name, True)


@blp.route("/<name>/enable", methods=["POST"])
@blp.response(200, UserStateSchema)
def enable(name: str) -> Any:
    """Accept the user's unexpired, unrevoked tokens again (admins)."""
    return _set_disabled(name, False)
