"""Outbox delivery against a local SMTP server and a local HTTP receiver, both on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.outbox import Deliverer
from engine.settings import Settings
from engine.store.models import OutboxMessage


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def receiver():
    seen, plan = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((dict(self.headers), body))
            self.send_response(plan.pop(0) if plan else 204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", seen, plan
    server.shutdown()


def add(service, channel, recipient):
    with service.store.write() as s:
        msg = OutboxMessage(
            instance_id="i-1",
            element_id="Tell",
            channel=channel,
            recipient=recipient,
            subject="新故障",
            body="交换机宕机",
            status="pending",
            created_at=datetime(2026, 3, 2, tzinfo=UTC),
            attempts=0,
        )
        s.add(msg)
        s.flush()
        return msg.id


def status(service, message_id):
    with service.store.read() as s:
        return s.get(OutboxMessage, message_id)


def test_email_is_sent_once_over_smtp(service, smtp):
    controller, inbox = smtp
    deliverer = Deliverer(
        service.store,
        service.clock,
        Settings.of({"smtp_host": "127.0.0.1", "smtp_port": controller.port, "mail_domain": "example.cn"}),
    )
    mid = add(service, "email", "technical_lead")
    assert deliverer.deliver_due() == 1
    assert deliverer.deliver_due() == 0
    (mail,) = inbox.messages
    assert mail.rcpt_tos == ["technical_lead@example.cn"]
    assert (
        "交换机宕机" in mail.content.decode("utf-8", "replace")
        or "5Lqk5o2i5py65a6V5py6" in mail.content.decode()
    )
    assert status(service, mid).status == "sent"


def test_webhook_is_signed_and_idempotent_and_retried(service, receiver, clock):
    url, seen, plan = receiver
    plan.extend([503])
    deliverer = Deliverer(service.store, service.clock, Settings.of({"webhook_secret": "s3cret"}))
    mid = add(service, "webhook", url)
    assert deliverer.deliver_due() == 0
    row = status(service, mid)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 503")
    assert deliverer.deliver_due() == 0, "backing off"
    clock.advance(timedelta(seconds=31))
    assert deliverer.deliver_due() == 1
    (h1, b1), (h2, b2) = seen
    assert h1["Idempotency-Key"] == h2["Idempotency-Key"] == f"weibao-outbox-{mid}"
    expected = "sha256=" + hmac.new(b"s3cret", b2, hashlib.sha256).hexdigest()
    assert h2["X-Weibao-Signature"] == expected and json.loads(b2)["body"] == "交换机宕机"


def test_a_message_that_keeps_failing_is_marked_failed(service, receiver, clock):
    url, seen, plan = receiver
    plan.extend([500] * 10)
    deliverer = Deliverer(service.store, service.clock, Settings.of({"outbox_max_attempts": 3}))
    mid = add(service, "webhook", url)
    for _ in range(5):
        deliverer.deliver_due()
        clock.advance(timedelta(hours=1))
    row = status(service, mid)
    assert (row.status, row.attempts) == ("failed", 3) and len(seen) == 3


def test_unconfigured_sms_fails_visibly(service):
    mid = add(service, "sms", "13800000000")
    Deliverer(service.store, service.clock, Settings.of({})).deliver_due()
    row = status(service, mid)
    assert row.status == "failed" and "SMS gateway" in row.last_error
    with service.store.read() as s:
        assert s.scalars(select(OutboxMessage.status)).all() == ["failed"]


def open_incidents(service):
    from engine.store import queries
    from engine.store.paging import Page

    with service.store.read() as s:
        return queries.incidents(s, Page(1, 50), status="open")[0]


def test_a_message_failed_for_good_opens_an_incident_whose_retry_sends_it_again(service, receiver, clock):
    # Delivery has no caller to tell: a message it gives up on must reach a person as an incident.
    from engine.errors import Conflict

    url, seen, plan = receiver
    plan.extend([500] * 3)
    deliverer = Deliverer(service.store, service.clock, Settings.of({"outbox_max_attempts": 3}))
    mid = add(service, "webhook", url)
    for _ in range(3):
        assert open_incidents(service) == []  # not while attempts are left
        deliverer.deliver_due()
        clock.advance(timedelta(hours=1))
    (incident,) = open_incidents(service)
    assert (incident["topic"], incident["outbox_id"], incident["instance_id"], incident["element_id"],
            incident["attempts"]) == ("outbox", mid, "i-1", "Tell", 3)
    assert incident["message"].startswith(f"webhook to {url} not delivered after 3 attempt(s): HTTP 500")
    assert deliverer.deliver_due() == 0  # given up: nothing is sent until someone retries
    service.runtime.retry_incident(incident["id"], "owner")
    row = status(service, mid)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, None)
    assert open_incidents(service) == []
    assert deliverer.deliver_due() == 1 and len(seen) == 4
    assert status(service, mid).status == "sent"
    with pytest.raises(Conflict):
        service.runtime.retry_incident(incident["id"], "owner")


def test_a_message_delivered_on_a_later_attempt_opens_no_incident(service, receiver, clock):
    url, seen, plan = receiver
    plan.append(500)
    deliverer = Deliverer(service.store, service.clock, Settings.of({"outbox_max_attempts": 3}))
    mid = add(service, "webhook", url)
    deliverer.deliver_due()
    clock.advance(timedelta(hours=1))
    assert deliverer.deliver_due() == 1 and status(service, mid).status == "sent"
    assert open_incidents(service) == []
