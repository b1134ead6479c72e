"""Every view for every role: who may see what."""
import pytest



PUBLIC = ["/", "/courses/grundlagenkurs", "/login", "/register", "/healthz"]
LOGGED_IN = ["/dashboard", "/modules/gk-agenda-2030"]
TRAINER = ["/trainer/"]
ADMIN = ["/office/", "/office/users", "/office/statistics", "/office/audit", "/office/tokens"]
TRAINER += ["/trainer/content", "/trainer/workshops", "/trainer/learners"]
POSTS_LEARNER = ["/courses/grundlagenkurs/enrol", "/modules/gk-agenda-2030/done", "/modules/gk-agenda-2030/quiz"]

# role -> expected status per group (anonymous users are redirected to the login page)
EXPECTED = {
    None: {"public": 200, "logged_in": 302, "trainer": 302, "admin": 302},
    "learner": {"public": 200, "logged_in": 200, "trainer": 403, "admin": 403},
    "trainer": {"public": 200, "logged_in": 200, "trainer": 200, "admin": 403},
    "admin": {"public": 200, "logged_in": 200, "trainer": 200, "admin": 200},
}
CASES = [(role, group, url) for role in EXPECTED for group, urls in
         (("public", PUBLIC), ("logged_in", LOGGED_IN), ("trainer", TRAINER), ("admin", ADMIN)) for url in urls]


@pytest.mark.parametrize("role, group, url", CASES)
def test_every_role_on_every_view(client, make_user, auth, role, group, url):
    if role:
        user = make_user(role)
        auth.login(user.email)
        if role == "learner":
            client.post("/courses/grundlagenkurs/enrol")
    expected = EXPECTED[role][group]
    if role and url in ("/login", "/register"):
        expected = 302  # already logged in: sent home
    response = client.get(url)
    assert response.status_code == expected, (role, url)
    if expected == 302 and role is None:
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", POSTS_LEARNER)
@pytest.mark.parametrize("role", [None, "trainer", "admin"])
def test_only_learners_record_progress(client, make_user, auth, role, url):
    if role:
        auth.login(make_user(role).email)
    response = client.post(url)
    assert response.status_code == (302 if role is None else 403)


def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_pages_load_nothing_from_third_parties(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    for url in ["/", "/courses/grundlagenkurs", "/modules/gk-agenda-2030", "/dashboard"]:
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert "http://" not in text.replace('xmlns="http://www.w3.org', "") or "src=\"http" not in text
        assert 'src="http' not in text and 'href="http' not in text.split("<main")[0]
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
