"""The programme office's learner record and its certificate actions."""
import pytest
from sqlalchemy import func, select

from namalms.extensions import db
from namalms.models import AuditEvent, Certificate, Course, ProgressEvent, User
from namalms.services import certificates as service
from namalms.services import progress

REASON_MISSING = "Bitte geben Sie eine Begründung an"






def modules_of(course_id):
    return [m for m in db.session.get(Course, course_id).modules if not m.is_retired]


def work_through(user, course_id, count=None, recorded_by=None):
    course = db.session.get(Course, course_id)
    progress.enrol(user, course)
    for module in modules_of(course_id)[:count]:
        progress.record_visit(user, module)
        progress.mark_done(user, module)
        quiz = progress.quiz_of(module)
        if quiz is not None:
            wrong = {q.id: set() for q in quiz.questions}
            progress.submit_quiz(user, module, wrong)  # a failed first attempt, for the record
            right = {q.id: {i for i, o in enumerate(q.options) if o.is_correct} for q in quiz.questions}
            progress.submit_quiz(user, module, right)
        if module.has_workshop:
            progress.record_workshop_attendance(user, module, recorded_by=recorded_by)
    db.session.commit()


def certificate_holder(make_user, **overrides):
    learner = make_user("learner", **overrides)
    work_through(learner, "grundlagenkurs")
    [certificate] = db.session.scalars(select(Certificate).where(Certificate.user_id == learner.id)).all()
    return learner, certificate


def audit_entries(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def record_url(user):
    return f"/office/learners/{user.id}"


# --- the record ---------------------------------------------------------------------------------

def test_record_shows_profile_progress_quizzes_workshops_and_what_is_missing(client, admin, make_user):
    trainer = make_user("trainer", name="Tobias Trainer")
    learner = make_user("learner", name="Jana Jäger")
    work_through(learner, "grundlagenkurs", count=5)
    missing = modules_of("grundlagenkurs")[-1]
    progress.record_workshop_attendance(learner, missing, recorded_by=trainer)  # came, but did not finish
    db.session.commit()
    page = client.get(record_url(learner))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in ("Jana Jäger", learner.email, "Gemeinde Niederzier", "Kreis Düren", "Rheinisches Revier",
                     "Registriert am", "Letzte Aktivität", "aktiv"):
        assert expected in text, expected
    assert "Eingeschrieben in <strong>Grundlagenkurs" in text
    for module in modules_of("grundlagenkurs"):
        assert module.title in text
    assert "Was fehlt noch?" in text and f"Modul „{missing.title}“ abgeschlossen" in text
    assert "0 %" in text and "100 %" in text, "both quiz attempts are listed"
    workshops = text.split('id="workshops"')[1].split("</section>")[0]
    assert "Abschlussworkshop Grundlagenkurs" in workshops and "Tobias Trainer" in workshops
    assert "Noch keine Zertifikate ausgestellt." in text
    assert 'class="verdict-tree"' in text


def test_record_lists_issued_certificates_with_verification_links(client, admin, make_user):
    learner, certificate = certificate_holder(make_user)
    text = client.get(record_url(learner)).get_data(as_text=True)
    assert certificate.number in text and f"/verify/{certificate.verification_code}" in text
    assert "gültig" in text and "Regel erfüllt" in text


def test_history_is_newest_first_and_capped_with_a_more_link(client, admin, make_user):
    learner = make_user("learner")
    work_through(learner, "grundlagenkurs")
    first = modules_of("grundlagenkurs")[0]
    for _ in range(20):  # practising the self-check again and again
        progress.submit_quiz(learner, first, {})
    db.session.commit()
    events = db.session.scalar(select(func.count()).select_from(ProgressEvent).where(ProgressEvent.user_id == learner.id))
    assert events > 50
    text = client.get(record_url(learner)).get_data(as_text=True)
    assert "mehr anzeigen" in text and "verlauf=100" in text
    history = text.split('id="verlauf"')[1]
    assert history.count("<li class=\"history-") == 50
    everything = client.get(record_url(learner) + "?verlauf=100").get_data(as_text=True).split('id="verlauf"')[1]
    assert "mehr anzeigen" not in everything
    assert everything.index("Zertifikat ausgestellt") < everything.index("In den Kurs „Grundlagenkurs")


def test_unknown_learner_is_404(client, admin):
    assert client.get("/office/learners/999999").status_code == 404


# --- revoke --------------------------------------------------------------------------------------

def test_revoke_without_reason_is_refused_with_a_german_message(client, admin, make_user):
    learner, certificate = certificate_holder(make_user)
    response = client.post(f"{record_url(learner)}/certificates/{certificate.id}/revoke",
                           data={"category": "error", "reason": "  "})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert REASON_MISSING in text and 'role="alert"' in text and 'aria-invalid="true"' in text
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).status == "valid"
    assert audit_entries("certificate_revoked") == []


def test_revoke_without_category_is_refused(client, admin, make_user):
    learner, certificate = certificate_holder(make_user)
    response = client.post(f"{record_url(learner)}/certificates/{certificate.id}/revoke",
                           data={"category": "", "reason": "Nachweis fehlt"})
    assert response.status_code == 422 and "Kategorie" in response.get_data(as_text=True)


def test_revoke_changes_the_verification_page_and_is_audited_once(client, admin, make_user):
    learner, certificate = certificate_holder(make_user)
    assert "Gültig" in client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    url = f"{record_url(learner)}/certificates/{certificate.id}/revoke"
    form = {"category": "fraud", "reason": "Quiz durch Dritte gelöst"}
    response = client.post(url, data=form, follow_redirects=True)
    assert "ist widerrufen" in response.get_data(as_text=True)
    verification = client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert "Widerrufen" in verification and "Täuschung oder unzulässige Hilfe" in verification
    again = client.post(url, data=form, follow_redirects=True)
    assert "bereits widerrufen" in again.get_data(as_text=True), "a double submit is refused kindly"
    [entry] = audit_entries("certificate_revoked")
    assert entry.actor_id == admin.id and entry.reason == "Quiz durch Dritte gelöst"
    assert entry.subject_user_id == learner.id and entry.target_id == certificate.number
    record = client.get(record_url(learner)).get_data(as_text=True)
    assert "widerrufen" in record and "Quiz durch Dritte gelöst" in record


def test_a_certificate_of_someone_else_cannot_be_touched_through_this_record(client, admin, make_user):
    learner, certificate = certificate_holder(make_user)
    other = make_user("learner")
    response = client.post(f"{record_url(other)}/certificates/{certificate.id}/revoke",
                           data={"category": "error", "reason": "falsche Person"})
    assert response.status_code == 404


# --- re-issue ------------------------------------------------------------------------------------

def test_reissue_needs_a_reason(client, admin, make_user):
    learner, certificate = certificate_holder(make_user)
    response = client.post(f"{record_url(learner)}/certificates/{certificate.id}/reissue", data={})
    assert response.status_code == 422 and REASON_MISSING in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_reissue_gives_a_new_number_and_marks_the_old_one_superseded(client, admin, make_user):
    learner, old = certificate_holder(make_user)
    url = f"{record_url(learner)}/certificates/{old.id}/reissue"
    client.post(url, data={"reason": "Druckfehler im PDF"})
    client.post(url, data={"reason": "Druckfehler im PDF"})  # double submit
    db.session.expire_all()
    new = service.current_certificate(learner.id, "zertifikat-grundlagenkurs")
    assert db.session.get(Certificate, old.id).status == "superseded"
    assert new.number != old.number and new.supersedes_id == old.id and new.status == "valid"
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 2
    [entry] = audit_entries("certificate_reissued")
    assert entry.reason == "Druckfehler im PDF" and entry.actor_id == admin.id
    assert "ersetzt" in client.get(f"/verify/{old.verification_code}").get_data(as_text=True).lower()
    record = client.get(record_url(learner)).get_data(as_text=True)
    assert f"ersetzt durch {new.number}" in record


# --- grant ---------------------------------------------------------------------------------------

def test_grant_needs_a_reason_and_a_certificate(client, admin, make_user):
    learner = make_user("learner")
    no_reason = client.post(f"{record_url(learner)}/grant", data={"definition_id": "zertifikat-grundlagenkurs"})
    assert no_reason.status_code == 422 and REASON_MISSING in no_reason.get_data(as_text=True)
    no_choice = client.post(f"{record_url(learner)}/grant", data={"definition_id": "", "reason": "Vorleistung"})
    assert no_choice.status_code == 422 and "Bitte wählen Sie das Zertifikat" in no_choice.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_grant_by_office_decision_is_marked_on_the_record_but_not_on_the_certificate(client, admin, make_user):
    learner = make_user("learner")
    page = client.get(record_url(learner)).get_data(as_text=True)
    assert 'value="zertifikat-grundlagenkurs"' in page
    url = f"{record_url(learner)}/grant"
    form = {"definition_id": "zertifikat-grundlagenkurs", "reason": "Gleichwertige Fortbildung 2024 anerkannt"}
    assert client.post(url, data=form).status_code == 302
    client.post(url, data=form)  # double submit: still one certificate
    [certificate] = db.session.scalars(select(Certificate).where(Certificate.user_id == learner.id)).all()
    assert certificate.grounds == "office_decision" and certificate.status == "valid"
    [entry] = audit_entries("certificate_granted")
    assert entry.reason == form["reason"] and entry.actor_id == admin.id
    record = client.get(record_url(learner)).get_data(as_text=True)
    assert "Entscheidung des Programmbüros" in record
    assert 'value="zertifikat-grundlagenkurs"' not in record, "no longer offered once held"
    verification = client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert "Gültig" in verification and "Entscheidung" not in verification


# --- name correction -----------------------------------------------------------------------------

def test_name_correction_needs_a_reason_and_a_changed_name(client, admin, make_user):
    learner, certificate = certificate_holder(make_user, name="Hanna Husken")
    url = f"{record_url(learner)}/certificates/{certificate.id}/correct-name"
    no_reason = client.post(url, data={"new_name": "Hannah Hüsken", "reason": ""})
    assert no_reason.status_code == 422 and REASON_MISSING in no_reason.get_data(as_text=True)
    assert 'value="Hannah Hüsken"' in no_reason.get_data(as_text=True), "the typed name is kept"
    same = client.post(url, data={"new_name": "Hanna Husken", "reason": "Tippfehler"})
    assert same.status_code == 422 and "steht bereits" in same.get_data(as_text=True)
    empty = client.post(url, data={"new_name": " ", "reason": "Tippfehler"})
    assert empty.status_code == 422 and "korrigierten Namen" in empty.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, learner.id).name == "Hanna Husken"
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_name_correction_makes_a_new_version_with_the_new_name(client, admin, make_user):
    learner, old = certificate_holder(make_user, name="Hanna Husken")
    url = f"{record_url(learner)}/certificates/{old.id}/correct-name"
    response = client.post(url, data={"new_name": "Hannah  Hüsken", "reason": "Schreibweise laut Ausweis"})
    assert response.status_code == 302
    db.session.expire_all()
    new = service.current_certificate(learner.id, "zertifikat-grundlagenkurs")
    old = db.session.get(Certificate, old.id)
    assert new.snapshot["holder"]["name"] == "Hannah Hüsken" and new.number != old.number
    assert old.status == "superseded" and old.snapshot["holder"]["name"] == "Hanna Husken"
    assert db.session.get(User, learner.id).name == "Hannah Hüsken"
    [entry] = audit_entries("certificate_name_corrected")
    assert entry.data["from"] == "Hanna Husken" and entry.data["to"] == "Hannah Hüsken"
    assert entry.reason == "Schreibweise laut Ausweis" and entry.actor_id == admin.id
    assert "Hannah Hüsken" in client.get(f"/verify/{new.verification_code}").get_data(as_text=True)
    assert client.post(url, data={"new_name": "Hannah Hüsken-Meyer", "reason": "nochmal"},
                       follow_redirects=True).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 2, "the old version is done"


# --- who may ----------------------------------------------------------------------------------

OFFICE_GETS = ["/office/learners/{id}", "/office/statistics", "/office/statistics/einschreibungen.csv",
               "/office/audit", "/office/users", "/office/users/{id}"]
OFFICE_POSTS = ["/office/learners/{id}/certificates/{cid}/revoke", "/office/learners/{id}/certificates/{cid}/reissue",
                "/office/learners/{id}/certificates/{cid}/correct-name", "/office/learners/{id}/grant",
                "/office/users/new", "/office/users/{id}/role", "/office/users/{id}/deactivate",
                "/office/users/{id}/reactivate"]


@pytest.mark.parametrize("role", [None, "learner", "trainer"])
def test_only_the_programme_office_reaches_any_office_route(client, make_user, auth, role):
    learner, certificate = certificate_holder(make_user)
    if role:
        auth.login(make_user(role).email)
    for method, urls in (("get", OFFICE_GETS), ("post", OFFICE_POSTS)):
        for template in urls:
            url = template.format(id=learner.id, cid=certificate.id)
            response = getattr(client, method)(url, data={"reason": "Versuch ohne Recht", "category": "other",
                                                          "definition_id": "pro-zertifikat", "role": "admin"})
            if role is None:
                assert response.status_code == 302 and "/login" in response.headers["Location"], url
            else:
                assert response.status_code == 403, (role, method, url)
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).status == "valid"
    assert audit_entries("certificate_revoked") == [] and audit_entries("user_role_changed") == []
