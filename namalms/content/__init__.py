"""The content tree: loading and validating `content/`, and rendering Markdown safely."""

from namalms.content.loader import (
    LoadResult,
    check_module_in_tree,
    load_tree,
    parse_module,
    resolve_image_path,
)
from namalms.content.model import (
    CertificateDefinitionSource,
    ContentTree,
    CourseSource,
    District,
    ImageReference,
    ModuleSource,
    Problem,
    ProgrammeSource,
    Quiz,
    QuizOption,
    QuizQuestion,
    Region,
)
from namalms.content.render import Rendered, TocEntry, render_markdown

__all__ = [
    "CertificateDefinitionSource",
    "ContentTree",
    "CourseSource",
    "District",
    "ImageReference",
    "LoadResult",
    "ModuleSource",
    "Problem",
    "ProgrammeSource",
    "Quiz",
    "QuizOption",
    "QuizQuestion",
    "Region",
    "Rendered",
    "TocEntry",
    "check_module_in_tree",
    "load_tree",
    "parse_module",
    "render_markdown",
    "resolve_image_path",
]
