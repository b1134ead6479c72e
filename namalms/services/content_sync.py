"""Import a validated content tree into the database as published revisions.

A new revision is created only when a file's source hash changed, so running sync twice is
harmless and progress (which hangs on module ids) is never touched.
"""
from __future__ import annotations

import hashlib
import mimetypes
import posixpath
from dataclasses import dataclass, field

from sqlalchemy import func, select

from namalms.content.loader import resolve_image_path
from namalms.content.model import ContentTree, CourseSource, ModuleSource, PageSource
from namalms.content.render import render_markdown
from namalms.extensions import db
from namalms.models import Asset, CertificateDefinition, ContentRevision, Course, District, Module, Region, User
from namalms.models.base import utcnow

ASSET_URL = "/assets/{sha}{ext}"


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)  # "kind:key" of new revisions
    unchanged: int = 0
    retired: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.created)} new revision(s)", f"{self.unchanged} unchanged"]
        if self.retired:
            parts.append(f"{len(self.retired)} module(s) retired: {', '.join(self.retired)}")
        return ", ".join(parts)


def asset_url(sha: str, path: str) -> str:
    return ASSET_URL.format(sha=sha, ext=posixpath.splitext(path)[1].lower())


def store_asset(path: str, data: bytes) -> Asset:
    """Store an image once, by content hash."""
    sha = hashlib.sha256(data).hexdigest()
    asset = db.session.get(Asset, sha)
    if asset is None:
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        asset = Asset(sha256=sha, path=path, mime_type=mime, data=data)
        db.session.add(asset)
    return asset


def image_resolver(module_path: str, assets: dict[str, bytes]):
    """Map an image reference as written in a module ("img/x.png") to its served URL."""
    def resolve(src: str) -> str | None:
        path = resolve_image_path(module_path, src)
        data = assets.get(path) if path else None
        if data is None:
            return None
        return asset_url(store_asset(path, data).sha256, path)

    return resolve


def latest_revision(kind: str, key: str) -> ContentRevision | None:
    return db.session.scalar(
        select(ContentRevision).filter_by(kind=kind, key=key).order_by(ContentRevision.number.desc()).limit(1)
    )


def add_revision(kind: str, key: str, *, path: str, source: str, source_hash: str, html: str = "",
                 toc: list | None = None, meta: dict | None = None, author: User | None = None,
                 author_label: str = "", message: str = "") -> ContentRevision:
    """Append an immutable revision with the next number for this file."""
    number = (db.session.scalar(
        select(func.max(ContentRevision.number)).filter_by(kind=kind, key=key)) or 0) + 1
    revision = ContentRevision(
        kind=kind, key=key, number=number, path=path, source=source, source_hash=source_hash,
        html=html, toc=toc or [], meta=meta or {}, author_id=author.id if author else None,
        author_label=author_label or (author.name if author else ""), message=message,
        created_at=utcnow(),
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def render_module(module: ModuleSource, assets: dict[str, bytes]) -> tuple[str, list]:
    rendered = render_markdown(module.body, resolve_image=image_resolver(module.path, assets))
    toc = [{"level": e.level, "anchor": e.anchor, "title": e.title} for e in rendered.toc]
    return rendered.html, toc


def publish_module(module: ModuleSource, assets: dict[str, bytes], *, author: User | None = None,
                   author_label: str = "", message: str = "") -> ContentRevision | None:
    """Make this module source the served version. Returns the new revision, or None if unchanged."""
    row = db.session.get(Module, module.id)
    current = latest_revision("module", module.id)
    if row is not None and current is not None and current.source_hash == module.source_hash \
            and row.current_revision_id == current.id and not row.is_retired:
        _apply_module_fields(row, module)
        return None
    html, toc = render_module(module, assets)
    revision = add_revision(
        "module", module.id, path=module.path, source=module.source, source_hash=module.source_hash,
        html=html, toc=toc, meta=module.meta_dict(), author=author, author_label=author_label,
        message=message,
    )
    if row is None:
        row = Module(id=module.id, course_id=module.course_id, title=module.title)
        db.session.add(row)
    _apply_module_fields(row, module)
    row.is_retired = False
    row.current_revision_id = revision.id
    db.session.flush()
    return revision


def _apply_module_fields(row: Module, module: ModuleSource) -> None:
    row.course_id = module.course_id
    row.title = module.title
    row.summary = module.summary or ""
    row.position = module.order
    row.minutes = module.minutes
    row.is_required = module.is_required
    row.has_workshop = module.has_workshop
    row.workshop_title = module.workshop_title
    row.has_quiz = module.quiz is not None
    row.pass_mark = module.quiz.pass_mark if module.quiz else None


def publish_course(course: CourseSource, *, author: User | None = None, author_label: str = "") -> ContentRevision | None:
    row = db.session.get(Course, course.id)
    current = latest_revision("course", course.id)
    changed = current is None or current.source_hash != course.source_hash
    revision = None
    if changed:
        revision = add_revision("course", course.id, path=course.path, source=course.source,
                                source_hash=course.source_hash, author=author, author_label=author_label)
    if row is None:
        row = Course(id=course.id, title=course.title, short_title=course.short_title or course.title)
        db.session.add(row)
    row.title = course.title
    row.short_title = course.short_title or course.title
    row.position = course.order
    row.description_html = render_markdown(course.description).html
    row.audience_html = render_markdown(course.audience).html
    if revision is not None:
        row.current_revision_id = revision.id
    db.session.flush()
    return revision


def publish_page(page: PageSource, *, author: User | None = None, author_label: str = "",
                 message: str = "") -> ContentRevision | None:
    """Make this page text the served version (Datenschutzerklärung, Impressum, …); None if unchanged."""
    current = latest_revision("page", page.id)
    if current is not None and current.source_hash == page.source_hash:
        return None
    rendered = render_markdown(page.body)
    return add_revision(
        "page", page.id, path=page.path, source=page.source, source_hash=page.source_hash, html=rendered.html,
        toc=[{"level": e.level, "anchor": e.anchor, "title": e.title} for e in rendered.toc],
        meta={"title": page.title, "stand": page.stand.isoformat()}, author=author, author_label=author_label,
        message=message)


def sync_regions(tree: ContentTree) -> None:
    for position, region in enumerate(tree.regions):
        row = db.session.get(Region, region.id) or Region(id=region.id)
        row.name, row.description, row.position = region.name, region.description or "", position
        db.session.add(row)
    db.session.flush()
    for position, district in enumerate(tree.districts):
        row = db.session.get(District, district.id) or District(id=district.id)
        row.name, row.kind, row.region_id, row.position = district.name, district.kind, district.region_id, position
        db.session.add(row)
    db.session.flush()


def sync_tree(tree: ContentTree, *, author: User | None = None, author_label: str = "content sync") -> SyncReport:
    """Import everything in the tree; returns what changed. The caller commits."""
    report = SyncReport()

    def note(kind: str, key: str, revision) -> None:
        if revision is None:
            report.unchanged += 1
        else:
            report.created.append(f"{kind}:{key}")

    sync_regions(tree)
    current = latest_revision("regions", "regions")
    if current is None or current.source_hash != tree.regions_hash:
        note("regions", "regions", add_revision(
            "regions", "regions", path="regions.yml", source=tree.regions_source,
            source_hash=tree.regions_hash, author=author, author_label=author_label))
    else:
        report.unchanged += 1
    programme = tree.programme
    current = latest_revision("programme", "programme")
    if current is None or current.source_hash != programme.source_hash:
        note("programme", "programme", add_revision(
            "programme", "programme", path=programme.path, source=programme.source,
            source_hash=programme.source_hash,
            meta={"issuer": programme.issuer, "course_entry": programme.course_entry},
            author=author, author_label=author_label))
    else:
        report.unchanged += 1
    for course in tree.courses:
        note("course", course.id, publish_course(course, author=author, author_label=author_label))
    for module in tree.modules.values():
        note("module", module.id, publish_module(module, tree.assets, author=author, author_label=author_label))
    for page in tree.pages.values():
        note("page", page.id, publish_page(page, author=author, author_label=author_label))
    # A module file that disappeared is retired, never deleted: progress keeps its meaning.
    for row in db.session.scalars(select(Module).where(Module.id.not_in(list(tree.modules)))):
        if not row.is_retired:
            row.is_retired = True
            report.retired.append(row.id)
    db.session.flush()
    sync_definitions(tree)
    sync_reference(tree, note, author=author, author_label=author_label)
    return report


GLOSSARY_KEY = "glossar"


def sync_reference(tree: ContentTree, note, *, author: User | None = None, author_label: str = "") -> None:
    """Store the glossary and the work aids as revisions (only where the file changed); a work aid
    whose file is gone gets a revision that marks it removed, so its page answers 404."""
    if tree.glossary is not None:
        glossary = tree.glossary
        current = latest_revision("glossary", GLOSSARY_KEY)
        if current is None or current.source_hash != glossary.source_hash:
            terms = [{"term": t.term, "long": t.long, "text": t.text, "anchor": t.anchor} for t in glossary.terms]
            note("glossary", GLOSSARY_KEY, add_revision(
                "glossary", GLOSSARY_KEY, path=glossary.path, source=glossary.source,
                source_hash=glossary.source_hash, meta={"terms": terms}, author=author, author_label=author_label))
        else:
            note("glossary", GLOSSARY_KEY, None)
    for workaid in tree.workaids.values():
        current = latest_revision("workaid", workaid.id)
        if current is not None and current.source_hash == workaid.source_hash:
            note("workaid", workaid.id, None)
            continue
        rendered = render_markdown(workaid.body)
        note("workaid", workaid.id, add_revision(
            "workaid", workaid.id, path=workaid.path, source=workaid.source, source_hash=workaid.source_hash,
            html=rendered.html, toc=[{"level": e.level, "anchor": e.anchor, "title": e.title} for e in rendered.toc],
            meta={"title": workaid.title, "summary": workaid.summary, "modules": list(workaid.module_ids)},
            author=author, author_label=author_label))
    known = set(db.session.scalars(select(ContentRevision.key).where(ContentRevision.kind == "workaid").distinct()))
    for key in sorted(known - set(tree.workaids)):
        current = latest_revision("workaid", key)
        if current is not None and not (current.meta or {}).get("removed"):
            note("workaid", key, add_revision("workaid", key, path=current.path, source="", source_hash="",
                                              meta={"removed": True, "title": current.meta.get("title", key)},
                                              author=author, author_label=author_label))


def sync_definitions(tree) -> None:
    """Copy the programme's certificate definitions into the database; never delete one."""
    seen = set()
    for position, source in enumerate(tree.programme.certificates):
        row = db.session.get(CertificateDefinition, source.id)
        if row is None:
            row = CertificateDefinition(id=source.id)
            db.session.add(row)
        if row.rule_hash != source.rule_hash or row.title != source.title or row.statement != source.statement:
            row.updated_at = utcnow()
        row.title, row.statement, row.rule = source.title, source.statement, source.rule
        row.short_title = source.short_title
        row.rule_hash, row.position, row.is_active = source.rule_hash, position, True
        seen.add(source.id)
    for row in db.session.scalars(select(CertificateDefinition)):
        if row.id not in seen:
            row.is_active = False
    db.session.flush()
