"""Every access rule: who may see an instance or a task, who may work on a task, who may change what.

The engine and the API both ask here and nowhere else decides. Rules are functions of the actor and of
plain facts about the object (its assignee, its candidate groups), so the store can turn the visibility
rule into SQL (`store.paging.Scope`) and the runtime can apply the task rules inside its transaction,
before it loads the workflow and again on the workflow's own view of the task.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from engine.actor import Actor
from engine.errors import Conflict, Forbidden, InvalidInput

DIRECTOR_GROUPS = frozenset({"department_director", "technical_director"})
# Who hands work to a person: the service desk is the centre that hands out and watches the tasks, and
# the project manager assigns them to the engineers (seed 001_4ada53786a497df7.txt line 13, 2.1.1.3
# and 2.2.1.1).
DISPATCHER_GROUPS = frozenset({"service_desk", "project_manager"})


# ----------------------------------------------------------------- seeing
def customer_scope(actor: Actor) -> str | None:
    """The name whose instances alone the actor sees, or None when the actor sees every instance.

    A customer is a member of the `customer` group with no role: staff who also sit in that group
    (a test account, an admin) keep their wider view.
    """
    return actor.name if "customer" in actor.groups and not actor.roles else None


def sees_all_tasks(actor: Actor) -> bool:
    return actor.is_admin or "auditor" in actor.roles


def is_dispatcher(actor: Actor) -> bool:
    return bool(actor.groups.intersection(DISPATCHER_GROUPS))


def is_my_task(actor: Actor, assignee: str | None, candidate_groups: Collection[str]) -> bool:
    """On the actor's own list: assigned to them or offered to one of their groups (all for overseers)."""
    offered = bool(actor.groups.intersection(candidate_groups))
    return sees_all_tasks(actor) or assignee == actor.name or offered


def may_see_task(actor: Actor, assignee: str | None, candidate_groups: Collection[str]) -> bool:
    """A single task: one of the actor's own, or any open task for a dispatcher, who hands it on."""
    return is_my_task(actor, assignee, candidate_groups) or is_dispatcher(actor)


# ----------------------------------------------------------------- working on a task
@dataclass(frozen=True)
class TaskFacts:
    """What the rules need to know of an open task, from the work list or from the workflow."""

    task_id: str
    instance_id: str
    element_id: str
    assignee: str | None
    candidate_groups: Collection[str]


def check_may_work(actor: Actor, task: TaskFacts) -> None:
    """Claim or complete. The candidate groups stay entitled while a colleague holds the task, so that
    case is a conflict naming the holder (someone else has it), not a refusal."""
    offered = actor.groups.intersection(task.candidate_groups)
    if not (actor.is_admin or task.assignee == actor.name or offered):
        raise Forbidden(f"{actor.name} is neither the assignee nor in a candidate group of {task.element_id}")
    if task.assignee and task.assignee != actor.name and not actor.is_admin:
        raise _held(task)


def check_may_release(actor: Actor, task: TaskFacts) -> None:
    """Unclaim: only the holder (or an admin); a colleague of the holder is told who has it."""
    if actor.is_admin or (task.assignee is not None and task.assignee == actor.name):
        return
    if task.assignee and actor.groups.intersection(task.candidate_groups):
        raise _held(task)
    raise Forbidden(f"{actor.name} does not hold task {task.task_id}")


def check_may_reassign(actor: Actor, task: TaskFacts) -> None:
    """Hand a task to a named person: dispatchers and admins, whoever holds it now."""
    require_writer(actor)
    if not (actor.is_admin or is_dispatcher(actor)):
        wanted = ", ".join(f"group {g}" for g in sorted(DISPATCHER_GROUPS))
        raise Forbidden(f"{actor.name} may not reassign tasks; it needs {wanted} or role admin")


def check_may_receive(name: str, user: Actor | None, task: TaskFacts) -> None:
    """The new assignee: an existing, enabled user who may work on the task (in a candidate group, or
    an admin), not an auditor. A name nobody has would strand the task, so it is refused."""
    def refuse(why: str) -> InvalidInput:
        return InvalidInput(f"cannot assign task {task.task_id} to {name!r}: {why}",
                            element_id=task.element_id, details={"fields": {"assignee": why}})

    if user is None:
        raise refuse("is not an enabled user")
    if is_auditor_only(user) or not (user.is_admin or user.groups.intersection(task.candidate_groups)):
        groups = ", ".join(sorted(task.candidate_groups)) or "none"
        raise refuse(f"may not work on {task.element_id} (candidate groups: {groups})")


def _held(task: TaskFacts) -> Conflict:
    return Conflict(f"task {task.task_id} is assigned to {task.assignee}", instance_id=task.instance_id,
                    element_id=task.element_id, details={"assignee": task.assignee})


# ----------------------------------------------------------------- changing the service
def is_auditor_only(actor: Actor) -> bool:
    return "auditor" in actor.roles and not actor.is_admin


def require_writer(actor: Actor) -> Actor:
    """Any change: auditors read everything and change nothing."""
    if is_auditor_only(actor):
        raise Forbidden(f"{actor.name} is an auditor: auditors read, they do not change anything")
    return actor


def require_role(actor: Actor, *roles: str, groups: frozenset[str] = frozenset()) -> Actor:
    """Deploy, cancel, retry, move the clock: the named roles or groups, or an admin."""
    if actor.is_admin or actor.roles.intersection(roles) or actor.groups.intersection(groups):
        return actor
    wanted = ", ".join([*(f"role {r}" for r in roles), *(f"group {g}" for g in sorted(groups))])
    raise Forbidden(f"{actor.name} may not do this; it needs {wanted} or role admin")


def has_role(actor: Actor, *roles: str) -> bool:
    """What `require_role` allows, as a yes or no (a page showing a button only to those it lets)."""
    return actor.is_admin or bool(actor.roles.intersection(roles))


def is_staff(actor: Actor) -> bool:
    return customer_scope(actor) is None


def require_staff(actor: Actor) -> Actor:
    """Service-wide views (incidents, outbox, reports) are not for customers."""
    if not is_staff(actor):
        raise Forbidden(f"{actor.name} is a customer and sees only their own instances")
    return actor


def require_process_owner(actor: Actor) -> Actor:
    """Deploy, activate, suspend or resume a process version."""
    return require_role(actor, "process_owner")


def check_may_signal(actor: Actor) -> Actor:
    """Throw a signal from outside: staff who change things. A signal is a broadcast to every case of
    every customer that waits for it and may start processes, so a customer, who may reach only their
    own cases, cannot send one (messages, which go to one case, are theirs to send); auditors change
    nothing."""
    require_writer(actor)
    if not is_staff(actor):
        raise Forbidden(f"{actor.name} is a customer: a signal reaches every customer's cases; send a "
                        "message to your own case instead (POST /messages)")
    return actor


# ----------------------------------------------------------------- spare-part stock
STOCK_KEEPERS = frozenset({"spare_parts_keeper"})


def require_stock_reader(actor: Actor) -> Actor:
    """The stock per part type and location: staff read it, customers do not."""
    return require_staff(actor)


def require_stock_keeper(actor: Actor) -> Actor:
    """A manual stock movement: the spare-parts keepers, or an admin."""
    return require_role(require_writer(actor), groups=STOCK_KEEPERS)
