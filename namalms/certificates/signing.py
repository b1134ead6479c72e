"""Signing and verifying certificate snapshots with Ed25519.

A certificate freezes a JSON snapshot at issue time (holder, title, evidence, rule hash, …).
The issuer signs the *canonical JSON* of that snapshot, so anyone holding the issuer's public
key can later prove that a downloaded certificate file was not changed::

    {
      "snapshot":   {... exactly what was issued ...},
      "signature":  "<Ed25519 signature over canonical_json(snapshot), base64url, no padding>",
      "algorithm":  "Ed25519",
      "key_id":     "<first 16 hex chars of sha256(raw public key)>",
      "public_key": "-----BEGIN PUBLIC KEY----- ...",
      "status":     {"state": "valid"}
    }

Only ``snapshot`` is signed. ``status`` is deliberately *not* signed: a certificate can be
revoked or superseded long after it was issued, and the issuer must be able to say so without
re-signing (and so changing) the original. The signed snapshot answers "what was issued", the
live verification page answers "is it still valid". ``key_id`` and ``public_key`` are not signed
either; they only say which key to check with, and a verifier that trusts the embedded key says
so in its message.

This module is pure Python: no Flask, no database.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ALGORITHM",
    "Verification",
    "canonical_json",
    "key_id",
    "load_or_create_private_key",
    "private_key_from_pem",
    "public_key_from_pem",
    "public_key_pem",
    "sign_snapshot",
    "signed_document",
    "verify_document",
]

ALGORITHM = "Ed25519"
SIGNATURE_BYTES = 64

# What a caller may hand in as "the key": a key object or its PEM text.
KeyLike = Ed25519PublicKey | Ed25519PrivateKey | str | bytes

EMBEDDED_KEY_NOTE = (
    "checked against the key embedded in the file; compare its key id {key_id} "
    "with the one the issuer publishes"
)


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a signed document: ok or not, and why, in English for the CLI."""

    ok: bool
    message: str
    key_id: str | None = None


# --------------------------------------------------------------------------------------------
# Canonical form


def canonical_json(data: Any) -> bytes:
    """The one byte sequence that is signed for ``data``: sorted keys, no spaces, UTF-8.

    Deterministic, so the same snapshot always yields the same bytes however its keys were
    ordered when it was stored or loaded. NaN and infinity are refused (``ValueError``): they
    are not JSON, and a signature over them could not be checked by other tools.
    """
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


# --------------------------------------------------------------------------------------------
# Keys


def private_key_from_pem(pem: str | bytes) -> Ed25519PrivateKey:
    """Parse an unencrypted PKCS#8 PEM private key; ``ValueError`` unless it is Ed25519."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (TypeError, ValueError, UnsupportedAlgorithm) as error:
        raise ValueError(f"not a valid unencrypted PEM private key: {error}") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"expected an Ed25519 private key, got {type(key).__name__}")
    return key


def public_key_from_pem(pem: str | bytes) -> Ed25519PublicKey:
    """Parse a PEM public key (SubjectPublicKeyInfo); ``ValueError`` unless it is Ed25519."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (TypeError, ValueError, UnsupportedAlgorithm) as error:
        raise ValueError(f"not a valid PEM public key: {error}") from error
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"expected an Ed25519 public key, got {type(key).__name__}")
    return key


def _public(key: Ed25519PublicKey | Ed25519PrivateKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_pem(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The PEM text of the public half of ``key``, to embed in documents and publish."""
    return (
        _public(key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """A short fingerprint of the public key (16 hex chars of SHA-256 of its raw 32 bytes).

    Short enough to print on a web page and compare by eye, long enough that nobody can make a
    second key with the same id.
    """
    raw = _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _private_key_pem_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """The issuer's signing key from ``path``, created there (mode 0600) on first use.

    An existing key is never overwritten: losing it would make every certificate issued so far
    unverifiable against the published key id. Creation is atomic and race-free: the new key is
    written completely to a private temporary file in the same directory and then *hard-linked*
    to ``path``. ``os.link`` fails if ``path`` already exists (unlike ``os.replace``, which would
    silently replace a key another process just created), so when two processes race, exactly
    one link succeeds and both return the key that is on disk.
    """
    path = Path(path)
    if path.exists():
        return private_key_from_pem(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    _create_key_file(path, _private_key_pem_bytes(Ed25519PrivateKey.generate()))
    # Read back what is on disk: if another process won the race, that is its key, not ours.
    return private_key_from_pem(path.read_bytes())


def _create_key_file(path: Path, pem: bytes) -> None:
    """Put ``pem`` at ``path`` unless a file is already there; never leaves a partial file."""
    # mkstemp creates the file with mode 0600 (owner read/write only).
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # Another process created the key first; theirs is the one.
        except OSError:
            # A file system without hard links: fall back to O_EXCL, which still refuses to
            # overwrite. A concurrent reader could then see a short file for a moment, which is
            # why the hard link is preferred.
            _create_exclusively(path, pem)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _create_exclusively(path: Path, pem: bytes) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


# --------------------------------------------------------------------------------------------
# Signing


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Strict base64url decoding; padding optional. ``ValueError`` on anything else."""
    padded = text + "=" * (-len(text) % 4)
    try:
        # validate=True refuses characters outside the alphabet instead of skipping them.
        return base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(str(error)) from error


def sign_snapshot(snapshot: Mapping[str, Any], private_key: Ed25519PrivateKey) -> str:
    """The Ed25519 signature over ``canonical_json(snapshot)``, base64url without padding."""
    return _b64url_encode(private_key.sign(canonical_json(snapshot)))


def signed_document(
    snapshot: Mapping[str, Any], private_key: Ed25519PrivateKey, *, status: Mapping[str, Any]
) -> dict[str, Any]:
    """The downloadable certificate file: the snapshot, its signature and how to check it.

    ``status`` (``{"state": "valid"}`` or ``{"state": "revoked", "revoked_at": …,
    "reason_category": …}``) is carried along but NOT signed, because it changes after issue;
    see the module docstring.
    """
    return {
        "snapshot": snapshot,
        "signature": sign_snapshot(snapshot, private_key),
        "algorithm": ALGORITHM,
        "key_id": key_id(private_key),
        "public_key": public_key_pem(private_key),
        "status": dict(status),
    }


# --------------------------------------------------------------------------------------------
# Verifying


def verify_document(document: Any, public_key: KeyLike | None = None) -> Verification:
    """Check a signed certificate document; never raises, whatever the input.

    With ``public_key`` (a key object or PEM text) the document is checked against the issuer's
    key as published. Without it the PEM embedded in the document is used, which proves only
    that the file is internally consistent; the message says so and names the key id to compare
    with the one the issuer publishes.
    """
    try:
        return _verify(document, public_key)
    except Exception as error:  # noqa: BLE001 - the promise is "never raises"; report instead.
        return Verification(False, f"could not check the document: {type(error).__name__}: {error}")


def _verify(document: Any, public_key: KeyLike | None) -> Verification:
    if not isinstance(document, Mapping):
        return Verification(False, "not a signed certificate document (expected a JSON object)")
    for field in ("snapshot", "signature", "algorithm"):
        if field not in document:
            return Verification(False, f"missing field '{field}'")
    algorithm = document["algorithm"]
    if algorithm != ALGORITHM:
        return Verification(False, f"unknown algorithm {algorithm!r} (expected '{ALGORITHM}')")
    snapshot = document["snapshot"]
    if not isinstance(snapshot, Mapping):
        return Verification(False, "field 'snapshot' must be a JSON object")

    signature_or_error = _decode_signature(document["signature"])
    if isinstance(signature_or_error, Verification):
        return signature_or_error
    key_or_error = _resolve_key(document, public_key)
    if isinstance(key_or_error, Verification):
        return key_or_error
    key, embedded = key_or_error
    fingerprint = key_id(key)

    try:
        message = canonical_json(snapshot)
    except (TypeError, ValueError) as error:
        return Verification(False, f"the snapshot cannot be written as canonical JSON: {error}")
    try:
        key.verify(signature_or_error, message)
    except InvalidSignature:
        return Verification(
            False,
            "signature does not match: the document was changed after signing "
            "(or it was signed with a different key)",
            fingerprint,
        )
    if embedded:
        note = EMBEDDED_KEY_NOTE.format(key_id=fingerprint)
        return Verification(True, f"signature valid ({note})", fingerprint)
    return Verification(True, f"signature valid (key id {fingerprint})", fingerprint)


def _decode_signature(value: Any) -> bytes | Verification:
    if not isinstance(value, str):
        return Verification(False, "field 'signature' must be a base64url string")
    try:
        signature = _b64url_decode(value.strip())
    except ValueError:
        return Verification(False, "field 'signature' is not valid base64url")
    if len(signature) != SIGNATURE_BYTES:
        return Verification(
            False,
            f"field 'signature' has the wrong length ({len(signature)} bytes, expected {SIGNATURE_BYTES})",
        )
    return signature


def _resolve_key(
    document: Mapping[str, Any], given: KeyLike | None
) -> tuple[Ed25519PublicKey, bool] | Verification:
    """The key to check with and whether it came from the document itself."""
    claimed_id = document.get("key_id")
    if claimed_id is not None and not isinstance(claimed_id, str):
        return Verification(False, "field 'key_id' must be a string")

    if given is None:
        if "public_key" not in document:
            return Verification(
                False, "missing field 'public_key' (pass the issuer's public key to check this file)"
            )
        try:
            key = public_key_from_pem(document["public_key"])
        except (TypeError, ValueError, AttributeError):
            return Verification(False, "field 'public_key' is not a valid Ed25519 public key in PEM form")
        if claimed_id is not None and claimed_id != key_id(key):
            return Verification(False, "key id does not match the public key embedded in the file")
        return key, True

    if isinstance(given, (Ed25519PublicKey, Ed25519PrivateKey)):
        key = _public(given)
    else:
        try:
            key = public_key_from_pem(given)
        except (TypeError, ValueError, AttributeError):
            return Verification(False, "the given public key is not a valid Ed25519 public key in PEM form")
    if claimed_id is not None and claimed_id != key_id(key):
        return Verification(
            False,
            f"key id does not match the given public key (the file names {claimed_id!r}, "
            f"the given key is {key_id(key)!r})",
        )
    return key, False
