"""Bearer tokens: a process trusts its copy of a token's user for a few seconds, never longer."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from api.cli import main
from engine.clock import ManualClock
from engine.store.migrate import create_all
from engine.store.sessions import Store
from engine.store.users import TokenCache, add_user, ensure_user


class Seconds:
    """The cache's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lookups(store: Store) -> list[str]:
    seen: list[str] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda conn, cursor, sql, *rest: (
            seen.append(sql) if sql.startswith("SELECT") and "api_tokens" in sql else None
        ),
    )
    return seen


def test_a_known_token_is_looked_up_once_per_ttl(db_url: str, clock: ManualClock) -> None:
    store = Store(db_url)
    create_all(store)
    token = add_user(store, clock, "alice", groups=["duty_engineer"])
    seconds, lookups = Seconds(), _lookups(store)
    cache = TokenCache(store, ttl=5.0, timer=seconds)
    first = cache.actor(token)
    assert first is not None and first.name == "alice" and first.groups == {"duty_engineer"}
    seconds.now = 4.9
    assert cache.actor(token) == first
    assert len(lookups) == 1
    # `weibao user` in another process replaces alice's token and her groups.
    fresh = ensure_user(store, clock, "alice", groups=["senior_engineer"])
    assert cache.actor(token) == first  # the copy is still trusted within its few seconds
    seconds.now = 5.1
    assert cache.actor(token) is None
    assert cache.actor(fresh).groups == {"senior_engineer"}  # type: ignore[union-attr]
    assert cache.actor("wb_unknown") is None and cache.actor("wb_unknown") is None
    assert len(lookups) == 5  # unknown tokens are asked about every time
    store.dispose()


def test_ttl_zero_asks_the_database_every_time(db_url: str, clock: ManualClock) -> None:
    store = Store(db_url)
    create_all(store)
    token = add_user(store, clock, "bob", groups=["service_desk"])
    lookups = _lookups(store)
    cache = TokenCache(store, ttl=0)
    first = cache.actor(token)
    assert first is not None and (first.name, first.groups) == ("bob", {"service_desk"})
    fresh = ensure_user(store, clock, "bob", groups=["senior_engineer"])
    assert cache.actor(token) is None  # replaced at once: no copy is trusted
    assert cache.actor(fresh).groups == {"senior_engineer"}  # type: ignore[union-attr]
    assert len(lookups) == 3
    store.dispose()


def test_several_workers_need_postgresql(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("WEIBAO_DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite3'}")
    with pytest.raises(SystemExit, match="needs PostgreSQL"):
        main(["serve", "--workers", "2"])
    assert not (tmp_path / "w.sqlite3").exists()  # refused before anything was created
