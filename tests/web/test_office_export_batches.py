"""The full export reads learners in batches: the bytes do not depend on the batch size, and the
statements grow with the number of batches, never with the number of learners."""
from __future__ import annotations

import threading

import pytest

from namalms.services import office_queries
from tests.conftest import counted_statements
from tests.web.test_office_query_counts import seed
from tests.web.test_office_status import listed

pytestmark = pytest.mark.both_databases  # the batch reads are written differently per database

URLS = ["/office/zertifizierungsstand.csv", "/office/zertifizierungsstand.csv?sort=activity&order=desc",
        "/office/zertifizierungsstand.csv?status=fehlt-1"]


@pytest.fixture
def admin_client(client, make_user, auth):
    auth.login(make_user("admin").email)
    return client


def export(client, url: str) -> tuple[bytes, int]:
    with counted_statements() as statements:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data()
    return body, len(statements)


@pytest.mark.parametrize("url", URLS)
def test_the_export_is_the_same_whatever_the_batch_size(admin_client, monkeypatch, url):
    seed(13)
    whole, _ = export(admin_client, url)
    monkeypatch.setattr(office_queries, "EXPORT_BATCH", 4)
    assert export(admin_client, url)[0] == whole
    monkeypatch.setattr(office_queries, "EXPORT_BATCH", 1)
    assert export(admin_client, url)[0] == whole


def test_statements_grow_with_batches_not_with_learners(admin_client, monkeypatch):
    monkeypatch.setattr(office_queries, "EXPORT_BATCH", 5)
    seed(10)
    two_batches = export(admin_client, URLS[0])[1]
    seed(10, offset=10)
    four_batches = export(admin_client, URLS[0])[1]
    per_batch = (four_batches - two_batches) / 2
    # a batch: the learners and four detail statements, in one short read transaction
    assert per_batch <= 6, per_batch
    assert two_batches - 2 * per_batch <= 14, "the fixed part (login, catalogue, ids) stays small"


@pytest.mark.parametrize("sort", list(office_queries.SORTS))
def test_a_short_list_is_in_the_same_order_however_the_database_sorts_it(admin_client, monkeypatch, sort):
    """A list of few matches is sorted by ``lower(name) || ''`` (no index); the order is the same."""
    seed(12)
    pages = []
    for few in (0, 10_000):
        monkeypatch.setattr(office_queries, "FEW_MATCHES", few)
        for order in ("asc", "desc"):
            pages.append(listed(admin_client, q="anna", sort=sort, order=order))
    assert len(pages[0]) == 12
    assert pages[:2] == pages[2:]


def export_threads() -> list:
    return [t for t in threading.enumerate() if t.name.startswith("namalms-export")]


def test_the_next_batches_are_read_ahead_and_handed_out_in_order(app, monkeypatch):
    seed(11)
    monkeypatch.setattr(office_queries, "EXPORT_BATCH", 2)
    filters, _ = office_queries.parse_filters({})
    expected = [learner.id for learner in office_queries.status_page(filters, per_page=50).rows]
    read_by = set()
    original = office_queries._export_batch

    def noting_the_thread(chunk, catalog, now):
        read_by.add(threading.current_thread().name)
        return original(chunk, catalog, now)

    monkeypatch.setattr(office_queries, "_export_batch", noting_the_thread)
    assert [learner.id for learner in office_queries.iter_learners(filters)] == expected
    assert all(name.startswith("namalms-export") for name in read_by) and read_by, read_by
    assert not export_threads()


def test_a_batch_that_fails_is_raised_where_it_is_taken_not_skipped(app, monkeypatch):
    seed(9)
    monkeypatch.setattr(office_queries, "EXPORT_BATCH", 2)
    original = office_queries._export_batch
    calls = []

    def failing_third(chunk, catalog, now):
        calls.append(chunk)
        if len(calls) == 3:
            raise RuntimeError("database gone")
        return original(chunk, catalog, now)

    monkeypatch.setattr(office_queries, "_export_batch", failing_third)
    filters, _ = office_queries.parse_filters({})
    handed_out = []
    with pytest.raises(RuntimeError, match="database gone"):
        for learner in office_queries.iter_learners(filters):
            handed_out.append(learner.id)
    assert len(handed_out) == 4, "the two batches before the failure, nothing after it"
    assert not export_threads()


def test_a_download_broken_off_leaves_no_helper_behind(app, monkeypatch):
    seed(9)
    monkeypatch.setattr(office_queries, "EXPORT_BATCH", 2)
    filters, _ = office_queries.parse_filters({})
    learners = office_queries.iter_learners(filters)
    next(learners)
    learners.close()  # what the server does when the client goes away
    assert not export_threads()
