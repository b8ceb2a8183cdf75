"""`weibao audit` against the database and offline on a bundle."""

from __future__ import annotations

import json

from sqlalchemy import select

from api.cli import main
from engine.store.models import EventRow

from .histories import run


def test_audit_commands(sqlite_url, tmp_path, monkeypatch, capsys):
    svc, iid = run("rework_with_escalation", sqlite_url)
    svc.close()
    monkeypatch.setenv("WEIBAO_DATABASE_URL", sqlite_url)
    bundle = tmp_path / "bundle.zip"
    assert main(["audit", "export", iid, "-o", str(bundle)]) == 0
    assert main(["audit", "verify", "--bundle", str(bundle), "--replay"]) == 0
    capsys.readouterr()
    assert main(["audit", "replay", iid, "--upto", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verified"] and [t["element_id"] for t in out["state"]["open_tasks"]] == ["Work"]
    assert main(["audit", "verify"]) == 0

    from engine.store.sessions import Store

    store = Store(sqlite_url)
    with store.write() as s:
        s.scalars(select(EventRow).where(EventRow.seq == 3)).one().actor = "mallory"
    store.dispose()
    capsys.readouterr()
    assert main(["audit", "verify", iid]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert (verdict["verified"], verdict["first_bad_seq"]) == (False, 3)
    assert main(["audit", "verify", "--bundle", str(bundle)]) == 0, "the exported bundle is unchanged"
