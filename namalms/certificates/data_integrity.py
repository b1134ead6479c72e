"""W3C Data Integrity proofs with the cryptosuite ``eddsa-rdfc-2022`` (Ed25519 over RDF).

Why this proof format (and not VC-JWT): Open Badges 3.0 names exactly one embedded proof suite,
``eddsa-rdfc-2022`` (VC-DI-EDDSA), while its VC-JWT profile makes RS256 the algorithm every
verifier must support and says other algorithms "limit interoperability". Our issuer key is
Ed25519 already, badge wallets and the 1EdTech validator verify Data Integrity proofs, and the
credential stays ONE JSON document that a learner can import into a wallet as it is. The price is
RDF canonicalisation (RDFC-1.0, the former URDNA2015) of JSON-LD, which needs the ``@context``
documents: they are bundled in ``contexts/`` and this module never fetches anything.

The algorithm (VC-DI-EDDSA, section 3.3 "eddsa-rdfc-2022")::

    proofConfig  = proof options without proofValue, with the document's @context
    hashData     = SHA-256(RDFC(proofConfig)) || SHA-256(RDFC(document without proof))
    proofValue   = "z" + base58btc(Ed25519-sign(hashData))

Pure Python (pyld, cryptography): no Flask, no database.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"

_CONTEXT_DIR = Path(__file__).resolve().parent / "contexts"
_CONTEXT_FILES = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    OB_V3P0: "ob-v3p0-context-3.0.3.json",
}
_ED25519_MULTICODEC = b"\xed\x01"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class UnknownContext(ValueError):
    """A document names a JSON-LD context that is not bundled; it is never fetched."""


# --- contexts -----------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _context_document(url: str) -> dict:
    return json.loads((_CONTEXT_DIR / _CONTEXT_FILES[url]).read_text(encoding="utf-8"))


def document_loader(url: str, options: Any = None) -> dict:
    """pyld document loader that serves the bundled contexts and refuses every other URL."""
    if url not in _CONTEXT_FILES:
        raise UnknownContext(f"JSON-LD context {url!r} is not bundled (contexts are never fetched)")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": copy.deepcopy(_context_document(url))}


def canonical_nquads(document: Mapping[str, Any]) -> str:
    """RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document, with bundled contexts only."""
    from pyld import jsonld  # loaded only when a credential is signed or checked

    return jsonld.normalize(copy.deepcopy(dict(document)), {
        "algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader,
    })


# --- multibase / multikey -------------------------------------------------------------------------

def base58btc_encode(data: bytes) -> str:
    """Bitcoin base58 (the alphabet of multibase ``z``), leading zero bytes kept as ``1``."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _BASE58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def base58btc_decode(text: str) -> bytes:
    """Inverse of :func:`base58btc_encode`; ``ValueError`` on a character outside the alphabet."""
    number = 0
    for char in text:
        index = _BASE58.find(char)
        if index < 0:
            raise ValueError(f"not base58btc: {char!r}")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def public_key_multibase(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The key as a W3C Multikey value (``z6Mk…``): multicodec ed25519-pub + 32 raw bytes."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58btc_encode(_ED25519_MULTICODEC + raw)


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """Parse a Multikey ``z6Mk…`` Ed25519 public key; ``ValueError`` for anything else."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise ValueError("publicKeyMultibase must be base58btc ('z…')")
    data = base58btc_decode(value[1:])
    if not data.startswith(_ED25519_MULTICODEC) or len(data) != 34:
        raise ValueError("not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(data[2:])


# --- proofs ------------------------------------------------------------------------------------------

def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(unsecured: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    document_hash = hashlib.sha256(canonical_nquads(unsecured).encode("utf-8")).digest()
    config_hash = hashlib.sha256(canonical_nquads(proof_config).encode("utf-8")).digest()
    return config_hash + document_hash


def add_proof(document: Mapping[str, Any], private_key: Ed25519PrivateKey, verification_method: str, *,
              created: datetime, proof_purpose: str = "assertionMethod") -> dict:
    """A copy of ``document`` with an ``eddsa-rdfc-2022`` proof made with ``private_key``.

    ``verification_method`` is the DID URL of the key (``did:web:…#<key id>``) that a verifier
    dereferences to get the public key.
    """
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {
        "type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": _timestamp(created),
        "verificationMethod": verification_method, "proofPurpose": proof_purpose,
    }
    signature = private_key.sign(_hash_data(unsecured, {"@context": unsecured["@context"], **options}))
    return {**unsecured, "proof": {**options, "proofValue": "z" + base58btc_encode(signature)}}


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of checking a proof: ok or not, why (English, for the CLI), which key."""

    ok: bool
    message: str
    verification_method: str | None = None


KeyResolver = Callable[[str], Ed25519PublicKey | None]


def verify_proof(document: Any, resolve_key: KeyResolver, *, proof_purpose: str = "assertionMethod") -> ProofCheck:
    """Check the ``eddsa-rdfc-2022`` proof of ``document``; never raises, whatever the input.

    ``resolve_key`` maps the proof's verificationMethod to the issuer's public key (None when the
    issuer does not publish that key).
    """
    try:
        return _verify(document, resolve_key, proof_purpose)
    except UnknownContext as error:
        return ProofCheck(False, str(error))
    except Exception as error:  # noqa: BLE001 - the promise is "never raises"; report instead.
        return ProofCheck(False, f"could not check the proof: {type(error).__name__}: {error}")


def _verify(document: Any, resolve_key: KeyResolver, proof_purpose: str) -> ProofCheck:
    if not isinstance(document, Mapping) or "@context" not in document:
        return ProofCheck(False, "not a JSON-LD credential (expected a JSON object with @context)")
    proof = document.get("proof")
    if not isinstance(proof, Mapping):
        return ProofCheck(False, "the credential carries no proof (field 'proof' is missing)")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return ProofCheck(False, f"unsupported proof: expected {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}")
    if proof.get("proofPurpose") != proof_purpose:
        return ProofCheck(False, f"proof purpose must be {proof_purpose!r}")
    method = proof.get("verificationMethod")
    value = proof.get("proofValue")
    if not isinstance(method, str) or not isinstance(value, str) or not value.startswith("z"):
        return ProofCheck(False, "the proof lacks a verificationMethod or a base58btc proofValue")
    try:
        signature = base58btc_decode(value[1:])
    except ValueError:
        return ProofCheck(False, "proofValue is not valid base58btc")
    if len(signature) != 64:
        return ProofCheck(False, f"proofValue has {len(signature)} bytes, an Ed25519 signature has 64")
    key = resolve_key(method)
    if key is None:
        return ProofCheck(False, f"the issuer does not publish the key {method} (unknown or withdrawn key)",
                          method)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {"@context": document["@context"], **{k: v for k, v in proof.items() if k != "proofValue"}}
    try:
        key.verify(signature, _hash_data(unsecured, config))
    except InvalidSignature:
        return ProofCheck(False, "signature does not match: the credential was changed after it was signed "
                                 "(or signed with another key)", method)
    return ProofCheck(True, f"signature valid (key {method})", method)
