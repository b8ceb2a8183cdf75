"""Signed checkpoints over HTTP and from the command line: made on demand, listed, shown by /health
and by every verify."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from api.cli import main
from engine.audit import checkpoints as cp
from engine.audit.verify import rehash
from engine.clock import ManualClock
from engine.store.models import EventRow, Instance
from engine.store.sessions import Store

from .test_api_audit_metrics import _worked
from .test_api_helpers import ApiHarness, assert_error


@pytest.fixture
def api(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[ApiHarness]:
    key = tmp_path / "audit.key"
    cp.keygen(key)
    settings = {"audit_key_file": str(key), "witness_file": str(tmp_path / "witness.jsonl")}
    harness = ApiHarness(db_url, clock, settings=settings)
    yield harness
    harness.close()


def _rewrite_and_rehash(store: Store, iid: str, seq: int) -> None:
    with store.write() as s:
        rows = list(s.scalars(select(EventRow).where(EventRow.instance_id == iid).order_by(EventRow.seq)))
        rows[seq - 1].actor = "mallory"
        rehash(iid, rows)
        s.get(Instance, iid).head_hash = rows[-1].hash


def test_checkpoints_on_demand_listed_and_compared_by_verify(api: ApiHarness) -> None:
    iid = _worked(api)
    assert_error(api.post("/audit/checkpoints", "duty_engineer"), 403)
    made = api.post("/audit/checkpoints", "auditor")
    assert made.status_code == 201, made.json
    assert made.json["number"] == 1 and made.json["made_by"] == "auditor" and made.json["refused"] == []
    shown = api.get(made.headers["Location"].removeprefix("/api/v1"), "auditor").json
    assert shown["hash"] == made.json["hash"]
    listed = api.get("/audit/checkpoints", "admin").json
    assert listed["total"] == 1 and listed["items"][0]["signature"] == made.json["signature"]
    assert_error(api.get("/audit/checkpoints/9", "auditor"), 404)
    good = api.get(f"/instances/{iid}/verify", "auditor").json
    assert good["verified"] is True and good["checkpoint"]["hash"] == made.json["hash"]
    _rewrite_and_rehash(api.service.store, iid, 2)
    bad = api.get(f"/instances/{iid}/verify", "auditor").json
    assert (bad["verified"], bad["first_bad_seq"], bad["checkpoint"]["number"]) == (False, 2, 1)
    everything = api.get("/audit/verify", "auditor").json
    assert [(f["instance_id"], f["first_bad_seq"]) for f in everything["failed"]] == [(iid, 2)]


def test_health_shows_a_failing_automatic_checkpoint(api: ApiHarness, tmp_path: Path) -> None:
    _worked(api)
    assert api.get("/health", None).json["checkpoints"] == "ok"
    Path(api.service.settings.witness_file).mkdir()  # the witness can no longer be written
    assert api.service.checkpointer.run_due() is None
    health = api.get("/health", None)
    assert health.status_code == 200 and health.json["status"] == "degraded"
    assert health.json["checkpoints"] == "failing" and "witness.jsonl" in health.json["checkpoint_error"]


def test_health_shows_a_witness_url_that_refused_the_checkpoint_until_one_lands(db_url, clock, tmp_path):
    # Nobody waits for the post to the witness URL, so a refusal must show where an operator looks.
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    answers = [503, 204]

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(answers.pop(0))
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Thread(target=server.serve_forever, daemon=True).start()
    key = tmp_path / "audit.key"
    cp.keygen(key)
    api = ApiHarness(db_url, clock, settings={
        "audit_key_file": str(key), "witness_file": str(tmp_path / "witness.jsonl"),
        "witness_url": f"http://127.0.0.1:{server.server_port}/witness"})
    try:
        _worked(api)
        first = api.service.checkpointer.make()
        api.service.checkpointer.delivery.join(timeout=10)
        health = api.get("/health", None).json
        assert (health["status"], health["checkpoints"]) == ("degraded", "failing")
        assert f"checkpoint {first['number']} not delivered to the witness URL" in health["checkpoint_error"]
        _worked(api)
        api.service.checkpointer.make()
        api.service.checkpointer.delivery.join(timeout=10)
        health = api.get("/health", None).json
        assert (health["status"], health["checkpoints"], health["checkpoint_error"]) == ("ok", "ok", None)
    finally:
        api.close()
        server.shutdown()
        server.server_close()


def test_audit_keygen_checkpoint_and_verify_from_the_command_line(sqlite_url, tmp_path, monkeypatch, capsys):
    from .histories import run

    svc, iid = run("rework_with_escalation", sqlite_url)
    svc.close()
    key = tmp_path / "keys" / "audit.key"
    key.parent.mkdir()
    for name, value in {"DATABASE_URL": sqlite_url, "AUDIT_KEY_FILE": str(key),
                        "WITNESS_FILE": str(tmp_path / "witness.jsonl")}.items():
        monkeypatch.setenv(f"WEIBAO_{name}", value)
    assert main(["audit", "checkpoint"]) == 1  # no key yet: refused, naming it
    assert "cannot read the signing key" in capsys.readouterr().err
    assert main(["audit", "keygen"]) == 0 and key.exists() and Path(f"{key}.pub").exists()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    first = key.read_bytes()
    assert main(["audit", "keygen"]) == 0 and key.read_bytes() == first  # an existing key is kept
    capsys.readouterr()
    assert main(["audit", "checkpoint"]) == 0
    assert json.loads(capsys.readouterr().out)["number"] == 1
    bundle = tmp_path / "bundle.zip"
    assert main(["audit", "export", iid, "-o", str(bundle)]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--bundle", str(bundle)]) == 0
    assert json.loads(capsys.readouterr().out)["checkpoint"]["checked"] is True
    store = Store(sqlite_url)
    _rewrite_and_rehash(store, iid, 3)
    store.dispose()
    assert main(["audit", "verify", iid]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert (verdict["first_bad_seq"], verdict["checkpoint"]["number"]) == (3, 1)
    assert main(["audit", "verify"]) == 1


def test_each_checkpoint_is_posted_to_the_witness_url_off_the_write_path(sqlite_url, clock, tmp_path):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from engine.outbox import signature

    from .conftest import make_service

    received: list[tuple[bytes, str]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["X-Weibao-Signature"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Thread(target=server.serve_forever, daemon=True).start()
    key = tmp_path / "audit.key"
    cp.keygen(key)
    svc = make_service(sqlite_url, clock, audit_key_file=str(key), witness_file=str(tmp_path / "w.jsonl"),
                       witness_url=f"http://127.0.0.1:{server.server_port}/witness", webhook_secret="s3")
    try:
        made = svc.checkpointer.make()
        svc.checkpointer.delivery.join(timeout=10)
        assert len(received) == 1
        body, signed = received[0]
        assert json.loads(body)["hash"] == made["hash"] and signed == signature("s3", body)
        assert json.loads(body) == json.loads((tmp_path / "w.jsonl").read_text())
    finally:
        svc.close()
        server.shutdown()
        server.server_close()
