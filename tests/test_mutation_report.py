"""lint/mutation.py reads mutmut's results: what counts as killed, and the equivalent-mutant list."""

from __future__ import annotations

import json

import pytest

from lint import mutation


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
    assert "engine/sla/clocks.py" in mutation.modules() and len(mutation.modules()) == 9


def test_a_partial_run_is_shown_and_fails(run, capsys):
    run({"engine.x.f__mutmut_1": 1, "engine.x.f__mutmut_2": None})
    assert mutation.report(["engine/x.py"], 85.0, show=False) is False
    assert "100.0%  partial: 1 not run" in capsys.readouterr().out
