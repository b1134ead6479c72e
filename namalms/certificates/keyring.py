"""The issuer's signing keys: several Ed25519 keys, each known by its key id, one of them active.

Every certificate records the id of the key that signed it, so a certificate issued years ago
is checked with the key that signed it, not with whatever key signs today. Rotating the key
therefore only *adds* a key: new certificates are signed with the new one, the old ones stay in
the ring (and in the published key set) for verification.

A key ring lives in one of two places:

- a **directory** (the default ``instance/signing-keys/``)::

      signing-keys/
        ACTIVE                 the key id that signs new certificates (one line)
        3f2a9c0e5b7d11c1.pem   private keys, PKCS#8 PEM, mode 0600
        9b0e44d2a6f1c877.pem   an older key, kept so its certificates still verify
        77aa01c3d9e2f4b5.pem   may also be a *public* key only: a retired key whose private
                               half was destroyed – it still verifies, it never signs

- a **single PEM file** holding one private key (an installation that never rotated, or the
  key kept by an operator elsewhere). It is the active key and the only one.

File names are only a convention; the key id is always computed from the key itself.

Pure Python (no Flask, no database).
"""
from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from namalms.certificates.signing import key_id, public_key_pem

ACTIVE_FILE = "ACTIVE"
GENERATE_HINT = "flask --app namalms keys generate"


class KeyRingError(Exception):
    """The key ring is missing, unreadable or inconsistent; the message says how to fix it (English)."""


@dataclass
class KeyRing:
    """Public keys by id, the private keys this installation holds, and the active key's id."""

    public: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    private: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    active_id: str | None = None
    source: str = ""  # where it was read from, for messages

    @classmethod
    def of(cls, *keys: Ed25519PrivateKey, source: str = "memory") -> KeyRing:
        """A ring of these private keys; the last one is active (used for tests and single files)."""
        ring = cls(source=source)
        for key in keys:
            ring.add_private(key)
        ring.active_id = key_id(keys[-1]) if keys else None
        return ring

    def add_private(self, key: Ed25519PrivateKey) -> str:
        kid = key_id(key)
        self.private[kid] = key
        self.public[kid] = key.public_key()
        return kid

    def add_public(self, key: Ed25519PublicKey) -> str:
        kid = key_id(key)
        self.public.setdefault(kid, key)
        return kid

    @property
    def active_key(self) -> Ed25519PrivateKey:
        """The private key that signs new certificates."""
        if self.active_id is None or self.active_id not in self.private:
            raise KeyRingError(f"no active signing key in {self.source or 'the key ring'}; run `{GENERATE_HINT}`")
        return self.private[self.active_id]

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        return self.public.get(kid)

    def ids(self) -> list[str]:
        """Key ids, the active one first, then the others in a stable order."""
        rest = sorted(k for k in self.public if k != self.active_id)
        return ([self.active_id] if self.active_id in self.public else []) + rest

    def jwks(self) -> dict:
        """The public keys as a JSON Web Key Set (RFC 8037: OKP, Ed25519), each with its ``kid``."""
        keys = []
        for kid in self.ids():
            raw = self.public[kid].public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            keys.append({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
                         "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")})
        return {"keys": keys}

    def public_pem(self, kid: str) -> str | None:
        key = self.public.get(kid)
        return public_key_pem(key) if key is not None else None


# --- reading ----------------------------------------------------------------------------------------

def _parse_pem(data: bytes) -> Ed25519PrivateKey | Ed25519PublicKey | None:
    """The key in a PEM file (private first, then public), or None when it is neither."""
    for load in (lambda d: serialization.load_pem_private_key(d, password=None), serialization.load_pem_public_key):
        try:
            key = load(data)
        except (TypeError, ValueError):
            continue
        if isinstance(key, (Ed25519PrivateKey, Ed25519PublicKey)):
            return key
    return None


def read_ring(location: Path) -> KeyRing:
    """Read a key ring from a directory or a single PEM file; ``KeyRingError`` when unusable.

    A missing location or a directory without keys is an error too: callers decide whether
    that is fatal (production) or a reason to create one (development).
    """
    location = Path(location)
    if location.is_dir():
        return _read_directory(location)
    if location.is_file():
        key = _parse_pem(location.read_bytes())
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyRingError(f"{location} does not hold an unencrypted Ed25519 private key in PEM form")
        return KeyRing.of(key, source=str(location))
    raise KeyRingError(f"no signing key at {location}; run `{GENERATE_HINT}` "
                       f"or set NAMALMS_SIGNING_KEY_FILE to your key file or key ring directory")


def _read_directory(directory: Path) -> KeyRing:
    ring = KeyRing(source=str(directory))
    for path in sorted(directory.glob("*.pem")):
        key = _parse_pem(path.read_bytes())
        if key is None:
            raise KeyRingError(f"{path} is not an Ed25519 key in PEM form")
        if isinstance(key, Ed25519PrivateKey):
            ring.add_private(key)
        else:
            ring.add_public(key)
    if not ring.public:
        raise KeyRingError(f"the key ring {directory} holds no keys; run `{GENERATE_HINT}`")
    active_file = directory / ACTIVE_FILE
    if active_file.exists():
        active = active_file.read_text(encoding="ascii").strip()
        if active not in ring.private:
            raise KeyRingError(f"{active_file} names key {active!r}, but the ring holds no private key "
                               f"with that id (held: {', '.join(sorted(ring.private)) or 'none'})")
        ring.active_id = active
    elif len(ring.private) == 1:
        ring.active_id = next(iter(ring.private))
    elif not ring.private:
        raise KeyRingError(f"the key ring {directory} holds only public keys; nothing can sign new "
                           f"certificates. Run `flask --app namalms keys rotate` to add a private key")
    else:
        raise KeyRingError(f"the key ring {directory} holds several private keys but no {ACTIVE_FILE} file "
                           f"naming the one that signs; write its key id into {active_file}")
    return ring


# --- writing ----------------------------------------------------------------------------------------

def private_pem(key: Ed25519PrivateKey) -> bytes:
    """The unencrypted PKCS#8 PEM bytes of a private key (what a ring file holds)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_private_file(path: Path, key: Ed25519PrivateKey) -> None:
    """Create ``path`` (mode 0600) holding ``key``; refuses to replace an existing file.

    Written to a temporary file first and hard-linked into place, so a reader never sees a
    half-written key and two processes creating it at once cannot overwrite each other.
    """
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:  # mkstemp: mode 0600
            handle.write(private_pem(key))
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # FileExistsError when a key is already there
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _write_active(directory: Path, kid: str) -> None:
    """Point ``ACTIVE`` at ``kid`` atomically (temporary file + rename)."""
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{ACTIVE_FILE}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(kid + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / ACTIVE_FILE)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def is_single_file(location: Path) -> bool:
    """Whether ``location`` names a single key file (an existing file, or a path ending in .pem)."""
    location = Path(location)
    return location.is_file() or (not location.exists() and location.suffix == ".pem")


def has_keys(location: Path) -> bool:
    location = Path(location)
    return location.is_file() or (location.is_dir() and any(location.glob("*.pem")))


def generate(location: Path) -> str:
    """Create the first key at ``location`` (a directory ring, or one file ending in ``.pem``).

    Refuses (``KeyRingError``) when keys exist there already: replacing a key would make every
    certificate it signed unverifiable. Returns the new key id.
    """
    location = Path(location)
    if has_keys(location):
        raise KeyRingError(f"signing keys exist already at {location}; use `flask --app namalms keys rotate` "
                           f"to add a new key (the old ones are kept)")
    key = Ed25519PrivateKey.generate()
    kid = key_id(key)
    if is_single_file(location):
        try:
            write_private_file(location, key)
        except FileExistsError:
            raise KeyRingError(f"{location} was created by another process meanwhile") from None
        return kid
    location.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private_file(location / f"{kid}.pem", key)
    _write_active(location, kid)
    return kid


def rotate(location: Path) -> tuple[str, str | None]:
    """Add a new key to the directory ring at ``location`` and make it the active one.

    The previous keys stay in the ring, so their certificates keep verifying. Returns
    (new key id, previous active key id).
    """
    location = Path(location)
    if not location.is_dir():
        raise KeyRingError(f"{location} is not a key ring directory; rotation needs one. Point "
                           f"NAMALMS_SIGNING_KEY_FILE at a directory and copy the current key file into it")
    previous = read_ring(location).active_id if has_keys(location) else None
    key = Ed25519PrivateKey.generate()
    kid = key_id(key)
    write_private_file(location / f"{kid}.pem", key)
    _write_active(location, kid)
    return kid, previous


def adopt_file(directory: Path, key_file: Path) -> str:
    """Move a single key file (the pre-ring ``certificate_signing_key.pem``) into a new ring."""
    key = _parse_pem(Path(key_file).read_bytes())
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyRingError(f"{key_file} does not hold an Ed25519 private key")
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    kid = key_id(key)
    target = directory / f"{kid}.pem"
    if not target.exists():
        write_private_file(target, key)
    if not (directory / ACTIVE_FILE).exists():
        _write_active(directory, kid)
    Path(key_file).unlink()
    return kid


def import_keys(directory: Path, files: dict[str, bytes], active_id: str | None) -> list[str]:
    """Add keys (PEM bytes by file name) to the ring at ``directory``; existing keys are kept.

    Used by restore: a key is never removed or replaced, only added; ``active_id`` becomes the
    active key when the ring holds its private half. Returns the ids added.
    """
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ring = read_ring(directory) if has_keys(directory) else KeyRing(source=str(directory))
    added = []
    for data in files.values():
        key = _parse_pem(data)
        if key is None:
            raise KeyRingError("the backup holds a file that is not an Ed25519 key")
        kid = key_id(key)
        if kid in ring.private or (kid in ring.public and isinstance(key, Ed25519PublicKey)):
            continue
        target = directory / f"{kid}.pem"
        if isinstance(key, Ed25519PrivateKey):
            if target.exists():  # only the public half was here: the private one replaces it
                target.unlink()
            write_private_file(target, key)
            ring.add_private(key)
        else:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            ring.add_public(key)
        added.append(kid)
    if active_id and active_id in ring.private:
        _write_active(directory, active_id)
    read_ring(directory)  # refuse to leave an inconsistent ring behind
    return added
