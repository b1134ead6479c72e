"""The key ring: several signing keys by id, one active; rotation adds, nothing ever replaces a key."""
import base64
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from namalms.certificates import keyring
from namalms.certificates.keyring import ACTIVE_FILE, KeyRing, KeyRingError
from namalms.certificates.signing import key_id, public_key_pem, sign_snapshot


def private_pem(key=None):
    return (key or Ed25519PrivateKey.generate()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_generate_creates_a_private_ring_with_one_active_key(tmp_path):
    ring_dir = tmp_path / "signing-keys"
    kid = keyring.generate(ring_dir)
    ring = keyring.read_ring(ring_dir)
    assert ring.active_id == kid and ring.ids() == [kid]
    assert (ring_dir / ACTIVE_FILE).read_text().strip() == kid
    assert mode(ring_dir / f"{kid}.pem") == 0o600 and mode(ring_dir) == 0o700


def test_generate_never_replaces_an_existing_key(tmp_path):
    ring_dir = tmp_path / "ring"
    kid = keyring.generate(ring_dir)
    with pytest.raises(KeyRingError, match="keys rotate"):
        keyring.generate(ring_dir)
    assert keyring.read_ring(ring_dir).ids() == [kid]


def test_a_single_pem_file_is_a_ring_of_one(tmp_path):
    path = tmp_path / "issuer.pem"
    kid = keyring.generate(path)
    ring = keyring.read_ring(path)
    assert ring.active_id == kid and mode(path) == 0o600
    with pytest.raises(KeyRingError, match="exist already"):
        keyring.generate(path)


def test_rotation_adds_a_new_active_key_and_keeps_the_old_one(tmp_path):
    ring_dir = tmp_path / "ring"
    old = keyring.generate(ring_dir)
    new, previous = keyring.rotate(ring_dir)
    ring = keyring.read_ring(ring_dir)
    assert previous == old and ring.active_id == new and new != old
    assert set(ring.private) == {old, new}
    assert ring.ids()[0] == new


def test_rotation_needs_a_directory(tmp_path):
    path = tmp_path / "issuer.pem"
    keyring.generate(path)
    with pytest.raises(KeyRingError, match="not a key ring directory"):
        keyring.rotate(path)


def test_a_public_only_key_verifies_but_never_signs(tmp_path):
    ring_dir = tmp_path / "ring"
    active = keyring.generate(ring_dir)
    retired = Ed25519PrivateKey.generate()
    (ring_dir / "retired.pem").write_text(public_key_pem(retired))
    ring = keyring.read_ring(ring_dir)
    assert key_id(retired) in ring.public and key_id(retired) not in ring.private
    assert ring.active_id == active


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "holds no keys"),
    (lambda d: (d / "x.pem").write_text("kein Schlüssel"), "not an Ed25519 key"),
    (lambda d: [(d / name).write_bytes(private_pem()) for name in ("a.pem", "b.pem")], "no ACTIVE file"),
    (lambda d: (d / "p.pem").write_text(public_key_pem(Ed25519PrivateKey.generate())), "only public keys"),
], ids=["empty", "garbage", "two-without-active", "public-only"])
def test_an_unusable_ring_is_refused_with_the_reason(tmp_path, setup, message):
    ring_dir = tmp_path / "ring"
    ring_dir.mkdir()
    setup(ring_dir)
    with pytest.raises(KeyRingError, match=message):
        keyring.read_ring(ring_dir)


def test_active_must_name_a_private_key_of_the_ring(tmp_path):
    ring_dir = tmp_path / "ring"
    keyring.generate(ring_dir)
    (ring_dir / ACTIVE_FILE).write_text("0000000000000000\n")
    with pytest.raises(KeyRingError, match="no private key with that id"):
        keyring.read_ring(ring_dir)


def test_a_missing_location_names_the_command_that_creates_it(tmp_path):
    with pytest.raises(KeyRingError, match="flask --app namalms keys generate"):
        keyring.read_ring(tmp_path / "nowhere")


def test_the_key_set_is_a_jwks_with_every_key_id():
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ring = KeyRing.of(first, second)
    jwks = ring.jwks()
    assert [k["kid"] for k in jwks["keys"]] == [key_id(second), key_id(first)]
    entry = jwks["keys"][0]
    assert entry["kty"] == "OKP" and entry["crv"] == "Ed25519" and entry["alg"] == "EdDSA"
    raw = base64.urlsafe_b64decode(entry["x"] + "=" * (-len(entry["x"]) % 4))
    assert raw == second.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_import_adds_keys_and_never_removes_one(tmp_path):
    ring_dir = tmp_path / "ring"
    here = keyring.generate(ring_dir)
    other = Ed25519PrivateKey.generate()
    pem = private_pem(other)
    added = keyring.import_keys(ring_dir, {"other.pem": pem}, key_id(other))
    ring = keyring.read_ring(ring_dir)
    assert added == [key_id(other)] and set(ring.private) == {here, key_id(other)}
    assert ring.active_id == key_id(other)
    assert keyring.import_keys(ring_dir, {"other.pem": pem}, key_id(other)) == []


def test_adopting_the_old_key_file_keeps_its_id(tmp_path):
    legacy = tmp_path / "certificate_signing_key.pem"
    key = Ed25519PrivateKey.generate()
    legacy.write_bytes(private_pem(key))
    snapshot = {"number": "NAMA-2026-00001"}
    signature = sign_snapshot(snapshot, key)
    kid = keyring.adopt_file(tmp_path / "signing-keys", legacy)
    ring = keyring.read_ring(tmp_path / "signing-keys")
    assert kid == key_id(key) == ring.active_id and not legacy.exists()
    ring.public_key(kid).verify(base64.urlsafe_b64decode(signature + "=="), b'{"number":"NAMA-2026-00001"}')
