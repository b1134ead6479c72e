"""On SQLite, reading pages never wait for a writer; writes wait their turn instead of failing."""
import sqlite3
import time

import pytest

from namalms.extensions import db

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database


def sqlite_path(app) -> str:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite locking behaviour only")
    return url[len("sqlite:///"):]


def test_read_only_pages_are_served_while_another_connection_holds_the_write_lock(app, client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    client.get("/modules/gk-agenda-2030")  # the visit is recorded now; the next view only reads
    db.session.rollback()
    writer = sqlite3.connect(sqlite_path(app), timeout=1, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert client.get("/healthz").status_code == 200
        assert client.get("/modules/gk-agenda-2030").status_code == 200
        assert client.get("/dashboard").status_code == 200
        assert time.monotonic() - started < 5, "read-only pages must not wait for the write lock"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
