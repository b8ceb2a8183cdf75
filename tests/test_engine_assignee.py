"""The engine itself, not only the API's pre-check, keeps a task assigned by expression to its assignee."""

from __future__ import annotations

import pytest

from engine.actor import Actor
from engine.errors import Conflict, Forbidden

from .engine_support import deploy, events, instance, open_tasks, the_task

ASSIGNEE = Actor("duty_engineer2", frozenset({"duty_engineer"}))
COLLEAGUE = Actor("duty_engineer", frozenset({"duty_engineer"}))
OUTSIDER = Actor("dora", frozenset({"service_desk"}))
ADMIN = Actor("root", roles=frozenset({"admin"}))


@pytest.fixture
def assigned(engine_service):
    deploy(engine_service, "assigned.bpmn")
    iid = engine_service.runtime.start("assigned", {"inspection_engineer": "duty_engineer2"}, "lei")
    return engine_service, iid, the_task(engine_service, iid, "Inspect")


def test_the_index_shows_the_assignee_named_by_the_expression(assigned):
    svc, iid, _ = assigned
    (row,) = open_tasks(svc, iid, "Inspect")
    assert (row.assignee, row.candidate_groups) == ("duty_engineer2", ["duty_engineer"])


@pytest.mark.parametrize("act", ["claim", "complete"])
def test_a_colleague_in_the_candidate_group_cannot_take_it(assigned, act):
    svc, iid, task = assigned
    before = instance(svc, iid).last_seq
    with pytest.raises(Conflict, match="assigned to duty_engineer2") as held:
        if act == "claim":
            svc.runtime.claim(task, COLLEAGUE)
        else:
            svc.runtime.complete(task, {}, COLLEAGUE)
    assert held.value.details == {"assignee": "duty_engineer2"}
    assert instance(svc, iid).last_seq == before
    assert open_tasks(svc, iid, "Inspect")[0].assignee == "duty_engineer2"


def test_someone_outside_the_groups_is_refused(assigned):
    svc, _, task = assigned
    with pytest.raises(Forbidden):
        svc.runtime.complete(task, {}, OUTSIDER)


def test_the_assignee_and_an_admin_may_act(assigned):
    svc, iid, task = assigned
    svc.runtime.claim(task, ASSIGNEE)
    svc.runtime.complete(task, {}, ASSIGNEE)
    assert instance(svc, iid).status == "completed"
    other = svc.runtime.start("assigned", {"inspection_engineer": "duty_engineer2"}, "lei")
    svc.runtime.complete(the_task(svc, other, "Inspect"), {}, ADMIN)
    assert [e.type for e in events(svc, other)][-1] == "instance_completed"
