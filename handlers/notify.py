"""`notify`: a message to a group or a person by e-mail, SMS or webhook, written to the outbox in the
same transaction as the step (delivery happens after commit, by the worker)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from engine.handler import HandlerContext, HandlerError, handler

CHANNELS = ("email", "sms", "webhook")


class _Keep(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, data: Mapping[str, Any]) -> str:
    """Fill `{field}` placeholders from the data; unknown ones stay visible instead of failing."""
    try:
        return string.Formatter().vformat(template, (), _Keep(data))
    except (ValueError, IndexError) as exc:
        raise HandlerError(f"bad message template {template!r}: {exc}", retryable=False) from exc


def recipient(to: str, data: Mapping[str, Any]) -> str:
    to = to.strip()
    if to.startswith("${") and to.endswith("}"):
        value = data.get(to[2:-1].strip())
        if not value:
            raise HandlerError(f"notify: no value for recipient {to}", retryable=False)
        return str(value)
    return to


@handler("notify", requires=("to",))
def notify(ctx: HandlerContext) -> dict[str, Any]:
    props = ctx.properties
    channel = props.get("channel", "sms")
    if channel not in CHANNELS:
        raise HandlerError(
            f"notify: unknown channel {channel!r} (use {', '.join(CHANNELS)})", retryable=False
        )
    if not props.get("to"):
        raise HandlerError("notify: property 'to' is required", retryable=False)
    to = recipient(props["to"], ctx.data)
    body = render(props.get("template") or ctx.element_name, ctx.data)
    subject = render(props.get("subject") or ctx.element_name, ctx.data)
    ctx.effects.notify(channel, to, subject, body)
    return {}
