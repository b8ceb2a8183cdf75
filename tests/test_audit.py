"""Tamper evidence, deterministic replay, state at any point, and export bundles."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from engine.audit.bundle import replay_bundle
from engine.audit.replay import Replayer
from engine.audit.verify import export_bundle, read_bundle, rehash, verify_all, verify_bundle, verify_instance
from engine.store.models import DefinitionFile, EventRow, ProcessVersion

from .histories import HISTORIES, SCENARIOS, run


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request, db_url):
    svc, iid = run(request.param, db_url)
    yield svc, iid
    svc.close()


def replayer(svc):
    return Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings)


def test_live_history_verifies_and_replays(scenario):
    svc, iid = scenario
    assert verify_instance(svc.store, iid)["verified"] is True
    result = replayer(svc).replay(iid)
    assert result.verified, result.divergence
    assert verify_all(svc.store)["failed"] == []


def test_state_at_any_point(db_url):
    svc, iid = run("rework_with_escalation", db_url)
    with svc.store.read() as s:
        rows = s.scalars(select(EventRow).where(EventRow.instance_id == iid).order_by(EventRow.seq)).all()
    created = [r for r in rows if r.type == "task_created"]
    escalated = next(r for r in created if r.element_id == "Escalate")
    state = replayer(svc).replay(iid, upto=escalated.seq).state
    assert sorted(t["element_id"] for t in state["open_tasks"]) == ["Escalate", "Work"]
    assert state["data"]["note"] == "第2次"
    first = replayer(svc).replay(iid, upto=1).state
    assert [t["element_id"] for t in first["open_tasks"]] == ["Work"] and "note" not in first["data"]
    svc.close()


def _tamper(svc, iid, how):
    with svc.store.write() as s:
        rows = s.scalars(select(EventRow).where(EventRow.instance_id == iid).order_by(EventRow.seq)).all()
        target = rows[3]
        if how == "edit":
            target.data = {**target.data, "data": {"ok": True, "note": "改过"}}
        elif how == "delete":
            s.execute(delete(EventRow).where(EventRow.id == target.id))
        elif how == "swap":
            a, b = rows[3], rows[4]
            a_seq, b_seq = a.seq, b.seq
            a.seq = -1
            s.flush()
            b.seq = a_seq
            s.flush()
            a.seq = b_seq
    return 4


@pytest.mark.parametrize("how", ["edit", "delete", "swap"])
def test_tampering_is_caught_at_the_right_sequence_number(db_url, how):
    svc, iid = run("rework_with_escalation", db_url)
    bad = _tamper(svc, iid, how)
    result = verify_instance(svc.store, iid)
    assert result == {"verified": False, "first_bad_seq": bad, "events": result["events"], "checkpoint": None,
                      "problems": [f"event chain broken at seq {bad}"]}
    assert verify_all(svc.store)["failed"] == [{"instance_id": iid, "first_bad_seq": bad}]
    svc.close()


def test_a_rehashed_forgery_is_caught_by_replay(db_url):
    """Someone who edits a completion and recomputes the whole chain still fails the replay."""
    svc, iid = run("rework_with_escalation", db_url)
    with svc.store.write() as s:
        rows = s.scalars(select(EventRow).where(EventRow.instance_id == iid).order_by(EventRow.seq)).all()
        done = next(r for r in rows if r.type == "task_completed")
        done.data = {"data": {"ok": False, "note": "伪造"}}
        rehash(iid, rows)
    assert verify_instance(svc.store, iid)["verified"] is False  # head hash on the instance row
    result = replayer(svc).replay(iid)
    assert not result.verified and result.divergence["seq"] >= done.seq
    svc.close()


def test_a_definition_changed_under_a_running_instance_is_caught(db_url):
    svc, iid = run("rework_with_escalation", db_url)
    with svc.store.write() as s:
        version = s.scalars(select(ProcessVersion).where(ProcessVersion.process_key == "rework")).one()
        stored = s.get(DefinitionFile, version.files[0]["hash"])
        stored.content = stored.content.replace("处理".encode(), "改名".encode())
    svc.definitions._cache.clear()
    result = replayer(svc).replay(iid)
    assert not result.verified and "altered" in result.divergence["reason"]
    with svc.store.write() as s:
        s.execute(update(ProcessVersion).values(content_hash="0" * 64))
    assert not replayer(svc).replay(iid).verified
    svc.close()


def test_export_bundle_verifies_and_replays_offline(tmp_path, sqlite_url):
    svc, iid = run("message_with_retry", sqlite_url)
    data = export_bundle(svc.store, iid)
    svc.close()
    manifest, events, files = read_bundle(data)
    assert manifest["head_hash"] == events[-1].hash and set(files) == {"signals.bpmn"}
    assert verify_bundle(data)["verified"] is True
    assert replay_bundle(data).verified is True


def _rewrite(data: bytes, change) -> bytes:
    manifest, events, files = read_bundle(data)
    lines = [json.loads(json.dumps(e.__dict__, default=str)) for e in events]
    for line in lines:
        line["at"] = line["at"].replace(" ", "T")
    lines = change(lines)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("events.jsonl", "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
        for name, content in files.items():
            zf.writestr(f"definitions/{name}", content)
    return out.getvalue()


def _edit(lines):
    lines[2]["data"]["note"] = "x"
    return lines


@pytest.mark.parametrize(
    "change, bad",
    [
        (_edit, 3),
        (lambda lines: lines[:2] + lines[3:], 3),
        (lambda lines: lines[:2] + [lines[3], lines[2]] + lines[4:], 3),
        (lambda lines: lines[:-1], None),
    ],
)
def test_saved_history_tampered_copies_are_caught(change, bad):
    data = (HISTORIES / "rework_with_escalation.zip").read_bytes()
    result = verify_bundle(_rewrite(data, change))
    assert result["verified"] is False
    assert result["first_bad_seq"] == (bad if bad is not None else result["events"] + 1)


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.zip")), ids=lambda p: Path(p).stem)
def test_saved_histories_still_replay(path):
    """Histories recorded by earlier versions of the engine must replay on this one."""
    data = path.read_bytes()
    assert verify_bundle(data)["verified"] is True
    result = replay_bundle(data)
    assert result.verified, result.divergence
