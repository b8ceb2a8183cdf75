"""The `weibao` command line: validate, deploy, user add, user token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from engine.store.sessions import Store
from engine.store.users import actor_for_token

from .test_api_helpers import BROKEN, MESSAGE_BPMN, REWORK


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    return sqlite_url


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"confirm": tmp_path / "confirm.bpmn", "broken": tmp_path / "broken.bpmn"}
    paths["confirm"].write_bytes(MESSAGE_BPMN)
    paths["broken"].write_bytes(BROKEN)
    return paths


def actor_of(url: str, token: str) -> object:
    store = Store(url)
    try:
        return actor_for_token(store, token)
    finally:
        store.dispose()


def test_validate_accepts_good_files(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(files["confirm"])]) == 0
    assert capsys.readouterr().out == ""


def test_validate_prints_one_problem_per_line(files: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(files["confirm"]), str(files["broken"])]) == 1
    problems = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert problems and all(set(p) == {"file", "element_id", "message"} for p in problems)
    assert ("broken.bpmn", "Nobody") in {(p["file"], p["element_id"]) for p in problems}


def test_validate_checks_handler_topics(capsys: pytest.CaptureFixture[str]) -> None:
    # rework.bpmn calls the test-only `echo` topic, which the shipped handlers do not provide.
    assert main(["validate", str(REWORK)]) == 1
    problems = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["element_id"], "echo" in p["message"]) for p in problems] == [("Record", True)]


def test_validate_reports_unreadable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "missing.bpmn")]) == 1
    assert "missing.bpmn" in capsys.readouterr().err


def test_deploy_creates_then_keeps_versions(db: str, files: dict[str, Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", str(files["confirm"])]) == 0
    process, version, state, content_hash, current = capsys.readouterr().out.strip().split("\t")
    assert (process, version, state, len(content_hash)) == ("confirm", "v1", "created", 64)
    assert current == "current v1"
    assert main(["deploy", str(files["confirm"])]) == 0
    assert capsys.readouterr().out.strip().split("\t")[:3] == ["confirm", "v1", "unchanged"]
    assert main(["deploy", str(files["broken"])]) == 1
    assert "Nobody" in capsys.readouterr().out


def test_user_add_prints_only_the_token(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    groups = "duty_engineer,senior_engineer"
    assert main(["user", "add", "li.wei", "--groups", groups, "--roles", "auditor"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    token = out.strip()
    actor = actor_of(db, token)
    assert actor is not None
    assert (actor.name, actor.groups, actor.roles) == ("li.wei", frozenset(groups.split(",")),
                                                       frozenset({"auditor"}))
    assert actor_of(db, token + "x") is None


def test_user_add_refuses_bad_input(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "add", "zhang", "--groups", "duty_engineer"]) == 0
    capsys.readouterr()
    assert main(["user", "add", "zhang"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["user", "add", "wang", "--groups", "pilots"]) == 1
    assert "pilots" in capsys.readouterr().err
    assert main(["user", "add", "system", "--roles", "admin"]) == 1
    captured = capsys.readouterr()
    assert "reserved" in captured.err and captured.out == ""


def test_user_token_issues_another_working_token(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["user", "add", "chen", "--groups", "vendor"])
    first = capsys.readouterr().out.strip()
    assert main(["user", "token", "chen"]) == 0
    second = capsys.readouterr().out.strip()
    assert first != second
    assert actor_of(db, first) == actor_of(db, second)
    assert main(["user", "token", "nobody"]) == 1


def test_installed_command_honours_the_database_url(sqlite_url: str) -> None:
    script = Path(sys.executable).with_name("weibao")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]
    env = {**os.environ, "WEIBAO_DATABASE_URL": sqlite_url}
    done = subprocess.run([*command, "user", "add", "ops", "--roles", "admin"], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    token = done.stdout.strip()
    assert done.stdout == token + "\n"
    actor = actor_of(sqlite_url, token)
    assert actor is not None and actor.is_admin


def test_commands_are_quiet_unless_verbose(db: str, files: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # The first command creates the schema: before, alembic announced it in about ten lines.
    assert main(["deploy", str(files["confirm"])]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "weibao: confirm v1 created; new instances start on it",
        "weibao: warning: confirm.bpmn: Close: no user is in candidate group 'service_desk'"]
    assert main(["deploy", "--verbose", str(files["confirm"])]) == 0
    lines = capsys.readouterr().err.splitlines()
    loggers = {json.loads(line)["logger"] for line in lines if not line.startswith("weibao: ")}
    assert "alembic.runtime.migration" in loggers
    assert main(["-v", "deploy", str(files["confirm"])]) == 0  # before the command as well
    assert "alembic.runtime.migration" in capsys.readouterr().err
    # Errors still reach standard error without the flag.
    assert main(["deploy", str(files["broken"])]) == 1
    assert "Nobody" in capsys.readouterr().out


def test_process_versions_rollback_and_suspension(db: str, files: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    v2 = tmp_path / "confirm_2026.bpmn"  # the process moves to a new file name: its next version
    v2.write_bytes(MESSAGE_BPMN.replace(b'name="Confirm"', b'name="Confirm v2"'))
    assert main(["deploy", str(files["confirm"])]) == 0
    assert main(["deploy", str(v2)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1].split("\t")[1:] == ["v2", "created", captured.out.split()[-3],
                                                             "current v2"]
    assert "confirm was defined in confirm.bpmn before, this file replaces it" in captured.err
    assert main(["deploy", str(files["confirm"])]) == 0  # known content: reported, nothing changes
    captured = capsys.readouterr()
    assert captured.out.split("\t")[1:3] == ["v1", "unchanged"] and captured.out.endswith("current v2\n")
    assert "activate v1 to roll back to it" in captured.err

    assert main(["user", "add", "li.wei", "--groups", "duty_engineer"]) == 0
    assert main(["process", "activate", "confirm", "v1", "--as", "li.wei"]) == 1
    assert "li.wei may not do this" in capsys.readouterr().err
    assert main(["process", "activate", "confirm", "1"]) == 0
    assert capsys.readouterr().out == "confirm v1 is current: new instances start on it (was v2)\n"
    assert main(["process", "suspend", "confirm", "2"]) == 0
    capsys.readouterr()
    assert main(["process", "versions", "confirm"]) == 0
    rows = [line.split("\t")[:3] for line in capsys.readouterr().out.splitlines()]
    assert rows == [["v2", "-,suspended", "running 0"], ["v1", "current", "running 0"]]
    assert main(["process", "list"]) == 0
    assert capsys.readouterr().out == "confirm\tv1\tConfirm\n"
    assert main(["process", "changes", "confirm"]) == 0
    changes = [line.split("\t")[1:] for line in capsys.readouterr().out.splitlines()]
    assert changes == [["v1", "deployed", "cli"], ["v2", "deployed", "cli", "(was v1)"],
                       ["v1", "activated", "cli", "(was v2)"], ["v2", "suspended", "cli"]]


def test_validate_warns_about_groups_nobody_in_the_database_is_in(db: str, files: dict[str, Path],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(files["confirm"])]) == 0  # no database yet: nothing to compare with
    assert "warning" not in capsys.readouterr().err
    assert main(["user", "add", "li.wei", "--groups", "duty_engineer"]) == 0
    capsys.readouterr()
    assert main(["validate", str(files["confirm"])]) == 0  # a warning, not a refusal
    assert "weibao: warning: confirm.bpmn: Close: no user is in candidate group 'service_desk'" \
        in capsys.readouterr().err
    assert main(["user", "add", "wang", "--groups", "service_desk"]) == 0
    capsys.readouterr()
    assert main(["validate", str(files["confirm"])]) == 0
    assert "warning" not in capsys.readouterr().err


def test_validate_names_the_properties_a_handler_topic_needs(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # A document step without its `kind`, a notice without `to`: refused at deploy, not at run time.
    text = REWORK.read_text(encoding="utf-8").replace('camunda:topic="echo"', 'camunda:topic="document"')
    (tmp_path / "report.bpmn").write_text(text, encoding="utf-8")
    assert main(["validate", str(tmp_path / "report.bpmn")]) == 1
    problems = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["element_id"], p["message"]) for p in problems] == [
        ("Record", "handler topic 'document' needs the property kind: add under Extensions → Properties "
                   "in the modeler")]
    (tmp_path / "report.bpmn").write_text(text.replace('name="label" value="rec"', 'name="kind" value="x"'),
                                          encoding="utf-8")
    assert main(["validate", str(tmp_path / "report.bpmn")]) == 0
