"""Uploads: images into a course's ``img/`` folder, and whole course folders as ``.zip``."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from namalms.content import images as image_rules
from namalms.content.listing import ListingError, read_listing
from namalms.content.loader import COURSE_FILE, ID_PATTERN
from namalms.content.model import ContentTree, CourseSource, Problem
from namalms.content.yamlnodes import YamlError, load_yaml
from namalms.content.zipimport import ZipRejected, read_course_zip
from namalms.extensions import db
from namalms.models import ContentRevision, Course, Module, User
from namalms.services import ServiceError, trainer_courses
from namalms.services.audit import record_audit
from namalms.services.content_sync import latest_revision, publish_course, publish_module, store_asset
from namalms.services.publishing.files import (
    check_candidate, clean_message, content_root, course_folder, inside, write_files,
)
from namalms.services.publishing.overview import Affected, affected_learners
from namalms.services.publishing.problems import ContentProblems
from namalms.services.publishing.structure import lock_course


@dataclass
class ImageUpload:
    path: str
    name: str
    width: int
    height: int
    is_new: bool

    @property
    def markdown(self) -> str:
        """How a module of the course embeds the image."""
        return f"![Beschreibung des Bildes](img/{self.name})"


def course_images(course_id: str) -> list[str]:
    """The image file names in a course's ``img/`` folder."""
    folder = content_root() / course_folder(course_id) / "img"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def upload_image(course_id: str, filename: str, data: bytes, *, author: User | None = None,
                 author_label: str = "") -> ImageUpload:
    """Check, re-encode and store an image in ``<course>/img/`` and the asset table."""
    if db.session.get(Course, course_id) is None:
        raise ServiceError(f"Kurs „{course_id}“ ist unbekannt.", "course_id")
    try:
        clean = image_rules.clean_image(data)
    except image_rules.ImageRejected as error:
        raise ServiceError(f"„{filename}“: {error.message}", "image") from None
    name = image_rules.safe_image_name(filename, clean.extension)
    path = f"{course_folder(course_id)}/img/{name}"
    target = inside(content_root(), path)
    if target.exists():
        if target.read_bytes() == clean.data:
            return ImageUpload(path, name, clean.width, clean.height, is_new=False)
        raise ServiceError(f"Im Kurs gibt es schon ein Bild „{name}“. Bitte geben Sie der Datei einen anderen "
                           f"Namen – veröffentlichte Module zeigen weiter das bisherige Bild.", "image")
    result = check_candidate({path: clean.data})
    if result.problems:
        raise ContentProblems(result.problems)
    store_asset(path, clean.data)
    db.session.flush()
    write_files({path: clean.data})
    record_audit("image_uploaded", actor=author, actor_label=author_label, target_type="course",
                 target_id=course_id, data={"path": path, "bytes": len(clean.data), "format": clean.format,
                                            "width": clean.width, "height": clean.height})
    return ImageUpload(path, name, clean.width, clean.height, is_new=True)


@dataclass
class ModuleStatus:
    id: str
    title: str
    status: str  # "neu", "geändert", "unverändert", "wird zurückgezogen"
    affected: Affected


@dataclass
class ZipPlan:
    """The check of an uploaded course folder and what publishing it would change."""

    filename: str
    problems: list[Problem] = field(default_factory=list)
    folder: str | None = None
    course_id: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    ignored: tuple[str, ...] = ()
    tree: ContentTree | None = None
    modules: list[ModuleStatus] = field(default_factory=list)
    revisions: list[ContentRevision] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.tree is not None

    @property
    def changed_count(self) -> int:
        return sum(1 for m in self.modules if m.status != "unverändert")


def plan_course_zip(filename: str, data: bytes) -> ZipPlan:
    """Check a zipped course folder against the whole content tree; nothing is written."""
    plan = ZipPlan(filename=filename)

    def refuse(message: str) -> ZipPlan:
        plan.problems.append(Problem(filename, 0, message))
        return plan

    if not filename.lower().endswith(".zip"):
        return refuse("Bitte eine ZIP-Datei (.zip) mit einem Kursordner hochladen.")
    try:
        archive = read_course_zip(data)
    except ZipRejected as error:
        plan.problems = [Problem(filename, 0, message) for message in error.problems]
        return plan
    plan.ignored = archive.ignored
    course_id = _zip_course_id(archive.files["course.yml"])
    if course_id is None:
        return refuse("course.yml: Die Kurs-id („id: …“) fehlt oder ist ungültig.")
    existing = latest_revision("course", course_id)
    existing_folder = posixpath.dirname(existing.path) if existing else None
    folder = archive.folder or existing_folder or course_id
    if existing_folder and folder != existing_folder:
        return refuse(f"Der Kurs „{course_id}“ liegt im Ordner „{existing_folder}“, die ZIP-Datei enthält den "
                      f"Ordner „{folder}“. Bitte den Ordner in der ZIP-Datei umbenennen.")
    if not ID_PATTERN.match(folder):
        return refuse(f"Ordnername „{folder}“ ist nicht erlaubt: Kleinbuchstaben, Ziffern und Bindestriche.")
    plan.folder, plan.course_id = folder, course_id
    root = content_root()
    for inner, content in archive.files.items():
        path = f"{folder}/{inner}"
        if inner.startswith("img/"):
            content = _zip_image(path, content, root, plan)
            if content is None:
                continue
        plan.files[path] = content
    if plan.problems:
        return plan
    on_disk = root / folder
    if on_disk.is_dir():
        plan.removed = sorted(p.relative_to(root).as_posix() for p in on_disk.rglob("*")
                              if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
                              and p.relative_to(root).as_posix() not in plan.files)
    result = check_candidate(plan.files, replace_folder=folder)
    plan.problems = list(result.problems) + _zip_missing_modules(plan, archive.files["course.yml"])
    if result.tree is None or plan.problems:
        return plan
    plan.tree = result.tree
    _zip_module_statuses(plan, result.tree.course(course_id))
    return plan


def _zip_missing_modules(plan: ZipPlan, course_yml: bytes) -> list[Problem]:
    """Modules of the course that the zip neither lists nor retires: never dropped silently."""
    try:
        listing = read_listing(course_yml.decode("utf-8"))
    except (UnicodeDecodeError, ListingError):
        return []  # the content check reports the broken course.yml itself
    known = set(listing.ids) | set(listing.retired)
    rows = db.session.scalars(select(Module).where(Module.course_id == plan.course_id, Module.is_retired.is_(False))
                              .order_by(Module.position))
    return [Problem(f"{plan.folder}/{COURSE_FILE}", 0, (
        f"Modul „{row.id}“ („{row.title}“) fehlt in der ZIP-Datei. Module werden nie stillschweigend "
        f"entfernt: Nehmen Sie die Datei wieder auf oder tragen Sie das Modul in course.yml unter "
        f"„retired:“ ein, um es zurückzuziehen.")) for row in rows if row.id not in known]


def _zip_course_id(course_yml: bytes) -> str | None:
    try:
        node = load_yaml(course_yml.decode("utf-8"))
    except (UnicodeDecodeError, YamlError):
        return None
    value = node.get("id") if isinstance(node, dict) else None
    return value if isinstance(value, str) and ID_PATTERN.match(value) else None


def _zip_image(path: str, content: bytes, root: Path, plan: ZipPlan) -> bytes | None:
    """Unchanged images stay byte for byte; new ones are checked and re-encoded like uploads."""
    target = root / path
    if target.is_file() and target.read_bytes() == content:
        return content
    try:
        clean = image_rules.clean_image(content)
    except image_rules.ImageRejected as error:
        plan.problems.append(Problem(path, 0, error.message))
        return None
    suffix = posixpath.splitext(path)[1].lower()
    if suffix not in ((clean.extension, ".jpeg") if clean.format == "JPEG" else (clean.extension,)):
        plan.problems.append(Problem(path, 0, f"Der Inhalt ist ein {image_rules.FORMATS[clean.format][2]}-Bild, "
                                              f"die Endung „{suffix}“ passt nicht – bitte umbenennen."))
        return None
    return clean.data


def _zip_module_statuses(plan: ZipPlan, course: CourseSource) -> None:
    tree = plan.tree
    rows = {row.id: row for row in db.session.scalars(select(Module).where(Module.course_id == course.id))}
    counts = affected_learners([*course.module_ids, *course.retired_ids])
    for module in tree.modules_of(course.id):
        row = rows.get(module.id)
        current = row.current_revision if row else None
        if row is None:
            status = "neu"
        elif row.is_retired or current is None or current.source_hash != module.source_hash:
            status = "geändert"
        else:
            status = "unverändert"
        plan.modules.append(ModuleStatus(module.id, module.title, status, counts[module.id]))
    for module_id in course.retired_ids:
        row = rows.get(module_id)
        if row is not None and not row.is_retired:
            plan.modules.append(ModuleStatus(module_id, row.title, "wird zurückgezogen", counts[module_id]))


def publish_course_zip(filename: str, data: bytes, *, author: User | None = None, author_label: str = "",
                       message: str = "") -> ZipPlan:
    """Publish a zipped course folder: revisions for what changed, files written back, retirements.

    A trainer may replace only a course assigned to them; a trainer who brings a new course is
    assigned to it, so they can go on working on it."""
    message = clean_message(message, required=False) or f"Kursordner aus {filename} übernommen"
    plan = plan_course_zip(filename, data)
    if not plan.ok:
        raise ContentProblems(plan.problems, plan)
    is_new_course = db.session.get(Course, plan.course_id) is None
    if not is_new_course:
        trainer_courses.ensure_may_manage(author, plan.course_id)
    lock_course(plan.course_id)
    tree = plan.tree
    course = tree.course(plan.course_id)
    try:
        publish_course(course, author=author, author_label=author_label)
        for module in tree.modules_of(course.id):
            revision = publish_module(module, tree.assets, author=author, author_label=author_label, message=message)
            if revision is not None:
                plan.revisions.append(revision)
        for module_id in course.retired_ids:
            row = db.session.get(Module, module_id)
            if row is not None:
                row.is_retired = True
        for path, content in plan.files.items():
            if path.startswith(f"{plan.folder}/img/"):
                store_asset(path, content)
        db.session.flush()
    except IntegrityError:
        raise ServiceError("Gleichzeitig wurde dieser Kurs von jemand anderem veröffentlicht. Bitte laden Sie "
                           "die ZIP-Datei erneut hoch.") from None
    write_files({**plan.files, **{path: None for path in plan.removed}})
    if is_new_course and author is not None and author.role == "trainer":
        trainer_courses.assign(author, db.session.get(Course, plan.course_id), actor=author)
    record_audit("content_uploaded", actor=author, actor_label=author_label, reason=message,
                 target_type="course", target_id=plan.course_id,
                 data={"file": filename, "revisions": [f"{r.key}#{r.number}" for r in plan.revisions],
                       "removed": plan.removed, "retired": list(course.retired_ids)})
    return plan
