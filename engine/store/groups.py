"""Groups as data: which candidate groups exist, who defined them, which diagrams use them.

A group is known when it is one of the standard groups of the shipped contracts, when an admin added
it, or when a deployed diagram names it as a candidate group: a process owner who draws a lane for a
new group in the modeler and deploys it can then create its users. Users may only join known groups
(a typo would otherwise make a user who never sees a task); diagrams define their own groups, so a
deploy is only warned about a group nobody belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import Clock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.store.models import Base, User
from engine.store.sessions import Store

STANDARD_GROUPS = (
    "customer", "service_desk", "duty_engineer", "senior_engineer", "expert_group", "vendor",
    "technical_lead", "technical_director", "project_manager", "department_director", "general_manager",
    "spare_parts_keeper",
    # Roles the contracts name that no shipped diagram uses yet (see ../shared/seeds/DIGEST.md):
    "customer_manager",  # 客户经理, 003_fc58e5a8846aff91.txt line 95 (§2.1.1)
    "project_coordinator",  # 项目总协调人 / 项目协调人, 001_4ada53786a497df7.txt line 13 (§2.1 steps 5, 17)
    "resident_engineer",  # 常驻工程师, 001_4ada53786a497df7.txt line 13 (§4.3)
    "development_team",  # 项目开发小组, 002_2d9e6ae3473b3647.txt line 108 (second development, l.134)
    "risk_assessment_team",  # 项目评估小组, 001_4ada53786a497df7.txt line 13 (§3 steps 6-8)
    "regional_office",  # 当地办事处/区域代表, 003_fc58e5a8846aff91.txt line 85 (§1.2.4.4)
    # The management levels seed 004's step limit reports to (004_777e0ef8db92c2e8.txt lines 709-711):
    "support_group_leader",  # 技术支持小组组长, 004 lines 699-705 (assigns and tracks every fault's steps)
    "project_director",  # 项目总负责 / 工程总负责, 004 lines 61, 277 (the project manager reports to them)
)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,127}$")


class GroupRow(Base):
    """A group an admin added."""

    __tablename__ = "groups"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))


class GroupUse(Base):
    """A candidate group some deployed version of a process names (kept while any version may run)."""

    __tablename__ = "group_uses"
    group: Mapped[str] = mapped_column(String(128), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), primary_key=True)


def known(session: Session) -> set[str]:
    return set(STANDARD_GROUPS) | set(session.scalars(select(GroupRow.name))) | \
        set(session.scalars(select(GroupUse.group)))


def record_uses(session: Session, process_key: str, groups: Iterable[str]) -> None:
    have = set(session.scalars(select(GroupUse.group).where(GroupUse.process_key == process_key)))
    for group in sorted(set(groups) - have):
        session.add(GroupUse(group=group, process_key=process_key))


def add(store: Store, clock: Clock, name: str, actor: str) -> dict[str, Any]:
    if not _NAME.match(name or ""):
        raise InvalidInput("invalid group name", details={"fields": {
            "name": "use a lower-case letter, then up to 127 lower-case letters, digits or _"}})
    with store.write() as session:
        if name in known(session):
            raise Conflict(f"group {name!r} already exists", details={"group": name})
        session.add(GroupRow(name=name, created_at=clock.now(), created_by=actor))
        session.flush()
        return _overview(session, name)


def overview(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    """Each known group: where it comes from, which processes use it, how many users are in it."""
    with store.read() as session:
        names = sorted(known(session)) if name is None else [name]
        if name is not None and name not in known(session):
            raise NotFound(f"no group {name!r}")
        return [_overview(session, n) for n in names]


def _overview(session: Session, name: str) -> dict[str, Any]:
    processes = sorted(session.scalars(select(GroupUse.process_key).where(GroupUse.group == name)))
    admin = session.get(GroupRow, name)
    source = "standard" if name in STANDARD_GROUPS else "admin" if admin is not None else "diagram"
    members = sum(1 for groups in session.scalars(select(User.groups)) if name in groups)
    return {"name": name, "defined_by": source, "processes": processes, "members": members,
            "created_at": admin.created_at if admin else None,
            "created_by": admin.created_by if admin else None}


def without_members(session: Session, groups: Iterable[str]) -> list[str]:
    taken = {g for row in session.scalars(select(User.groups)) for g in row}
    return sorted(set(groups) - taken)


def empty(store: Store, names: Iterable[str]) -> list[str]:
    """Which of `names` no user belongs to."""
    with store.read() as session:
        return without_members(session, names)
