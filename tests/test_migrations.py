"""Schema migrations: a database made by the first schema upgrades to the current models, keeping data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from engine.store.migrate import config_for, migrate, upgrade_to
from engine.store.models import Base
from engine.store.sessions import Store

from .conftest import make_service
from .engine_support import ENGINEER, TEST_HANDLERS, deploy, the_task

HEAD = ScriptDirectory.from_config(config_for(None)).get_current_head()


def test_the_newest_revision_is_the_outbox_incidents() -> None:
    assert HEAD == "0012"  # a new migration must be added to the tests that upgrade old schemas


def test_incidents_from_before_outbox_incidents_keep_holding_their_tasks(db_url):
    store = Store(db_url)
    upgrade_to(store, "0011")
    at = datetime(2026, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO incidents (instance_id, task_id, element_id, topic, message, "
                          "attempts, status, created_at) VALUES ('i-1', 't-1', 'Task_x', 'vendor_case', "
                          "'down', 3, 'open', :at)"), {"at": at})
    migrate(store)
    assert _diff(store) == []
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT task_id, outbox_id FROM incidents")).one() == ("t-1", None)
    store.dispose()


def test_a_database_from_before_the_stock_gets_an_empty_stock(db_url):
    store = Store(db_url)
    upgrade_to(store, "0010")
    assert "stock_levels" not in inspect(store.engine).get_table_names()
    migrate(store)
    assert _diff(store) == []
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM stock_levels")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM stock_movements")).scalar() == 0
    store.dispose()


def test_users_from_before_passwords_keep_their_tokens_and_may_be_given_one(db_url):
    from engine.store.passwords import set_password, sign_in
    from engine.store.users import actor_for_token, hash_token

    store = Store(db_url)
    upgrade_to(store, "0006")
    at = datetime(2026, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (name, groups, roles, created_at) "
                          "VALUES ('old', '[\"service_desk\"]', '[]', :at)"), {"at": at})
        conn.execute(text("INSERT INTO api_tokens (hash, user_name, created_at, expires_at) "
                          "VALUES (:h, 'old', :at, :until)"),
                     {"h": hash_token("wb_old"), "at": at, "until": datetime(2099, 1, 1)})
    migrate(store)
    assert _diff(store) == []
    assert actor_for_token(store, "wb_old").name == "old"
    assert sign_in(store, "old", "") is None  # no password yet: no console sign-in
    set_password(store, "old", "correct horse")
    assert sign_in(store, "old", "correct horse").groups == {"service_desk"}
    store.dispose()


def test_processes_deployed_before_the_lifecycle_keep_their_newest_version_current(db_url):
    store = Store(db_url)
    upgrade_to(store, "0007")
    at = datetime(2026, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    with store.engine.begin() as conn:
        for number, key, version in ((1, "fault_repair", 1), (2, "fault_repair", 2), (3, "inspection", 1)):
            conn.execute(text("INSERT INTO process_versions (id, process_key, version, name, content_hash, "
                              "files, deployed_at, deployed_by) "
                              "VALUES (:id, :key, :v, 'n', :h, '[]', :at, 'x')"),
                         {"id": number, "key": key, "v": version, "h": f"{number:064d}", "at": at})
    migrate(store)
    assert _diff(store) == []
    with store.engine.connect() as conn:
        heads = conn.execute(text("SELECT process_key, version_id FROM process_heads ORDER BY 1")).all()
        assert [tuple(h) for h in heads] == [("fault_repair", 2), ("inspection", 3)]
        active = text("SELECT COUNT(*) FROM process_versions WHERE suspended_at IS NULL")
        assert conn.execute(active).scalar() == 3
    store.dispose()


def test_tokens_from_before_lifetimes_work_for_the_grace_period(db_url):
    from engine.store.users import actor_for_token, hash_token

    store = Store(db_url)
    upgrade_to(store, "0003")
    at = datetime(2026, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (name, groups, roles, created_at) "
                          "VALUES ('old', '[\"service_desk\"]', '[]', :at)"), {"at": at})
        conn.execute(text("INSERT INTO api_tokens (hash, user_name, created_at) VALUES (:h, 'old', :at)"),
                     {"h": hash_token("wb_old"), "at": at})
    migrate(store)
    assert _diff(store) == []
    upgraded = datetime.now(UTC)
    assert actor_for_token(store, "wb_old", wall=lambda: upgraded).name == "old"
    assert actor_for_token(store, "wb_old", wall=lambda: upgraded + timedelta(days=31)) is None
    store.dispose()


def _diff(store: Store) -> list:
    with store.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def test_first_schema_upgrades_to_current_and_keeps_data(db_url, clock):
    store = Store(db_url)
    upgrade_to(store, "0001")
    assert "sla_clocks" not in inspect(store.engine).get_table_names()
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (instance_id, element_id, channel, recipient, subject, body, status, "
                "created_at) VALUES ('i', 'e', 'sms', 'x', 's', 'b', 'pending', :at)"
            ),
            {"at": datetime(2026, 3, 1, tzinfo=UTC).replace(tzinfo=None)},
        )
    migrate(store)
    assert _diff(store) == []
    assert "ix_open_tasks_worklist" in {i["name"] for i in inspect(store.engine).get_indexes("open_tasks")}
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT attempts, status FROM outbox")).one() == (0, "pending")
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    store.dispose()

    svc = make_service(db_url, clock, handlers=TEST_HANDLERS)  # the upgraded database works
    deploy(svc, "rework.bpmn")
    iid = svc.runtime.start("rework", {"summary": "after upgrade"}, "alice")
    svc.runtime.complete(the_task(svc, iid, "Work"), {"ok": True}, ENGINEER)
    svc.close()


def test_new_database_is_created_at_head(db_url):
    store = Store(db_url)
    migrate(store)
    migrate(store)  # idempotent
    assert _diff(store) == []
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    store.dispose()
