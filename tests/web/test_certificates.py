"""Certificates from a learner's and a verifier's point of view."""
import pytest
import json

from sqlalchemy import select

from namalms.demo import complete_module
from namalms.extensions import db
from namalms.models import AuditEvent, Certificate, CertificateDefinition, Course, User
from namalms.services import certificates as service
from namalms.services import progress
from tests.conftest import quiz_answers


def course_modules(course_id):
    return [m for m in db.session.get(Course, course_id).modules if not m.is_retired]


def work_through(user, course_id, count=None):
    course = db.session.get(Course, course_id)
    progress.enrol(user, course)
    for module in course_modules(course_id)[:count]:
        complete_module(user, module, service.utcnow())
    db.session.commit()


def certificates_of(user):
    return db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)).all()




def test_completing_the_grundlagenkurs_in_the_browser_issues_the_certificate(client, learner):
    work_through(learner, "grundlagenkurs", count=5)
    assert certificates_of(learner) == []
    last = course_modules("grundlagenkurs")[-1]
    client.get(f"/modules/{last.id}")
    client.post(f"/modules/{last.id}/done")
    client.post(f"/modules/{last.id}/quiz", data=quiz_answers(client, learner, last.id))
    assert certificates_of(learner) == [], "the final workshop is still missing"
    progress.record_workshop_attendance(learner, last)
    db.session.commit()
    [certificate] = certificates_of(learner)
    assert certificate.definition_id == "zertifikat-grundlagenkurs"
    assert certificate.number.startswith("NAMA-20") and len(certificate.verification_code) >= 22
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Neu ausgestellt" in dashboard and certificate.number in dashboard
    page = client.get(f"/certificates/{certificate.number}").get_data(as_text=True)
    assert "PDF herunterladen" in page and certificate.verification_code in page
    assert "Neu ausgestellt" not in client.get("/dashboard").get_data(as_text=True), "seen once opened"


def test_learner_one_module_short_sees_exactly_that_module_missing(client, learner):
    work_through(learner, "grundlagenkurs", count=5)
    last = course_modules("grundlagenkurs")[-1]
    [standing] = [s for s in service.standings(learner) if s.definition.id == "zertifikat-grundlagenkurs"]
    assert not standing.verdict.ok
    assert [m.label for m in standing.missing] == [f"Modul „{last.title}“ abgeschlossen"]
    page = client.get("/certificates").get_data(as_text=True)
    assert "Was fehlt mir noch?" in page and last.title in page


def test_snapshot_is_frozen_against_later_name_changes(client, learner):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    original_name = learner.name
    client.post("/profile", data={"name": "Ganz Anderer Name", "district_id": "kreis-dueren",
                                  "municipality": "Gemeinde Niederzier"})
    db.session.refresh(certificate)
    assert db.session.get(User, learner.id).name == "Ganz Anderer Name"
    assert certificate.snapshot["holder"]["name"] == original_name


def test_sonderkurs_certificate_needs_the_region_and_follows_a_region_change(client, make_user, auth):
    outsider = make_user("learner", district_id="stadt-muenster")
    auth.login(outsider.email)
    work_through(outsider, "sonderkurs-strukturwandel")
    assert certificates_of(outsider) == []
    response = client.post("/profile", data={"name": outsider.name, "district_id": "stadt-herne",
                                             "municipality": "Stadt Herne"}, follow_redirects=True)
    assert "Neu ausgestellt" in response.get_data(as_text=True)
    assert [c.definition_id for c in certificates_of(outsider)] == ["zertifikat-sonderkurs"]


def test_sonderkurs_certificate_credits_the_base_module_for_the_pro_certificate(learner):
    work_through(learner, "sonderkurs-strukturwandel")
    course = db.session.get(Course, "regulaerer-lehrgang")
    progress.enrol(learner, course)
    for module in course_modules("regulaerer-lehrgang")[1:8]:
        complete_module(learner, module, service.utcnow())
    db.session.commit()
    assert sorted(c.definition_id for c in certificates_of(learner)) == ["pro-zertifikat", "zertifikat-sonderkurs"]
    pro = next(c for c in certificates_of(learner) if c.definition_id == "pro-zertifikat")
    assert [c["id"] for c in pro.snapshot["evidence"]["certificates"]] == ["zertifikat-sonderkurs"]
    assert len(pro.snapshot["evidence"]["modules"]) == 7


def test_a_learner_from_arnsberg_can_enrol_in_the_regular_course_straight_away(client, make_user, auth):
    """The regular course is open to NRW municipal staff and others: no certificate is needed."""
    learner = make_user("learner", district_id="hochsauerlandkreis", municipality="Stadt Arnsberg")
    auth.login(learner.email)
    page = client.get("/courses/regulaerer-lehrgang").get_data(as_text=True)
    assert "Noch gesperrt" not in page
    assert client.post("/courses/regulaerer-lehrgang/enrol").status_code == 302
    assert client.get("/modules/rl-basismodul").status_code == 200


@pytest.fixture
def regular_course_entry_rule(app):
    """The programme office binds the regular course to a foundation certificate (a setting)."""
    from namalms.services.content_sync import latest_revision

    revision = latest_revision("programme", "programme")
    original = dict(revision.meta)
    revision.meta = {**original, "course_entry": {"regulaerer-lehrgang": {"any_of": [
        {"certificate_held": "zertifikat-grundlagenkurs"}, {"certificate_held": "zertifikat-sonderkurs"}]}}}
    db.session.commit()
    yield
    revision.meta = original
    db.session.commit()


def test_an_entry_rule_locks_the_regular_course_until_a_transition_certificate(client, learner,
                                                                              regular_course_entry_rule):
    page = client.get("/courses/regulaerer-lehrgang").get_data(as_text=True)
    assert "Noch gesperrt" in page and "Zertifikat Grundlagenkurs" in page
    assert client.post("/courses/regulaerer-lehrgang/enrol").status_code == 302
    assert db.session.scalar(select(Certificate)) is None
    locked = client.get("/modules/rl-basismodul")
    assert locked.status_code == 403 and "noch gesperrt" in locked.get_data(as_text=True)
    work_through(learner, "grundlagenkurs")
    client.post("/courses/regulaerer-lehrgang/enrol")
    assert client.get("/modules/rl-basismodul").status_code == 200


def test_verification_page_shows_valid_then_revoked(client, runner, learner):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    client.post("/logout")
    page = client.get(f"/verify/{certificate.verification_code}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Gültig" in text and learner.name in text and "LAG 21 NRW" in text
    result = runner.invoke(args=["certificates", "revoke", certificate.number, "--category", "error",
                                 "--reason", "Workshop irrtümlich eingetragen"])
    assert result.exit_code == 0, result.output
    text = client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert "Widerrufen" in text and "Ausstellung irrtümlich" in text
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate_revoked")).reason


def test_reissue_gives_a_new_number_and_marks_the_old_one_superseded(runner, learner):
    work_through(learner, "grundlagenkurs")
    [old] = certificates_of(learner)
    result = runner.invoke(args=["certificates", "reissue", old.number, "--reason", "Name korrigiert"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    old = db.session.get(Certificate, old.id)
    new = service.current_certificate(learner.id, "zertifikat-grundlagenkurs")
    assert old.status == "superseded" and new.number != old.number and new.snapshot["supersedes"] == old.number
    assert service.status_of(old)["superseded_by"] == new.number


def test_revoke_and_reissue_need_a_reason(runner, learner):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    result = runner.invoke(args=["certificates", "revoke", certificate.number, "--category", "other", "--reason", " "])
    assert result.exit_code == 1 and "error: a reason of at least 5 characters is required" in result.output
    assert runner.invoke(args=["certificates", "revoke", "NAMA-1999-99999", "--category", "other",
                               "--reason", "egal warum"]).exit_code == 1


def test_rule_changes_never_revoke_silently(runner, learner):
    work_through(learner, "grundlagenkurs")
    definition = db.session.get(CertificateDefinition, "zertifikat-grundlagenkurs")
    original = definition.rule
    definition.rule = {"all_of": [original, {"region_in": ["ausserhalb-nrw"]}]}
    db.session.commit()
    try:
        assert runner.invoke(args=["certificates", "evaluate"]).exit_code == 0
        [certificate] = certificates_of(learner)
        assert certificate.status == "valid"
    finally:
        definition.rule = original
        db.session.commit()


def test_evaluate_dry_run_changes_nothing(runner, learner):
    work_through(learner, "grundlagenkurs")
    db.session.delete(certificates_of(learner)[0])
    db.session.commit()
    result = runner.invoke(args=["certificates", "evaluate", "--dry-run"])
    assert "would issue: zertifikat-grundlagenkurs" in result.output
    assert certificates_of(learner) == []
    result = runner.invoke(args=["certificates", "evaluate"])
    assert "issued:" in result.output and len(certificates_of(learner)) == 1


def test_json_document_verifies_offline_and_fails_when_tampered(client, runner, learner, tmp_path):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    document = client.get(f"/verify/{certificate.verification_code}.json").get_json()
    assert document["status"]["state"] == "valid" and document["algorithm"] == "Ed25519"
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["certificates", "verify", str(good)])
    assert result.exit_code == 0 and "VALID" in result.output, result.output
    document["snapshot"]["holder"]["name"] = "Jemand Anderes"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["certificates", "verify", str(bad)])
    assert result.exit_code == 1 and "INVALID" in result.output
    key = client.get("/verify/public-key.pem")
    assert key.status_code == 200 and b"PUBLIC KEY" in key.data


def test_certificate_pdf_downloads_for_its_holder_only(client, make_user, auth, learner):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    response = client.get(f"/certificates/{certificate.number}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    auth.logout()
    auth.login(make_user("learner").email)
    assert client.get(f"/certificates/{certificate.number}.pdf").status_code == 404


def test_unknown_code_is_not_found_and_lookups_are_rate_limited(app, client):
    response = client.get("/verify/gibt-es-nicht")
    assert response.status_code == 404 and "nicht gefunden" in response.get_data(as_text=True)
    app.config["VERIFY_RATE_LIMIT"] = (5, 60)
    try:
        statuses = [client.get(f"/verify/raten{i}").status_code for i in range(8)]
    finally:
        app.config["VERIFY_RATE_LIMIT"] = (30, 60)
    assert statuses[:4] == [404] * 4 and statuses[-1] == 429


def test_verify_form_accepts_a_pasted_link(client):
    response = client.get("/verify?code=https://lernen.example/verify/abc123")
    assert response.headers["Location"].endswith("/verify/abc123")


def test_certificates_list_csv(runner, learner):
    work_through(learner, "grundlagenkurs")
    result = runner.invoke(args=["certificates", "list", "--csv"])
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("number;verification_code;holder")
    assert learner.name in lines[1] and ";valid;" in lines[1]


def test_before_enrolling_in_the_sonderkurs_an_outsider_is_told_the_certificate_needs_the_region(client, make_user,
                                                                                                  auth):
    outsider = make_user("learner", district_id="hochsauerlandkreis", municipality="Stadt Arnsberg")
    auth.login(outsider.email)
    page = client.get("/courses/sonderkurs-strukturwandel").get_data(as_text=True)
    assert "Bitte beachten:" in page and "Rheinisches Revier" in page and "gehören Sie nicht dazu" in page
    auth.logout()
    insider = make_user("learner", district_id="kreis-dueren")
    auth.login(insider.email)
    page = client.get("/courses/sonderkurs-strukturwandel").get_data(as_text=True)
    assert "Bitte beachten:" not in page and "erhalten Teilnehmende aus der Region" in page


def test_the_certificate_card_shows_the_region_as_a_precondition_not_as_progress(client, make_user, auth):
    outsider = make_user("learner", district_id="hochsauerlandkreis", municipality="Stadt Arnsberg")
    auth.login(outsider.email)
    client.post("/courses/sonderkurs-strukturwandel/enrol")
    page = client.get("/certificates").get_data(as_text=True)
    card = page.split('id="cert-zertifikat-sonderkurs"')[1].split("</section>")[0]
    assert "Voraussetzung: Region" in card and "<progress" not in card
    assert "Weitere Zertifikate" in page, "far-away and unreachable certificates are collapsed"


# --- revocation and verification everywhere ----------------------------------------------------------

def pdf_text(data: bytes) -> str:
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-raw", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_a_revoked_certificate_is_never_offered_as_a_clean_download(client, runner, learner):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    clean = pdf_text(client.get(f"/certificates/{certificate.number}.pdf").data)
    assert "WIDERRUFEN" not in clean
    runner.invoke(args=["certificates", "revoke", certificate.number, "--category", "error",
                        "--reason", "Workshop irrtümlich eingetragen"])
    page = client.get(f"/certificates/{certificate.number}").get_data(as_text=True)
    assert "zum Weitergeben" not in page and "Nicht mehr gültig" in page
    response = client.get(f"/certificates/{certificate.number}.pdf")
    assert "widerrufen" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert "WIDERRUFEN" in text and "Widerrufen am" in text and "Workshop irrtümlich eingetragen" in text
    document = client.get(f"/certificates/{certificate.number}.json").get_json()
    assert document["status"]["state"] == "revoked"


def test_a_replaced_certificate_points_to_its_successor(client, runner, learner):
    work_through(learner, "grundlagenkurs")
    [old] = certificates_of(learner)
    runner.invoke(args=["certificates", "reissue", old.number, "--reason", "Name korrigiert"])
    new = service.current_certificate(learner.id, "zertifikat-grundlagenkurs")
    page = client.get(f"/verify/{old.verification_code}").get_data(as_text=True)
    assert f'href="/verify/{new.verification_code}"' in page and new.number in page
    assert "ERSETZT" in pdf_text(client.get(f"/certificates/{old.number}.pdf").data)


def test_verify_by_number_and_surname_but_never_by_number_alone(client, learner):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    client.post("/logout")
    surname = learner.name.split()[-1]
    found = client.get("/verify/", query_string={"number": certificate.number.lower(), "surname": surname.upper()})
    assert found.status_code == 302 and found.location.endswith(f"/verify/{certificate.verification_code}")
    alone = client.get("/verify/", query_string={"number": certificate.number})
    assert alone.status_code == 400 and learner.name not in alone.get_data(as_text=True)
    wrong = client.get("/verify/", query_string={"number": certificate.number, "surname": "Nobody"})
    unknown = client.get("/verify/", query_string={"number": "NAMA-2026-99999", "surname": surname})
    assert wrong.status_code == unknown.status_code == 404
    assert learner.name not in wrong.get_data(as_text=True)
    as_code = client.get("/verify/", query_string={"code": certificate.number}, follow_redirects=True)
    assert as_code.status_code == 404, "a number typed as a code finds nothing either"
