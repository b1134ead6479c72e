"""Open Badges 3.0 documents built from a certificate snapshot: the credential, the Bitstring
Status List that says which credentials are revoked, and the issuer's did:web DID document.

Pure Python (no Flask, no database): the service hands in the snapshot and the URLs; signing is
``namalms.certificates.data_integrity``.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote, urlsplit

from namalms.certificates.data_integrity import CREDENTIALS_V2, OB_V3P0

# Bitstring Status List v1.0: at least 131,072 entries (16 KiB) so that one credential's bit
# hides among many ("herd privacy"); more lists follow when a list is half full.
STATUS_LIST_LENGTH = 131_072
# Namespace for the credential ids (urn:uuid:…), so one certificate always has the same id.
_ID_NAMESPACE = uuid.UUID("0b7c3f8e-5d8a-4f0c-9a51-6a7d2e2f4c10")


@dataclass(frozen=True)
class Issuer:
    """The issuer profile as it appears in every credential."""

    did: str
    name: str
    url: str
    description: str = ""


def did_web(base_url: str) -> str:
    """The did:web DID of the public base URL: ``https://lernen.nama.nrw`` → ``did:web:lernen.nama.nrw``;
    a port is percent-encoded, a path becomes ``:``-separated segments (did:web spec § 3.2)."""
    parts = urlsplit(base_url.rstrip("/"))
    host = quote(parts.netloc, safe="")
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    return ":".join(["did", "web", host, *segments])


def did_document_path(base_url: str) -> str:
    """Where a did:web resolver looks for the DID document: ``/.well-known/did.json`` for a bare
    host, ``/<path>/did.json`` when the base URL has a path."""
    return "/.well-known/did.json" if not urlsplit(base_url.rstrip("/")).path else "/did.json"


def verification_method(did: str, key_id: str) -> str:
    """The DID URL of one issuer key: ``did:web:…#<key id>``."""
    return f"{did}#{key_id}"


def did_document(did: str, keys: Sequence[tuple[str, str]]) -> dict:
    """The DID document listing every published key as a Multikey (``keys``: (key id, multibase)).

    A verifier dereferences ``proof.verificationMethod`` to one of these entries; old keys stay
    listed so credentials signed with them remain verifiable after a key rotation.
    """
    methods = [{"id": verification_method(did, key_id), "type": "Multikey", "controller": did,
                "publicKeyMultibase": multibase} for key_id, multibase in keys]
    ids = [m["id"] for m in methods]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    }


def identity_hash(identity: str, salt: str) -> str:
    """OB 3.0 IdentityHash: ``sha256$`` + hex SHA-256 of the identity with the salt appended."""
    return "sha256$" + hashlib.sha256((identity + salt).encode("utf-8")).hexdigest()


def credential_id(base_url: str, verification_code: str) -> str:
    """A stable urn:uuid for the credential of one certificate."""
    return "urn:uuid:" + str(uuid.uuid5(_ID_NAMESPACE, f"{base_url.rstrip('/')}|{verification_code}"))


def _z(value: str | datetime) -> str:
    """An xsd:dateTimeStamp in UTC with ``Z``, whole seconds."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_list_url(base_url: str, list_number: int) -> str:
    return f"{base_url.rstrip('/')}/credentials/status/{list_number}"


def status_entry(base_url: str, index: int) -> dict:
    """The ``credentialStatus`` of a credential whose bit is at global position ``index``."""
    list_number, position = divmod(index, STATUS_LIST_LENGTH)
    url = status_list_url(base_url, list_number)
    return {"id": f"{url}#{position}", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": str(position), "statusListCredential": url}


def achievement(*, achievement_id: str, title: str, description: str, narrative: str,
                modules: Iterable[Mapping[str, Any]] = (), creator: Mapping[str, Any] | None = None) -> dict:
    """The OB 3.0 ``Achievement``: what the certificate stands for, its criteria, and – as
    alignments – the curriculum modules it covers."""
    value = {
        "id": achievement_id, "type": ["Achievement"], "achievementType": "Certificate",
        "name": title, "description": description, "criteria": {"narrative": narrative},
        "inLanguage": "de",
    }
    alignments = [{"type": ["Alignment"], "targetName": m["title"], "targetUrl": m["url"],
                   "targetDescription": m.get("course_title", ""), "targetFramework": "NaMa NRW",
                   "targetType": "ext:Module"} for m in modules]
    if alignments:
        value["alignment"] = alignments
    if creator:
        value["creator"] = dict(creator)
    return value


def open_badge_credential(snapshot: Mapping[str, Any], *, issuer: Issuer, base_url: str, email: str, salt: str,
                          status_index: int, narrative: str, achievement_id: str,
                          module_urls: Mapping[str, str]) -> dict:
    """The unsigned ``OpenBadgeCredential`` for one certificate snapshot.

    The holder is identified twice, neither way publishing the e-mail in clear: the name as
    printed on the certificate, and the e-mail address as a salted SHA-256 IdentityHash (the
    holder can prove it is theirs by revealing address and salt). Completed modules are the
    credential's evidence and the achievement's alignments.
    """
    certificate = snapshot["certificate"]
    holder = snapshot.get("holder", {})
    evidence_modules = snapshot.get("evidence", {}).get("modules", [])
    workshops = {w.get("module_id"): w for w in snapshot.get("evidence", {}).get("workshops", [])}
    profile = {"id": issuer.did, "type": ["Profile"], "name": issuer.name, "url": issuer.url}
    if issuer.description:
        profile["description"] = issuer.description
    statement = " ".join(f"{holder.get('name', '')} {certificate.get('statement', '')}".split())
    modules = [{"title": m["title"], "url": module_urls.get(m["id"], ""), "course_title": m.get("course_title", "")}
               for m in evidence_modules]
    evidence = []
    for m in evidence_modules:
        parts = [f"Abgeschlossen am {_z(m['completed_at'])[:10]}"]
        if m.get("quiz_score") is not None:
            parts.append(f"Selbstcheck {m['quiz_score']} %")
        if m["id"] in workshops:
            parts.append(f"Workshop besucht am {_z(workshops[m['id']]['attended_at'])[:10]}")
        evidence.append({"id": module_urls.get(m["id"], ""), "type": ["Evidence"], "name": m["title"],
                         "description": "; ".join(parts), "genre": "Modul"})
    identifiers = [
        {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
         "identityHash": identity_hash(email.strip().lower(), salt), "salt": salt},
    ]
    if holder.get("name"):
        identifiers.append({"type": "IdentityObject", "identityType": "name", "hashed": False,
                            "identityHash": holder["name"]})
    credential = {
        "@context": [CREDENTIALS_V2, OB_V3P0],
        "id": credential_id(base_url, snapshot["verification_code"]),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": profile,
        "validFrom": _z(snapshot["issued_at"]),
        "name": certificate["title"],
        "description": statement,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": identifiers,
            "achievement": achievement(achievement_id=achievement_id, title=certificate["title"],
                                       description=f"Wer dieses Zertifikat erhält, {certificate.get('statement', '')}",
                                       narrative=narrative, modules=modules, creator=profile),
        },
        "credentialStatus": status_entry(base_url, status_index),
    }
    if evidence:
        credential["evidence"] = evidence
    return credential


# --- Bitstring Status List ---------------------------------------------------------------------

def encode_bitstring(set_positions: Iterable[int], length: int = STATUS_LIST_LENGTH) -> str:
    """``encodedList``: multibase base64url (``u``, no padding) of the GZIP of the bitstring.
    Position 0 is the most significant bit of the first byte (Bitstring Status List § 4.1)."""
    bits = bytearray(length // 8)
    for position in set_positions:
        if not 0 <= position < length:
            raise ValueError(f"status position {position} outside the list (0…{length - 1})")
        bits[position // 8] |= 0x80 >> (position % 8)
    # mtime=0: the same revocations always give the same bytes.
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=").decode("ascii")


def decode_bitstring(encoded: str) -> bytes:
    """Inverse of :func:`encode_bitstring`: the raw bitstring bytes."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url ('u…')")
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def bit_is_set(bitstring: bytes, position: int) -> bool:
    """Whether the status bit at ``position`` is set (1 = revoked)."""
    return bool(bitstring[position // 8] & (0x80 >> (position % 8)))


def status_list_credential(*, url: str, issuer_did: str, set_positions: Iterable[int], valid_from: datetime) -> dict:
    """The unsigned ``BitstringStatusListCredential`` (purpose ``revocation``) at ``url``."""
    return {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": _z(valid_from),
        "credentialSubject": {
            "id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
            "encodedList": encode_bitstring(set_positions),
        },
    }


# A fixed odd factor makes the map a bijection on 0…L-1: every certificate id gets its own bit,
# and neighbouring certificates do not sit on neighbouring bits. (The migration that filled the
# index for older certificates copies these numbers; never change them.)
_INDEX_FACTOR, _INDEX_OFFSET = 40_503, 12_345


def status_index_for(certificate_id: int) -> int:
    """The status list position of a certificate: list ``id // L``, a scrambled bit within it."""
    block, rest = divmod(certificate_id, STATUS_LIST_LENGTH)
    return block * STATUS_LIST_LENGTH + (rest * _INDEX_FACTOR + _INDEX_OFFSET) % STATUS_LIST_LENGTH
