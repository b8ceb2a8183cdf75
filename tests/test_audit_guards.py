"""Audit checks that a one-line slip would silently weaken: definition files inside a bundle, derived
event data in replay, `op` as the seq of an operation's first event, and the stored `prev_hash` link."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from itertools import groupby

import pytest
from sqlalchemy import select, update

from engine.audit.replay import Replayer
from engine.audit.verify import read_bundle, rehash, verify_bundle, verify_instance
from engine.store.chain import canonical, event_view, verify_chain
from engine.store.models import EventRow, Instance

from .conftest import ROOT
from .engine_support import DATA, ENGINEER, events, the_task
from .histories import HISTORIES, run

SAVED = HISTORIES / "rework_with_escalation.zip"


def _with_files(data: bytes, change) -> bytes:
    """The bundle with its definition files passed through `change`; manifest and events untouched."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in source.namelist():
            content = source.read(name)
            if name.startswith("definitions/"):
                content = change(content)
                if content is None:
                    continue
            zf.writestr(name, content)
    return out.getvalue()


def test_an_edited_definition_inside_a_bundle_is_caught():
    data = SAVED.read_bytes()
    edited = _with_files(data, lambda c: c.replace("处理".encode(), "改名".encode()))
    assert read_bundle(edited)[1] == read_bundle(data)[1]  # the events are the same
    result = verify_bundle(edited)
    assert result["verified"] is False and result["first_bad_seq"] is None
    assert result["problems"] == ["definition file rework.bpmn altered or missing"]


def test_a_bundle_without_its_definition_is_caught():
    result = verify_bundle(_with_files(SAVED.read_bytes(), lambda c: None))
    assert result["problems"] == ["definition file rework.bpmn altered or missing"]


# ----------------------------------------------------------------- replay compares event data


@pytest.fixture
def sla_svc(engine_service):
    files = [(n, (DATA / n).read_bytes()) for n in ("sla_response.bpmn", "sla_incident.bpmn")]
    files.append(("sla_targets.dmn", (ROOT / "processes" / "sla_targets.dmn").read_bytes()))
    engine_service.runtime.deploy(files)
    return engine_service


def _breached(svc, clock):
    # seed 004_777e0ef8db92c2e8.txt: P3 resolved within 4 h; the boundary timer reads sla_due()
    iid = svc.runtime.start("sla_incident", {"contract": "integration", "level": "P3"}, "dora")
    clock.advance(timedelta(hours=4, seconds=1))
    svc.runtime.fire_due_timers()
    return iid


def _met(svc, clock):
    # seed 004_777e0ef8db92c2e8.txt: response within 30 min
    iid = svc.runtime.start("sla_response", {"contract": "integration"}, "dora")
    clock.advance(timedelta(minutes=20))
    svc.runtime.complete(the_task(svc, iid, "Respond"), {}, ENGINEER)
    return iid


def _forge(svc, iid, kind, key, value):
    with svc.store.write() as s:
        rows = list(s.scalars(select(EventRow).where(EventRow.instance_id == iid).order_by(EventRow.seq)))
        (target,) = [r for r in rows if r.type == kind]
        target.data = {**target.data, key: value}
        rehash(iid, rows)
        s.execute(update(Instance).where(Instance.id == iid).values(head_hash=rows[-1].hash))
    return target.seq


@pytest.mark.parametrize(("scenario", "kind", "key", "value"), [
    (_breached, "sla_breached", "due_at", "2026-03-02T09:00:00+00:00"),
    (_breached, "timer_fired", "due_at", "2026-03-02T09:00:00+00:00"),
    (_met, "sla_met", "business_seconds", 60.0),
])
def test_a_rehashed_forgery_of_derived_event_data_fails_replay(sla_svc, clock, scenario, kind, key, value):
    iid = scenario(sla_svc, clock)
    replayer = Replayer(sla_svc.store, sla_svc.definitions, sla_svc.runtime.sla, sla_svc.settings)
    assert replayer.replay(iid).verified
    seq = _forge(sla_svc, iid, kind, key, value)
    assert verify_instance(sla_svc.store, iid)["verified"] is True  # the chain itself is well formed
    result = replayer.replay(iid)
    assert result.verified is False and result.divergence["seq"] == seq


# ----------------------------------------------------------------- op numbering and the prev_hash link


def _firsts(rows) -> list[tuple[int, int]]:
    """(op, seq of its first event) per run of events sharing an op."""
    return [(op, next(group).seq) for op, group in groupby(rows, key=lambda r: r.op)]


def test_op_is_the_seq_of_the_first_event_of_its_operation(sqlite_url):
    svc, iid = run("rework_with_escalation", sqlite_url)
    try:
        rows = events(svc, iid)
    finally:
        svc.close()
    firsts = _firsts(rows)
    assert len(firsts) > 5 and len({op for op, _ in firsts}) == len(firsts)  # each op is one run
    assert all(op == seq for op, seq in firsts), firsts
    assert all(op == seq for op, seq in _firsts(read_bundle(SAVED.read_bytes())[1]))


def test_editing_only_prev_hash_is_caught(db_url):
    svc, iid = run("rework_with_escalation", db_url)
    try:
        with svc.store.write() as s:
            row = s.scalars(select(EventRow).where(EventRow.instance_id == iid, EventRow.seq == 3)).one()
            row.prev_hash = "f" * 64
        assert verify_instance(svc.store, iid) == {"verified": False, "first_bad_seq": 3,
                                                   "events": len(events(svc, iid)), "checkpoint": None,
                                                   "problems": ["event chain broken at seq 3"]}
    finally:
        svc.close()


def test_editing_only_prev_hash_in_a_bundle_is_caught():
    manifest, rows, files = read_bundle(SAVED.read_bytes())
    rows[2].prev_hash = "f" * 64
    assert verify_chain(manifest["instance_id"], rows) == (False, 3)


def test_the_event_view_shows_what_people_read():
    manifest, rows, _ = read_bundle(SAVED.read_bytes())
    view = event_view(rows[1], rows[1].seq)
    assert view == {"seq": 2, "type": rows[1].type, "at": rows[1].at, "actor": rows[1].actor,
                    "element_id": rows[1].element_id, "task_id": rows[1].task_id, "data": rows[1].data}
    assert view["task_id"] is not None


def test_canonical_form_is_compact_sorted_readable_and_takes_dates():
    at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert canonical({"b": "中文", "a": [1, at]}) == '{"a":[1,"2026-03-02 01:00:00+00:00"],"b":"中文"}'
