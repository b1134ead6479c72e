"""The audit log: every office and trainer action and every certificate event, filterable, append-only."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from namalms.demo import complete_module
from namalms.extensions import db
from namalms.models import AuditEvent, Certificate, Course
from namalms.services import progress
from namalms.services.audit import record_audit

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database

UTC = timezone.utc




def entry(action, at, **kwargs):
    event = record_audit(action, **kwargs)
    event.created_at = at  # still unsaved: setting the time of a new entry is no edit
    db.session.commit()
    return event


def rows(html):
    return html.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")


def test_certificate_events_show_who_when_what_and_why(client, admin, make_user):
    learner = make_user("learner", name="Frank Faßbender")
    progress.enrol(learner, db.session.get(Course, "grundlagenkurs"))
    for module in db.session.get(Course, "grundlagenkurs").modules:
        complete_module(learner, module, datetime.now(UTC))
    db.session.commit()
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == learner.id))
    client.post(f"/office/learners/{learner.id}/certificates/{certificate.id}/revoke",
                data={"category": "error", "reason": "Workshop nicht besucht"})
    html = client.get("/office/audit").get_data(as_text=True)
    assert "Zertifikat ausgestellt" in html and "Zertifikat widerrufen" in html
    assert "Paula Programmbüro" in html and "Workshop nicht besucht" in html
    assert "Kategorie: Ausstellung irrtümlich" in html and "Frank Faßbender" in html
    assert f"/office/learners/{learner.id}" in html
    body = html.split("<tbody>")[1]
    assert body.index("Zertifikat widerrufen") < body.index("Zertifikat ausgestellt"), "newest first"


def test_filters_by_action_actor_subject_and_dates(client, admin, make_user):
    anna = make_user("learner", name="Anna Achterberg")
    bernd = make_user("learner", name="Bernd Brückner")
    entry("user_role_changed", datetime(2026, 1, 10, 9, tzinfo=UTC), actor=admin, subject_user_id=anna.id,
          reason="A", data={"from": "learner", "to": "trainer"})
    entry("user_deactivated", datetime(2026, 2, 10, 9, tzinfo=UTC), actor_label="CLI", subject_user_id=bernd.id,
          reason="B")
    entry("certificate_revoked", datetime(2026, 2, 28, 23, 30, tzinfo=UTC), actor=admin, subject_user_id=bernd.id,
          reason="C", target_type="certificate", target_id="NAMA-2026-00001")  # 1 March in Germany
    all_rows = client.get("/office/audit").get_data(as_text=True)
    assert rows(all_rows) == 3 and "Teilnehmer*in → Trainer*in" in all_rows
    by_action = client.get("/office/audit?action=user_deactivated").get_data(as_text=True)
    assert rows(by_action) == 1 and "Konto deaktiviert" in by_action
    by_actor = client.get("/office/audit?actor=cli").get_data(as_text=True)
    assert rows(by_actor) == 1 and 'data-label="Begründung">B</td>' in by_actor
    by_name = client.get("/office/audit?subject=brückner").get_data(as_text=True)
    assert rows(by_name) == 2 and "Anna Achterberg" not in by_name.split("<tbody>")[1]
    by_id = client.get(f"/office/audit?subject={anna.id}").get_data(as_text=True)
    assert rows(by_id) == 1 and "Filter entfernen" in by_id
    february = client.get("/office/audit?from=2026-02-01&to=2026-02-28").get_data(as_text=True)
    assert rows(february) == 1 and 'data-label="Begründung">B</td>' in february, "the 23:30 UTC entry belongs to 1 March"
    march = client.get("/office/audit?from=01.03.2026").get_data(as_text=True)
    assert rows(march) == 1 and "Zertifikat <span class=\"nowrap\">NAMA-2026-00001</span>" in march
    combined = client.get(f"/office/audit?action=certificate_revoked&subject={bernd.id}&to=2026-02-28")
    assert "Keine Einträge für diese Filter" in combined.get_data(as_text=True)


def test_a_bad_date_gets_a_german_message(client, admin):
    html = client.get("/office/audit?from=gestern").get_data(as_text=True)
    assert "Bitte ein Datum wie 31.01.2026 angeben." in html and 'role="alert"' in html


def test_unknown_actions_are_shown_as_recorded(client, admin):
    entry("something_new_happened", datetime(2026, 1, 1, tzinfo=UTC), actor=admin)
    html = client.get("/office/audit").get_data(as_text=True)
    assert "something_new_happened" in html
    assert '<option value="something_new_happened"' in html


def test_log_is_paginated(client, admin):
    for day in range(1, 29):
        for hour in (8, 9, 10):
            entry("user_reactivated", datetime(2026, 2, day, hour, tzinfo=UTC), actor=admin)
    first = client.get("/office/audit").get_data(as_text=True)
    assert rows(first) == 50 and "ältere Einträge" in first and "Seite 1 von 2" in first
    second = client.get("/office/audit?page=2").get_data(as_text=True)
    assert rows(second) == 34 and "neuere Einträge" in second and "ältere Einträge" not in second
    assert "01.02.2026, 09:00 Uhr" in second, "oldest last"


def test_the_log_cannot_be_changed(client, admin):
    event = entry("user_created", datetime(2026, 1, 1, tzinfo=UTC), actor=admin, reason="neu")
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/office/audit").status_code == 405
    event.reason = "geschönt"
    with pytest.raises(ValueError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(ValueError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    page = client.get("/office/audit").get_data(as_text=True).split("<main")[1]
    assert 'method="post"' not in page, "no form on the page changes the log"


# --- German labels and values, never raw keys or Python values (issue 13) -----------------------

def test_recorded_details_read_as_german(app):
    from namalms.office.audit_log import action_label, describe_data

    assert describe_data({"source": "checklist", "module_id": "gk-verwaltung-verankern", "module_completed": False}) == [
        "Erfasst über: Checkliste", "Modul: gk-verwaltung-verankern", "Modul damit abgeschlossen: nein"]
    lines = describe_data({"revision": 3, "source_hash": "ab" * 32, "path": "g/01.md", "base_revision_id": 27})
    assert lines == ["Revision: 3", "Datei: g/01.md"]  # hashes and internal ids are not for the office
    assert describe_data({"title": "Abschluss", "starts_at": "2026-04-14T08:00:00+00:00"}) == [
        "Titel: Abschluss", "Beginn: 14.04.2026, 10:00 Uhr"]
    assert describe_data({"before": {"capacity": 20}, "after": {"capacity": 25}}) == ["Plätze: 20 → 25"]
    assert describe_data({"direction": "up", "positions": {"a": 1, "b": 2}}) == [
        "Richtung: nach oben", "Neue Positionen: A: 1; B: 2"]
    assert action_label("something_new") == "Something new"
    assert action_label("trainer_assigned") == "Kurs zugeordnet"


def test_courses_and_modules_are_named_by_their_titles(app):
    from namalms.office.audit_log import describe_data
    from namalms.services.audit import content_names

    lines = describe_data({"course": "grundlagenkurs", "module_id": "gk-agenda-2030"}, names=content_names())
    assert lines[0] == "Kurs: Grundlagenkurs"
    assert lines[1].startswith("Modul: „") and "gk-agenda-2030" not in lines[1]
