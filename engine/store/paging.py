"""Who is looking (`Scope`) and which page (`Page`): shared by every read query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from engine import policy
from engine.actor import Actor
from engine.store.models import Instance


@dataclass(frozen=True)
class Scope:
    """`customer`: the name whose instances alone are visible, or None for everything."""

    customer: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Scope:
        return cls(customer=policy.customer_scope(actor))

    def instances(self) -> ColumnElement[bool]:
        if self.customer is None:
            return Instance.id.is_not(None)
        named = Instance.data["customer"].as_string() == self.customer
        return or_(Instance.started_by == self.customer, named)


@dataclass(frozen=True)
class Page:
    page: int = 1
    per_page: int = 50


# Any: a Select of any columns; its generic form differs between SQLAlchemy 2.0 and 2.1
def paged(session: Session, query: Any, page: Page) -> tuple[list[Any], int]:
    rows = list(session.execute(query.limit(page.per_page).offset((page.page - 1) * page.per_page)).all())
    total = known_total(rows, page)
    if total is None:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return rows, total


def known_total(rows: list[Any], page: Page) -> int | None:
    """The last page tells the total without counting."""
    offset = (page.page - 1) * page.per_page
    if 0 < len(rows) < page.per_page or (not rows and offset == 0):
        return offset + len(rows)
    return None
