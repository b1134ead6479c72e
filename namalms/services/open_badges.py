"""Open Badges 3.0: every certificate as a signed OpenBadgeCredential, the revocation status list
and the issuer's did:web DID document – all built on the certificate's frozen snapshot.

Key handling goes through exactly two functions, :func:`current_signing_key` (the private key
that signs, with its key id) and :func:`published_keys` (every public key a verifier may need,
with ids). Today both read the one certificate key; a key ring replaces their bodies and nothing
else changes: proofs name ``did:web:<host>#<key id>`` and the DID document lists all published keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app, has_request_context, request
from sqlalchemy import select

from namalms.certificates import data_integrity, signing
from namalms.domain.rules import Facts, Verdict, evaluate
from namalms.extensions import db
from namalms.formats import open_badges as ob
from namalms.models import Certificate, CertificateDefinition
from namalms.models.base import utcnow
from namalms.services import certificates as certificate_service

DEFAULT_ISSUER_URL = "https://www.lag21.de"


# --- keys (the two functions a key ring replaces) ------------------------------------------------

def current_signing_key() -> tuple[Ed25519PrivateKey, str]:
    """The private key that signs new proofs, and its key id."""
    key = certificate_service.signing_key()
    return key, signing.key_id(key)


def published_keys() -> list[tuple[str, Ed25519PublicKey]]:
    """Every public key verifiers may meet in a proof, with its key id (current and retired)."""
    key, key_id = current_signing_key()
    return [(key_id, key.public_key())]


# --- identifiers ------------------------------------------------------------------------------------

def public_base_url() -> str:
    """The public address of this installation (``PUBLIC_BASE_URL``), without a trailing slash."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        base = request.url_root if has_request_context() else "http://127.0.0.1:5000/"
    return base.rstrip("/")


def issuer_did() -> str:
    return ob.did_web(public_base_url())


def issuer() -> ob.Issuer:
    """LAG 21 NRW as the issuer profile, from programme.yml (``issuer.name``, optional ``issuer.url``)."""
    meta = certificate_service.programme_meta().get("issuer", {})
    url = meta.get("url") or current_app.config.get("OPEN_BADGES_ISSUER_URL") or DEFAULT_ISSUER_URL
    description = meta.get("programme", "")
    return ob.Issuer(did=issuer_did(), name=meta.get("name") or "LAG 21 NRW", url=url, description=description)


def achievement_id(definition_id: str) -> str:
    return f"{public_base_url()}/ob3/achievements/{definition_id}"


def module_url(module_id: str) -> str:
    return f"{public_base_url()}/modules/{module_id}"


def resolve_key(verification_method: str) -> Ed25519PublicKey | None:
    """The published public key a proof's verificationMethod names, or None."""
    did, _, key_id = verification_method.partition("#")
    if did != issuer_did():
        return None
    return dict(published_keys()).get(key_id)


# --- the criteria, in the programme's own words ------------------------------------------------

def criteria_narrative(rule) -> str:
    """The certificate rule as German Markdown, from the same labels the learner pages show."""
    catalog = certificate_service.load_catalog()
    verdict = evaluate(rule, Facts(None, {}, {}, (), {}, {}, utcnow()), catalog)
    lines: list[str] = []

    def walk(node: Verdict, depth: int) -> None:
        if node.kind in ("all_of", "any_of") and node.children:
            if depth or node.kind == "any_of":
                lines.append("  " * max(depth - 1, 0) + ("- " if depth else "") + node.label + ":")
            for child in node.children:
                walk(child, depth + 1)
            return
        lines.append("  " * max(depth - 1, 0) + "- " + node.label)

    walk(verdict, 0)
    return "Voraussetzungen für das Zertifikat:\n\n" + "\n".join(lines)


# --- documents ------------------------------------------------------------------------------------

def unsigned_credential(certificate: Certificate) -> dict:
    """The OpenBadgeCredential of a certificate, before the proof."""
    snapshot = certificate.snapshot
    user = certificate.user
    # The migration gave every older certificate its index; the fallback is the same formula.
    index = certificate.status_index if certificate.status_index is not None else ob.status_index_for(certificate.id)
    module_ids = [m["id"] for m in snapshot.get("evidence", {}).get("modules", [])]
    return ob.open_badge_credential(
        snapshot, issuer=issuer(), base_url=public_base_url(), email=user.email,
        salt=certificate.identity_salt or "", status_index=index,
        narrative=criteria_narrative(snapshot["rule"]["definition"]),
        achievement_id=achievement_id(snapshot["certificate"]["id"]),
        module_urls={mid: module_url(mid) for mid in module_ids})


def _sign(document: dict) -> dict:
    key, key_id = current_signing_key()
    return data_integrity.add_proof(document, key, ob.verification_method(issuer_did(), key_id),
                                    created=utcnow())


def credential_for(certificate: Certificate) -> dict:
    """The signed OpenBadgeCredential (Data Integrity proof ``eddsa-rdfc-2022``)."""
    return _sign(unsigned_credential(certificate))


def revoked_positions(list_number: int) -> list[int]:
    """Bit positions set in one status list: every certificate that is no longer valid – revoked
    or replaced by a re-issue – so its credential reads as revoked everywhere."""
    low, high = list_number * ob.STATUS_LIST_LENGTH, (list_number + 1) * ob.STATUS_LIST_LENGTH
    rows = db.session.scalars(select(Certificate.status_index).where(
        Certificate.status != "valid", Certificate.status_index >= low, Certificate.status_index < high))
    return [index - low for index in rows]


def status_list_exists(list_number: int) -> bool:
    low, high = list_number * ob.STATUS_LIST_LENGTH, (list_number + 1) * ob.STATUS_LIST_LENGTH
    return list_number == 0 or db.session.scalar(select(Certificate.id).where(
        Certificate.status_index >= low, Certificate.status_index < high).limit(1)) is not None


def status_list_credential(list_number: int) -> dict:
    """The signed BitstringStatusListCredential for one list, as of now."""
    url = ob.status_list_url(public_base_url(), list_number)
    return _sign(ob.status_list_credential(url=url, issuer_did=issuer_did(),
                                           set_positions=revoked_positions(list_number), valid_from=utcnow()))


def did_document() -> dict:
    """The DID document of ``did:web:<public host>`` with every published key."""
    return ob.did_document(issuer_did(), [(key_id, data_integrity.public_key_multibase(key))
                                          for key_id, key in published_keys()])


def achievement_document(definition: CertificateDefinition) -> dict:
    """The Achievement of a certificate definition as it stands now (public, no personal data)."""
    return {"@context": [data_integrity.CREDENTIALS_V2, data_integrity.OB_V3P0],
            **ob.achievement(achievement_id=achievement_id(definition.id), title=definition.title,
                             description=f"Wer dieses Zertifikat erhält, {definition.statement}",
                             narrative=criteria_narrative(definition.rule))}


# --- checking a credential --------------------------------------------------------------------------

@dataclass(frozen=True)
class CredentialCheck:
    """What ``certificates verify`` reports about an Open Badges credential."""

    ok: bool
    lines: list[str]


def check_credential(document) -> CredentialCheck:
    """Signature, issuer and revocation status of a credential, each explained in English."""
    proof = data_integrity.verify_proof(document, resolve_key)
    if not proof.ok:
        return CredentialCheck(False, [f"signature: {proof.message}"])
    lines = [f"signature: {proof.message}"]
    issuer_value = document.get("issuer")
    issuer_id = issuer_value.get("id") if isinstance(issuer_value, dict) else issuer_value
    if issuer_id != issuer_did():
        return CredentialCheck(False, lines + [f"issuer: {issuer_id!r} is not this installation ({issuer_did()})"])
    status = document.get("credentialStatus")
    if not isinstance(status, dict) or status.get("type") != "BitstringStatusListEntry":
        return CredentialCheck(False, lines + ["status: the credential carries no Bitstring Status List entry"])
    prefix = public_base_url() + "/credentials/status/"
    url = str(status.get("statusListCredential", ""))
    if not url.startswith(prefix) or not url[len(prefix):].isdigit() or not str(status.get("statusListIndex", "")).isdigit():
        return CredentialCheck(False, lines + [f"status: {url!r} is not a status list of this installation"])
    list_number, position = int(url[len(prefix):]), int(status["statusListIndex"])
    if position >= ob.STATUS_LIST_LENGTH:
        return CredentialCheck(False, lines + [f"status: index {position} lies outside the status list"])
    # The same positions the served status list sets (no need to sign a list just to read it).
    revoked = position in set(revoked_positions(list_number))
    if revoked:
        return CredentialCheck(False, lines + [
            f"status: REVOKED – bit {position} of {url} is set: the certificate was revoked or replaced "
            "by a re-issued one; it no longer certifies anything"])
    valid_from = document.get("validFrom", "")
    try:
        if datetime.fromisoformat(str(valid_from).replace("Z", "+00:00")) > utcnow():
            return CredentialCheck(False, lines + [f"validity: not valid before {valid_from}"])
    except ValueError:
        return CredentialCheck(False, lines + [f"validity: validFrom {valid_from!r} is not a date-time"])
    return CredentialCheck(True, lines + [f"status: not revoked (bit {position} of {url} is clear)"])
