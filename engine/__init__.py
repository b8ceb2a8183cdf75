"""Weibao engine: BPMN execution on SpiffWorkflow with durable storage, SLA clocks and audit.

This module is the engine's public surface. The API, the CLI and the server never import from
`engine.store` (checked by import-linter in `make lint`): the read side is offered here as modules
(`queries`, `worklist`, `casework`, `users`, `passwords`) whose functions take a store session, with
the store's few names the API needs.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection as ReadConnection

from engine import policy
from engine.actor import SYSTEM, Actor
from engine.clock import Clock, ManualClock, SystemClock
from engine.errors import (
    CalendarDataMissing,
    Conflict,
    DefinitionInvalid,
    DeliveryError,
    EngineError,
    Forbidden,
    HandlerError,
    InvalidInput,
    NotFound,
    ScriptError,
)
from engine.service import Service, build_service, default_database_url
from engine.settings import Settings
from engine.sla.provisional import calendar_warnings
from engine.store import casework, clock_state, groups, passwords, queries, stock, users, worklist
from engine.store.gauges import Gauges, read_gauges
from engine.store.migrate import ensure_schema
from engine.store.paging import Scope
from engine.store.sessions import Store
from engine.store.users import GROUPS, ROLES, add_user, ensure_user, issue_token

__all__ = [
    "GROUPS", "ROLES", "add_user", "ensure_schema", "ensure_user", "issue_token",
    "SYSTEM", "Actor", "CalendarDataMissing", "Clock", "Conflict", "DefinitionInvalid", "DeliveryError",
    "EngineError", "Forbidden", "HandlerError", "InvalidInput", "ManualClock", "NotFound",
    "calendar_warnings", "ReadConnection", "ScriptError", "Scope", "Service", "Settings", "Store",
    "SystemClock", "build_service", "default_database_url", "Gauges", "read_gauges", "clock_state", "groups",
    "casework", "passwords", "policy", "queries", "stock", "users", "worklist",
]
