"""Small promises of the learner and staff experience (issue 13), checked without a browser."""
from __future__ import annotations

from namalms.web import scrollable_tables, unit_navigation

FIRST = "gk-agenda-2030"


def test_the_login_redirect_keeps_no_stray_question_mark(client):
    response = client.get(f"/modules/{FIRST}")
    assert response.status_code == 302
    assert response.location.endswith(f"/login?next=/modules/{FIRST}"), response.location
    with_query = client.get("/trainer/learners?kurs=grundlagenkurs")
    assert "next=/trainer/learners?kurs%3Dgrundlagenkurs" in with_query.location


def test_staff_see_no_learning_record_of_their_own(client, make_user, auth):
    for role in ("trainer", "admin"):
        user = make_user(role)
        auth.login(user.email)
        page = client.get("/trainer/").get_data(as_text=True)
        assert "Mein Lernstand" not in page, role
        auth.logout()


def test_learners_keep_their_learning_record_in_the_navigation(client, learner):
    assert "Mein Lernstand" in client.get("/").get_data(as_text=True)


def test_marking_done_lands_at_the_completion_section_and_says_so_there(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    client.get(f"/modules/{FIRST}")
    response = client.post(f"/modules/{FIRST}/done")
    assert response.location.endswith(f"/modules/{FIRST}?erledigt=1#abschluss")
    page = client.get(f"/modules/{FIRST}?erledigt=1").get_data(as_text=True)
    section = page[page.index('id="abschluss"'):]
    assert "Als erledigt markiert." in section and "Selbstcheck bestanden" in section


def test_the_quiz_result_is_the_answers_target(client, learner):
    from tests.conftest import quiz_answers

    client.post("/courses/grundlagenkurs/enrol")
    response = client.post(f"/modules/{FIRST}/quiz", data=quiz_answers(client, learner, FIRST))
    assert response.location.endswith("#ergebnis")
    page = client.get(response.location).get_data(as_text=True)
    assert 'id="ergebnis" tabindex="-1"' in page


def test_every_markdown_table_scroll_box_takes_the_keyboard_focus_with_a_name():
    html = '<p>x</p><div class="table-wrap"><table></table></div><div class="table-wrap"><table></table></div>'
    out = str(scrollable_tables(html))
    assert out.count('tabindex="0" role="region"') == 2
    assert 'aria-label="Tabelle 1"' in out and 'aria-label="Tabelle 2"' in out


def test_each_learning_unit_heading_says_its_position():
    toc = [{"level": 2, "anchor": "lerneinheit-1", "title": "Lerneinheit 1: A"},
           {"level": 3, "anchor": "teil", "title": "Teil"},
           {"level": 2, "anchor": "lerneinheit-2", "title": "Lerneinheit 2: B"},
           {"level": 2, "anchor": "quellen", "title": "Quellen"}]
    html = '<h2 id="lerneinheit-1">A</h2><h3 id="teil">T</h3><h2 id="lerneinheit-2">B</h2><h2 id="quellen">Q</h2>'
    out = str(unit_navigation(html, toc))
    assert out.startswith('<p class="unit-position">Lerneinheit 1 von 2</p><h2 id="lerneinheit-1">')
    assert 'Lerneinheit 2 von 2</p><h2 id="lerneinheit-2">' in out
    assert out.count('href="#modul-inhalt"') == 2  # back to the contents before every later section
    assert str(unit_navigation("<h2 id=\"x\">X</h2>", [{"level": 2, "anchor": "x", "title": "X"}])) == '<h2 id="x">X</h2>'
