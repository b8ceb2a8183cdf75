"""Signed checkpoints: history a database administrator rewrites and re-hashes is still caught.

Each attack recomputes everything the database holds (events, chain, the instance's head), so the
chain check alone — `verify_instance(store, id)` with no witness, what verify did before checkpoints —
says verified; the checkpoint in the witness file names the first event that differs.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, inspect, select, text

from engine.audit import checkpoints as cp
from engine.audit.checkpointer import Checkpointer
from engine.audit.verify import export_bundle, read_bundle, rehash, verify_all, verify_bundle, verify_instance
from engine.errors import Conflict
from engine.runtime.scheduler import Scheduler
from engine.store.checkpoints import CheckpointRow
from engine.store.models import Base, EventRow, Instance

from .conftest import make_service
from .engine_support import ENGINEER, TEST_HANDLERS, deploy, the_task


@pytest.fixture
def signed(db_url, clock, tmp_path):
    key = tmp_path / "keys" / "audit.key"
    key.parent.mkdir()
    cp.keygen(key)
    svc = make_service(db_url, clock, handlers=TEST_HANDLERS, audit_key_file=str(key),
                       witness_file=str(tmp_path / "witness.jsonl"))
    deploy(svc, "rework.bpmn")
    yield svc
    svc.close()


def work(svc, clock, turns: int = 2) -> str:
    iid = svc.runtime.start("rework", {"summary": "交换机端口故障"}, "alice")
    for turn in range(turns):
        clock.advance(timedelta(minutes=30))
        svc.runtime.complete(the_task(svc, iid, "Work"), {"ok": False, "note": f"第{turn}次"}, ENGINEER)
    return iid


def _events(session, iid):
    return list(session.scalars(select(EventRow).where(EventRow.instance_id == iid).order_by(EventRow.seq)))


def rewrite_and_rehash(svc, iid, seq):
    """Edit one event, recompute the whole chain and the instance's head: the chain is well formed."""
    with svc.store.write() as s:
        rows = _events(s, iid)
        rows[seq - 1].actor = "mallory"
        rehash(iid, rows)
        s.get(Instance, iid).head_hash = rows[-1].hash


def truncate(svc, iid, keep):
    """Delete the newest events and move the instance's head back to the last one kept."""
    with svc.store.write() as s:
        rows = _events(s, iid)
        s.execute(delete(EventRow).where(EventRow.instance_id == iid, EventRow.seq > keep))
        inst = s.get(Instance, iid)
        inst.last_seq, inst.head_hash = keep, rows[keep - 1].hash


def delete_instance(svc, iid):
    with svc.store.write() as s:
        for table in reversed(Base.metadata.sorted_tables):
            if "instance_id" in table.c and not table.name.startswith("audit_"):
                s.execute(table.delete().where(table.c.instance_id == iid))
        s.execute(delete(Instance).where(Instance.id == iid))


def test_a_live_history_verifies_against_the_checkpoint_also_with_events_after_it(signed, clock):
    iid = work(signed, clock)
    made = signed.checkpointer.make("auditor")
    work(signed, clock, turns=1)
    signed.runtime.complete(the_task(signed, iid, "Work"), {"ok": True, "note": "完成"}, ENGINEER)
    result = verify_instance(signed.store, iid, signed.settings)
    assert result["verified"] is True and result["problems"] == []
    assert result["checkpoint"]["number"] == made["number"] == 1
    assert result["checkpoint"]["hash"] == made["hash"]
    assert verify_all(signed.store, signed.settings)["failed"] == []


def test_a_rewritten_and_rehashed_chain_is_caught_at_the_rewritten_event(signed, clock):
    iid = work(signed, clock)
    signed.checkpointer.make()
    rewrite_and_rehash(signed, iid, 3)
    # Today's verify (the chain only): {"verified": True, "first_bad_seq": None, ...}
    assert verify_instance(signed.store, iid)["verified"] is True
    result = verify_instance(signed.store, iid, signed.settings)
    assert (result["verified"], result["first_bad_seq"]) == (False, 3)
    assert result["checkpoint"]["number"] == 1 and "event 3 differs" in result["problems"][0]
    assert verify_all(signed.store, signed.settings)["failed"][0]["first_bad_seq"] == 3


def test_the_next_checkpoint_does_not_seal_a_rewrite(signed, clock):
    iid = work(signed, clock)
    signed.checkpointer.make()
    rewrite_and_rehash(signed, iid, 2)
    assert signed.checkpointer.make()["refused"] == [iid]
    result = verify_instance(signed.store, iid, signed.settings)
    assert (result["first_bad_seq"], result["checkpoint"]["number"]) == (2, 2)


def test_newest_events_deleted_and_the_head_moved_back_are_caught(signed, clock):
    iid = work(signed, clock)
    signed.checkpointer.make()
    events = verify_instance(signed.store, iid)["events"]
    truncate(signed, iid, keep=4)
    # Today's verify: {"verified": True, "first_bad_seq": None, "events": 4}
    assert verify_instance(signed.store, iid)["verified"] is True
    result = verify_instance(signed.store, iid, signed.settings)
    assert (result["verified"], result["first_bad_seq"], result["events"]) == (False, 5, 4)
    assert f"up to seq {events}" in result["problems"][0]


def test_a_deleted_instance_is_caught(signed, clock):
    kept, gone = work(signed, clock), work(signed, clock)
    signed.checkpointer.make()
    delete_instance(signed, gone)
    # Today's verify_all: {"instances": 1, "verified": 1, "failed": []}
    assert verify_all(signed.store)["failed"] == []
    result = verify_all(signed.store, signed.settings)
    assert [(f["instance_id"], f["first_bad_seq"]) for f in result["failed"]] == [(gone, 1)]
    assert (result["instances"], result["verified"]) == (1, 1)  # the one left is fine
    assert "deleted" in result["failed"][0]["problems"][0] and kept not in str(result["failed"])
    assert verify_instance(signed.store, gone, signed.settings)["first_bad_seq"] == 1


def test_an_instance_inserted_with_a_date_before_the_checkpoint_is_caught(signed, clock):
    work(signed, clock)
    made = signed.checkpointer.make()
    clock.advance(timedelta(hours=1))
    later = work(signed, clock, turns=1)
    assert verify_instance(signed.store, later, signed.settings)["verified"] is True  # newer: chain only
    with signed.store.write() as s:  # backdated to look as if it was there all along
        rows = _events(s, later)
        for row in rows:
            row.at -= timedelta(days=1)
        rehash(later, rows)
        inst = s.get(Instance, later)
        inst.created_at, inst.head_hash = inst.created_at - timedelta(days=1), rows[-1].hash
    assert verify_instance(signed.store, later)["verified"] is True  # today's verify
    result = verify_instance(signed.store, later, signed.settings)
    assert (result["verified"], result["first_bad_seq"]) == (False, 1)
    assert result["checkpoint"]["hash"] == made["hash"] and "inserted" in result["problems"][0]


def test_the_private_key_is_in_no_table(signed, clock):
    work(signed, clock)
    signed.checkpointer.make()
    key = cp.load_private_key(signed.settings)
    pem = Path(signed.settings.audit_key_file).read_text()
    secret = pem.splitlines()[1]  # the base64 body of the PEM
    from cryptography.hazmat.primitives import serialization

    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    with signed.store.engine.connect() as conn:
        dump = repr([conn.execute(text(f"SELECT * FROM {name}")).all()  # noqa: S608 - table names
                     for name in inspect(conn).get_table_names()])
    assert "audit_checkpoints" in inspect(signed.store.engine).get_table_names()
    assert secret not in dump and raw.hex() not in dump and repr(raw)[2:-1] not in dump


def _witness(svc) -> Path:
    return Path(svc.settings.witness_file)


def _problems(svc, iid):
    result = verify_instance(svc.store, iid, svc.settings)
    assert result["verified"] is False
    return result["problems"]


def test_a_witness_line_that_does_not_chain_is_flagged(signed, clock):
    iid = work(signed, clock)
    for _ in range(3):
        signed.checkpointer.make()
    lines = _witness(signed).read_text().splitlines()
    _witness(signed).write_text("\n".join([lines[0], lines[2]]) + "\n")  # the middle one taken out
    assert "witness line 2: does not chain to the previous checkpoint" in _problems(signed, iid)[0]
    with pytest.raises(Conflict, match="witness file is damaged"):
        signed.checkpointer.make()  # nothing is appended to a damaged witness
    key = cp.load_private_key(signed.settings)
    forged = json.loads(lines[1])["checkpoint"] | {"prev_hash": "f" * 64}  # signed, but chained wrong
    _witness(signed).write_text(lines[0] + "\n" + json.dumps(cp.witness_line(forged, cp.sign(key, forged))))
    assert "witness line 2: does not chain" in _problems(signed, iid)[0]
    _witness(signed).write_text(lines[0] + "\n")  # the newest ones cut off
    assert "the database has checkpoint 3, the witness only up to 1" in _problems(signed, iid)


def test_a_tampered_signature_or_checkpoint_is_caught(signed, clock):
    iid = work(signed, clock)
    signed.checkpointer.make()
    line = json.loads(_witness(signed).read_text())
    forged = line["checkpoint"] | {"root": "0" * 64}
    _witness(signed).write_text(json.dumps(cp.witness_line(forged, line["signature"])) + "\n")
    assert "witness line 1: signature does not verify with the public key" in _problems(signed, iid)
    other = cp.Ed25519PrivateKey.generate()  # a key the auditors do not know signs a good checkpoint
    _witness(signed).write_text(json.dumps(cp.witness_line(line["checkpoint"],
                                                           cp.sign(other, line["checkpoint"]))))
    assert "signature does not verify" in _problems(signed, iid)[0]


def _repack(data: bytes, events, manifest=None, section=None) -> bytes:
    """A bundle rebuilt around altered events, as someone holding a copy could."""
    old_manifest, _, files = read_bundle(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        kept = json.loads(zf.read("checkpoint.json")) if "checkpoint.json" in zf.namelist() else None
    manifest = (manifest or old_manifest) | {"events": len(events), "head_hash": events[-1].hash}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("events.jsonl", "".join(json.dumps({**e.__dict__, "at": e.at.isoformat()}) + "\n"
                                            for e in events))
        if (section or kept) is not None:
            zf.writestr("checkpoint.json", json.dumps(section or kept))
        for name, content in files.items():
            zf.writestr(f"definitions/{name}", content)
    return out.getvalue()


def test_a_bundle_carries_its_checkpoint_and_is_checked_offline_with_the_public_key(signed, clock):
    iid, _other, _third = work(signed, clock), work(signed, clock), work(signed, clock)
    signed.checkpointer.make()
    data = export_bundle(signed.store, iid, signed.settings)
    public = cp.public_key_path(signed.settings)
    result = verify_bundle(data, public)
    assert result["verified"] is True and result["checkpoint"]["checked"] is True
    assert result["checkpoint"]["number"] == 1
    manifest, events, _ = read_bundle(data)
    events[2].actor = "mallory"
    rehash(iid, events)
    forged = _repack(data, events)
    # Today's offline verify (chain and manifest only): {"verified": True, ...}
    assert verify_bundle(forged)["verified"] is True
    offline = verify_bundle(forged, public)
    assert (offline["verified"], offline["first_bad_seq"]) == (False, 3)
    _, events, _ = read_bundle(data)
    cut = verify_bundle(_repack(data, events[:-2]), public)
    assert (cut["verified"], cut["first_bad_seq"]) == (False, len(events) - 1)


def test_a_bundle_checkpoint_with_a_wrong_path_or_signature_is_refused(signed, clock):
    iid = work(signed, clock)
    work(signed, clock)
    signed.checkpointer.make()
    data = export_bundle(signed.store, iid, signed.settings)
    public = cp.public_key_path(signed.settings)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        section = json.loads(zf.read("checkpoint.json"))
    _, events, _ = read_bundle(data)
    moved = section | {"proof": [["L", "0" * 64]]}
    assert "not under the checkpoint's signed root" in verify_bundle(_repack(data, events, section=moved),
                                                                     public)["problems"][0]
    other = cp.Ed25519PrivateKey.generate()
    head = section["witness"]["checkpoint"]
    resigned = section | {"witness": cp.witness_line(head, cp.sign(other, head))}
    assert "signature does not verify" in verify_bundle(_repack(data, events, section=resigned),
                                                        public)["problems"][0]


def test_the_scheduler_checkpoints_each_time_the_interval_has_passed(signed, clock):
    work(signed, clock)
    scheduler = Scheduler(signed.runtime, checkpointer=signed.checkpointer)
    assert scheduler.checkpoint_tick()["number"] == 1  # none yet: one at once
    assert scheduler.checkpoint_tick() is None
    clock.advance(timedelta(seconds=signed.settings.checkpoint_interval - 1))
    assert scheduler.checkpoint_tick() is None
    clock.advance(timedelta(seconds=1))
    assert scheduler.checkpoint_tick()["number"] == 2
    assert len(_witness(signed).read_text().splitlines()) == 2


def test_a_failing_automatic_checkpoint_is_kept_for_health(signed, clock, tmp_path):
    work(signed, clock)
    broken = dataclasses.replace(signed.settings, witness_file=str(tmp_path / "gone" / "witness.jsonl"))
    checkpointer = Checkpointer(signed.store, clock, broken)
    assert checkpointer.state() == "ok"
    assert Scheduler(signed.runtime, checkpointer=checkpointer).checkpoint_tick() is None
    assert checkpointer.state() == "failing" and "witness.jsonl" in checkpointer.last_error
    with signed.store.read() as s:
        assert s.scalars(select(CheckpointRow)).all() == []  # nothing stored the witness lacks
    unset = dataclasses.replace(broken, witness_file=None)
    assert Checkpointer(signed.store, clock, unset).state() == "disabled"
