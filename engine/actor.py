"""Who is acting: a user with groups (the BPMN candidate groups) and roles."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


SYSTEM = Actor("system", roles=frozenset({"admin"}))


def as_actor(actor: Actor | str | None) -> Actor:
    if actor is None:
        return SYSTEM
    if isinstance(actor, str):
        return SYSTEM if actor == "system" else Actor(actor, roles=frozenset({"admin"}))
    return actor
