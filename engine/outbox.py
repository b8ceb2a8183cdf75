"""Delivering outbox messages after commit: e-mail over SMTP, webhooks (and the SMS gateway, which
is a webhook) over HTTP POST with an idempotency key and an HMAC signature.

Delivery is at least once: a message is marked sent in the transaction that holds its row lock, so a
crash between sending and committing sends it again with the same idempotency key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any

from sqlalchemy import or_, select

from engine.clock import Clock
from engine.errors import DeliveryError, backoff
from engine.settings import Settings
from engine.store import deliveries
from engine.store.models import OutboxMessage
from engine.store.sessions import Store

log = logging.getLogger("weibao.outbox")


def payload(msg: OutboxMessage) -> dict[str, Any]:
    return {
        "id": msg.id,
        "instance_id": msg.instance_id,
        "element_id": msg.element_id,
        "channel": msg.channel,
        "recipient": msg.recipient,
        "subject": msg.subject,
        "body": msg.body,
        "created_at": msg.created_at.isoformat(),
    }


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Deliverer:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.max_attempts = settings.outbox_max_attempts

    def deliver_due(self, limit: int = 50) -> int:
        sent = 0
        for message_id in self._due_ids(limit):
            sent += self._deliver_one(message_id)
        return sent

    def _due_ids(self, limit: int) -> list[int]:
        now = self.clock.now()
        with self.store.read() as session:
            return list(
                session.scalars(
                    select(OutboxMessage.id)
                    .where(
                        OutboxMessage.status == "pending",
                        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                    )
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                ).all()
            )

    def _deliver_one(self, message_id: int) -> int:
        with self.store.write() as session:
            query = select(OutboxMessage).where(
                OutboxMessage.id == message_id, OutboxMessage.status == "pending"
            )
            if not self.store.is_sqlite:
                query = query.with_for_update(skip_locked=True)  # another worker has it
            msg = session.scalar(query)
            if msg is None:
                return 0
            now = self.clock.now()
            msg.attempts += 1
            try:
                self.send(msg)
            except DeliveryError as exc:
                msg.last_error = str(exc)
                if not exc.retryable or msg.attempts >= self.max_attempts:
                    msg.status = "failed"
                    deliveries.hold(session, msg, now)
                    log.warning(
                        "outbox message %s failed: %s",
                        msg.id,
                        exc,
                        extra={"instance_id": msg.instance_id, "element_id": msg.element_id},
                    )
                else:
                    msg.next_attempt_at = now + backoff(
                        msg.attempts, base=self.settings.outbox_backoff_seconds
                    )
                return 0
            msg.status, msg.sent_at, msg.last_error = "sent", now, None
            return 1

    def send(self, msg: OutboxMessage) -> None:
        if msg.channel == "email":
            self._email(msg)
        elif msg.channel == "webhook":
            self._post(msg.recipient, msg)
        elif msg.channel == "sms":
            gateway = self.settings.sms_gateway_url
            if not gateway:
                raise DeliveryError("no SMS gateway configured (settings sms_gateway_url)", retryable=False)
            self._post(str(gateway), msg)
        else:
            raise DeliveryError(f"unknown channel {msg.channel!r}", retryable=False)

    def _email(self, msg: OutboxMessage) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.smtp_from
        mail["To"] = msg.recipient if "@" in msg.recipient else f"{msg.recipient}@{s.mail_domain}"
        mail["Subject"] = msg.subject
        mail["Message-ID"] = f"<weibao-outbox-{msg.id}@{s.mail_domain}>"
        mail.set_content(msg.body)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
                if s.smtp_tls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {exc}") from exc

    def _post(self, url: str, msg: OutboxMessage) -> None:
        if not url.startswith(("http://", "https://")):
            raise DeliveryError(f"webhook recipient is not a URL: {url!r}", retryable=False)
        body = json.dumps(payload(msg), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": f"weibao-outbox-{msg.id}",
            "X-Weibao-Signature": signature(self.settings.webhook_secret, body),
        }
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - configured URL
                status = response.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code}", retryable=exc.code >= 500 or exc.code == 429) from exc
        except OSError as exc:
            raise DeliveryError(f"HTTP: {exc}") from exc
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}")
