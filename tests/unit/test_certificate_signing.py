"""Signed certificate documents: tampering is detected, bad input is reported, keys are kept."""
from __future__ import annotations

import copy
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from namalms.certificates.signing import (
    Verification, canonical_json, key_id, load_or_create_private_key, private_key_from_pem,
    public_key_from_pem, public_key_pem, sign_snapshot, signed_document, verify_document,
)


def make_snapshot(**overrides) -> dict:
    snapshot = {
        "version": 1,
        "number": "NAMA-2026-00042",
        "verification_code": "x1Y2z3A4b5C6d7E8f9G0hI",
        "verify_url": "https://lernen.nama.nrw/verify/x1Y2z3A4b5C6d7E8f9G0hI",
        "holder": {"name": "Jörg Müller-Lüdenscheidt", "municipality": "Stadt Gelsenkirchen"},
        "certificate": {
            "id": "zertifikat-grundlagenkurs",
            "title": "Zertifikat Grundlagenkurs Kommunales Nachhaltigkeitsmanagement",
            "statement": "hat den Grundlagenkurs „Kommunales Nachhaltigkeitsmanagement“ "
                         "erfolgreich abgeschlossen.",
        },
        "issuer": {"name": "LAG 21 NRW – Landesarbeitsgemeinschaft Agenda 21 NRW e. V.", "place": "Dortmund"},
        "issued_at": "2026-11-22T09:15:00+00:00",
        "evidence": {
            "modules": [
                {"id": "gk-agenda-2030", "title": "Nachhaltige Entwicklung und Agenda 2030",
                 "completed_at": "2026-10-01T10:00:00+00:00", "minutes": 90, "quiz_score": 86},
                {"id": "gk-massnahmen", "title": "Maßnahmen planen",
                 "completed_at": "2026-10-08T10:00:00+00:00", "minutes": 60, "quiz_score": None},
            ],
            "workshops": [],
            "certificates": [],
        },
        "rule": {"hash": "ab" * 32, "definition": {"course_completed": "grundlagenkurs"}},
        "content_revisions": {"gk-agenda-2030": 3},
        "supersedes": None,
    }
    snapshot.update(overrides)
    return snapshot


@pytest.fixture(scope="module")
def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture()
def document(private_key) -> dict:
    return signed_document(make_snapshot(), private_key, status={"state": "valid"})


# ------------------------------------------------------------------ canonical JSON


def test_canonical_json_does_not_depend_on_key_order():
    forwards = {"b": 1, "a": {"y": [1, 2], "x": "ä"}}
    backwards = {"a": {"x": "ä", "y": [1, 2]}, "b": 1}
    assert canonical_json(forwards) == canonical_json(backwards)


def test_canonical_json_is_compact_utf8_with_sorted_keys():
    expected = '{"a":[1,null,true],"z":"„ß“"}'.encode("utf-8")
    assert canonical_json({"z": "„ß“", "a": [1, None, True]}) == expected


def test_canonical_json_refuses_nan_because_it_is_not_json():
    with pytest.raises(ValueError):
        canonical_json({"score": float("nan")})


# ------------------------------------------------------------------ signing and verifying


def test_signed_document_verifies_with_the_issuers_public_key(document, private_key):
    result = verify_document(document, private_key.public_key())
    fingerprint = key_id(private_key)
    assert result == Verification(True, f"signature valid (key id {fingerprint})", fingerprint)


def test_signed_document_has_the_documented_shape(document, private_key):
    assert set(document) == {"snapshot", "signature", "algorithm", "key_id", "public_key", "status"}
    assert document["algorithm"] == "Ed25519"
    assert document["key_id"] == key_id(private_key)
    assert len(document["key_id"]) == 16
    assert "=" not in document["signature"]
    assert document["public_key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_verifying_against_the_embedded_key_says_so_and_names_the_key_id(document, private_key):
    result = verify_document(document)
    assert result.ok
    assert "embedded in the file" in result.message
    assert key_id(private_key) in result.message


@pytest.mark.parametrize("key_form", ["pem-str", "pem-bytes", "private-key"])
def test_public_key_may_be_given_as_pem_or_key_object(document, private_key, key_form):
    given = {
        "pem-str": public_key_pem(private_key),
        "pem-bytes": public_key_pem(private_key).encode("ascii"),
        "private-key": private_key,
    }[key_form]
    assert verify_document(document, given).ok


def test_key_order_of_a_reloaded_snapshot_does_not_matter(document, private_key):
    reordered = dict(document, snapshot=dict(reversed(list(document["snapshot"].items()))))
    assert verify_document(reordered, private_key.public_key()).ok


def test_status_is_not_signed_so_a_revocation_keeps_the_signature_valid(document, private_key):
    revoked = dict(document, status={"state": "revoked", "revoked_at": "2027-01-05T10:00:00+00:00",
                                     "reason_category": "error"})
    assert verify_document(revoked, private_key.public_key()).ok


def _set(path: tuple, value):
    def change(snapshot: dict) -> None:
        target = snapshot
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return change


@pytest.mark.parametrize(
    "change",
    [
        _set(("holder", "name"), "Jörg Müller-Lüdenscheid"),
        _set(("number",), "NAMA-2026-00043"),
        _set(("evidence", "modules", 0, "completed_at"), "2026-09-30T10:00:00+00:00"),
        _set(("evidence", "modules", 1, "minutes"), 600),
        _set(("issued_at",), "2025-11-22T09:15:00+00:00"),
        _set(("supersedes",), "NAMA-2026-00001"),
        _set(("extra",), "a field added later"),
    ],
    ids=["holder-name", "number", "module-date", "module-minutes", "issue-date", "supersedes", "added-field"],
)
def test_changing_any_signed_field_is_detected(document, private_key, change):
    tampered = copy.deepcopy(document)
    change(tampered["snapshot"])
    for key in (private_key.public_key(), None):
        result = verify_document(tampered, key)
        assert not result.ok
        assert "was changed" in result.message


def test_a_document_signed_by_another_key_fails_against_the_issuers_key(private_key):
    forged = signed_document(make_snapshot(), Ed25519PrivateKey.generate(), status={"state": "valid"})
    result = verify_document(forged, private_key.public_key())
    assert not result.ok
    assert "key id does not match the given public key" in result.message


def test_a_forgery_that_copies_the_key_id_still_fails_on_the_signature(private_key):
    forged = signed_document(make_snapshot(), Ed25519PrivateKey.generate(), status={"state": "valid"})
    forged["key_id"] = key_id(private_key)
    result = verify_document(forged, private_key.public_key())
    assert not result.ok
    assert "signature does not match" in result.message


def test_a_replaced_embedded_key_with_the_old_key_id_is_reported(document):
    swapped = dict(document, public_key=public_key_pem(Ed25519PrivateKey.generate()))
    result = verify_document(swapped)
    assert not result.ok
    assert "key id does not match" in result.message


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d.pop("signature"), "missing field 'signature'"),
        (lambda d: d.pop("snapshot"), "missing field 'snapshot'"),
        (lambda d: d.pop("algorithm"), "missing field 'algorithm'"),
        (lambda d: d.update(algorithm="RSA-PSS"), "unknown algorithm"),
        (lambda d: d.update(algorithm=None), "unknown algorithm"),
        (lambda d: d.update(snapshot=["not", "an", "object"]), "'snapshot' must be a JSON object"),
        (lambda d: d.update(signature=12345), "'signature' must be a base64url string"),
        (lambda d: d.update(signature="not*base64!"), "not valid base64url"),
        (lambda d: d.update(signature="a"), "not valid base64url"),
        (lambda d: d.update(signature="AAAA"), "wrong length"),
        (lambda d: d.update(signature=d["signature"] + "AAAA"), "wrong length"),
        (lambda d: d.update(key_id=["x"]), "'key_id' must be a string"),
        (lambda d: d.update(key_id="0000000000000000"), "key id does not match"),
        (lambda d: d.update(snapshot={"score": float("nan")}), "canonical JSON"),
    ],
    ids=[
        "no-signature", "no-snapshot", "no-algorithm", "other-algorithm", "null-algorithm",
        "snapshot-list", "signature-number", "signature-bad-chars", "signature-bad-length-b64",
        "signature-too-short", "signature-too-long", "key-id-list", "key-id-other", "nan",
    ],
)
def test_malformed_documents_fail_with_a_clear_message(document, private_key, mutate, expected):
    broken = copy.deepcopy(document)
    mutate(broken)
    for key in (private_key.public_key(), None):
        result = verify_document(broken, key)
        assert not result.ok
        assert expected in result.message


@pytest.mark.parametrize(
    "public_key, expected",
    [
        (None, "missing field 'public_key'"),
        ("-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n", "'public_key' is not a valid"),
        (42, "'public_key' is not a valid"),
    ],
    ids=["absent", "garbage-pem", "number"],
)
def test_a_missing_or_broken_embedded_key_is_reported(document, public_key, expected):
    broken = dict(document)
    if public_key is None:
        del broken["public_key"]
    else:
        broken["public_key"] = public_key
    result = verify_document(broken)
    assert not result.ok
    assert expected in result.message


@pytest.mark.parametrize(
    "given", ["not a pem", b"\x00\x01", 3.14, ["list"]], ids=["text", "bytes", "float", "list"]
)
def test_an_unusable_given_key_is_reported_not_raised(document, given):
    result = verify_document(document, given)
    assert not result.ok
    assert "given public key is not a valid" in result.message


@pytest.mark.parametrize("document", [None, "text", 42, ["snapshot"]], ids=["none", "str", "int", "list"])
def test_a_non_object_is_not_a_document(document):
    result = verify_document(document)
    assert not result.ok
    assert "expected a JSON object" in result.message


def test_a_signature_with_padding_or_whitespace_still_verifies(document, private_key):
    padded = dict(document, signature=document["signature"] + "==\n")
    assert verify_document(padded, private_key.public_key()).ok


def test_signature_is_over_the_canonical_json(private_key):
    snapshot = make_snapshot()
    signature = sign_snapshot(snapshot, private_key)
    assert sign_snapshot(dict(reversed(list(snapshot.items()))), private_key) == signature


# ------------------------------------------------------------------ keys


def test_key_id_is_sixteen_hex_chars_of_the_public_key(private_key):
    assert key_id(private_key) == key_id(private_key.public_key())
    assert len(key_id(private_key)) == 16
    int(key_id(private_key), 16)
    assert key_id(Ed25519PrivateKey.generate()) != key_id(private_key)


def test_pem_round_trips(private_key):
    assert key_id(public_key_from_pem(public_key_pem(private_key))) == key_id(private_key)


@pytest.mark.parametrize("pem", ["", "nonsense", public_key_pem(Ed25519PrivateKey.generate())],
                         ids=["empty", "nonsense", "public-key"])
def test_private_key_from_pem_refuses_what_is_not_an_ed25519_private_key(pem):
    with pytest.raises(ValueError):
        private_key_from_pem(pem)


def test_key_file_is_created_once_with_owner_only_permissions_and_reused(tmp_path: Path):
    path = tmp_path / "keys" / "certificate-signing.pem"
    first = load_or_create_private_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    content = path.read_bytes()
    second = load_or_create_private_key(path)
    assert key_id(first) == key_id(second)
    assert path.read_bytes() == content
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


def test_an_existing_key_file_is_never_overwritten(tmp_path: Path):
    existing = Ed25519PrivateKey.generate()
    path = tmp_path / "signing.pem"
    path.write_bytes(existing.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    assert key_id(load_or_create_private_key(path)) == key_id(existing)


def test_an_existing_unreadable_key_file_is_an_error_not_replaced(tmp_path: Path):
    path = tmp_path / "signing.pem"
    path.write_text("not a key")
    with pytest.raises(ValueError):
        load_or_create_private_key(path)
    assert path.read_text() == "not a key"


def test_concurrent_first_use_ends_with_one_key(tmp_path: Path):
    path = tmp_path / "signing.pem"
    barrier = threading.Barrier(8)
    ids: list[str] = []

    def create() -> None:
        barrier.wait()
        ids.append(key_id(load_or_create_private_key(path)))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    on_disk = key_id(private_key_from_pem(path.read_bytes()))
    assert ids == [on_disk] * 8
    assert os.listdir(tmp_path) == ["signing.pem"]
