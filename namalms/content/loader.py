"""Load and validate the content tree (`content/`), reporting every problem with file and line.

``load_tree`` is the linter behind ``flask content check`` and the importer behind
``flask content sync``: it collects *all* problems instead of stopping at the first, so a
trainer fixes a file in one go. ``parse_module`` and ``check_module_in_tree`` run the same
checks for a single module uploaded through the web.

Ids, never file names, identify courses and modules: renaming a file changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import unquote, urlsplit

from namalms.content.checking import (  # noqa: F401  (MAX_*_BYTES, size_text: used via the loader too)
    ID_PATTERN,
    MAX_IMAGE_BYTES,
    MAX_TEXT_BYTES,
    Report as _Report,
    describe as _describe,
    parse_yaml as _parse_yaml,
    read_text as _read_text,
    sha256 as _sha256,
    size_text,
    split_front_matter as _split_front_matter,
    text_problem,
    type_message as _type_message,
    visible_children as _visible_children,
)
from namalms.content.model import (
    CertificateDefinitionSource,
    ContentTree,
    CourseSource,
    District,
    ImageReference,
    ModuleSource,
    PageSource,
    Problem,
    ProgrammeSource,
    Quiz,
    QuizOption,
    QuizQuestion,
    Region,
)
from namalms.content.reference import (
    GLOSSARY_FILE, WORKAIDS_DIR, check_links, load_glossary, load_workaids, scan_workaids,
)
from namalms.content.recent import RecentResults
from namalms.content.render import dropped_elements, extract_images, is_external_or_absolute, url_scheme
from namalms.domain.quiz import answer_leaks
from namalms.domain.rules import Catalog, CourseInfo, find_certificate_cycles, validate_rule
from namalms.formatting import parse_date
from namalms.content.yamlnodes import LineDict, LineList, to_plain

PROGRAMME_FILE = "programme.yml"
REGIONS_FILE = "regions.yml"
COURSE_FILE = "course.yml"
ROOT_FILES = frozenset({PROGRAMME_FILE, REGIONS_FILE, "README.md"})
PAGES_DIR = "seiten"  # the site's own pages, see _load_pages
PAGE_IDS = ("datenschutz", "impressum", "barrierefreiheit")
PAGE_KEYS = ("id", "title", "stand")
IMAGE_DIR = "img"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})


DISTRICT_KINDS = ("kreis", "kreisfreie-stadt", "ausserhalb")
QUIZ_KINDS = ("single", "multiple")
DEFAULT_PASS_MARK = 70

MODULE_KEYS = ("id", "title", "order", "minutes", "summary", "objectives", "sdgs", "workshop",
               "workshop_title", "quiz")
MODULE_REQUIRED = ("id", "title", "order", "minutes", "objectives", "sdgs")
QUIZ_KEYS = ("pass_mark", "draw", "questions")
QUESTION_KEYS = ("id", "type", "question", "options", "explanation")
OPTION_KEYS = ("text", "correct")
COURSE_KEYS = ("id", "title", "short_title", "order", "description", "audience", "modules",
               "retired")
COURSE_REQUIRED = ("id", "title", "order", "modules")
COURSE_MODULE_KEYS = ("id", "required")
REGIONS_KEYS = ("regions", "districts")
REGION_KEYS = ("id", "name", "description")
DISTRICT_KEYS = ("id", "name", "kind", "region")
PROGRAMME_KEYS = ("issuer", "certificates", "course_entry")
PROGRAMME_REQUIRED = ("issuer", "certificates")
ISSUER_KEYS = ("name", "partner", "commissioned_by", "programme", "place", "signatory")
CERTIFICATE_KEYS = ("id", "title", "short_title", "statement", "rule")
CERTIFICATE_REQUIRED = ("id", "title", "statement", "rule")

_IMAGE_PATH = re.compile(r"^[^/]+/img/[^/]+$")
_IMAGE_SIGNATURES = {
    ".png": ("PNG", lambda data: data.startswith(b"\x89PNG\r\n\x1a\n")),
    ".jpg": ("JPEG", lambda data: data.startswith(b"\xff\xd8\xff")),
    ".jpeg": ("JPEG", lambda data: data.startswith(b"\xff\xd8\xff")),
    ".webp": ("WebP", lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP"),
}


@dataclass(frozen=True)
class LoadResult:
    """Outcome of :func:`load_tree`: the tree if and only if there are no problems.

    ``warnings`` (message starting "Warnung:") never stop publishing; they point at things an
    author should look at, such as a quiz whose authored order gives the answers away.
    """

    tree: ContentTree | None
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)

    @property
    def is_ok(self) -> bool:
        """True when the tree loaded without a single problem."""
        return not self.problems


# --- public API ------------------------------------------------------------------------------


def load_tree(root: Path) -> LoadResult:
    """Load, validate and cross-check the whole content tree below ``root``.

    Returns every problem found in any file (sorted by path and line); the tree is only built
    when there are none, so callers never see half-valid content.
    """
    root = Path(root)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if not root.is_dir():
        return LoadResult(None, [Problem(".", 1, f"Inhaltsordner „{root}“ nicht gefunden")])
    layout = _scan_layout(root, problems)
    assets = _read_assets(root, layout, problems)
    regions = _load_regions(root, problems)
    courses = [_load_course(root, folder, problems) for folder in layout.course_folders]
    modules = [
        _load_module(root, path, course, problems, warnings)
        for course in courses
        for path in layout.module_files.get(course.folder, ())
    ]
    _check_courses(courses, problems)
    _check_modules(courses, modules, assets, problems)
    programme = _load_programme(root, courses, modules, regions, problems)
    module_ids = {draft.id for draft in modules if draft.id}
    glossary = load_glossary(root, problems) if layout.has_glossary else None
    workaids = load_workaids(root, layout.workaid_files, module_ids, problems)
    check_links(modules, glossary, workaids, module_ids, problems)
    pages = _load_pages(root, problems)
    problems = sorted(problems, key=lambda problem: (problem.path, problem.line))
    warnings = sorted(warnings, key=lambda problem: (problem.path, problem.line))
    if problems:
        return LoadResult(None, problems, warnings)
    tree = _build_tree(root, programme, regions, courses, modules, assets)
    return LoadResult(replace(tree, glossary=glossary, workaids=workaids, pages=pages), [], warnings)


def parse_module(text: str, path: str, course_id: str) -> tuple[ModuleSource | None, list[Problem]]:
    """Parse and validate one module file on its own (front matter, quiz, body images).

    ``path`` is the content-root-relative path used in problems and to resolve image paths.
    Returns the module (``is_required`` defaults to True) or None together with the problems.
    A text above ``MAX_TEXT_BYTES`` or with a NUL byte is refused at once, unparsed.
    """
    refusal = text_problem(text.encode("utf-8", errors="replace"), path)
    if refusal is not None:
        return None, [refusal]
    draft = _parse_module_draft(text, path, course_id)
    return draft.module, list(draft.report.problems)


def check_module_in_tree(module: ModuleSource, tree: ContentTree) -> list[Problem]:
    """Cross-check a single (uploaded) module against an existing tree.

    Finds an id used by another file, images missing from ``tree.assets`` and an ``order``
    that does not match the module's position in its course's ``course.yml``.
    """
    report = _Report(module.path)
    for other in tree.modules.values():
        if other.id == module.id and other.path != module.path:
            report.add(module.id_line, _duplicate_id_message(module.id, other.path, other.id_line))
    for ref in module.image_refs:
        if ref.path not in tree.assets:
            report.add(ref.line, _missing_image_message(ref.src, ref.path))
    listing = {m: course for course in tree.courses for m in course.module_ids}
    own_course = tree.course(module.course_id)
    if own_course is None:
        report.add(module.id_line, f"Kurs „{module.course_id}“ ist unbekannt")
    elif module.id in own_course.retired_ids:
        pass  # a retired module keeps its file; its order no longer matters
    elif module.id not in own_course.module_ids:
        other = listing.get(module.id)
        report.add(
            module.id_line,
            _listed_elsewhere_message(module.id, own_course.path, other.path)
            if other is not None
            else _not_listed_message(module.id, own_course.path),
        )
    else:
        position = own_course.module_ids.index(module.id) + 1
        if module.order != position:
            report.add(module.order_line, _order_message(module.order, position, own_course.path))
    return report.problems


def resolve_image_path(module_path: str, src: str) -> str | None:
    """Map an image src as written in a module to its content-root-relative path.

    ``resolve_image_path("grundlagenkurs/agenda.md", "img/x.png")`` → ``grundlagenkurs/img/x.png``.
    Returns None for external or absolute sources and for paths leaving the content root.
    """
    if not src.strip() or is_external_or_absolute(src):
        return None
    parts = urlsplit(src.strip())  # parses: is_external_or_absolute said so
    relative = unquote(parts.path).replace("\\", "/")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(module_path), relative))
    if joined == ".." or joined.startswith(("../", "/")) or joined == ".":
        return None
    return joined


# --- problem collection and typed access to YAML nodes ---------------------------------------


# --- layout and files ------------------------------------------------------------------------


@dataclass
class _Layout:
    """Which files the tree holds, by role (paths relative to the root, posix)."""

    course_folders: list[str] = field(default_factory=list)
    module_files: dict[str, list[str]] = field(default_factory=dict)
    image_files: list[str] = field(default_factory=list)
    has_glossary: bool = False
    workaid_files: list[str] = field(default_factory=list)


def _scan_layout(root: Path, problems: list[Problem]) -> _Layout:
    """Sort the files of the tree into roles and report everything in an unexpected place.

    Hidden files (``.gitkeep``, ``.DS_Store``) are ignored: editors and git put them there.
    """
    layout = _Layout()
    for entry in _visible_children(root):
        if entry.is_dir() and entry.name == PAGES_DIR:
            continue  # read by _load_pages
        if entry.is_dir() and entry.name == WORKAIDS_DIR:
            layout.workaid_files = scan_workaids(root, entry, problems)
        elif entry.is_dir():
            layout.course_folders.append(entry.name)
            layout.module_files[entry.name] = _scan_course_folder(root, entry, layout, problems)
        elif entry.name == GLOSSARY_FILE:
            layout.has_glossary = True
        elif entry.name not in ROOT_FILES:
            problems.append(Problem(entry.name, 1, "unerwartete Datei – im Inhaltsordner sind "
                                    "nur programme.yml, regions.yml, glossar.yml, README.md, die "
                                    "Ordner vorlagen/ und seiten/ und Kursordner erlaubt"))
    return layout


def _scan_course_folder(root: Path, folder: Path, layout: _Layout,
                        problems: list[Problem]) -> list[str]:
    """Return the module files of one course folder; collect images; report strays."""
    modules = []
    for entry in _visible_children(folder):
        relative = entry.relative_to(root).as_posix()
        if entry.is_dir() and entry.name == IMAGE_DIR:
            layout.image_files.extend(_scan_image_folder(root, entry, problems))
        elif entry.is_dir():
            problems.append(Problem(relative, 1, "unerwarteter Ordner – in einem Kursordner ist "
                                    "nur der Bildordner img/ erlaubt"))
        elif entry.suffix == ".md":
            modules.append(relative)
        elif entry.name != COURSE_FILE:
            problems.append(Problem(relative, 1, "unerwartete Datei – in einem Kursordner sind "
                                    "nur course.yml, Moduldateien (*.md) und der Ordner img/ "
                                    "erlaubt"))
    return modules


def _scan_image_folder(root: Path, folder: Path, problems: list[Problem]) -> list[str]:
    images = []
    for entry in _visible_children(folder):
        relative = entry.relative_to(root).as_posix()
        if entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES:
            images.append(relative)
        else:
            problems.append(Problem(relative, 1, "unerwarteter Eintrag in img/ – erlaubt sind "
                                    "Bilder im Format PNG, JPEG oder WebP (.png, .jpg, .jpeg, "
                                    ".webp)"))
    return images


def _read_assets(root: Path, layout: _Layout, problems: list[Problem]) -> dict[str, bytes]:
    """Read every image and check that its bytes match its file extension."""
    assets = {}
    for relative in layout.image_files:
        size = (root / relative).stat().st_size
        if size > MAX_IMAGE_BYTES:
            problems.append(Problem(relative, 1, f"Bild ist zu groß ({size_text(size)}; erlaubt sind höchstens "
                                                 f"{size_text(MAX_IMAGE_BYTES)})"))
            continue
        data = (root / relative).read_bytes()
        label, matches = _IMAGE_SIGNATURES[Path(relative).suffix.lower()]
        if not matches(data):
            problems.append(Problem(relative, 1, f"Datei ist kein gültiges {label}-Bild"))
            continue
        assets[relative] = data
    return assets


# --- the site's own pages (seiten/) -----------------------------------------------------------


def _load_pages(root: Path, problems: list[Problem]) -> dict[str, PageSource]:
    """Read ``seiten/*.md``: front matter ``id`` (one of PAGE_IDS), ``title``, ``stand`` (a date).

    The folder is optional; each known page at most once. The body is Markdown.
    """
    folder = root / PAGES_DIR
    pages: dict[str, PageSource] = {}
    if not folder.is_dir():
        return pages
    for entry in _visible_children(folder):
        relative = entry.relative_to(root).as_posix()
        if entry.is_dir() or entry.suffix != ".md":
            problems.append(Problem(relative, 1, "unerwarteter Eintrag – in seiten/ sind nur Seiten als "
                                    "Markdown-Dateien (*.md) erlaubt"))
            continue
        text = _read_text(root, relative, problems)
        if text is None:
            continue
        page, found = parse_page(text, relative)
        problems.extend(found)
        if page is None:
            continue
        if page.id in pages:
            problems.append(Problem(relative, page.id_line, f"Seite „{page.id}“ gibt es bereits in "
                                    f"{pages[page.id].path}"))
            continue
        pages[page.id] = page
    return pages


def parse_page(text: str, path: str) -> tuple[PageSource | None, list[Problem]]:
    """Parse and check one page file on its own (for the loader and the office's editor)."""
    report = _Report(path)
    split = _split_front_matter(text, report)
    if split is None:
        return None, report.problems
    front_matter, body, _ = split
    node = _parse_yaml(front_matter, report, line_offset=1)
    if report.problems:
        return None, report.problems
    meta = report.mapping(node, 2, "Front Matter")
    if meta is None:
        return None, report.problems
    report.keys(meta, PAGE_KEYS, PAGE_KEYS)
    page_id = report.ident(meta)
    if page_id is not None and page_id not in PAGE_IDS:
        report.add(meta.line_of("id"), f"unbekannte Seite „{page_id}“ – erlaubt sind: {', '.join(PAGE_IDS)}")
    title = report.text(meta, "title")
    stand = meta.get("stand")
    if "stand" in meta and not isinstance(stand, date):
        try:
            stand = parse_date(str(stand)) if isinstance(stand, str) else None
        except ValueError:
            stand = None
        if stand is None:
            report.add(meta.line_of("stand"), _type_message("stand", "ein Datum wie 2026-01-31",
                                                            meta.get("stand")))
    if report.problems or page_id is None or title is None:
        return None, report.problems
    return PageSource(id=page_id, title=title, stand=stand, path=path, body=body, source=text,
                      source_hash=_sha256(text), id_line=meta.line_of("id")), []


# --- modules ---------------------------------------------------------------------------------


@dataclass
class _ModuleDraft:
    """What could be read from a module file, even if it has problems."""

    path: str
    report: _Report
    id: str | None = None
    id_line: int = 1
    order: int | None = None
    order_line: int = 1
    module: ModuleSource | None = None
    guessed_id: str | None = None  # from an unparseable file: counts as existing, nothing more


def _load_module(root: Path, path: str, course: _CourseDraft,
                 problems: list[Problem], warnings: list[Problem]) -> _ModuleDraft:
    text = _read_text(root, path, problems)
    if text is None:
        draft = _ModuleDraft(path, _Report(path))
        with open(root / path, "rb") as handle:  # enough to find the id line of a broken or huge file
            text = handle.read(64 * 1024).decode("utf-8", errors="replace")
    else:
        draft = _parse_module_draft(text, path, course.id or course.folder)
        problems.extend(draft.report.problems)
        warnings.extend(draft.report.warnings)
    if draft.id is None:
        draft.guessed_id = _guess_id(text)
    return draft


# The `id:` line of a front matter, found by text alone (even in a file YAML cannot read).
_ID_LINE = re.compile(r"^id:[ \t]*[\"']?([^\s\"'#]+)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)


def find_module_id(text: str) -> tuple[str | None, int]:
    """The ``id:`` written in a module's front matter and its line, even if the file is broken."""
    match = _ID_LINE.search(text)
    if match is None:
        return None, 1
    return match.group(1), text.count("\n", 0, match.start()) + 1


def _guess_id(text: str) -> str | None:
    """The id of a module file whose front matter cannot be parsed, if it is a valid id.

    Only used so that the course.yml listing it does not additionally report a missing file.
    """
    found, _ = find_module_id(text)
    return found if found and ID_PATTERN.match(found) else None


_parsed = RecentResults(256)


def _parse_module_draft(text: str, path: str, course_id: str) -> _ModuleDraft:
    """Parse one module file as far as possible, collecting its problems.

    Parsing renders the Markdown (for its images), most of what loading the tree costs; it
    depends only on the text, the path and the course, so this process keeps the last results
    and a tree loaded again (``content sync``, the next check, start-up) parses only what changed.
    """
    key = (hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), path, course_id)
    draft = _parsed.get(key, lambda: _parse_module_draft_now(text, path, course_id))
    return replace(draft)  # a copy: the loader notes a guessed id on broken files


def parsed_modules(paths: set[str]) -> dict:
    """The kept parse results of the module files at ``paths`` (to seed another process with)."""
    return _parsed.where(lambda key: key[1] in paths)


def keep_parsed_modules(entries: dict) -> None:
    """Take parse results from another process (see :func:`parsed_modules`)."""
    _parsed.update(entries)


def load_tree_seeded(root: Path, parsed: dict) -> tuple[LoadResult, dict]:
    """:func:`load_tree` in a fresh process that is handed the parent's parse results; returns
    the result and the parse results this call added, for the parent to keep."""
    keep_parsed_modules(parsed)
    result = load_tree(root)
    return result, _parsed.where(lambda key: key not in parsed)


def _parse_module_draft_now(text: str, path: str, course_id: str) -> _ModuleDraft:
    draft = _ModuleDraft(path, _Report(path))
    report = draft.report
    split = _split_front_matter(text, report)
    if split is None:
        return draft
    front_matter, body, body_line = split
    # The opening `---` is line 1, so line 1 of the front matter is line 2 of the file.
    node = _parse_yaml(front_matter, report, line_offset=1)
    if report.problems:
        return draft
    meta = report.mapping(node, 2, "Front Matter")
    if meta is None:
        return draft
    report.keys(meta, MODULE_KEYS, MODULE_REQUIRED)
    draft.id, draft.id_line = report.ident(meta), meta.line_of("id")
    draft.order = report.integer(meta, "order", minimum=1)
    draft.order_line = meta.line_of("order")
    title = report.text(meta, "title")
    minutes = report.integer(meta, "minutes", minimum=1)
    summary = report.text(meta, "summary", required=False) or ""
    objectives = _objectives(meta, report)
    sdgs = _sdgs(meta, report)
    has_workshop = report.boolean(meta, "workshop", default=False)
    workshop_title = report.text(meta, "workshop_title", required=False)
    if workshop_title is not None and not has_workshop:
        report.add(meta.line_of("workshop_title"),
                   "„workshop_title“ ist nur zusammen mit „workshop: true“ sinnvoll")
    quiz = _quiz(meta, report) if "quiz" in meta else None
    image_refs = _image_references(body, body_line, path, report)
    for line, element in dropped_elements(body):
        report.add(body_line + line - 1, (
            f"HTML-Element <{element}> ist in Modulen nicht erlaubt: Es wird samt Inhalt entfernt, und ohne "
            f"</{element}> verschwände alles, was danach folgt. Bitte entfernen oder als Code in `…` schreiben."))
    if report.problems:
        return draft
    draft.module = ModuleSource(
        id=draft.id, course_id=course_id, path=path, title=title, order=draft.order,
        minutes=minutes, summary=summary, objectives=objectives, sdgs=sdgs,
        has_workshop=has_workshop, workshop_title=workshop_title, quiz=quiz, body=body,
        source=text, source_hash=_sha256(text),
        images=tuple(dict.fromkeys(ref.path for ref in image_refs)), is_required=True,
        id_line=draft.id_line, order_line=draft.order_line, image_refs=image_refs,
    )  # type: ignore[arg-type]
    return draft


def _objectives(meta: LineDict, report: _Report) -> tuple[str, ...]:
    if "objectives" not in meta:
        return ()
    items = report.sequence(meta["objectives"], meta.line_of("objectives"), "objectives")
    if items is None:
        return ()
    if not items:
        report.add(meta.line_of("objectives"), "„objectives“ braucht mindestens ein Lernziel")
    objectives = []
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            report.add(items.line_of(index), _type_message("objectives", "eine Liste von Texten",
                                                           item, " (Lernziel)"))
        else:
            objectives.append(item.strip())
    return tuple(objectives)


def _sdgs(meta: LineDict, report: _Report) -> tuple[int, ...]:
    if "sdgs" not in meta:
        return ()
    value = meta["sdgs"]
    items = report.sequence(value, meta.line_of("sdgs"), "sdgs")
    if items is None:
        return ()
    sdgs: list[int] = []
    for index, item in enumerate(items):
        line = items.line_of(index)
        if isinstance(item, bool) or not isinstance(item, int):
            report.add(line, _type_message("sdgs", "eine Liste von Zahlen (1–17)", item))
        elif not 1 <= item <= 17:
            report.add(line, f"SDG {item} gibt es nicht – die Agenda 2030 hat die Ziele 1 bis 17")
        elif item in sdgs:
            report.add(line, f"SDG {item} ist doppelt aufgeführt")
        else:
            sdgs.append(item)
    return tuple(sdgs)


def _quiz(meta: LineDict, report: _Report) -> Quiz | None:
    """Validate the self-check; returns None if anything is wrong (problems are reported)."""
    node = report.mapping(meta["quiz"], meta.line_of("quiz"), "quiz")
    if node is None:
        return None
    before = len(report.problems)
    report.keys(node, QUIZ_KEYS, ("questions",), " im Quiz")
    pass_mark = report.integer(node, "pass_mark", minimum=1, maximum=100)
    if "pass_mark" not in node:
        pass_mark = DEFAULT_PASS_MARK
    questions: list[QuizQuestion] = []
    if "questions" in node:
        items = report.sequence(node["questions"], node.line_of("questions"), "questions")
        if items is not None and not items:
            report.add(node.line_of("questions"), "Das Quiz braucht mindestens eine Frage")
        first_lines: dict[str, int] = {}
        for index, item in enumerate(items or ()):
            question = _question(item, items.line_of(index), report)  # type: ignore[union-attr]
            if question is None:
                continue
            line = items.line_of(index)  # type: ignore[union-attr]
            if question.id in first_lines:
                report.add(line, f"Frage-id „{question.id}“ ist doppelt (zuerst in Zeile "
                                 f"{first_lines[question.id]})")
                continue
            first_lines[question.id] = line
            questions.append(question)
    draw = report.integer(node, "draw", minimum=1) if "draw" in node else None
    if draw is not None and questions and draw > len(questions):
        report.add(node.line_of("draw"), f"„draw“ ist {draw}, das Quiz hat aber nur {len(questions)} "
                                         f"Fragen – ein Versuch kann nicht mehr Fragen ziehen, als es gibt")
    if len(report.problems) > before or pass_mark is None:
        return None
    quiz = Quiz(pass_mark=pass_mark, questions=tuple(questions), draw=draw)
    for warning in answer_leaks(quiz):
        report.warn(meta.line_of("quiz"), warning)
    return quiz


def _question(item: Any, line: int, report: _Report) -> QuizQuestion | None:
    node = report.mapping(item, line, "questions", " (Quizfrage)")
    if node is None:
        return None
    before = len(report.problems)
    label = node.get("id")
    where = f" (Frage „{label}“)" if isinstance(label, str) else " (Quizfrage)"
    report.keys(node, QUESTION_KEYS, QUESTION_KEYS, where)
    question_id = report.ident(node, where=where)
    kind = report.text(node, "type", where=where)
    if kind is not None and kind not in QUIZ_KINDS:
        report.add(node.line_of("type"), f"„type“ muss „single“ oder „multiple“ sein, "
                                         f"gefunden: „{kind}“{where}")
    text = report.text(node, "question", where=where)
    explanation = report.text(node, "explanation", where=where)
    options = _options(node, where, report) if "options" in node else ()
    if options:
        _check_correct_options(options, kind, node.line_of("options"), where, report)
    if len(report.problems) > before:
        return None
    return QuizQuestion(id=question_id, kind=kind, question=text, options=options,
                        explanation=explanation)  # type: ignore[arg-type]


def _options(node: LineDict, where: str, report: _Report) -> tuple[QuizOption, ...]:
    items = report.sequence(node["options"], node.line_of("options"), "options", where)
    if items is None:
        return ()
    if len(items) < 2:
        report.add(node.line_of("options"), f"Eine Frage braucht mindestens zwei "
                                            f"Antwortoptionen, gefunden: {len(items)}{where}")
    options: list[QuizOption] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        line = items.line_of(index)
        option = report.mapping(item, line, "options", f" (Antwortoption){where}")
        if option is None:
            continue
        report.keys(option, OPTION_KEYS, ("text",), f" in einer Antwortoption{where}")
        if isinstance(option.get("text"), (int, float)) and not isinstance(option["text"], bool):
            report.add(option.line_of("text"), f"„text“ muss Text sein, gefunden: "
                       f"{_describe(option['text'])} – bitte in Anführungszeichen setzen, "
                       f"z. B. text: \"{option['text']}\"{where}")
            continue
        text = report.text(option, "text", where=where)
        is_correct = report.boolean(option, "correct", default=False, where=where)
        if text is None:
            continue
        if text in seen:
            report.add(line, f"Antwortoption „{text}“ ist doppelt (zuerst in Zeile "
                             f"{seen[text]}){where}")
            continue
        seen[text] = line
        options.append(QuizOption(text=text, is_correct=is_correct))
    return tuple(options)


def _check_correct_options(options: Sequence[QuizOption], kind: str | None, line: int,
                           where: str, report: _Report) -> None:
    correct = sum(option.is_correct for option in options)
    if kind == "single" and correct != 1:
        report.add(line, f"Eine Frage vom Typ „single“ braucht genau eine richtige Antwort "
                         f"(correct: true), gefunden: {correct}{where}")
    elif kind == "multiple" and correct == 0:
        report.add(line, f"Eine Frage vom Typ „multiple“ braucht mindestens eine richtige "
                         f"Antwort (correct: true){where}")


def _image_references(body: str, body_line: int, path: str,
                      report: _Report) -> tuple[ImageReference, ...]:
    """Check every image of the body (source, alt text, location) and locate it by line."""
    refs = []
    search_from: dict[str, int] = {}
    try:
        images = extract_images(body)
    except RecursionError:  # Python-Markdown recurses once per level of nested lists or quotes
        report.add(body_line, "Der Text ist zu tief verschachtelt (Listen oder Zitate in sehr vielen Ebenen) und "
                              "lässt sich nicht darstellen – bitte die Gliederung vereinfachen")
        return ()
    for image in images:
        position = body.find(image.src, search_from.get(image.src, 0)) if image.src else -1
        if position >= 0:
            search_from[image.src] = position + len(image.src)
        line = body_line + (body.count("\n", 0, position) if position >= 0 else 0)
        resolved = _check_image(image.src, image.alt, path, line, report)
        if resolved is not None:
            refs.append(ImageReference(src=image.src, path=resolved, line=line))
    return tuple(refs)


def _check_image(src: str, alt: str | None, path: str, line: int, report: _Report) -> str | None:
    """Report what is wrong with one image reference; return its resolved path if usable."""
    shown = src if len(src) <= 60 else src[:59] + "…"
    if not alt or not alt.strip():
        report.add(line, f"Bild „{shown}“ hat keinen Alternativtext – bitte beschreiben, was es "
                         f"zeigt: ![Beschreibung]({shown})")
    if not src.strip():
        report.add(line, "Bild ohne Quelle (src fehlt)")
        return None
    scheme = url_scheme(src)
    if scheme is None:
        report.add(line, f"Bildadresse „{shown}“ ist keine gültige Adresse – bitte das Bild im Ordner img/ "
                         f"ablegen und relativ einbinden, z. B. img/bild.png")
        return None
    if scheme == "data":
        report.add(line, "eingebettete data:-Bilder sind nicht erlaubt – bitte als Datei im "
                         "Ordner img/ ablegen")
        return None
    if scheme or src.strip().startswith("//"):
        report.add(line, f"externes Bild „{shown}“ ist nicht erlaubt (die Plattform lädt nichts "
                         f"von fremden Servern) – bitte im Ordner img/ ablegen")
        return None
    if is_external_or_absolute(src):
        report.add(line, f"absoluter Bildpfad „{shown}“ – Bilder bitte relativ einbinden, "
                         f"z. B. img/bild.png")
        return None
    resolved = resolve_image_path(path, src)
    if resolved is None:
        report.add(line, f"Bildpfad „{shown}“ zeigt aus dem Inhaltsordner heraus")
        return None
    if not _IMAGE_PATH.match(resolved) or Path(resolved).suffix.lower() not in IMAGE_SUFFIXES:
        report.add(line, f"Bild „{shown}“ muss im Ordner img/ eines Kurses liegen und ein PNG-, "
                         f"JPEG- oder WebP-Bild sein")
        return None
    return resolved


# --- courses ---------------------------------------------------------------------------------


@dataclass
class _CourseEntry:
    module_id: str
    line: int
    position: int
    is_required: bool
    is_retired: bool = False  # listed under `retired:`: file kept, hidden from new learners


@dataclass
class _CourseDraft:
    """What could be read from a course.yml, even if it has problems."""

    folder: str
    path: str
    id: str | None = None
    id_line: int = 1
    order: int | None = None
    order_line: int = 1
    title: str | None = None
    entries: list[_CourseEntry] | None = None  # None: the module list could not be read
    entries_complete: bool = False  # every item of the module list could be read
    retired: list[_CourseEntry] = field(default_factory=list)
    has_problems: bool = False
    course: CourseSource | None = None


def _load_course(root: Path, folder: str, problems: list[Problem]) -> _CourseDraft:
    path = f"{folder}/{COURSE_FILE}"
    draft = _CourseDraft(folder, path)
    text = _read_text(root, path, problems)
    if text is None:
        return draft
    report = _Report(path)
    node = _parse_yaml(text, report)
    if not report.problems:
        node = report.mapping(node, 1, COURSE_FILE)
    if node is not None:
        _parse_course(node, text, draft, report)
    draft.has_problems = bool(report.problems)
    problems.extend(report.problems)
    return draft


def _parse_course(node: LineDict, text: str, draft: _CourseDraft, report: _Report) -> None:
    report.keys(node, COURSE_KEYS, COURSE_REQUIRED)
    draft.id, draft.id_line = report.ident(node), node.line_of("id")
    draft.title = report.text(node, "title")
    draft.order, draft.order_line = report.integer(node, "order", minimum=1), node.line_of("order")
    short_title = report.text(node, "short_title", required=False)
    description = report.text(node, "description", required=False) or ""
    audience = report.text(node, "audience", required=False) or ""
    if "modules" in node:
        before = len(report.problems)
        draft.entries = _course_entries(node, report)
        draft.entries_complete = draft.entries is not None and len(report.problems) == before
    if node.get("retired") is not None:
        draft.retired = _retired_entries(node, draft.entries or [], report)
    if report.problems:
        return
    draft.course = CourseSource(
        id=draft.id, path=draft.path, title=draft.title, short_title=short_title or draft.title,
        order=draft.order, description=description, audience=audience,
        module_ids=tuple(entry.module_id for entry in draft.entries or ()),
        required_ids=frozenset(e.module_id for e in draft.entries or () if e.is_required),
        source=text, source_hash=_sha256(text),
        retired_ids=tuple(entry.module_id for entry in draft.retired),
    )  # type: ignore[arg-type]


def _course_entries(node: LineDict, report: _Report) -> list[_CourseEntry] | None:
    items = report.sequence(node["modules"], node.line_of("modules"), "modules")
    if items is None:
        return None
    entries: list[_CourseEntry] = []
    first_lines: dict[str, int] = {}
    for index, item in enumerate(items):
        line = items.line_of(index)
        if not isinstance(item, LineDict):
            report.add(line, f"Einträge in „modules“ haben die Form „- id: …“, gefunden: "
                             f"{_describe(item)}")
            continue
        entry = item
        report.keys(entry, COURSE_MODULE_KEYS, ("id",), " in der Modulliste")
        module_id = report.ident(entry)
        is_required = report.boolean(entry, "required", default=True)
        if module_id is None:
            continue
        if module_id in first_lines:
            report.add(line, f"Modul „{module_id}“ ist doppelt aufgeführt (zuerst in Zeile "
                             f"{first_lines[module_id]})")
            continue
        first_lines[module_id] = line
        entries.append(_CourseEntry(module_id, line, len(entries) + 1, is_required))
    return entries


def _retired_entries(node: LineDict, listed: list[_CourseEntry],
                     report: _Report) -> list[_CourseEntry]:
    """Read `retired:`, a list of module ids that stay as files but are no longer offered."""
    items = report.sequence(node["retired"], node.line_of("retired"), "retired")
    entries: list[_CourseEntry] = []
    listed_ids = {entry.module_id for entry in listed}
    first_lines: dict[str, int] = {}
    for index, item in enumerate(items or ()):
        line = items.line_of(index)  # type: ignore[union-attr]
        if not isinstance(item, str) or not ID_PATTERN.match(item):
            report.add(line, f"Einträge in „retired“ sind Modul-ids wie „- gk-altes-modul“, gefunden: "
                             f"{_describe(item)}")
        elif item in first_lines:
            report.add(line, f"Modul „{item}“ ist doppelt unter „retired“ aufgeführt (zuerst in Zeile "
                             f"{first_lines[item]})")
        elif item in listed_ids:
            report.add(line, f"Modul „{item}“ steht unter „modules“ und unter „retired“ – ein "
                             f"zurückgezogenes Modul bitte nur unter „retired“ aufführen")
        else:
            first_lines[item] = line
            entries.append(_CourseEntry(item, line, 0, False, is_retired=True))
    return entries


def _check_courses(courses: list[_CourseDraft], problems: list[Problem]) -> None:
    """Course ids must be unique; two courses in the same catalogue position are ambiguous."""
    for key, label in (("id", "id"), ("order", "order")):
        seen: dict[Any, _CourseDraft] = {}
        for course in courses:
            value = getattr(course, key)
            if value is None:
                continue
            line = course.id_line if key == "id" else course.order_line
            if value in seen:
                first = seen[value]
                first_line = first.id_line if key == "id" else first.order_line
                problems.append(Problem(course.path, line, f"„{label}: {value}“ hat auch "
                                        f"{first.path} (Zeile {first_line})"))
                problems.append(Problem(first.path, first_line, f"„{label}: {value}“ hat auch "
                                        f"{course.path} (Zeile {line})"))
            else:
                seen[value] = course


def _check_modules(courses: list[_CourseDraft], modules: list[_ModuleDraft],
                   assets: dict[str, bytes], problems: list[Problem]) -> None:
    """Cross-file checks: unique ids, every module listed once, order = position, images exist."""
    by_id: dict[str, list[_ModuleDraft]] = {}
    for module in modules:
        if module.id is not None:
            by_id.setdefault(module.id, []).append(module)
    duplicated = _report_duplicate_ids(by_id, problems)
    existing = set(by_id) | {module.guessed_id for module in modules if module.guessed_id}
    listing = _check_listings(courses, existing, problems)
    folder_course = {course.folder: course for course in courses}
    for module in modules:
        # A duplicated id already has its problem; where it is listed says nothing more.
        if module.id is not None and module.id not in duplicated:
            own = folder_course[module.path.split("/", 1)[0]]
            _check_listing_of(module, own, listing.get(module.id), problems)
        for ref in module.module.image_refs if module.module else ():
            if ref.path not in assets:
                problems.append(Problem(module.path, ref.line,
                                        _missing_image_message(ref.src, ref.path)))


def _report_duplicate_ids(by_id: dict[str, list[_ModuleDraft]],
                          problems: list[Problem]) -> set[str]:
    """Report every file of a duplicated module id, naming the other files; return those ids."""
    duplicated = {module_id for module_id, drafts in by_id.items() if len(drafts) > 1}
    for module_id in duplicated:
        for draft in by_id[module_id]:
            for other in by_id[module_id]:
                if other is not draft:
                    problems.append(Problem(draft.path, draft.id_line, _duplicate_id_message(
                        module_id, other.path, other.id_line)))
    return duplicated


def _check_listing_of(module: _ModuleDraft, own: _CourseDraft,
                      found: tuple[_CourseDraft, _CourseEntry] | None,
                      problems: list[Problem]) -> None:
    """A module must be listed in its own folder's course.yml, at the position of its order."""
    if found is not None and found[0] is not own:
        problems.append(Problem(module.path, module.id_line, _listed_elsewhere_message(
            module.id, own.path, found[0].path)))  # type: ignore[arg-type]
    elif found is not None and found[1].is_retired:
        return  # retired: the file stays for the record, its position no longer matters
    elif not own.entries_complete:
        return  # positions in a partly unreadable list would only produce follow-up noise
    elif found is not None:
        if module.order is not None and module.order != found[1].position:
            problems.append(Problem(module.path, module.order_line, _order_message(
                module.order, found[1].position, own.path)))
    else:
        problems.append(Problem(module.path, module.id_line,
                                _not_listed_message(module.id, own.path)))  # type: ignore[arg-type]


def _check_listings(courses: list[_CourseDraft], module_ids: set[str],
                    problems: list[Problem]) -> dict[str, tuple[_CourseDraft, _CourseEntry]]:
    """Map each listed module id to its course; report ids listed twice or without a file."""
    listing: dict[str, tuple[_CourseDraft, _CourseEntry]] = {}
    for course in courses:
        for entry in [*(course.entries or ()), *course.retired]:
            if entry.module_id in listing:
                first = listing[entry.module_id][0]
                problems.append(Problem(course.path, entry.line, f"Modul „{entry.module_id}“ "
                                        f"ist bereits in {first.path} aufgeführt – ein Modul "
                                        f"gehört zu genau einem Kurs"))
                continue
            listing[entry.module_id] = (course, entry)
            if entry.module_id not in module_ids:
                problems.append(Problem(course.path, entry.line, f"Modul „{entry.module_id}“ "
                                        f"ist aufgeführt, aber keine Moduldatei hat diese id"
                                        + (" – zurückgezogene Module behalten ihre Datei"
                                           if entry.is_retired else "")))
    return listing


def _duplicate_id_message(module_id: str, other_path: str, other_line: int) -> str:
    return f"id „{module_id}“ ist doppelt: auch in {other_path} (Zeile {other_line})"


def _missing_image_message(src: str, path: str) -> str:
    return f"Bild „{src}“ nicht gefunden (erwartet: {path})"


def _order_message(order: int, position: int, course_path: str) -> str:
    return (f"„order: {order}“ passt nicht zur Position in {course_path}: dort steht das Modul "
            f"an Position {position}")


def _not_listed_message(module_id: str, course_path: str) -> str:
    return (f"Modul „{module_id}“ wird in keiner course.yml aufgeführt – bitte in {course_path} "
            f"unter „modules:“ eintragen")


def _listed_elsewhere_message(module_id: str, own_path: str, other_path: str) -> str:
    return (f"Modul „{module_id}“ liegt im Ordner von {own_path}, wird aber in {other_path} "
            f"aufgeführt")


# --- regions ---------------------------------------------------------------------------------


@dataclass
class _RegionsDraft:
    regions: list[Region] = field(default_factory=list)
    districts: list[District] = field(default_factory=list)
    source: str = ""
    has_problems: bool = True


def _load_regions(root: Path, problems: list[Problem]) -> _RegionsDraft:
    draft = _RegionsDraft()
    text = _read_text(root, REGIONS_FILE, problems)
    if text is None:
        return draft
    draft.source = text
    report = _Report(REGIONS_FILE)
    node = _parse_yaml(text, report)
    if not report.problems:
        node = report.mapping(node, 1, REGIONS_FILE)
    if node is not None:
        report.keys(node, REGIONS_KEYS, REGIONS_KEYS)
        draft.regions = _regions(node, report) if "regions" in node else []
        if "districts" in node:
            draft.districts = _districts(node, _raw_ids(node.get("regions")), report)
    draft.has_problems = bool(report.problems)
    problems.extend(report.problems)
    return draft


def _raw_ids(items: Any) -> set[str]:
    """Ids as written, valid or not, so one bad id does not also break every reference to it."""
    if not isinstance(items, list):
        return set()
    ids = (item.get("id") for item in items if isinstance(item, dict))
    return {item_id for item_id in ids if isinstance(item_id, str)}


def _regions(node: LineDict, report: _Report) -> list[Region]:
    items = report.sequence(node["regions"], node.line_of("regions"), "regions")
    regions: list[Region] = []
    for item in _items_with_unique_ids(items, "Region", report):
        report.keys(item, REGION_KEYS, ("id", "name"), " in einer Region")
        region_id = report.ident(item)
        name = report.text(item, "name")
        description = report.text(item, "description", required=False) or ""
        if region_id and name:
            regions.append(Region(id=region_id, name=name, description=description))
    return regions


def _districts(node: LineDict, region_ids: set[str], report: _Report) -> list[District]:
    items = report.sequence(node["districts"], node.line_of("districts"), "districts")
    districts: list[District] = []
    for item in _items_with_unique_ids(items, "Kreis bzw. Stadt", report):
        report.keys(item, DISTRICT_KEYS, DISTRICT_KEYS, " in einem Kreis bzw. einer Stadt")
        district_id = report.ident(item)
        name = report.text(item, "name")
        kind = report.text(item, "kind")
        if kind is not None and kind not in DISTRICT_KINDS:
            report.add(item.line_of("kind"), f"„kind“ muss {' | '.join(DISTRICT_KINDS)} sein, "
                                             f"gefunden: „{kind}“")
            kind = None
        region_id = report.ident(item, "region")
        if region_id is not None and region_id not in region_ids:
            report.add(item.line_of("region"), f"unbekannte Region „{region_id}“ – bekannt "
                                               f"sind: {', '.join(sorted(region_ids))}")
            region_id = None
        if district_id and name and kind and region_id:
            districts.append(District(id=district_id, name=name, kind=kind, region_id=region_id))
    return districts


def _items_with_unique_ids(items: LineList | None, label: str,
                           report: _Report) -> Iterable[LineDict]:
    """Yield the mapping items of a list; report non-mappings and duplicate ids."""
    first_lines: dict[Any, int] = {}
    for index, item in enumerate(items or ()):
        line = items.line_of(index)  # type: ignore[union-attr]
        mapping = report.mapping(item, line, label)
        if mapping is None:
            continue
        item_id = mapping.get("id")
        if isinstance(item_id, str) and item_id in first_lines:
            report.add(mapping.line_of("id"), f"{label} mit der id „{item_id}“ ist doppelt "
                                              f"(zuerst in Zeile {first_lines[item_id]})")
            continue
        if isinstance(item_id, str):
            first_lines[item_id] = mapping.line_of("id")
        yield mapping


# --- programme -------------------------------------------------------------------------------


@dataclass
class _ProgrammeDraft:
    issuer: dict[str, str] = field(default_factory=dict)
    certificates: list[CertificateDefinitionSource] = field(default_factory=list)
    raw_rules: dict[str, Any] = field(default_factory=dict)
    course_entry: dict[str, Any] = field(default_factory=dict)
    raw_entry_rules: dict[str, tuple[Any, int]] = field(default_factory=dict)
    certificates_line: int = 1
    source: str = ""


def _load_programme(root: Path, courses: list[_CourseDraft], modules: list[_ModuleDraft],
                    regions: _RegionsDraft, problems: list[Problem]) -> _ProgrammeDraft:
    draft = _ProgrammeDraft()
    text = _read_text(root, PROGRAMME_FILE, problems)
    if text is None:
        return draft
    draft.source = text
    report = _Report(PROGRAMME_FILE)
    node = _parse_yaml(text, report)
    if not report.problems:
        node = report.mapping(node, 1, PROGRAMME_FILE)
    if node is not None:
        # Unreadable course ids would make every course reference look unknown: skip then.
        readable = all(course.id for course in courses)
        course_ids = {course.id for course in courses if course.id} if readable else None
        _parse_programme(node, course_ids, draft, report)
        # Rules are checked once this file's structure is sound and the catalogue they refer to
        # (courses, regions) is complete; otherwise they would mostly repeat other problems.
        catalogue_complete = not regions.has_problems and not any(c.has_problems for c in courses)
        if not report.problems and catalogue_complete:
            _validate_rules(draft, courses, modules, regions, report)
    problems.extend(report.problems)
    return draft


def _parse_programme(node: LineDict, course_ids: set[str] | None, draft: _ProgrammeDraft,
                     report: _Report) -> None:
    report.keys(node, PROGRAMME_KEYS, PROGRAMME_REQUIRED)
    if "issuer" in node:
        draft.issuer = _issuer(node, report)
    if "certificates" in node:
        draft.certificates_line = node.line_of("certificates")
        items = report.sequence(node["certificates"], draft.certificates_line, "certificates")
        for item in _items_with_unique_ids(items, "Zertifikat", report):
            _certificate(item, draft, report)
    if "course_entry" in node and node["course_entry"] is not None:
        entries = report.mapping(node["course_entry"], node.line_of("course_entry"),
                                 "course_entry")
        for course_id, rule in (entries or {}).items():
            line = entries.line_of(course_id)  # type: ignore[union-attr]
            if course_ids is not None and course_id not in course_ids:
                report.add(line, f"unbekannter Kurs „{course_id}“ in „course_entry“ – bekannt "
                                 f"sind: {', '.join(sorted(course_ids))}")
            elif rule is None:
                report.add(line, f"Zugangsregel für „{course_id}“ fehlt")
            elif _plain_rule(rule, line, report) is not None:
                draft.course_entry[course_id] = to_plain(rule)
                draft.raw_entry_rules[course_id] = (rule, line)


def _issuer(node: LineDict, report: _Report) -> dict[str, str]:
    issuer_node = report.mapping(node["issuer"], node.line_of("issuer"), "issuer")
    if issuer_node is None:
        return {}
    report.keys(issuer_node, ISSUER_KEYS, ("name",), " im Herausgeber (issuer)")
    values = {key: report.text(issuer_node, key) for key in ISSUER_KEYS if key in issuer_node}
    return {key: value for key, value in values.items() if value is not None}


def _certificate(item: LineDict, draft: _ProgrammeDraft, report: _Report) -> None:
    report.keys(item, CERTIFICATE_KEYS, CERTIFICATE_REQUIRED, " in einem Zertifikat")
    certificate_id = report.ident(item)
    title = report.text(item, "title")
    short_title = report.text(item, "short_title", required=False) or ""
    statement = report.text(item, "statement")
    if "rule" in item and item["rule"] is None:
        report.add(item.line_of("rule"), "„rule“ ist leer – jedes Zertifikat braucht eine Regel")
        return
    rule = _plain_rule(item["rule"], item.line_of("rule"), report) if "rule" in item else None
    if certificate_id and title and statement and rule is not None:
        draft.raw_rules[certificate_id] = item["rule"]
        draft.certificates.append(CertificateDefinitionSource(
            id=certificate_id, title=title, statement=statement, rule=rule[0],
            rule_hash=rule[1], line=item.line, short_title=short_title,
        ))


def _plain_rule(raw: Any, line: int, report: _Report) -> tuple[Any, str] | None:
    """Return (plain rule, rule hash); report rules that cannot be stored as JSON."""
    plain = to_plain(raw)
    try:
        canonical = json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        report.add(line, "Regel enthält Werte, die weder Text, Zahl, Wahrheitswert, Liste noch "
                         "Zuordnung sind")
        return None
    return plain, _sha256(canonical)


def _validate_rules(draft: _ProgrammeDraft, courses: list[_CourseDraft],
                    modules: list[_ModuleDraft], regions: _RegionsDraft,
                    report: _Report) -> None:
    """Check every rule against the catalogue with the domain's rule engine."""
    module_titles = {e.module_id: e.module_id for c in courses for e in c.entries or ()}
    module_titles.update({d.id: d.module.title for d in modules if d.id and d.module})
    catalog = Catalog(
        courses={
            c.id: CourseInfo(
                title=c.title or c.id,
                module_ids=tuple(e.module_id for e in c.entries or ()),
                required_ids=frozenset(e.module_id for e in c.entries or () if e.is_required),
            )
            for c in courses
            if c.id
        },
        modules=module_titles,
        regions={region.id: region.name for region in regions.regions},
        certificates={certificate.id: certificate.title for certificate in draft.certificates},
    )
    for certificate in draft.certificates:
        for problem in validate_rule(draft.raw_rules[certificate.id], catalog):
            report.add(problem.line or certificate.line,
                       f"Regel von „{certificate.id}“: {problem.message}")
    for course_id, (raw, line) in draft.raw_entry_rules.items():
        for problem in validate_rule(raw, catalog):
            report.add(problem.line or line, f"Zugangsregel für „{course_id}“: {problem.message}")
    for problem in find_certificate_cycles(draft.raw_rules):
        report.add(problem.line or draft.certificates_line, problem.message)


# --- building the tree -----------------------------------------------------------------------


def _build_tree(root: Path, programme: _ProgrammeDraft, regions: _RegionsDraft,
                courses: list[_CourseDraft], modules: list[_ModuleDraft],
                assets: dict[str, bytes]) -> ContentTree:
    """Assemble the validated tree; only called when no problem was found."""
    sources = sorted((c.course for c in courses if c.course), key=lambda c: (c.order, c.id))
    by_id = {draft.module.id: draft.module for draft in modules if draft.module}
    ordered: dict[str, ModuleSource] = {}
    for course in sources:
        for module_id in course.module_ids:
            ordered[module_id] = replace(
                by_id[module_id], course_id=course.id, is_required=module_id in course.required_ids
            )
    return ContentTree(
        root=root,
        programme=ProgrammeSource(
            path=PROGRAMME_FILE, issuer=programme.issuer,
            certificates=tuple(programme.certificates), course_entry=programme.course_entry,
            source=programme.source, source_hash=_sha256(programme.source),
        ),
        regions=tuple(regions.regions),
        districts=tuple(regions.districts),
        regions_source=regions.source,
        regions_hash=_sha256(regions.source),
        courses=tuple(sources),
        modules=ordered,
        assets=assets,
    )
