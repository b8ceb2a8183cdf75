"""The pieces signed checkpoints are made of, each on its own: the key files, the Merkle tree and its
proofs, the witness file and the witness webhook. The end-to-end tests show a forged history is caught;
these pin the exact construction, so an auditor's own verifier (README "Trust") computes the same."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from engine.audit import checkpoints as cp
from engine.errors import InvalidInput
from engine.outbox import signature as hmac_signature
from engine.settings import Settings
from engine.store.chain import GENESIS, canonical


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def node(left: str, right: str) -> str:
    return sha(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right))


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public, created = cp.keygen(tmp_path / "audit.key")
    assert created
    return private, public


# ----------------------------------------------------------------------------- keys
def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites_it(
        keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public == private.with_name("audit.key.pub")
    before = private.read_bytes()
    assert cp.keygen(private) == (private, public, False)
    assert private.read_bytes() == before
    loaded = cp.load_private_key(Settings(audit_key_file=str(private)))
    assert cp.key_id(loaded.public_key()) == cp.key_id(cp.load_public_key(public))


def test_the_key_id_is_the_start_of_the_raw_public_keys_hash(keys: tuple[Path, Path]) -> None:
    public = cp.load_public_key(keys[1])
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert cp.key_id(public) == sha(raw)[:16]


def test_the_public_key_is_the_configured_file_or_the_private_keys_with_pub() -> None:
    assert cp.public_key_path(Settings(audit_key_file="/k/a.key")) == Path("/k/a.key.pub")
    both = Settings(audit_key_file="/k/a.key", audit_public_key_file="/elsewhere/p.pem")
    assert cp.public_key_path(both) == Path("/elsewhere/p.pem")
    assert cp.public_key_path(Settings()) is None


def _refusal(settings: Settings) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        cp.load_private_key(settings)
    return refused.value


def test_a_signing_key_that_is_missing_unreadable_or_not_ed25519_is_refused_naming_why(
        tmp_path: Path) -> None:
    unset = _refusal(Settings())
    assert str(unset) == "no signing key configured (WEIBAO_AUDIT_KEY_FILE)"
    assert unset.details == {"fields": {"audit_key_file": "not set"}}
    missing = _refusal(Settings(audit_key_file=str(tmp_path / "none.key")))
    assert str(missing).startswith(f"cannot read the signing key {tmp_path / 'none.key'}: ")
    assert missing.details == {"fields": {"audit_key_file": "unreadable"}}
    (tmp_path / "junk.key").write_text("not a key")
    assert _refusal(Settings(audit_key_file=str(tmp_path / "junk.key"))).details == {
        "fields": {"audit_key_file": "unreadable"}}
    ec = generate_private_key(SECP256R1())
    (tmp_path / "ec.key").write_bytes(ec.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    wrong = _refusal(Settings(audit_key_file=str(tmp_path / "ec.key")))
    assert (str(wrong), wrong.details) == ("the signing key is not an Ed25519 key",
                                           {"fields": {"audit_key_file": "not Ed25519"}})
    (tmp_path / "ec.pub").write_bytes(ec.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(InvalidInput) as refused:
        cp.load_public_key(tmp_path / "ec.pub")
    assert refused.value.details == {"fields": {"public_key": str(tmp_path / "ec.pub")}}


# ----------------------------------------------------------------------------- header and signature
AT = datetime(2026, 3, 5, 1, 30, tzinfo=UTC)


def test_the_header_names_every_field_and_its_hash_is_over_its_canonical_json() -> None:
    head = cp.header(3, AT, 12, "ab" * 32, "cd" * 32, "k1")
    assert head == {"format": "weibao-checkpoint/1", "number": 3, "at": "2026-03-05T01:30:00.000000+00:00",
                    "instances": 12, "root": "ab" * 32, "prev_hash": "cd" * 32, "key_id": "k1"}
    assert cp.header_hash(head) == sha(canonical(head).encode())


def test_a_signature_verifies_only_for_its_header_and_key(keys: tuple[Path, Path], tmp_path: Path) -> None:
    key = cp.load_private_key(Settings(audit_key_file=str(keys[0])))
    head = cp.header(1, AT, 1, "ab" * 32, GENESIS, cp.key_id(key.public_key()))
    signed = cp.sign(key, head)
    assert cp.signature_ok(key.public_key(), head, signed)
    assert not cp.signature_ok(key.public_key(), {**head, "instances": 2}, signed)
    other, _, _ = cp.keygen(tmp_path / "other.key")
    stranger = cp.load_private_key(Settings(audit_key_file=str(other))).public_key()
    assert not cp.signature_ok(stranger, head, signed)
    assert not cp.signature_ok(key.public_key(), head, signed[:-4] + "!!!!")  # not base64 at all


# ----------------------------------------------------------------------------- Merkle tree
def test_a_leaf_commits_to_its_instance_head_previous_leaf_and_new_event_hashes() -> None:
    args: tuple[str, int, str, str, list[str]] = ("i-1", 4, "aa" * 32, GENESIS, ["h1", "h2"])
    segment = sha(b"h1,h2")
    expected = sha(b"\x00" + canonical(["i-1", 4, "aa" * 32, GENESIS, segment]).encode())
    assert cp.leaf_hash(*args) == expected
    changed = [("i-2", 4, "aa" * 32, GENESIS, ["h1", "h2"]), ("i-1", 5, "aa" * 32, GENESIS, ["h1", "h2"]),
               ("i-1", 4, "bb" * 32, GENESIS, ["h1", "h2"]), ("i-1", 4, "aa" * 32, "11" * 32, ["h1", "h2"]),
               ("i-1", 4, "aa" * 32, GENESIS, ["h1", "h3"])]
    assert len({cp.leaf_hash(*c) for c in changed} | {expected}) == 6


def test_the_root_pairs_leaves_level_by_level_and_an_odd_one_moves_up() -> None:
    a, b, c = (sha(x) for x in (b"a", b"b", b"c"))
    assert cp.merkle_root([]) == sha(b"")
    assert cp.merkle_root([a]) == a
    assert cp.merkle_root([a, b]) == node(a, b)
    assert cp.merkle_root([a, b, c]) == node(node(a, b), c)
    assert cp.merkle_root([b, a]) != cp.merkle_root([a, b])


def test_every_leafs_proof_leads_to_the_root_and_names_each_siblings_side() -> None:
    a, b, c = (sha(x) for x in (b"a", b"b", b"c"))
    assert cp.merkle_proof([a, b, c], 0) == [["R", b], ["R", c]]
    assert cp.merkle_proof([a, b, c], 1) == [["L", a], ["R", c]]
    assert cp.merkle_proof([a, b, c], 2) == [["L", node(a, b)]]
    assert cp.merkle_proof([a], 0) == []
    for size in range(1, 10):
        leaves = [sha(str(n).encode()) for n in range(size)]
        root = cp.merkle_root(leaves)
        for index, leaf in enumerate(leaves):
            assert cp.root_from_proof(leaf, cp.merkle_proof(leaves, index)) == root
    assert cp.root_from_proof(b, [["L", a]]) == node(a, b) != cp.root_from_proof(b, [["R", a]])


# ----------------------------------------------------------------------------- witness file
def _line(key: Any, number: int, prev: str) -> dict[str, Any]:
    head = cp.header(number, AT, 1, "ab" * 32, prev, cp.key_id(key.public_key()))
    return cp.witness_line(head, cp.sign(key, head))


def test_witness_lines_are_appended_as_sorted_json_keeping_chinese(tmp_path: Path) -> None:
    path = tmp_path / "witness.jsonl"
    cp.append_witness(path, {"b": "巡检", "a": 1})
    cp.append_witness(path, {"c": 2})
    assert path.read_text(encoding="utf-8") == '{"a": 1, "b": "巡检"}\n{"c": 2}\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_the_witness_is_read_up_to_its_first_bad_line_and_says_which(keys: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    key = cp.load_private_key(Settings(audit_key_file=str(keys[0])))
    public = key.public_key()
    first = _line(key, 1, GENESIS)
    second = _line(key, 2, first["hash"])
    path = tmp_path / "witness.jsonl"
    assert cp.read_witness(path, public).lines == []  # no file yet: nothing to trust, nothing wrong
    path.write_text("\n".join(json.dumps(x) for x in (first, second)) + "\n")
    read = cp.read_witness(path, public)
    assert (read.lines, read.problems, read.last) == ([first, second], [], second)
    path.write_text("\n".join([json.dumps(first), "{not json", json.dumps(second)]) + "\n")
    read = cp.read_witness(path, public)
    assert (read.lines, read.problems) == ([first], ["witness line 2: not a checkpoint"])


def test_each_wrong_witness_line_is_named(keys: tuple[Path, Path]) -> None:
    key = cp.load_private_key(Settings(audit_key_file=str(keys[0])))
    public = key.public_key()
    first = _line(key, 1, GENESIS)
    unchained = "does not chain to the previous checkpoint"
    unsigned = "signature does not verify with the public key"
    assert cp.check_line(public, first, None) is None
    assert cp.check_line(public, {**first, "hash": "00"}, None) == "hash does not match the checkpoint"
    forged = {**first, "signature": _line(key, 1, "11" * 32)["signature"]}
    assert cp.check_line(public, forged, None) == unsigned
    assert cp.check_line(public, {**first, "signature": 7}, None) == unsigned
    assert cp.check_line(public, _line(key, 2, GENESIS), None) == unchained
    assert cp.check_line(public, _line(key, 1, "11" * 32), None) == unchained
    assert cp.check_line(public, _line(key, 2, first["hash"]), first) is None
    assert cp.check_line(public, _line(key, 3, first["hash"]), first) == unchained
    assert cp.check_line(public, _line(key, 2, GENESIS), first) == unchained


# ----------------------------------------------------------------------------- witness webhook
@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"method": self.command, "headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/witness", got
    server.shutdown()


def test_the_witness_webhook_gets_the_line_signed_with_the_secret_and_keyed_by_its_hash(
        receiver: tuple[str, list[dict[str, Any]]]) -> None:
    url, got = receiver
    line = {"checkpoint": {"number": 7}, "hash": "ab" * 32, "signature": "sig", "注": "巡检"}
    outcomes: list[str | None] = []
    cp.post_witness(url, line, "s3cret", outcomes.append).join(timeout=10)
    assert outcomes == [None]
    [request] = got
    body = json.dumps(line, ensure_ascii=False, sort_keys=True).encode()
    assert request["body"] == body and request["method"] == "POST"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Weibao-Signature"] == hmac_signature("s3cret", body)
    assert request["headers"]["Idempotency-Key"] == "ab" * 32


def test_a_dead_witness_url_is_logged_naming_the_checkpoint(caplog: pytest.LogCaptureFixture) -> None:
    line = {"checkpoint": {"number": 9}, "hash": "ab" * 32, "signature": "sig"}
    with caplog.at_level(logging.ERROR, logger="weibao.audit"):
        outcomes: list[str | None] = []
        thread = cp.post_witness("http://127.0.0.1:9/witness", line, "s", outcomes.append)
        thread.join(timeout=15)
    [error] = outcomes
    assert error is not None and error.startswith("checkpoint 9 not delivered to the witness URL: ")
    assert not thread.is_alive() and thread.daemon and thread.name == "weibao-witness"
    assert [r.getMessage() for r in caplog.records] == ["checkpoint 9 not delivered to the witness URL"]
