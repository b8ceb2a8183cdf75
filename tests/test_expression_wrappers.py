"""Expressions as the Camunda Modeler writes them: `${…}` and JUEL's deferred `#{…}` (which Camunda 7
evaluates the same way) both wrap the Python the sandbox runs; anything else is taken as written."""

from __future__ import annotations

import pytest

from engine.bpmn.spiff import strip_wrapper


@pytest.mark.parametrize(("written", "runs"), [
    ("${level == 'P1'}", "level == 'P1'"),
    ("#{ level == 'P1' }", "level == 'P1'"),
    ("  ${x}  ", "x"),
    ("level == 'P1'", "level == 'P1'"),
    ("#{x", "#{x"),  # not a wrapper: left for the sandbox to refuse, naming the element
])
def test_the_wrapper_is_taken_off_and_only_a_whole_wrapper(written: str, runs: str) -> None:
    assert strip_wrapper(written) == runs
