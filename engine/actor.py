"""Who is acting: a user with groups (the BPMN candidate groups) and roles."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def may_work_on(self, assignee: str | None, candidate_groups: list[str]) -> bool:
        # The assignee may always act; the candidate groups stay entitled even while a colleague
        # holds the task, so that case is a conflict (someone else has it), not a refusal.
        return self.is_admin or assignee == self.name or bool(self.groups.intersection(candidate_groups))

    def require(self, allowed: bool, message: str) -> None:
        if not allowed:
            raise Forbidden(message)


SYSTEM = Actor("system", roles=frozenset({"admin"}))


def as_actor(actor: Actor | str | None) -> Actor:
    if actor is None:
        return SYSTEM
    if isinstance(actor, str):
        return SYSTEM if actor == "system" else Actor(actor, roles=frozenset({"admin"}))
    return actor
