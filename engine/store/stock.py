"""Spare-part stock per part type and location, and the ledger of its movements.

Every movement is an effect of an engine operation (`Effects.move_stock`): a case's issue or return step,
or a keeper's manual adjustment, which is a case of its own (`stock_adjustment`). So the movement is in
that instance's hash chain (`service_task_completed.effects`) and these rows are the queryable copy; a
replay reads the chain and never moves stock again.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Integer, String, Text, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.errors import Conflict, InvalidInput
from engine.store.models import Base, Record

# How each movement changes the count of good parts on the shelf.
SIGN = {"receive": 1, "return": 1, "issue": -1, "write_off": -1}
_COUNT_LOCK = 72209  # the advisory lock class of record counts (72207 migrations, 72208 checkpoints)


class StockLevel(Base):
    __tablename__ = "stock_levels"
    part_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    location: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    __table_args__ = (CheckConstraint("quantity >= 0", name="ck_stock_levels_not_negative"),)


class StockMovement(Base):
    __tablename__ = "stock_movements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    part_type: Mapped[str] = mapped_column(String(64), index=True)
    location: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    balance: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    element_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


_LEVELS = Base.metadata.tables["stock_levels"]
_MOVES = Base.metadata.tables["stock_movements"]


def check_movement(part_type: object, location: object, kind: object, quantity: object) -> None:
    """Bad input names its field, before anything is written."""
    fields: dict[str, str] = {}
    for name, value in (("part_type", part_type), ("location", location)):
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            fields[name] = "must be a text of 1 to 64 characters"
    if kind not in SIGN:
        fields["kind"] = "must be one of " + ", ".join(SIGN)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= 100_000:
        fields["quantity"] = "must be a whole number from 1 to 100000"
    if fields:
        raise InvalidInput("invalid stock movement", details={"fields": fields})


def apply_movement(session: Session, instance_id: str, actor: str, effect: Mapping[str, Any],
                   at: datetime) -> None:
    part_type, location, kind = effect["part_type"], effect["location"], effect["movement"]
    quantity = int(effect["quantity"])
    check_movement(part_type, location, kind, quantity)
    delta = SIGN[kind] * quantity
    conn = session.connection()
    key = (_LEVELS.c.part_type == part_type) & (_LEVELS.c.location == location)
    # One conditional statement: two issues at the same moment cannot both take the last part.
    moved = conn.execute(update(_LEVELS).where(key & (_LEVELS.c.quantity + delta >= 0))
                         .values(quantity=_LEVELS.c.quantity + delta, updated_at=at)).rowcount
    if moved != 1:
        current = conn.execute(select(_LEVELS.c.quantity).where(key)).scalar()
        if current is not None or delta < 0:
            raise Conflict(f"stock of {part_type} at {location} is {current or 0}: "
                           f"{kind} of {quantity} would make it negative", instance_id=instance_id,
                           details={"part_type": part_type, "location": location, "quantity": current or 0})
        conn.execute(insert(_LEVELS).values(part_type=part_type, location=location, quantity=delta,
                                            updated_at=at))
    balance = conn.execute(select(_LEVELS.c.quantity).where(key)).scalar_one()
    conn.execute(insert(_MOVES).values(part_type=part_type, location=location, kind=kind, quantity=quantity,
                                       balance=balance, instance_id=instance_id,
                                       element_id=effect.get("element_id", ""), actor=actor,
                                       reason=str(effect.get("reason", "")), at=at))


def levels(session: Session, part_type: str | None = None,
           location: str | None = None) -> list[dict[str, Any]]:
    query = select(_LEVELS).order_by(_LEVELS.c.part_type, _LEVELS.c.location)
    if part_type:
        query = query.where(_LEVELS.c.part_type == part_type)
    if location:
        query = query.where(_LEVELS.c.location == location)
    return [dict(r._mapping) for r in session.connection().execute(query)]


def movements(session: Session, part_type: str | None = None, location: str | None = None,
              limit: int = 100) -> list[dict[str, Any]]:
    query = select(_MOVES).order_by(_MOVES.c.id.desc()).limit(limit)
    if part_type:
        query = query.where(_MOVES.c.part_type == part_type)
    if location:
        query = query.where(_MOVES.c.location == location)
    return [dict(r._mapping) for r in session.connection().execute(query)]


def _count_records(session: Session, args: Mapping[str, Any]) -> int:
    """Records of a kind since a moment whose data holds every pair of `match`.

    A handler counts to decide whether the record it is about to leave still fits a limit (a yearly
    quota), so two cases counting the same kind at once must not both see the last free place: on
    PostgreSQL the count takes a lock per kind held to the end of the operation's transaction, and the
    second case counts after the first has committed its record. SQLite writers are serialised already.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(str(args["kind"]).encode()) - 2**31  # pg's int4 range
        session.execute(select(func.pg_advisory_xact_lock(_COUNT_LOCK, key)))
    since = datetime.fromisoformat(str(args["since"])).astimezone(UTC)
    rows = session.execute(select(Record.data).where(Record.kind == args["kind"], Record.created_at >= since))
    match = dict(args.get("match", {}))
    return sum(1 for (data,) in rows if all(data.get(k) == v for k, v in match.items()))


def lookup(session: Session | None, name: str, args: Mapping[str, Any]) -> int | None:
    """What a handler may ask of the store (see `HandlerContext.lookup`)."""
    if session is None:
        return None
    if name == "count_records":
        return _count_records(session, args)
    if name == "stock_level":
        found = levels(session, str(args["part_type"]), str(args["location"]))
        return found[0]["quantity"] if found else 0
    raise InvalidInput(f"no lookup {name!r}")
