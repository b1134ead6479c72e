"""The site's own pages (Datenschutzerklärung, Impressum, Erklärung zur Barrierefreiheit), edited by the
programme office through the same checked path as modules: the whole content tree with the
change is checked on a copy, published as a new immutable revision, and written back into
``content/seiten/`` after the commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from namalms.content.loader import PAGE_IDS, PAGES_DIR, parse_page
from namalms.content.model import PageSource, Problem
from namalms.content.render import render_markdown
from namalms.models import ContentRevision, User
from namalms.services import ServiceError
from namalms.services.audit import record_audit
from namalms.services.content_sync import latest_revision, publish_page
from namalms.services.publishing.files import check_candidate, clean_message, normalise_text, write_files
from namalms.services.publishing.problems import ContentProblems, NothingChanged

PAGE_TITLES = {"datenschutz": "Datenschutzerklärung", "impressum": "Impressum",
               "barrierefreiheit": "Erklärung zur Barrierefreiheit"}


@dataclass
class PagePlan:
    """A checked candidate text of one page."""

    page_id: str
    source: str
    path: str
    current: ContentRevision | None
    problems: list[Problem] = field(default_factory=list)
    page: PageSource | None = None

    @property
    def ok(self) -> bool:
        """True when the candidate passed every check and can be published."""
        return not self.problems and self.page is not None

    @property
    def preview_html(self) -> str:
        """The page body as it will be served (for the office's preview)."""
        return render_markdown(self.page.body).html if self.page else ""


def require_page_id(page_id: str) -> str:
    """The id if it names one of the site's pages; a German refusal otherwise."""
    if page_id not in PAGE_IDS:
        raise ServiceError("Diese Seite gibt es nicht.", "page_id", english="unknown page")
    return page_id


def current_page(page_id: str) -> ContentRevision | None:
    """The published revision of a page, or None when it was never published."""
    return latest_revision("page", require_page_id(page_id))


def plan_page_edit(page_id: str, source: str) -> PagePlan:
    """Check a new text of a page: alone first, then the whole content tree with it."""
    current = current_page(page_id)
    source = normalise_text(source)
    path = current.path if current else f"{PAGES_DIR}/{page_id}.md"
    plan = PagePlan(page_id, source, path, current)
    page, problems = parse_page(source, path)
    if problems:
        plan.problems = problems
        return plan
    if page.id != page_id:
        plan.problems = [Problem(path, page.id_line, f"Die id dieser Seite ist „{page_id}“ und darf nicht "
                                                      f"geändert werden (hier steht „{page.id}“).")]
        return plan
    result = check_candidate({path: source.encode("utf-8")})
    plan.problems = list(result.problems)
    if result.tree is not None:
        plan.page = result.tree.pages.get(page_id)
    return plan


def publish_page_source(page_id: str, source: str, *, base_revision_id: int | None, author: User | None,
                        message: str) -> ContentRevision:
    """Publish a checked page text as a new revision and write the file back into ``content/``."""
    message = clean_message(message)
    plan = plan_page_edit(page_id, source)
    if not plan.ok:
        raise ContentProblems(plan.problems, plan)
    current = plan.current
    if current is not None and current.id != base_revision_id:
        raise ServiceError(f"Konflikt: {current.author_label or 'Jemand anderes'} hat diese Seite inzwischen "
                           f"geändert (Revision {current.number}). Ihre Fassung wurde nicht veröffentlicht; bitte "
                           "laden Sie die Seite neu und übernehmen Sie Ihre Änderung.", "base_revision_id",
                           english="the page was published by somebody else meanwhile")
    revision = publish_page(plan.page, author=author, message=message)
    if revision is None:
        raise NothingChanged("Keine Änderung: Der Text entspricht der veröffentlichten Fassung.")
    write_files({plan.path: plan.source.encode("utf-8")})
    record_audit("page_published", actor=author, reason=message, target_type="page", target_id=page_id,
                 data={"revision": revision.number, "path": plan.path, "stand": plan.page.stand.isoformat()})
    return revision

