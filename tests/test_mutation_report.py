"""lint/mutation.py reads mutmut's results: what counts as killed, and the equivalent-mutant list."""

from __future__ import annotations

import datetime
import json

import pytest

from lint import mutation, mutation_record


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A fake last run of mutmut for engine/x.py with the given exit codes."""
    monkeypatch.setattr(mutation, "ROOT", tmp_path)

    def write(codes):
        meta = tmp_path / "mutants" / "engine" / "x.py.meta"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": codes}))

    return write


def test_timeouts_count_as_killed_and_unrun_mutants_not_at_all(run):
    run({"engine.x.f__mutmut_1": 1, "engine.x.f__mutmut_2": 36, "engine.x.f__mutmut_3": 0,
         "engine.x.f__mutmut_4": 5, "engine.x.f__mutmut_5": None})
    found = mutation.score("engine/x.py", {})
    assert (found.killed, found.survived) == (2, ["engine.x.f__mutmut_3", "engine.x.f__mutmut_4"])
    assert found.percent == pytest.approx(50.0) and found.problems == []


def test_equivalent_mutants_leave_the_score_and_stale_entries_are_reported(run):
    run({"engine.x.f__mutmut_1": 1, "engine.x.f__mutmut_2": 0, "engine.x.f__mutmut_3": 1,
         "engine.x.f__mutmut_4": -24})
    listed = {"engine.x.f__mutmut_2": "same result", "engine.x.f__mutmut_3": "was equivalent",
              "engine.x.f__mutmut_4": "timed out under load", "engine.x.f__mutmut_9": "gone",
              "engine.other.g__mutmut_1": "another module"}
    found = mutation.score("engine/x.py", listed)
    assert (found.killed, found.survived, found.equivalent, found.percent) == (1, [], 3, 100.0)
    assert found.problems == ["engine.x.f__mutmut_3: listed as equivalent but killed",
                              "engine.x.f__mutmut_9: listed as equivalent but no such mutant"]


def test_a_module_under_the_threshold_fails_the_report(run, capsys):
    run({"engine.x.f__mutmut_1": 1, "engine.x.f__mutmut_2": 0})
    assert mutation.report(["engine/x.py"], 85.0, show=True) is False
    out = capsys.readouterr().out
    assert "50.0%  under 85 %" in out and "engine.x.f__mutmut_2" in out
    assert mutation.report(["engine/x.py"], 50.0, show=False) is True


def test_no_run_yet_scores_nothing(run):
    assert mutation.score("engine/y.py", {}).killed == 0


def test_the_listed_modules_are_those_of_pyproject():
    listed = mutation.modules()
    # The issue names the access policy, the write path and the checkpoints among the guarded modules.
    assert {"engine/sla/clocks.py", "engine/policy.py", "engine/store/write.py",
            "engine/audit/checkpoints.py"} <= set(listed) and len(listed) == 12


def test_a_partial_run_is_shown_and_fails(run, capsys):
    run({"engine.x.f__mutmut_1": 1, "engine.x.f__mutmut_2": None})
    assert mutation.report(["engine/x.py"], 85.0, show=False) is False
    assert "100.0%  partial: 1 not run" in capsys.readouterr().out


def test_a_recorded_module_is_stale_once_its_text_changes_and_the_rest_stay(tmp_path):
    (tmp_path / "engine").mkdir()
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / "engine" / name).write_text(f"# {name}\n")
    record = tmp_path / "measured.toml"
    mutation_record.record(tmp_path, {"engine/a.py": (9, 1, 2), "engine/b.py": (5, 0, 0)}, record)
    modules = ["engine/a.py", "engine/b.py", "engine/c.py"]
    assert mutation_record.stale(tmp_path, modules, record) == ["engine/c.py"]  # never measured
    (tmp_path / "engine" / "b.py").write_text("# b.py, edited\n")
    assert mutation_record.stale(tmp_path, modules, record) == ["engine/b.py", "engine/c.py"]
    mutation_record.record(tmp_path, {"engine/b.py": (6, 0, 0)}, record)
    kept = mutation_record.load(record)
    assert (kept["engine/a.py"].killed, kept["engine/a.py"].survived) == (9, 1)  # untouched entry stays
    assert kept["engine/b.py"].killed == 6
    assert mutation_record.stale(tmp_path, modules, record) == ["engine/c.py"]


def test_the_table_gives_each_module_its_recorded_score(tmp_path):
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "a.py").write_text("x = 1\n")
    record = tmp_path / "measured.toml"
    mutation_record.record(tmp_path, {"engine/a.py": (17, 3, 1)}, record,
                           today=datetime.date(2026, 12, 4))
    rows = mutation_record.table(["engine/a.py", "engine/z.py"], record).splitlines()
    assert rows[2].startswith("| `engine/a.py` | 17 | 3 | 1 | 85.0 % | 2026-12-04")
    assert rows[3] == "| `engine/z.py` | | | | not measured in full yet | |"


def test_only_complete_modules_are_recorded(run, tmp_path, monkeypatch):
    run({"engine.x.f__mutmut_1": 1, "engine.x.f__mutmut_2": None})
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "x.py").write_text("x = 1\n")
    (tmp_path / "engine" / "y.py").write_text("y = 1\n")
    meta = tmp_path / "mutants" / "engine" / "y.py.meta"
    meta.write_text(json.dumps({"exit_code_by_key": {"engine.y.g__mutmut_1": 1, "engine.y.g__mutmut_2": 0}}))
    record = tmp_path / "measured.toml"
    monkeypatch.setattr(mutation_record, "RECORD", record)
    monkeypatch.setattr(mutation, "equivalent", lambda: {})
    both = ["engine/x.py", "engine/y.py"]
    mutation.keep(both, {p: mutation_record.digest(tmp_path, p) for p in both})
    kept = mutation_record.load(record)
    assert list(kept) == ["engine/y.py"]
    assert (kept["engine/y.py"].killed, kept["engine/y.py"].survived) == (1, 1)


def test_a_module_edited_while_it_was_measured_is_not_recorded(run, tmp_path, monkeypatch):
    run({"engine.x.f__mutmut_1": 1})
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "x.py").write_text("x = 1\n")
    before = {"engine/x.py": mutation_record.digest(tmp_path, "engine/x.py")}
    (tmp_path / "engine" / "x.py").write_text("x = 2  # merged in during the run\n")
    record = tmp_path / "measured.toml"
    monkeypatch.setattr(mutation_record, "RECORD", record)
    monkeypatch.setattr(mutation, "equivalent", lambda: {})
    mutation.keep(["engine/x.py"], before)
    assert mutation_record.load(record) == {}


def test_recording_after_the_run_uses_the_text_the_run_began_with(run, tmp_path, monkeypatch):
    run({"engine.x.f__mutmut_1": 1})
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "x.py").write_text("x = 1\n")
    record = tmp_path / "measured.toml"
    monkeypatch.setattr(mutation_record, "RECORD", record)
    monkeypatch.setattr(mutation, "equivalent", lambda: {})
    mutation.note_started(["engine/x.py"])
    mutation.keep(["engine/x.py"])  # as --report-only --record does
    assert mutation_record.load(record)["engine/x.py"].killed == 1
    (tmp_path / "engine" / "x.py").write_text("x = 2\n")  # edited after the run began
    record.unlink()
    mutation.keep(["engine/x.py"])
    assert mutation_record.load(record) == {}
