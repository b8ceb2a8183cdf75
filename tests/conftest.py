"""Shared fixtures: databases (SQLite and a throw-away PostgreSQL), a manual clock, a service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from api.compose import product_service
from engine.clock import ManualClock
from engine.service import Service
from engine.store.migrate import drop_all
from engine.store.sessions import Store

from .pgserver import PgServer

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# Property tests draw the same examples on every run and machine, so a failure is reproducible and a
# green run means the same thing everywhere; no example database is written.
hypothesis_settings.register_profile("weibao", derandomize=True, database=None, deadline=None)
hypothesis_settings.load_profile("weibao")

# Monday 2 March 2026, 09:00 in Beijing: a working day, inside working hours.
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    server = PgServer()
    if not server.available:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on this machine")
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'weibao.sqlite3'}"
    url = request.getfixturevalue("pg_url")
    store = Store(url)
    drop_all(store)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    store.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'weibao.sqlite3'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def make_service(url: str, clock: ManualClock, handlers: list | None = None, **settings) -> Service:
    return product_service(url, clock=clock, handlers=handlers, settings=settings)


@pytest.fixture
def service(db_url: str, clock: ManualClock) -> Iterator[Service]:
    svc = make_service(db_url, clock)
    yield svc
    svc.close()


@pytest.fixture
def engine_service(db_url: str, clock: ManualClock) -> Iterator[Service]:
    """A service with the test handlers (`echo`, `flaky`) on both databases."""
    from .engine_support import FLAKY_PLAN, TEST_HANDLERS

    FLAKY_PLAN.clear()
    svc = make_service(db_url, clock, handlers=TEST_HANDLERS)
    yield svc
    svc.close()


@pytest.fixture
def svc(db_url: str, clock: ManualClock) -> Iterator[Service]:
    """The shipped product for the scenario tests: its handlers and the diagrams in processes/."""
    from .scenario_support import product_service

    yield from product_service(db_url, clock)


@pytest.fixture
def lite(sqlite_url: str, clock: ManualClock) -> Iterator[Service]:
    """The same on SQLite alone, where a scenario shows a known bug on one database."""
    from .scenario_support import product_service

    yield from product_service(sqlite_url, clock)
