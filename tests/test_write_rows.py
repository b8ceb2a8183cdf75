"""The write path's row helpers on their own (engine/store/write.py): an incident or outbox message
written from an event that leaves optional fields out still gets a well-formed row, and an incident
that is not open is refused naming its instance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound
from engine.store import write
from engine.store.models import Base, IncidentRow, OutboxMessage

AT = datetime(2026, 3, 5, 1, 30, tzinfo=UTC)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s


def test_an_incident_from_an_event_without_its_optional_fields_is_open_with_empty_values(
        session: Session) -> None:
    write.add_incident(session, "i-1", {}, None, None, AT)
    session.flush()
    row = session.query(IncidentRow).one()
    assert (row.instance_id, row.task_id, row.element_id, row.topic, row.message, row.attempts,
            row.status, row.resolved_at) == ("i-1", "", "", "", "", 0, "open", None)
    write.add_incident(session, "i-1", {"topic": "notify", "message": "SMTP down", "attempts": 3},
                       "t-1", "Task_notify", AT)
    session.flush()
    named = session.query(IncidentRow).order_by(IncidentRow.id.desc()).first()
    assert named is not None
    assert (named.task_id, named.element_id, named.topic, named.message, named.attempts) == (
        "t-1", "Task_notify", "notify", "SMTP down", 3)


def test_only_an_open_incident_can_be_retried_and_a_closed_one_names_its_instance(session: Session) -> None:
    write.add_incident(session, "i-7", {"topic": "x"}, "t-7", "Task_x", AT)
    session.flush()
    incident = session.query(IncidentRow).one()
    assert write.open_incident(session, incident.id) == ("i-7", "t-7")
    write.resolve_incident(session, incident.id, AT)
    assert (incident.status, incident.resolved_at) == ("resolved", AT)
    with pytest.raises(Conflict) as closed:
        write.open_incident(session, incident.id)
    assert (str(closed.value), closed.value.instance_id) == (f"incident {incident.id} is resolved", "i-7")
    with pytest.raises(NotFound, match="no incident 999"):
        write.open_incident(session, 999)


def test_an_outbox_message_without_an_element_is_pending_with_an_empty_element(session: Session) -> None:
    write.add_outbox(session, "i-1", {"channel": "sms", "recipient": "13800000000", "subject": "P1",
                                      "body": "故障"}, AT)
    session.flush()
    row = session.query(OutboxMessage).one()
    assert (row.element_id, row.channel, row.status, row.body) == ("", "sms", "pending", "故障")
