"""Property-based run of the OpenAPI document with schemathesis: no 500, no response off its schema.

Bounded on purpose (a few examples per operation, valid and invalid input) so the suite stays fast;
the data sits in one instance of each test process so that generated ids sometimes hit nothing and
the list routes have something to return.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine.clock import ManualClock  # noqa: E402

from .test_api_helpers import ApiHarness  # noqa: E402

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
EXAMPLES = 8
# Multipart uploads are covered by the process tests; generated "files" would only exercise the
# multipart parser. Everything else is fuzzed.
SKIPPED = {("POST", "/api/v1/processes")}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiHarness]:
    from .conftest import START

    url = f"sqlite:///{tmp_path_factory.mktemp('schema') / 'weibao.sqlite3'}"
    # Every request looks its token up: with a cache, whether the fuzzed calls that flood it with
    # random tokens reach the chained test depends on how long the machine takes (seen under load).
    harness = ApiHarness(url, ManualClock(START), settings={"token_cache_seconds": 0})
    instance = harness.start(business_key="FUZZ-1")
    harness.post(f"/tasks/{harness.work_task(instance)['id']}/claim", "duty_engineer")
    yield harness
    harness.close()


def operations(api: ApiHarness) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.app)
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if (op.method.upper(), op.path) not in SKIPPED]


def run(api: ApiHarness, operation: Any, mode: Any) -> bool:
    """False when the operation has no input that could be made invalid (negative mode only)."""
    headers = api.headers("admin")

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        if mode == schemathesis.GenerationMode.POSITIVE:
            raise
        return False
    return True


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_operations_keep_their_contract(api: ApiHarness, mode: str) -> None:
    found = operations(api)
    assert len(found) > 15  # the document lists the whole API
    exercised = [op.path for op in found if run(api, op, schemathesis.GenerationMode(mode))]
    assert len(exercised) > len(found) // 2, exercised


def test_operations_chained_by_their_links_keep_their_contract(api: ApiHarness) -> None:
    """Stateful: schemathesis follows the links it infers between operations (an instance started,
    then read, cancelled, its tasks claimed and completed…), so ids come from real responses."""
    # The instance and task operations only: over the whole API the state machine spreads its few
    # steps across every operation, and whether a chain reached a real instance was chance (it failed
    # when the whole suite was collected, and passed when this module ran alone).
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.app).include(
        path_regex="^/api/v1/(instances|tasks)")
    base = schema.as_state_machine()
    linked = {name.split(" -> ")[0] for name in base.bundles}
    assert {"POST /api/v1/instances", "GET /api/v1/tasks", "POST /api/v1/tasks/{task_id}/claim"} <= linked
    headers = api.headers("admin")
    calls: list[tuple[str, int]] = []

    class Chained(base):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            if (case.method, case.path) == ("POST", "/api/v1/instances"):
                case.body = {"process": "rework", "data": {"summary": "fuzzed chain", "level": "P2"}}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            calls.append((case.path, response.status_code))
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Chained.run(settings=settings(max_examples=2 * EXAMPLES, stateful_step_count=6, deadline=None,
                                  database=None, derandomize=True, suppress_health_check=list(HealthCheck)))
    assert calls and all(code < 500 for _, code in calls)
    # the chain reached a real instance or task through a link, not only the list routes
    assert any("{" in path and 200 <= code < 300 for path, code in calls), calls
