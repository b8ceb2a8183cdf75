"""Instance migration (process owners): move running instances to another version of their process,
read what a migration moved, and revert it. The dry run is `GET …/versions/{v}/migration?to=`."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from marshmallow import validate

from . import auth
from .context import weibao
from .schemas import Text
from .strict_json import Blueprint

blp = Blueprint("migrations", __name__, url_prefix="/api/v1/processes", description="Instance migration")
blp.before_request(auth.authenticate)

_LOCATION = {"Location": {"schema": {"type": "string"}, "description": "the migration, to read back"}}
_VERSION = "<int(min=1, max=2147483647):version>"
_ID = "<int(min=1, max=2147483647):migration_id>"


class MigrateSchema(ma.Schema):
    to = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1),
                           metadata={"description": "the version to move the instances to"})
    instance = Text(max_length=36, load_default=None,
                    metadata={"description": "move only this instance (default: every running one)"})


class RefusedSchema(ma.Schema):
    instance_id = ma.fields.String(required=True)
    reasons = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "why it stayed"})
    blocking = ma.fields.List(ma.fields.String(), required=True,
                              metadata={"description": "the BPMN elements the reasons name"})


class MigrationSchema(ma.Schema):
    migration_id = ma.fields.Integer(required=True)
    process_key = ma.fields.String(required=True)
    from_version = ma.fields.Integer(required=True)
    to_version = ma.fields.Integer(required=True)
    reverts = ma.fields.Integer(allow_none=True, required=True,
                                metadata={"description": "the migration this one takes back"})
    moved = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "instances moved"})
    refused = ma.fields.List(ma.fields.Nested(RefusedSchema), required=True,
                             metadata={"description": "instances that stayed, and why (empty read back)"})


def _created(result: Any) -> Any:
    body = result.as_dict()
    location = url_for("migrations.get_migration", key=body["process_key"], migration_id=body["migration_id"])
    return body, 201, {"Location": location}


@blp.route(f"/<key>/versions/{_VERSION}/migration", methods=["POST"])
@blp.arguments(MigrateSchema())
@blp.response(201, MigrationSchema, headers=_LOCATION)
def migrate(body: dict[str, Any], key: str, version: int) -> Any:
    """Move the running instances of this version (or one) to version `to`. Each instance that can move
    records `instance_migrated` in its history and keeps its data, open tasks and SLA clocks; the others
    are listed in `refused` with the element that keeps them (see the dry run)."""
    who = auth.require_role("process_owner")
    return _created(weibao().service.runtime.migrations.migrate(key, version, body["to"], who,
                                                               body["instance"]))


@blp.route(f"/<key>/migrations/{_ID}")
@blp.response(200, MigrationSchema)
def get_migration(key: str, migration_id: int) -> Any:
    """What a migration moved (process owners and auditors)."""
    auth.require_role("process_owner", "auditor")
    return weibao().service.runtime.migrations.get(key, migration_id).as_dict()


@blp.route(f"/<key>/migrations/{_ID}/revert", methods=["POST"])
@blp.response(201, MigrationSchema, headers=_LOCATION)
def revert(key: str, migration_id: int) -> Any:
    """Move back to their source version the instances this migration moved that are still running on
    its target; a new migration, whose `reverts` names this one."""
    who = auth.require_role("process_owner")
    return _created(weibao().service.runtime.migrations.revert(key, migration_id, who))
