"""What the process remembers between requests (verified session cookies, built addresses,
drawn certificate cards) never changes what a request sees."""
from __future__ import annotations

import re
import time

from namalms import session_cookie
from tests.web.test_certificates import work_through
from tests.web.test_sessions import SESSION, cookies_of, replay


def test_a_remembered_session_cookie_still_expires(app, client, learner, monkeypatch):
    cookie = cookies_of(client)[SESSION]
    assert replay(app, {SESSION: cookie}).get("/dashboard").status_code == 200, "checked and remembered"
    lifetime = app.permanent_session_lifetime.total_seconds()
    real_time = time.time
    monkeypatch.setattr(session_cookie.time, "time", lambda: real_time() + lifetime + 60)
    response = replay(app, {SESSION: cookie}).get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_changed_cookie_is_refused_after_the_real_one_was_remembered(app, client, learner):
    cookie = cookies_of(client)[SESSION]
    assert replay(app, {SESSION: cookie}).get("/dashboard").status_code == 200
    forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    response = replay(app, {SESSION: forged}).get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_message_in_the_session_is_shown_by_every_request_that_presents_it(app, client, make_user, auth):
    """A flashed message is a list in the session: it is decoded afresh for each request, so
    showing it in one request cannot take it away from another that sent the same cookie."""
    user = make_user("learner")
    auth.login(user.email)  # "Sie sind angemeldet" waits in the session cookie
    cookie = cookies_of(client)[SESSION]
    for _ in range(2):
        page = replay(app, {SESSION: cookie}).get("/dashboard").get_data(as_text=True)
        assert "Sie sind angemeldet" in page


def test_links_follow_the_application_root_of_each_request(client, learner):
    behind_prefix = client.get("/dashboard", base_url="http://localhost/lernen/").get_data(as_text=True)
    plain = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/lernen/certificates"' in behind_prefix and 'href="/lernen/static/namalms.css?v=' in behind_prefix
    assert 'href="/certificates"' in plain and "/lernen/" not in plain


def fulfilled(page: str) -> list[str]:
    """The "Erfüllt: n von m" figures of the certificate cards on a page."""
    return re.findall(r"<span>Erfüllt</span><span>(\d+ von \d+)", page)


def test_certificate_cards_show_each_learners_own_state(app, make_user, auth, client):
    ahead, behind = make_user("learner"), make_user("learner")
    work_through(ahead, "grundlagenkurs", count=3)
    work_through(behind, "grundlagenkurs", count=1)
    seen = []
    for user in (ahead, behind, ahead):
        auth.login(user.email)
        seen.append(fulfilled(client.get("/certificates").get_data(as_text=True)))
        auth.logout()
    assert seen[0] and seen[0] == seen[2] != seen[1]

    work_through(behind, "grundlagenkurs", count=2)
    auth.login(behind.email)
    now = fulfilled(client.get("/certificates").get_data(as_text=True))
    assert now != seen[1], "progress changes the card at once"
