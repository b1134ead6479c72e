"""Finding people by what the office and trainers type: part of a name or an e-mail address."""
from __future__ import annotations

from sqlalchemy import func, or_

from namalms.models import User


def name_or_email_matches(search: str):
    """SQL: the account's name or e-mail contains the search text (any case, umlauts too)."""
    term = " ".join(search.split())
    # lower() on both sides for PostgreSQL; the unchanged term too, because SQLite's lower()
    # leaves „Ö“ and friends alone.
    return or_(func.lower(User.name).contains(term.lower(), autoescape=True),
               User.name.contains(term, autoescape=True),
               User.email.contains(term.lower(), autoescape=True))
