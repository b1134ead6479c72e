"""The reference material beside the courses: the glossary and the work aids (Vorlagen).

- ``glossar.yml``: a list of terms (abbreviations and technical terms with their long form and a
  short explanation), served as the page ``/glossar``; modules link a term as
  ``[NKF](/glossar#nkf)``.
- ``vorlagen/<name>.md``: work aids learners fill in (indicator profile, council-proposal check,
  roadmap …), Markdown with YAML front matter; served as a printable page ``/vorlagen/<id>`` and as
  Word and Excel files; modules link them as ``[…](/vorlagen/<id>)``.

Both are checked like modules: every problem with file and line, and every link from a module to
the glossary or a work aid must lead somewhere.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from namalms.content.checking import (
    ID_PATTERN, Report, parse_yaml, read_text, sha256, split_front_matter, visible_children,
)
from namalms.content.model import Glossary, GlossaryTerm, Problem, WorkAidSource
from namalms.content.render import slugify

GLOSSARY_FILE = "glossar.yml"
WORKAIDS_DIR = "vorlagen"
GLOSSARY_KEYS = ("terms",)
TERM_KEYS = ("term", "long", "text")
WORKAID_KEYS = ("id", "title", "summary", "modules")
WORKAID_REQUIRED = ("id", "title")

# Links a module may use into the platform's own reference pages.
_GLOSSARY_LINK = re.compile(r"\]\(\s*/glossar(?:#([^)\s]*))?\s*\)")
_WORKAID_LINK = re.compile(r"\]\(\s*/vorlagen/([^)\s#?]+?)(?:\.(docx|xlsx))?\s*\)")


def glossary_anchor(term: str) -> str:
    """The anchor of a term on /glossar: „ÖPNV“ → ``oepnv``, „LAG 21 NRW“ → ``lag-21-nrw``."""
    return slugify(term)


# --- glossary ---------------------------------------------------------------------------------------

def load_glossary(root: Path, problems: list[Problem]) -> Glossary | None:
    """Read and check ``glossar.yml``: every term once, each with an explanation."""
    text = read_text(root, GLOSSARY_FILE, problems)
    if text is None:
        return None
    report = Report(GLOSSARY_FILE)
    node = parse_yaml(text, report)
    glossary = None
    if not report.problems:
        glossary = _glossary(node, text, report)
    problems.extend(report.problems)
    return glossary if not report.problems else None


def _glossary(node: Any, text: str, report: Report) -> Glossary | None:
    top = report.mapping(node, 1, "glossar.yml")
    if top is None:
        return None
    report.keys(top, GLOSSARY_KEYS, GLOSSARY_KEYS)
    if "terms" not in top:
        return None
    items = report.sequence(top["terms"], top.line_of("terms"), "terms")
    terms: list[GlossaryTerm] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items or ()):
        line = items.line_of(index)
        entry = report.mapping(item, line, "terms", " (Glossareintrag)")
        if entry is None:
            continue
        report.keys(entry, TERM_KEYS, ("term", "text"), " im Glossareintrag")
        term = report.text(entry, "term", where=" (Glossareintrag)")
        if term is None:
            continue
        where = f" (Eintrag „{term}“)"
        long = report.text(entry, "long", required=False, where=where) or ""
        explanation = report.text(entry, "text", where=where)
        anchor = glossary_anchor(term)
        if anchor in seen:
            report.add(line, f"Der Begriff „{term}“ steht schon in Zeile {seen[anchor]} (gleicher Anker "
                             f"„#{anchor}“)")
            continue
        seen[anchor] = line
        if explanation is not None:
            terms.append(GlossaryTerm(term=term, long=long, text=explanation, anchor=anchor))
    if report.problems:
        return None
    return Glossary(path=GLOSSARY_FILE, terms=tuple(terms), source=text, source_hash=sha256(text))


# --- work aids --------------------------------------------------------------------------------------

def scan_workaids(root: Path, folder: Path, problems: list[Problem]) -> list[str]:
    """The work-aid files in ``vorlagen/``; anything else there is reported."""
    files = []
    for entry in visible_children(folder):
        relative = entry.relative_to(root).as_posix()
        if entry.is_file() and entry.suffix == ".md":
            files.append(relative)
        else:
            problems.append(Problem(relative, 1, "unerwarteter Eintrag in vorlagen/ – erlaubt sind "
                                                 "Vorlagen als Markdown-Dateien (*.md)"))
    return files


def load_workaids(root: Path, paths: list[str], module_ids: set[str],
                  problems: list[Problem]) -> dict[str, WorkAidSource]:
    """Read and check every work aid; returns them by id (only the valid ones)."""
    workaids: dict[str, WorkAidSource] = {}
    first: dict[str, str] = {}
    for path in paths:
        text = read_text(root, path, problems)
        if text is None:
            continue
        report = Report(path)
        workaid, id_line = _workaid(text, path, module_ids, report)
        if workaid is not None and workaid.id in first:
            report.add(id_line, f"Die Vorlagen-id „{workaid.id}“ ist schon in {first[workaid.id]} vergeben")
        problems.extend(report.problems)
        if workaid is not None and not report.problems:
            first[workaid.id] = path
            workaids[workaid.id] = workaid
    return workaids


def _workaid(text: str, path: str, module_ids: set[str], report: Report) -> tuple[WorkAidSource | None, int]:
    split = split_front_matter(text, report)
    if split is None:
        return None, 1
    front_matter, body, _ = split
    node = parse_yaml(front_matter, report, line_offset=1)
    if report.problems:
        return None, 1
    meta = report.mapping(node, 2, "Front Matter")
    if meta is None:
        return None, 1
    report.keys(meta, WORKAID_KEYS, WORKAID_REQUIRED, " (Vorlage)")
    workaid_id = report.ident(meta)
    id_line = meta.line_of("id") if "id" in meta else 1
    title = report.text(meta, "title")
    summary = report.text(meta, "summary", required=False) or ""
    linked: list[str] = []
    if "modules" in meta:
        items = report.sequence(meta["modules"], meta.line_of("modules"), "modules")
        for index, item in enumerate(items or ()):
            if not isinstance(item, str) or not ID_PATTERN.match(item):
                report.add(items.line_of(index), f"„modules“ nennt Modul-ids, gefunden: „{item}“")
            elif item not in module_ids:
                report.add(items.line_of(index), f"Ein Modul „{item}“ gibt es nicht")
            else:
                linked.append(item)
    if not body.strip():
        report.add(1, "Die Vorlage hat keinen Inhalt unter dem Front Matter")
    if report.problems or workaid_id is None or title is None:
        return None, id_line
    return WorkAidSource(id=workaid_id, path=path, title=title, summary=summary, module_ids=tuple(linked),
                         body=body, source=text, source_hash=sha256(text)), id_line


# --- links from modules -------------------------------------------------------------------------------

def check_links(modules: list, glossary: Glossary | None, workaids: dict[str, WorkAidSource],
                module_ids: set[str], problems: list[Problem]) -> None:
    """Every link from a module to /glossar#… or /vorlagen/… must lead to an existing entry."""
    anchors = glossary.anchors() if glossary is not None else frozenset()
    for draft in modules:
        module = getattr(draft, "module", None)
        if module is None:
            continue
        lines = module.source.split("\n")
        for number, line in enumerate(lines, start=1):
            for match in _GLOSSARY_LINK.finditer(line):
                anchor = match.group(1)
                if glossary is None:
                    problems.append(Problem(module.path, number, "Verweis auf das Glossar, aber es gibt "
                                                                 "keine Datei glossar.yml"))
                elif anchor and anchor not in anchors:
                    problems.append(Problem(module.path, number, f"Glossar-Verweis „#{anchor}“ führt ins "
                                                                 f"Leere – diesen Begriff gibt es in "
                                                                 f"glossar.yml nicht"))
            for match in _WORKAID_LINK.finditer(line):
                if match.group(1) not in workaids:
                    problems.append(Problem(module.path, number, f"Die Vorlage „{match.group(1)}“ gibt es "
                                                                 f"nicht (Ordner vorlagen/)"))
