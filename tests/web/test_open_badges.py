"""Open Badges 3.0: the certificate as a signed credential that verifiers check without us.

The proof is checked with openbadgeslib – an independent implementation of eddsa-rdfc-2022 with
its own copies of the JSON-LD contexts – so our signer cannot pass by agreeing with itself; the
structure is checked against the OB 3.0 AchievementCredential JSON schema.
"""
import copy
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from jsonschema import Draft201909Validator, FormatChecker
from openbadgeslib.ob3.ldp import verify_data_integrity_proof
from openbadgeslib.ob3.verifier import OB3VerificationError

from namalms.certificates import data_integrity
from namalms.extensions import db
from namalms.formats import open_badges as ob
from namalms.services import certificates as service
from namalms.services import open_badges
from tests.conftest import PUBLIC_BASE as BASE
from tests.web.test_certificates import certificates_of, work_through

pytestmark = pytest.mark.both_databases

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "schemas" /
                     "ob_v3p0_achievementcredential_schema.json").read_text(encoding="utf-8"))


@pytest.fixture
def certificate(learner, public_base):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    return certificate


def published_key_pem(client, method: str) -> bytes:
    """The public key a verifier finds by resolving the proof's did:web verification method –
    read from the DID document this app serves, not from our database or signer."""
    document = client.get("/.well-known/did.json").get_json()
    [entry] = [m for m in document["verificationMethod"] if m["id"] == method]
    assert method in document["assertionMethod"]
    key = data_integrity.public_key_from_multibase(entry["publicKeyMultibase"])
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def independent_verify(client, credential) -> None:
    verify_data_integrity_proof(credential, published_key_pem(client, credential["proof"]["verificationMethod"]))


def status_bit(client, credential) -> bool:
    entry = credential["credentialStatus"]
    path = entry["statusListCredential"].removeprefix(BASE)
    status_credential = client.get(path).get_json()
    independent_verify(client, status_credential)
    bits = ob.decode_bitstring(status_credential["credentialSubject"]["encodedList"])
    assert len(bits) * 8 >= 131_072, "herd privacy: at least 16 KiB per list"
    return ob.bit_is_set(bits, int(entry["statusListIndex"]))


def test_learner_downloads_a_credential_that_matches_the_schema_and_verifies_independently(
        client, learner, certificate):
    page = client.get(f"/certificates/{certificate.number}").get_data(as_text=True)
    assert "Open Badge herunterladen" in page and "Wallet" in page
    response = client.get(f"/certificates/{certificate.number}/openbadge.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    credential = json.loads(response.get_data(as_text=True))

    errors = sorted(Draft201909Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(credential),
                    key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["id"] == "did:web:lernen.nama.nrw"
    assert credential["issuer"]["type"] == ["Profile"] and "LAG 21 NRW" in credential["issuer"]["name"]
    assert credential["issuer"]["url"].startswith("https://")
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["name"] == certificate.snapshot["certificate"]["title"]
    assert achievement["achievementType"] == "Certificate"
    assert "Kurs „Grundlagenkurs" in achievement["criteria"]["narrative"]
    assert len(credential["evidence"]) == len(certificate.snapshot["evidence"]["modules"]) == 6
    assert all(a["targetUrl"].startswith(BASE + "/modules/") for a in achievement["alignment"])

    text = json.dumps(credential)
    assert learner.email not in text, "the e-mail address is never in clear"
    [hashed] = [i for i in credential["credentialSubject"]["identifier"] if i["identityType"] == "emailAddress"]
    assert hashed["hashed"] is True
    assert hashed["identityHash"] == ob.identity_hash(learner.email, hashed["salt"])
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    independent_verify(client, credential)
    assert status_bit(client, credential) is False


def tampered_variants(credential):
    """The credential with one field changed at a time: every leaf of the document."""
    def leaves(value, path=()):
        if isinstance(value, dict):
            for key, item in value.items():
                yield from leaves(item, path + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from leaves(item, path + (index,))
        else:
            yield path, value

    for path, value in leaves({k: v for k, v in credential.items() if k not in ("proof", "@context")}):
        changed = copy.deepcopy(credential)
        target = changed
        for step in path[:-1]:
            target = target[step]
        if isinstance(value, bool):
            target[path[-1]] = not value
        elif isinstance(value, str) and value.startswith(("http", "urn:", "did:")):
            target[path[-1]] = value + "x"
        else:
            target[path[-1]] = str(value) + " (geändert)" if isinstance(value, str) else "0"
        yield path, changed


def test_changing_any_field_breaks_the_proof(client, certificate):
    credential = open_badges.credential_for(certificate)
    variants = list(tampered_variants(credential))
    assert len(variants) > 40
    for path, changed in variants:
        with pytest.raises(OB3VerificationError):
            independent_verify(client, changed)
        assert not open_badges.check_credential(changed).ok, path


def test_revoking_in_the_office_flips_the_status_bit(client, certificate, make_user, auth, public_base):
    credential = open_badges.credential_for(certificate)
    assert open_badges.check_credential(credential).ok
    admin = make_user("admin")
    auth.logout()
    auth.login(admin.email)
    response = client.post(f"/office/learners/{certificate.user_id}/certificates/{certificate.id}/revoke",
                           data={"category": "error", "reason": "Test: irrtümlich ausgestellt"})
    assert response.status_code in (302, 303)
    db.session.refresh(certificate)
    assert certificate.status == "revoked"
    assert status_bit(client, credential) is True
    check = open_badges.check_credential(credential)
    assert not check.ok and "REVOKED" in check.lines[-1]
    independent_verify(client, credential)  # the signature itself is still intact: only the status says no


def test_a_reissued_certificates_old_credential_reads_as_revoked(client, certificate, public_base):
    old = open_badges.credential_for(certificate)
    replacement = service.reissue_certificate(certificate, reason="Test: Neuausstellung")
    db.session.commit()
    assert status_bit(client, old) is True
    new = open_badges.credential_for(replacement)
    assert new["credentialStatus"]["id"] != old["credentialStatus"]["id"]
    assert status_bit(client, new) is False


def test_verification_page_links_the_credential_only_while_valid(client, certificate, public_base):
    page = client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    link = f"/verify/{certificate.verification_code}/openbadge.json"
    assert link in page
    response = client.get(link)
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    independent_verify(client, response.get_json())
    service.revoke_certificate(certificate, category="error", reason="Test: Widerruf")
    db.session.commit()
    assert link not in client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert client.get(link).status_code == 404


def test_a_revoked_certificate_page_offers_no_badge_for_sharing(client, certificate):
    service.revoke_certificate(certificate, category="error", reason="Test: Widerruf")
    db.session.commit()
    page = client.get(f"/certificates/{certificate.number}").get_data(as_text=True)
    assert "Open Badge herunterladen" not in page


def test_did_document_lists_keys_with_ids_and_no_private_material(client, public_base):
    response = client.get("/.well-known/did.json")
    document = response.get_json()
    assert document["id"] == "did:web:lernen.nama.nrw"
    [method] = document["verificationMethod"]
    key, key_id = open_badges.current_signing_key()
    assert method["id"] == f"did:web:lernen.nama.nrw#{key_id}" and method["type"] == "Multikey"
    assert method["publicKeyMultibase"].startswith("z6Mk")
    assert "privateKey" not in json.dumps(document) and "d" not in method


def test_did_web_names_ports_and_paths_the_way_resolvers_expect():
    assert ob.did_web("https://lernen.nama.nrw/") == "did:web:lernen.nama.nrw"
    assert ob.did_web("http://127.0.0.1:5000") == "did:web:127.0.0.1%3A5000"
    assert ob.did_web("https://example.org/nama/lms") == "did:web:example.org:nama:lms"
    assert ob.did_document_path("https://example.org/nama") == "/did.json"


def test_unknown_lists_and_achievements_are_not_found(client, public_base):
    assert client.get("/credentials/status/7").status_code == 404
    assert client.get("/ob3/achievements/gibt-es-nicht").status_code == 404
    achievement = client.get("/ob3/achievements/zertifikat-grundlagenkurs").get_json()
    assert achievement["type"] == ["Achievement"] and achievement["criteria"]["narrative"]


def test_contexts_are_never_fetched():
    with pytest.raises(data_integrity.UnknownContext):
        data_integrity.document_loader("https://example.org/evil-context.json")
    document = {"@context": ["https://example.org/evil-context.json"], "name": "x",
                "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                          "proofPurpose": "assertionMethod", "verificationMethod": "did:web:x#k",
                          "proofValue": "z" + "1" * 86}}
    check = data_integrity.verify_proof(document, lambda method: None)
    assert not check.ok


def test_cli_exports_and_verifies_a_credential(runner, certificate, tmp_path, public_base):
    target = tmp_path / "badge.json"
    result = runner.invoke(args=["certificates", "export-ob3", certificate.number, str(target)])
    assert result.exit_code == 0, result.output
    credential = json.loads(target.read_text(encoding="utf-8"))
    result = runner.invoke(args=["certificates", "verify", str(target)])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output and "not revoked" in result.output

    credential["name"] = "Ein anderes Zertifikat"
    target.write_text(json.dumps(credential), encoding="utf-8")
    result = runner.invoke(args=["certificates", "verify", str(target)])
    assert result.exit_code == 1 and "changed after it was signed" in result.output

    target.write_text(json.dumps(open_badges.credential_for(certificate)), encoding="utf-8")
    runner.invoke(args=["certificates", "revoke", certificate.number, "--category", "error",
                        "--reason", "Test: Widerruf per CLI"])
    result = runner.invoke(args=["certificates", "verify", str(target)])
    assert result.exit_code == 1 and "REVOKED" in result.output


def test_cli_export_of_an_unknown_number_fails(runner):
    result = runner.invoke(args=["certificates", "export-ob3", "NAMA-2099-99999"])
    assert result.exit_code == 1 and "no certificate" in result.output
