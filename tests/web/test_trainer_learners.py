"""The trainer's matrix of learners × modules: cells in words, filters, one step from a certificate."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.conftest import counted_statements

from namalms.extensions import db
from namalms.models import Course, District, Eligibility, ModuleProgress, User
from namalms.models.base import utcnow
from namalms.services import progress
from tests.web.test_workshops import learner_one_workshop_short, make_workshop

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database


@pytest.fixture
def trainer(make_user, auth):
    user = make_user("trainer")
    auth.login(user.email)
    return user


def quick_learner(name: str, district_id: str = "kreis-dueren", course_id: str = "grundlagenkurs") -> User:
    """A learner enrolled in a course, made without the cost of hashing a password."""
    district = db.session.get(District, district_id)
    slug = re.sub(r"[^a-z0-9]+", ".", name.lower())
    user = User(email=f"{slug}@example.org", name=name, password_hash="!", role="learner",
                district_id=district.id, region_id=district.region_id, municipality="Musterstadt")
    db.session.add(user)
    db.session.flush()
    progress.enrol(user, db.session.get(Course, course_id))
    return user


def modules(course_id="grundlagenkurs"):
    return [m for m in db.session.get(Course, course_id).modules if not m.is_retired]


def give_progress(user: User, *, completed: int = 0, done_only: int = 0, score: int | None = None) -> None:
    """Progress rows as the matrix reads them (written directly: the matrix only reads)."""
    now = utcnow() - timedelta(days=3)
    for index, module in enumerate(modules()[:completed + done_only]):
        is_complete = index < completed
        db.session.add(ModuleProgress(
            user_id=user.id, module_id=module.id, first_viewed_at=now, last_viewed_at=now, done_at=now,
            best_quiz_score=score if module.has_quiz else None,
            quiz_passed_at=now if is_complete and module.has_quiz else None,
            workshop_attended_at=now if is_complete and module.has_workshop else None,
            completed_at=now if is_complete else None))


def page(client, **params) -> str:
    response = client.get("/trainer/learners", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def names_in(html: str) -> list[str]:
    return re.findall(r'<th scope="row">([^<]+)<br>', html)


def test_matrix_shows_each_module_in_words_not_colour_alone(client, trainer):
    anna = quick_learner("Anna Achterberg")
    give_progress(anna, completed=2, done_only=1, score=60)
    quick_learner("Bernd Brückner")
    db.session.commit()
    html = page(client)
    assert "Lernstand: Teilnehmende × Module" in html and "<caption>" in html
    assert names_in(html) == ["Anna Achterberg", "Bernd Brückner"]
    assert "Legende" in html and "Modul abgeschlossen" in html and "Workshop besucht" in html
    for index, module in enumerate(modules(), start=1):
        assert f"<strong>M{index}</strong> {module.title}" in html
    assert '<span class="sr-only">abgeschlossen, Selbstcheck 60 %</span>' in html
    assert '<span class="sr-only">durchgearbeitet, Selbstcheck 60 % (nicht bestanden)</span>' in html
    assert "Q&nbsp;60&nbsp;%&nbsp;✗" in html
    assert '<span class="sr-only">noch nicht begonnen</span>' in html
    assert '<td class="num">2/6</td>' in html and '<td class="num">0/6</td>' in html


def test_workshop_attendance_shows_in_the_matrix(client, trainer, make_user):
    jana = learner_one_workshop_short(make_user, name="Jana Jäger")
    workshop = make_workshop(trainer, days=-1)
    client.post(f"/trainer/workshops/{workshop.id}/attendance", data={"user_id": [jana.id]})
    html = page(client)
    assert '<span class="sr-only">abgeschlossen, Selbstcheck 100 %, Workshop besucht</span>' in html
    assert '<td class="num">6/6</td>' in html


def test_filter_by_region(client, trainer):
    quick_learner("Anna aus Düren", "kreis-dueren")  # Rheinisches Revier
    quick_learner("Gerd aus Gelsenkirchen", "stadt-gelsenkirchen")  # Ruhr-Kraftwerksstandorte
    quick_learner("Mona aus Münster", "stadt-muenster")
    db.session.commit()
    assert names_in(page(client)) == ["Anna aus Düren", "Gerd aus Gelsenkirchen", "Mona aus Münster"]
    html = page(client, region="rheinisches-revier")
    assert names_in(html) == ["Anna aus Düren"]
    assert '<option value="rheinisches-revier" selected>' in html and "(gefiltert)" in html
    assert names_in(page(client, region="ruhr-kraftwerksstandorte")) == ["Gerd aus Gelsenkirchen"]


def test_search_by_name_and_choice_of_course(client, trainer):
    quick_learner("Anna Achterberg")
    quick_learner("Özlem Öztürk")
    quick_learner("Sonja Sonderkurs", course_id="sonderkurs-strukturwandel")
    db.session.commit()
    assert names_in(page(client, q="achter")) == ["Anna Achterberg"]
    assert names_in(page(client, q="Öztürk")) == ["Özlem Öztürk"]
    assert names_in(page(client, q="100%_")) == []  # wildcards are taken literally
    html = page(client, kurs="sonderkurs-strukturwandel")
    assert names_in(html) == ["Sonja Sonderkurs"] and "Sonderkurs" in html


def test_one_step_column_filter_and_sort(client, trainer, make_user):
    quick_learner("Aaron Anfang")
    jana = learner_one_workshop_short(make_user, name="Zora Zielnah")
    db.session.commit()
    last = modules()[-1]
    html = page(client)
    assert names_in(html) == ["Aaron Anfang", "Zora Zielnah"]
    assert "<strong>Zertifikat Grundlagenkurs" in html
    assert f"fehlt: Modul „{last.title}“ abgeschlossen" in html
    assert names_in(page(client, nur="1")) == ["Zora Zielnah"]
    sorted_page = page(client, sort="zertifikat")
    assert names_in(sorted_page) == ["Zora Zielnah", "Aaron Anfang"]
    assert 'aria-sort="descending"' in sorted_page

    # Once the certificate is issued, she is no longer one step away.
    workshop = make_workshop(trainer, days=-1)
    client.post(f"/trainer/workshops/{workshop.id}/attendance", data={"user_id": [jana.id]})
    assert names_in(page(client, nur="1")) == []
    assert "Keine Teilnehmenden gefunden" in page(client, nur="1")


def test_sort_by_progress(client, trainer):
    slow, fast = quick_learner("Anna Langsam"), quick_learner("Bea Schnell")
    give_progress(slow, completed=1)
    give_progress(fast, completed=4)
    db.session.commit()
    assert names_in(page(client, sort="fortschritt")) == ["Bea Schnell", "Anna Langsam"]
    assert names_in(page(client, sort="unbekannt")) == ["Anna Langsam", "Bea Schnell"]


def test_fifty_learners_per_page(client, trainer):
    for i in range(55):
        quick_learner(f"Person {i:02d}")
    db.session.commit()
    first = page(client)
    assert len(names_in(first)) == 50 and "Seite 1 von 2" in first and "nächste Seite" in first
    second = page(client, page=2)
    assert names_in(second) == [f"Person {i}" for i in range(50, 55)]
    assert names_in(page(client, page=99)) == names_in(second)  # past the end: the last page




def populate(count: int, start: int) -> None:
    definitions = ["zertifikat-grundlagenkurs", "pro-zertifikat"]
    for i in range(start, start + count):
        user = quick_learner(f"Lerner {i:03d}", ["kreis-dueren", "stadt-muenster"][i % 2])
        give_progress(user, completed=i % 4, done_only=1, score=70 + i % 30)
        for definition in definitions:
            db.session.add(Eligibility(user_id=user.id, definition_id=definition, is_met=False,
                                       missing_count=1 if i % 3 == 0 else 3, done=1, total=2,
                                       missing=["Modul „X“ abgeschlossen"]))
    db.session.commit()


@pytest.mark.parametrize("params", [{}, {"nur": "1", "sort": "zertifikat"}, {"region": "rheinisches-revier",
                                                                              "sort": "fortschritt", "q": "Lerner"}])
def test_the_number_of_queries_does_not_grow_with_the_learners(client, trainer, params):
    populate(5, 0)
    page(client, **params)  # warm up: first-request work is not what is measured
    db.session.rollback()  # start each measured request as a real one does: a fresh transaction
    with counted_statements() as few:
        shown_few = len(names_in(page(client, **params)))
    populate(35, 5)
    db.session.rollback()
    with counted_statements() as many:
        shown_many = len(names_in(page(client, **params)))
    assert 0 < shown_few < shown_many
    assert len(many) == len(few), "\n".join(many)
    assert len(many) <= 12


def test_only_trainers_and_admins_see_the_matrix(client, make_user, auth):
    assert client.get("/trainer/learners").status_code == 302
    auth.login(make_user("learner").email)
    assert client.get("/trainer/learners").status_code == 403
    auth.logout()
    auth.login(make_user("admin").email)
    assert client.get("/trainer/learners").status_code == 200
