"""Prepared statements read and write what the same Core statements would, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.store.migrate import create_all
from engine.store.models import TABLES
from engine.store.prepared import Prepared
from engine.store.sessions import Store

RECORDS = TABLES["records"]
AT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ADD = Prepared(insert(RECORDS), ["id", "kind", "instance_id", "data", "created_at"])
OF_KINDS = Prepared(
    select(RECORDS.c.id, RECORDS.c.data, RECORDS.c.created_at)
    .where(RECORDS.c.kind.in_(bindparam("kinds", expanding=True)))
    .order_by(RECORDS.c.id).limit(bindparam("n"))
)
COUNT = Prepared(select(func.count()).select_from(RECORDS))
RENAME = Prepared(update(RECORDS).where(RECORDS.c.id == bindparam("key")).values(kind=bindparam("kind")))
DROP = Prepared(delete(RECORDS).where(RECORDS.c.id == bindparam("key")))


def _record(rid: str, kind: str, hours: int = 0) -> dict[str, object]:
    return {"id": rid, "kind": kind, "instance_id": "i", "data": {"备件": [1, None], "ok": True},
            "created_at": AT + timedelta(hours=hours)}


@pytest.fixture
def store(db_url: str) -> Store:
    made = Store(db_url)
    create_all(made)
    return made


def test_rows_round_trip_json_and_aware_times(store: Store) -> None:
    with store.engine.begin() as conn:
        ADD.run(conn, [_record("r1", "a", 1), _record("r2", "b", 2), _record("r3", "c")])
    with store.snapshot() as conn:
        one = OF_KINDS.rows(conn, {"kinds": ["a"], "n": 10})
        two = OF_KINDS.rows(conn, {"kinds": ["b", "a"], "n": 10})
        none = OF_KINDS.rows(conn, {"kinds": [], "n": 10})
        cut = OF_KINDS.rows(conn, {"kinds": ["c", "b", "a"], "n": 2})
        assert COUNT.scalar(conn) == 3
        core = conn.execute(OF_KINDS.statement, {"kinds": ["b", "a"], "n": 10}).all()
    assert [tuple(r) for r in two] == [tuple(r) for r in core]
    assert [r.id for r in one] == ["r1"] and [r.id for r in two] == ["r1", "r2"] and none == []
    assert [r.id for r in cut] == ["r1", "r2"]
    assert one[0].data == {"备件": [1, None], "ok": True}
    assert one[0].created_at == AT + timedelta(hours=1) and one[0].created_at.tzinfo is not None


def test_dml_counts_rows_and_errors_are_sqlalchemy_errors(store: Store) -> None:
    with store.engine.begin() as conn:
        ADD.run(conn, _record("r1", "a"))
        assert RENAME.run(conn, {"key": "r1", "kind": "z"}) == 1
        assert RENAME.run(conn, {"key": "nobody", "kind": "z"}) == 0
        assert ADD.run(conn, []) == 0
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        ADD.run(conn, _record("r1", "again"))
    with store.engine.begin() as conn:
        assert conn.execute(select(RECORDS.c.kind)).scalar_one() == "z"  # the failed insert lost nothing
        assert DROP.run(conn, [{"key": "r1"}]) == 1
