"""What a deploy or a version change did, in words: the API answer and the CLI print the same."""

from __future__ import annotations

from typing import Any

ACTIONS = ("deployed", "activated", "suspended", "resumed", "migrated", "reverted")


def deploy_message(r: Any) -> str:
    key, current = r.process_key, r.current
    if r.created and current == r.version:
        message = f"{key} v{r.version} created; new instances start on it"
        message += f" (was v{r.previous})" if r.previous else ""
    elif r.created:
        message = f"{key} v{r.version} created; new instances stay on v{current}"
    elif current == r.version:
        message = f"{key} v{r.version} unchanged; it is the current version"
    else:
        message = (f"{key} v{r.version} unchanged: this content was deployed before as v{r.version}; new "
                   f"instances stay on v{current} (activate v{r.version} to roll back to it)")
    if r.moved_from:
        message += f"; {key} was defined in {r.moved_from} before, this file replaces it"
    return message


def deployed_dict(r: Any) -> dict[str, Any]:
    return {"process": r.process_key, "version": r.version, "content_hash": r.content_hash,
            "created": r.created, "current": r.current, "previous": r.previous, "moved_from": r.moved_from,
            "message": deploy_message(r), "warnings": list(r.warnings)}


def change_message(c: Any, act: str) -> str:
    if act == "activate":
        if c.previous == c.version:
            return f"{c.process_key} v{c.version} was already current"
        was = f" (was v{c.previous})" if c.previous else ""
        return f"{c.process_key} v{c.version} is current: new instances start on it{was}"
    state = "suspended: it starts no new instances" if c.suspended else "active"
    return f"{c.process_key} v{c.version} is {state}; current is v{c.current}"


def changed_dict(c: Any, act: str) -> dict[str, Any]:
    return {"process": c.process_key, "version": c.version, "current": c.current, "previous": c.previous,
            "suspended": c.suspended, "message": change_message(c, act)}
