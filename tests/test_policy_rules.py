"""The access rules of engine/policy.py on their own: what each refusal says and names, so that an API
answer (and the console's message) tells the person who holds the task, which element it is and what
they would need."""

from __future__ import annotations

import pytest

from engine.actor import Actor
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.policy import (
    TaskFacts,
    check_may_reassign,
    check_may_receive,
    check_may_release,
    check_may_signal,
    check_may_work,
    may_see_task,
)

TASK = TaskFacts(task_id="t-1", instance_id="i-1", element_id="Task_onsite_repair", assignee="li",
                 candidate_groups=("field_engineer", "duty_engineer"))
LI = Actor("li", groups=frozenset({"field_engineer"}))
WANG = Actor("wang", groups=frozenset({"field_engineer"}))
DESK = Actor("desk", groups=frozenset({"service_desk"}))


def test_a_colleague_of_the_holder_is_told_who_has_it_with_the_instance_and_element() -> None:
    for check in (check_may_work, check_may_release):
        with pytest.raises(Conflict) as held:
            check(WANG, TASK)
        error = held.value
        assert (error.instance_id, error.element_id, error.details) == ("i-1", "Task_onsite_repair",
                                                                         {"assignee": "li"})
        assert str(error) == "task t-1 is assigned to li"


def test_an_outsider_releasing_is_refused_naming_themselves_and_the_task() -> None:
    with pytest.raises(Forbidden, match=r"^desk does not hold task t-1$"):
        check_may_release(DESK, TASK)
    check_may_release(LI, TASK)  # the holder may


def test_reassigning_names_the_dispatcher_groups_it_needs() -> None:
    with pytest.raises(Forbidden) as refused:
        check_may_reassign(WANG, TASK)
    assert str(refused.value) == ("wang may not reassign tasks; it needs group project_manager, "
                                  "group service_desk or role admin")
    check_may_reassign(DESK, TASK)


def test_a_new_assignee_who_may_not_work_on_it_is_refused_naming_the_field_the_element_and_groups() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_may_receive("zhao", Actor("zhao", groups=frozenset({"customer_manager"})), TASK)
    why = "may not work on Task_onsite_repair (candidate groups: duty_engineer, field_engineer)"
    assert refused.value.element_id == "Task_onsite_repair"
    assert refused.value.details == {"fields": {"assignee": why}}
    assert str(refused.value) == f"cannot assign task t-1 to 'zhao': {why}"
    nobody = TaskFacts("t-2", "i-1", "Task_x", None, ())
    with pytest.raises(InvalidInput) as refused:
        check_may_receive("zhao", Actor("zhao"), nobody)
    none = "may not work on Task_x (candidate groups: none)"
    assert refused.value.details == {"fields": {"assignee": none}}
    with pytest.raises(InvalidInput) as refused:
        check_may_receive("ghost", None, TASK)
    assert refused.value.element_id == "Task_onsite_repair"


def test_a_task_assigned_to_someone_is_seen_by_them_even_outside_its_groups() -> None:
    assert may_see_task(Actor("li"), "li", ("field_engineer",))
    assert not may_see_task(Actor("li"), "wang", ("field_engineer",))
    assert may_see_task(DESK, "wang", ("field_engineer",))  # a dispatcher sees any open task


def test_a_customer_throwing_a_signal_is_told_to_send_a_message_to_their_own_case() -> None:
    with pytest.raises(Forbidden) as refused:
        check_may_signal(Actor("acme", groups=frozenset({"customer"})))
    assert str(refused.value) == ("acme is a customer: a signal reaches every customer's cases; send a "
                                  "message to your own case instead (POST /messages)")
    assert check_may_signal(DESK) is DESK
