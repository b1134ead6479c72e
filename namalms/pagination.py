"""One way to page a list: one page size, one query parameter (``page``), one pager template.

Page numbers come from the query string and are never trusted: missing, negative, text or
``'²'`` mean page 1; absurdly large numbers (``2**62``) are capped before they reach the
database and, like any number past the end, land on the last page. So no list answers 500.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, Mapping, Sequence, TypeVar

from sqlalchemy import Select, func, select

from namalms.extensions import db

T = TypeVar("T")

PAGE_PARAM = "page"
PAGE_SIZE = 50
# Far beyond any real list, and small enough that page × size stays a valid SQL OFFSET.
MAX_PAGE = 1_000_000


def requested_page(args: Mapping[str, str], name: str = PAGE_PARAM) -> int:
    """The page asked for in the query string: a whole number ≥ 1 (1 for anything else)."""
    raw = (args.get(name) or "").strip()
    if not raw or not raw.isascii() or not raw.isdigit():
        return 1
    return max(1, min(int(raw[:9]) if len(raw) <= 9 else MAX_PAGE, MAX_PAGE))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items and the arithmetic a pager needs."""

    items: Sequence[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 for an empty list)."""
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def window(self) -> list[int | None]:
        """Page numbers to link, with None for a gap: 1 … 4 5 [6] 7 8 … 20."""
        return page_window(self.page, self.pages)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def page_window(page: int, pages: int, radius: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and ``radius`` around the current one; None is a gap."""
    shown = sorted({1, pages, *range(max(1, page - radius), min(pages, page + radius) + 1)})
    window: list[int | None] = []
    for number in shown:
        if window and number - window[-1] == 2:
            window.append(number - 1)  # a gap of one page is shown as that page, not as "…"
        elif window and number - window[-1] > 2:
            window.append(None)
        window.append(number)
    return window


def clamp(page: int, total: int, per_page: int) -> int:
    """``page`` moved into the list: past the end means the last page."""
    return max(1, min(page, max(1, -(-total // per_page))))


def paginate(statement: Select, page: int, per_page: int = PAGE_SIZE, *,
             scalars: bool = True, transform: Callable[[list], Sequence[T]] | None = None) -> Page[T]:
    """One page of a SELECT (ORM entities when ``scalars``, else rows), clamped to the list.

    Two statements: the count, then the page. ``transform`` turns the fetched rows into what the
    page should hold (e.g. view objects built from rows).
    """
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    page = clamp(page, total, per_page)
    limited = statement.limit(per_page).offset((page - 1) * per_page)
    rows = list(db.session.scalars(limited)) if scalars else list(db.session.execute(limited).all())
    return Page(transform(rows) if transform else rows, total, page, per_page)
