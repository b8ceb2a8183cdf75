"""Outbox messages whose delivery failed for good, held as incidents.

Delivery runs after commit with nobody waiting for it, so a message that cannot be delivered (the
attempts used up, or a fault no retry can cure) must reach a person, not only the log: it opens an
incident on its instance, listed and counted with the others. The incident is not an event of the
instance's history (the history holds the message being written, which did happen); retrying it puts
the message back in the queue with fresh attempts.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.store.models import IncidentRow, OutboxMessage
from engine.store.sessions import Store

log = logging.getLogger("weibao.outbox")
TOPIC = "outbox"


def hold(session: Session, msg: OutboxMessage, at: datetime) -> None:
    """Open the incident for a message just marked failed, in the same transaction."""
    session.add(IncidentRow(
        instance_id=msg.instance_id, task_id="", element_id=msg.element_id, topic=TOPIC,
        message=f"{msg.channel} to {msg.recipient} not delivered after {msg.attempts} attempt(s): "
                f"{msg.last_error}",
        attempts=msg.attempts, status="open", created_at=at, resolved_at=None, outbox_id=msg.id))


def retried(store: Store, incident_id: int, at: datetime, actor: str) -> bool:
    """If the incident holds a failed message: queue it again with fresh attempts and resolve the
    incident (True). False for any other incident."""
    with store.write() as session:
        incident = session.get(IncidentRow, incident_id)
        if incident is None or incident.outbox_id is None:
            return False
        if incident.status != "open":
            raise Conflict(f"incident {incident_id} is {incident.status}", instance_id=incident.instance_id)
        msg = session.get(OutboxMessage, incident.outbox_id)
        if msg is None or msg.status != "failed":
            raise Conflict(f"incident {incident_id}: its message is no longer failed",
                           instance_id=incident.instance_id)
        msg.status, msg.attempts, msg.next_attempt_at = "pending", 0, None
        incident.status, incident.resolved_at = "resolved", at
        message_id, instance_id = msg.id, incident.instance_id
    log.info("outbox message %s queued again by %s", message_id, actor,
             extra={"instance_id": instance_id, "incident_id": incident_id})
    return True
