"""The app's certificate signing keys: where they are, what happens without them, `flask keys …`.

Where: ``NAMALMS_SIGNING_KEY_FILE`` (config ``SIGNING_KEY_FILE``) names a key ring directory or
a single PEM file; by default the ring is ``instance/signing-keys/``. An installation from before
key rings has ``instance/certificate_signing_key.pem``; it is read as a one-key ring until
``keys rotate`` moves it into the directory. (``CERTIFICATE_SIGNING_KEY`` as PEM text in
``instance/config.py`` still works as a one-key ring.)

Without a key:

- production refuses to start (a lost key must never be replaced silently: every certificate it
  signed would stop verifying). ``flask`` commands still run, so that
  ``flask --app namalms keys generate`` can create the key; a command that has to sign fails
  with the same message;
- development creates the ring in ``instance/`` (as ``make run`` does);
- tests get a key held in memory only, unless their configuration names one.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, current_app

from namalms.certificates import keyring
from namalms.certificates.keyring import GENERATE_HINT, KeyRing, KeyRingError

log = logging.getLogger(__name__)

DEFAULT_RING = "signing-keys"
LEGACY_FILE = "certificate_signing_key.pem"
RELOAD_EVERY = 5.0  # seconds: an unknown key id re-reads the ring at most this often


def default_location(instance_path: str) -> Path:
    return Path(instance_path) / DEFAULT_RING


def configured_location(config, instance_path: str) -> Path:
    """Where this installation keeps its keys (the ring directory or the single key file)."""
    configured = config.get("SIGNING_KEY_FILE")
    if configured:
        return Path(configured)
    ring = default_location(instance_path)
    legacy = Path(instance_path) / LEGACY_FILE
    if not keyring.has_keys(ring) and legacy.is_file():
        return legacy
    return ring


def ensure_signing_keys(instance_path: str, location: str | None = None) -> Path:
    """Create the key ring once (used by `make run`, like the secret key); never replaces a key."""
    where = Path(location) if location else configured_location({}, instance_path)
    if not keyring.has_keys(where):
        keyring.generate(where)
    return where


def missing_key_message(location: Path, detail: str = "") -> str:
    return (f"No certificate signing key configured{': ' + detail if detail else ''}. "
            f"Create one with `{GENERATE_HINT}` (it writes {location}), or set NAMALMS_SIGNING_KEY_FILE to your "
            f"key file or key ring directory. Keep it safe and back it up: certificates signed with a key "
            f"verify only with that key.")


@dataclass
class SigningKeys:
    """The loaded ring of one app, re-read when a certificate names a key it does not know yet
    (another server rotated the shared ring)."""

    location: Path
    ring: KeyRing | None
    problem: str = ""
    in_memory: bool = False
    _checked_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def require(self) -> KeyRing:
        if self.ring is None:
            raise KeyRingError(missing_key_message(self.location, self.problem))
        return self.ring

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key with this id; re-reads the ring (throttled) when the id is unknown."""
        if self.ring is not None and (key := self.ring.public_key(kid)) is not None:
            return key
        if self.in_memory:
            return None
        with self._lock:
            if time.monotonic() - self._checked_at < RELOAD_EVERY:
                return None
            self._checked_at = time.monotonic()
            try:
                self.ring = keyring.read_ring(self.location)
            except (KeyRingError, OSError) as error:
                log.warning("could not re-read the signing key ring %s: %s", self.location, error)
                return None
        return self.ring.public_key(kid)


def _load(config, instance_path: str) -> SigningKeys:
    location = configured_location(config, instance_path)
    pem = config.get("CERTIFICATE_SIGNING_KEY")
    if pem:
        from namalms.certificates.signing import private_key_from_pem

        return SigningKeys(location, KeyRing.of(private_key_from_pem(pem), source="CERTIFICATE_SIGNING_KEY"),
                           in_memory=True)
    if keyring.has_keys(location):
        return SigningKeys(location, keyring.read_ring(location))  # an inconsistent ring is always fatal
    if config.get("TESTING"):
        return SigningKeys(location, KeyRing.of(Ed25519PrivateKey.generate()), in_memory=True)
    if config.get("NAMALMS_ENV") == "development":
        kid = keyring.generate(location)
        log.info("created the certificate signing key %s in %s", kid, location)
        return SigningKeys(location, keyring.read_ring(location))
    return SigningKeys(location, None, problem=f"nothing at {location}")


def init_app(app: Flask) -> None:
    """Load the signing keys; outside development and testing refuse to start without them.

    Under the ``flask`` command line (``FLASK_RUN_FROM_CLI``) a missing key is not fatal at
    start, so ``flask --app namalms keys generate`` can create it.
    """
    try:
        keys = _load(app.config, app.instance_path)
    except KeyRingError as error:
        raise RuntimeError(f"The certificate signing keys cannot be used: {error}") from None
    app.extensions["namalms_keys"] = keys
    if keys.ring is None and os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        raise RuntimeError(missing_key_message(keys.location, keys.problem))
    app.cli.add_command(keys_cli)


def signing_keys() -> SigningKeys:
    return current_app.extensions["namalms_keys"]


def active_key() -> Ed25519PrivateKey:
    """The key that signs new certificates (``KeyRingError`` with the fix when there is none)."""
    return signing_keys().require().active_key


def ring() -> KeyRing:
    return signing_keys().require()


def public_key(kid: str) -> Ed25519PublicKey | None:
    return signing_keys().public_key(kid)


# --- command line ---------------------------------------------------------------------------------

@click.group("keys", help="Certificate signing keys: generate, rotate, list.")
def keys_cli() -> None:
    pass


@keys_cli.command("generate")
def keys_generate() -> None:
    """Create the signing key (once). Refuses when a key exists: use `keys rotate` then."""
    keys = signing_keys()
    try:
        kid = keyring.generate(keys.location)
    except KeyRingError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created signing key {kid} in {keys.location} (readable by its owner only). "
               f"Back it up offsite: certificates signed with it verify only with it.")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key and make it the active one; the old keys stay for verification."""
    keys = signing_keys()
    location = keys.location
    if location.is_file() and location.name == LEGACY_FILE and not current_app.config.get("SIGNING_KEY_FILE"):
        # The pre-ring key file: move it into the ring directory first, so it keeps verifying.
        location = default_location(current_app.instance_path)
        keyring.adopt_file(location, keys.location)
        click.echo(f"Moved {keys.location.name} into the key ring {location}")
    try:
        kid, previous = keyring.rotate(location)
    except KeyRingError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"New active signing key {kid} in {location}; previous key {previous or '-'} is kept for "
               f"verification. Restart every app server so that all of them sign with the new key.")


@keys_cli.command("list")
def keys_list() -> None:
    """Show every key id, which one signs, and whether the private half is held here."""
    try:
        ring = signing_keys().require()
    except KeyRingError as error:
        raise click.ClickException(str(error)) from None
    for kid in ring.ids():
        role = "active" if kid == ring.active_id else ("verify+sign" if kid in ring.private else "verify only")
        click.echo(f"{kid}  {role}")
    click.echo(f"{len(ring.public)} key(s) in {ring.source}")
