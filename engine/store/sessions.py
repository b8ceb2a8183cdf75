"""The store: one SQLAlchemy engine, write sessions serialised on SQLite, plain read snapshots."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Take transaction control from the driver so that writes can BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Writers serialise at BEGIN instead of failing later on a stale snapshot.
        # On the driver itself: a full SQLAlchemy execution here cost more than the reads of an
        # instance view. Its errors are wrapped as SQLAlchemy would (a busy database stays an
        # OperationalError of sqlalchemy.exc).
        sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get("weibao_write", False) else "BEGIN"
        driver = conn.connection.driver_connection
        try:
            driver.execute(sql)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, (), exc, sqlite3.Error, dialect=conn.dialect) from exc


def _tagged(value: object) -> dict[str, Any]:
    """Dates a script left in a case's data, in the tagged form the workflow serializer restores
    (SpiffWorkflow's task data goes into the state as it is, unconverted)."""
    if isinstance(value, date | datetime):
        return {"value": value.isoformat(), "typename": type(value).__name__}
    if isinstance(value, timedelta):
        return {"days": value.days, "seconds": value.seconds, "typename": "timedelta"}
    raise TypeError(f"a {type(value).__name__} cannot be stored in the case's data")


def _json(value: object) -> str:
    return json.dumps(value, default=_tagged)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
                kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
            else:
                kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        else:
            kwargs = {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}
        self.engine = create_engine(url, json_serializer=_json, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        self._writer: contextlib.AbstractContextManager[Any] = \
            threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(weibao_write=True), expire_on_commit=False)

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        # SQLite has one writer at a time. Threads of this process queue here, in order, instead of in
        # SQLite's busy handler, which polls with growing sleeps and made the slowest writer wait 0.5 s
        # under eight clients. Other processes still wait in BEGIN IMMEDIATE.
        with self._writer, self._write() as session, session.begin():
            yield session

    def ping(self) -> None:
        """Raises unless the database answers (the health probe)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """Plain reads in one transaction, for the hot paths: an ORM session costs more to open and close
        than the reads of a work list or an instance view."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
