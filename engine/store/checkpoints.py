"""Signed checkpoints of the chain heads: the stored copy (the witness outside the database is the
authority; `engine.audit.checkpoints` signs and checks).

A checkpoint's leaf set is, for each instance, its newest leaf row at or before that checkpoint: a row
is written only when the instance moved on, and carries the event hashes added since its previous
leaf, so the checkpoints together keep every event hash they vouched for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.store.models import Base, EventRow, Instance


class CheckpointRow(Base):
    __tablename__ = "audit_checkpoints"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    instances: Mapped[int]
    root: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    made_by: Mapped[str] = mapped_column(String(128))


class CheckpointLeaf(Base):
    __tablename__ = "audit_checkpoint_leaves"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    last_seq: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    prev_leaf: Mapped[str] = mapped_column(String(64))
    hashes: Mapped[list[Any]]  # event hashes of seq (previous leaf's last_seq + 1) .. last_seq
    leaf_hash: Mapped[str] = mapped_column(String(64))


def checkpoint_dict(row: CheckpointRow) -> dict[str, Any]:
    return {"number": row.number, "at": row.at, "instances": row.instances, "root": row.root,
            "prev_hash": row.prev_hash, "hash": row.hash, "key_id": row.key_id,
            "signature": row.signature, "made_by": row.made_by}


def latest(session: Session) -> CheckpointRow | None:
    return session.scalars(select(CheckpointRow).order_by(CheckpointRow.number.desc()).limit(1)).first()


def get(session: Session, number: int) -> CheckpointRow | None:
    return session.get(CheckpointRow, number)


def listing(session: Session, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    total = session.scalar(select(func.count()).select_from(CheckpointRow)) or 0
    rows = session.scalars(select(CheckpointRow).order_by(CheckpointRow.number.desc())
                           .offset(offset).limit(limit)).all()
    return [checkpoint_dict(r) for r in rows], total


def leaf_set(session: Session, upto: int) -> dict[str, tuple[int, str, int, str]]:
    """instance id -> (last_seq, head_hash, number, leaf_hash) of its newest leaf at or before `upto`."""
    leaf = CheckpointLeaf
    query = select(leaf.instance_id, leaf.last_seq, leaf.head_hash, leaf.number, leaf.leaf_hash)
    rows = session.execute(query.where(leaf.number <= upto).order_by(leaf.number)).all()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def leaves_of(session: Session, instance_id: str, upto: int) -> list[CheckpointLeaf]:
    return list(session.scalars(select(CheckpointLeaf).where(CheckpointLeaf.instance_id == instance_id,
                                                             CheckpointLeaf.number <= upto)
                                .order_by(CheckpointLeaf.number)).all())


def heads(session: Session) -> dict[str, tuple[int, str, datetime]]:
    """instance id -> (last_seq, head_hash, created_at) as the instance rows say."""
    rows = session.execute(select(Instance.id, Instance.last_seq, Instance.head_hash, Instance.created_at))
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def events_after(session: Session, instance_id: str, seq: int) -> list[EventRow]:
    """The events from `seq` on (the one at `seq` too, so the caller can check the link to it)."""
    return list(session.scalars(select(EventRow).where(EventRow.instance_id == instance_id,
                                                       EventRow.seq >= seq).order_by(EventRow.seq)).all())


def events_of(session: Session, instance_id: str) -> list[EventRow]:
    return events_after(session, instance_id, 1)


def lock(session: Session) -> None:
    """One checkpoint at a time across processes (SQLite's writer already serialises)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(72208)))


def store_checkpoint(session: Session, row: CheckpointRow, leaves: list[CheckpointLeaf]) -> None:
    session.add(row)
    session.add_all(leaves)
    session.flush()
