"""Export bundles and chain verification in detail: the manifest, the readable files, the problems
verify_bundle names, and verify_all's report in creation order."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.audit.verify import export_bundle, read_bundle, verify_all, verify_bundle, verify_instance
from engine.errors import NotFound
from engine.store.models import EventRow, Instance

from .engine_support import deploy, events
from .histories import HISTORIES

SAVED = HISTORIES / "rework_with_escalation.zip"
NOBODY = "00000000-0000-4000-8000-00000000dead"


@pytest.fixture
def started(engine_service):
    deploy(engine_service, "rework.bpmn")
    data = {"summary": "交换机端口故障"}
    iid = engine_service.runtime.start("rework", data, "alice", business_key="广州-1")
    return engine_service, iid


def test_the_bundle_manifest_describes_the_instance(started):
    svc, iid = started
    data = export_bundle(svc.store, iid)
    manifest, rows, files = read_bundle(data)
    with svc.store.read() as s:
        head = s.get(Instance, iid).head_hash
    assert {k: manifest[k] for k in ("format", "instance_id", "process", "business_key", "version", "events",
                                     "head_hash", "status")} == {
        "format": "weibao-audit-bundle/1", "instance_id": iid, "process": "rework", "business_key": "广州-1",
        "version": 1, "events": len(rows), "head_hash": head, "status": "running"}
    assert [f["name"] for f in manifest["files"]] == ["rework.bpmn"] and set(files) == {"rework.bpmn"}
    assert [r.seq for r in rows] == [e.seq for e in events(svc, iid)]


def test_the_bundle_is_compressed_and_readable_as_text(started):
    svc, iid = started
    with zipfile.ZipFile(io.BytesIO(export_bundle(svc.store, iid))) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
        manifest = zf.read("manifest.json").decode()
        lines = zf.read("events.jsonl").decode()
    # Chinese as written, not \u escapes; keys sorted, so two exports of one history are the same bytes
    assert "广州-1" in manifest and "交换机端口故障" in lines
    assert manifest == json.dumps(json.loads(manifest), ensure_ascii=False, indent=2, sort_keys=True)
    for line in lines.splitlines():
        assert line == json.dumps(json.loads(line), ensure_ascii=False, sort_keys=True)
    seqs = [json.loads(line)["seq"] for line in lines.splitlines()]
    assert seqs == list(range(1, len(seqs) + 1))


def test_exporting_or_verifying_an_unknown_instance_is_not_found(started):
    svc, _ = started
    for check in (export_bundle, verify_instance):
        with pytest.raises(NotFound, match=f"no instance {NOBODY}") as caught:
            check(svc.store, NOBODY)
        assert caught.value.instance_id == NOBODY


def test_events_cut_off_the_end_are_caught_after_the_last_one_left(started):
    svc, iid = started
    with svc.store.write() as s:
        rows = list(s.scalars(select(EventRow).where(EventRow.instance_id == iid).order_by(EventRow.seq)))
        s.delete(rows[-1])
    assert verify_instance(svc.store, iid) == {"verified": False, "first_bad_seq": rows[-1].seq,
                                               "events": len(rows) - 1, "checkpoint": None,
                                               "problems": [f"event chain broken at seq {rows[-1].seq}"]}


def test_a_bundle_verifies_from_a_file_too(tmp_path):
    path = tmp_path / "copy.zip"
    path.write_bytes(SAVED.read_bytes())
    assert verify_bundle(path)["verified"] is True and verify_bundle(str(path))["verified"] is True


def _with_manifest(change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(SAVED.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in source.namelist():
            content = source.read(name)
            if name == "manifest.json":
                manifest = json.loads(content)
                change(manifest)
                content = json.dumps(manifest).encode()
            zf.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("field", ["head_hash", "events"])
def test_a_manifest_that_does_not_match_the_events_is_caught(field):
    def change(manifest):
        manifest[field] = "f" * 64 if field == "head_hash" else manifest["events"] + 1

    result = verify_bundle(_with_manifest(change))
    assert result["verified"] is False and result["first_bad_seq"] == result["events"] + 1
    assert result["problems"] == ["events missing at the end (head hash differs from the manifest)"]


def test_a_version_hash_that_does_not_match_the_files_is_caught():
    result = verify_bundle(_with_manifest(lambda m: m.update(content_hash="0" * 64)))
    assert result == {"verified": False, "first_bad_seq": None, "events": result["events"],
                      "checkpoint": None, "problems": ["definition version hash does not match its files"]}


def test_a_broken_chain_names_its_seq():
    source = zipfile.ZipFile(io.BytesIO(SAVED.read_bytes()))
    lines = source.read("events.jsonl").decode().splitlines()
    third = json.loads(lines[2])
    third["actor"] = "mallory"
    lines[2] = json.dumps(third, ensure_ascii=False)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in source.namelist():
            zf.writestr(name, "\n".join(lines) + "\n" if name == "events.jsonl" else source.read(name))
    result = verify_bundle(out.getvalue())
    assert (result["verified"], result["first_bad_seq"]) == (False, 3)
    assert result["problems"] == ["event chain broken at seq 3"]


def test_definition_files_keep_their_folders():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", "{}")
        zf.writestr("events.jsonl", "")
        zf.writestr("definitions/sub/a.bpmn", b"<a/>")
    assert read_bundle(out.getvalue()) == ({}, [], {"sub/a.bpmn": b"<a/>"})


def test_verify_all_reports_failures_in_creation_order(started, clock):
    svc, first = started
    clock.advance(timedelta(minutes=1))
    # ids that sort the other way round from their creation
    later = svc.runtime.start("rework", {"summary": "b"}, "alice",
                              instance_id="00000000-0000-4000-8000-000000000001")
    with svc.store.write() as s:
        for iid in (first, later):
            row = s.scalars(select(EventRow).where(EventRow.instance_id == iid, EventRow.seq == 1)).one()
            row.actor = "mallory"
    report = verify_all(svc.store)
    assert report == {"instances": 2, "verified": 0, "failed": [{"instance_id": first, "first_bad_seq": 1},
                                                                 {"instance_id": later, "first_bad_seq": 1}],
                      "checkpoint": None, "problems": []}
