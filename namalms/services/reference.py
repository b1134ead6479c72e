"""Reading the glossary and the work aids as published (the latest revision of each file)."""
from __future__ import annotations

from sqlalchemy import func, select

from namalms.extensions import db
from namalms.models import ContentRevision
from namalms.services.content_sync import GLOSSARY_KEY, latest_revision


def glossary_terms() -> list[dict]:
    """The published glossary: dicts with term, long, text and anchor, in file order."""
    revision = latest_revision("glossary", GLOSSARY_KEY)
    terms = list((revision.meta or {}).get("terms", [])) if revision else []
    return [{**term, "initial": _initial(term["term"])} for term in terms]


def _initial(term: str) -> str:
    """The letter a term is listed under: „ÖPNV“ under O, „2030-Agenda“ under 0–9."""
    first = term[:1].upper().translate(str.maketrans("ÄÖÜ", "AOU"))
    return first if first.isalpha() else "0–9"


def workaid(workaid_id: str) -> ContentRevision | None:
    """The current revision of a work aid, or None when there is none (or it was removed)."""
    revision = latest_revision("workaid", workaid_id)
    if revision is None or (revision.meta or {}).get("removed"):
        return None
    return revision


def workaids(module_id: str | None = None) -> list[ContentRevision]:
    """Every published work aid (or those a module uses), sorted by title; one query."""
    newest = (select(ContentRevision.key, func.max(ContentRevision.number).label("number"))
              .where(ContentRevision.kind == "workaid").group_by(ContentRevision.key).subquery())
    revisions = db.session.scalars(select(ContentRevision).join(
        newest, (ContentRevision.key == newest.c.key) & (ContentRevision.number == newest.c.number))
        .where(ContentRevision.kind == "workaid"))
    current = [r for r in revisions if not (r.meta or {}).get("removed")
               and (module_id is None or module_id in (r.meta or {}).get("modules", []))]
    return sorted(current, key=lambda r: r.meta.get("title", r.key).lower())
