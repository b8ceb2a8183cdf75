"""Token lifetimes and revocation: expired, revoked and disabled are 401, and a revocation through the
API takes effect at once even while the token's user is cached."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from api.cli import main
from engine.clock import ManualClock
from engine.errors import InvalidInput, NotFound
from engine.store.migrate import create_all
from engine.store.sessions import Store
from engine.store.users import (
    Lifetime,
    TokenCache,
    actor_for_token,
    add_user,
    issue_token,
    revoke,
    set_disabled,
    tokens_of,
)

from .test_api_helpers import ApiHarness, assert_error

WALL = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class Wall:
    """The wall clock expiry is measured on, moved by hand."""

    def __init__(self) -> None:
        self.now = WALL

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    create_all(store)
    yield store
    store.dispose()


def test_a_token_expires_after_its_lifetime(store: Store, clock: ManualClock) -> None:
    wall = Wall()
    token = add_user(store, clock, "li.wei", ["duty_engineer"], lifetime=Lifetime(timedelta(days=2), wall))
    wall.now = WALL + timedelta(days=2) - timedelta(seconds=1)
    assert actor_for_token(store, token, wall) is not None
    wall.now = WALL + timedelta(days=2)
    assert actor_for_token(store, token, wall) is None
    (row,) = tokens_of(store, "li.wei")
    assert row["expires_at"] == WALL + timedelta(days=2) and row["revoked_at"] is None


def test_the_default_lifetime_is_thirty_days_of_wall_time(store: Store, clock: ManualClock) -> None:
    wall = Wall()
    token = add_user(store, clock, "li.wei", lifetime=Lifetime(wall=wall))
    # The engine clock (a rehearsal's) plays no part: moving it years ahead logs nobody out.
    clock.advance(timedelta(days=3650))
    assert actor_for_token(store, token, lambda: WALL + timedelta(days=29)) is not None
    assert actor_for_token(store, token, lambda: WALL + timedelta(days=30)) is None
    with pytest.raises(InvalidInput):
        Lifetime(timedelta(0))


def test_expiry_is_checked_on_a_cached_copy(store: Store, clock: ManualClock) -> None:
    wall = Wall()
    token = add_user(store, clock, "li.wei", lifetime=Lifetime(timedelta(hours=1), wall))
    cache = TokenCache(store, ttl=3600, timer=lambda: 0.0, wall=wall)
    assert cache.actor(token) is not None
    wall.now = WALL + timedelta(hours=1)
    assert cache.actor(token) is None


def test_revoke_by_name_by_id_and_by_the_token_itself(store: Store, clock: ManualClock) -> None:
    first = add_user(store, clock, "li.wei")
    second, third = issue_token(store, clock, "li.wei"), issue_token(store, clock, "li.wei")
    ids = {row["id"] for row in tokens_of(store, "li.wei")}
    assert len(ids) == 3 and all(i.startswith("tok_") and len(i) == 20 for i in ids)
    one = next(i for i in ids)
    assert revoke(store, one) == [one]
    remaining = [t for t in (first, second, third) if actor_for_token(store, t) is not None]
    assert len(remaining) == 2
    assert revoke(store, remaining[0]) == [_id_of(remaining[0])]
    assert actor_for_token(store, remaining[0]) is None and actor_for_token(store, remaining[1]) is not None
    assert len(revoke(store, "li.wei")) == 3  # all of them; the earlier ones keep their first revocation
    assert all(actor_for_token(store, t) is None for t in (first, second, third))
    assert sum(1 for row in tokens_of(store, "li.wei") if row["revoked_at"]) == 3
    with pytest.raises(NotFound):
        revoke(store, "nobody")
    with pytest.raises(NotFound):
        revoke(store, "tok_0000000000000000")


def test_a_disabled_user_is_refused_until_enabled(store: Store, clock: ManualClock) -> None:
    token = add_user(store, clock, "li.wei")
    set_disabled(store, "li.wei", True)
    assert actor_for_token(store, token) is None
    set_disabled(store, "li.wei", False)
    assert actor_for_token(store, token) is not None
    with pytest.raises(NotFound):
        set_disabled(store, "nobody", True)


# ----------------------------------------------------------------- the API


@pytest.fixture
def api(db_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(db_url, clock)
    yield harness
    harness.close()


def test_revoking_through_the_api_takes_effect_at_once_despite_the_cache(api: ApiHarness) -> None:
    assert api.service.tokens.ttl > 0
    assert api.get("/tasks", "dave").status_code == 200  # dave's user is now cached
    (token_row,) = api.get("/users/dave/tokens").json["items"]
    assert token_row["revoked_at"] is None and token_row["expires_at"] is not None
    assert api.post("/users/dave/revoke").json == {"revoked": [token_row["id"]]}
    assert_error(api.get("/tasks", "dave"), 401, "unauthorized")
    assert api.get("/users/dave/tokens").json["items"][0]["revoked_at"] is not None


def test_one_token_is_revoked_by_id_and_the_others_keep_working(api: ApiHarness) -> None:
    spare = issue_token(api.service.store, api.clock, "dave")
    ids = {row["id"] for row in api.get("/users/dave/tokens").json["items"]}
    assert ids == {_id_of(spare), _id_of(api.tokens["dave"])}
    spare_headers = {"Authorization": f"Bearer {spare}"}
    assert api.client.get("/api/v1/tasks", headers=spare_headers).status_code == 200
    assert_error(api.post(f"/users/acme/tokens/{_id_of(spare)}/revoke"), 404)  # not acme's token
    response = api.post(f"/users/dave/tokens/{_id_of(spare)}/revoke")
    assert response.json == {"revoked": [_id_of(spare)]}
    assert_error(api.client.get("/api/v1/tasks", headers=spare_headers), 401)
    assert api.get("/tasks", "dave").status_code == 200


def test_disabling_through_the_api_refuses_at_once_and_enabling_restores(api: ApiHarness) -> None:
    assert api.get("/tasks", "dave").status_code == 200
    assert api.post("/users/dave/disable").json == {"name": "dave", "disabled": True}
    assert_error(api.get("/tasks", "dave"), 401)
    assert api.post("/users/dave/enable").json == {"name": "dave", "disabled": False}
    assert api.get("/tasks", "dave").status_code == 200


@pytest.mark.parametrize("user", ["process_owner", "auditor", "dave", "acme"])
def test_only_admins_manage_tokens(api: ApiHarness, user: str) -> None:
    assert_error(api.get("/users/dave/tokens", user), 403)
    assert_error(api.post("/users/dave/revoke", user), 403)
    assert_error(api.post("/users/dave/disable", user), 403)
    assert api.get("/tasks", "dave").status_code == 200
    assert_error(api.post("/users/nobody/revoke"), 404)
    assert_error(api.post("/users/nobody/disable"), 404)


def test_an_expired_token_is_401_through_the_api(api: ApiHarness) -> None:
    wall = Wall()
    token = issue_token(api.service.store, api.clock, "dave", Lifetime(timedelta(days=1), wall))
    api.service.tokens = TokenCache(api.service.store, wall=wall)
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/tasks", headers=headers).status_code == 200
    wall.now = WALL + timedelta(days=1)
    details = assert_error(api.client.get("/api/v1/tasks", headers=headers), 401)
    assert details == {}


# ----------------------------------------------------------------- the command line


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> str:
    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    return sqlite_url


def test_cli_revoke_disable_enable(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "add", "li.wei", "--groups", "duty_engineer"]) == 0
    token = capsys.readouterr().out.strip()
    assert main(["user", "token", "li.wei"]) == 0
    spare = capsys.readouterr().out.strip()
    store = Store(cli_db)
    try:
        assert main(["user", "tokens", "li.wei"]) == 0
        listed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
        assert [state for _, state, _ in listed] == ["active", "active"]
        spare_id = _id_of(spare)
        assert main(["user", "revoke", spare_id]) == 0
        assert capsys.readouterr().out.strip() == spare_id
        assert actor_for_token(store, spare) is None and actor_for_token(store, token) is not None
        assert main(["user", "disable", "li.wei"]) == 0
        assert actor_for_token(store, token) is None
        assert main(["user", "enable", "li.wei"]) == 0
        assert actor_for_token(store, token) is not None
        assert main(["user", "revoke", "li.wei"]) == 0
        assert actor_for_token(store, token) is None
        assert main(["user", "revoke", "nobody"]) == 1
        assert "no user or token" in capsys.readouterr().err
    finally:
        store.dispose()


def _id_of(token: str) -> str:
    from engine.store.users import hash_token, token_id

    return token_id(hash_token(token))


def test_cli_token_lifetime_comes_from_the_environment(cli_db: str, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WEIBAO_TOKEN_DAYS", "2")
    before = datetime.now(UTC)
    assert main(["user", "add", "li.wei"]) == 0
    after = datetime.now(UTC)
    store = Store(cli_db)
    try:
        (row,) = tokens_of(store, "li.wei")
    finally:
        store.dispose()
    assert before + timedelta(days=2) <= row["expires_at"] <= after + timedelta(days=2)
