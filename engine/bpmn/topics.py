"""What a service task's topic asks of it at deploy: a handler must exist for the topic, and the task
must set every property that handler declares it needs (`@handler(topic, requires=...)`)."""

from __future__ import annotations

from collections.abc import Mapping

from engine.bpmn.model import Element

# Each handler topic with the properties its service tasks must set (HandlerRegistry.topics()).
Topics = Mapping[str, frozenset[str]]


def topic_problems(el: Element, topics: Topics) -> list[str]:
    """How the service or send task `el` falls short of its topic (nothing for other elements)."""
    if el.kind not in ("serviceTask", "sendTask") or not el.topic:
        return []
    if el.topic not in topics:
        return [f"unknown handler topic {el.topic!r}"]
    missing = sorted(topics[el.topic] - set(el.properties))
    if not missing:
        return []
    noun = "properties" if len(missing) > 1 else "property"
    return [f"handler topic {el.topic!r} needs the {noun} {', '.join(missing)}: add under Extensions "
            "→ Properties in the modeler"]
