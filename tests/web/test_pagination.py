"""Every list pages the same way, and no page number – however absurd – is a 500."""
from __future__ import annotations

import pytest

from namalms.pagination import MAX_PAGE, clamp, requested_page

ABSURD = ["2", "0", "-1", "9999999999999999999999", str(2**62), "²", "zwei", "1.5", " ", "1e9", "٣"]


@pytest.mark.parametrize("raw, expected", [
    ("", 1), ("1", 1), ("7", 7), ("0", 1), ("-3", 1), ("²", 1), ("٣", 1), ("abc", 1), ("1.5", 1),
    (str(2**62), MAX_PAGE), ("9" * 40, MAX_PAGE),
])
def test_the_requested_page_is_never_trusted(raw, expected):
    assert requested_page({"page": raw}) == expected


def test_past_the_end_means_the_last_page():
    assert clamp(99, total=120, per_page=50) == 3
    assert clamp(5, total=0, per_page=50) == 1


STAFF_LISTS = ["/office/", "/office/users", "/office/audit", "/trainer/workshops", "/trainer/learners"]


@pytest.mark.parametrize("url", STAFF_LISTS)
@pytest.mark.parametrize("page", ABSURD)
def test_no_list_answers_500_to_any_page_number(client, admin, url, page):
    response = client.get(url, query_string={"page": page})
    assert response.status_code == 200, (url, page)


@pytest.mark.parametrize("url", ["/office/learners/99999999999999999999999", "/office/users/0",
                                 "/trainer/workshops/18446744073709551616"])
def test_ids_beyond_64_bit_are_not_found(client, admin, url):
    assert client.get(url).status_code == 404
