"""Where the certificate PDF gets its Unicode TrueType fonts.

The PDF core fonts (Helvetica & Co.) only know Latin-1: no „…“, no –. So the PDF embeds a
TrueType family. First choice is Source Sans 3 (Adobe, SIL Open Font License) from the PyPI
package ``rendercv-fonts``, which the project installs like any other dependency, so a fresh
machine renders the same PDF as a developer's. The fallback is DejaVu Sans from the operating
system (Debian's ``fonts-dejavu-core`` and the usual places on other systems).

Pure Python: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["FontFamily", "default_candidates", "find_font_family"]

PACKAGE = "rendercv-fonts"
PACKAGE_MODULE = "rendercv_fonts"

# Where operating systems put DejaVu: Debian/Ubuntu, Fedora, Arch, Alpine/others.
DEJAVU_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)


@dataclass(frozen=True)
class FontFamily:
    """One font family as files: regular, bold and italic TrueType fonts, and where they came from."""

    name: str
    source: str
    regular: Path
    bold: Path
    italic: Path

    @property
    def is_available(self) -> bool:
        """True when all three files exist (a half-installed family is no use to the PDF)."""
        return all(path.is_file() for path in (self.regular, self.bold, self.italic))


def _packaged_family() -> FontFamily | None:
    """Source Sans 3 from the ``rendercv-fonts`` package, if it is installed."""
    try:
        root = resources.files(PACKAGE_MODULE)
    except ModuleNotFoundError:
        return None
    folder = Path(str(root)) / "Source Sans 3"
    return FontFamily(
        name="Source Sans 3",
        source=f"PyPI package {PACKAGE}",
        regular=folder / "SourceSans3-Regular.ttf",
        bold=folder / "SourceSans3-Bold.ttf",
        italic=folder / "SourceSans3-Italic.ttf",
    )


def default_candidates() -> Iterator[FontFamily]:
    """The families to try, best first: the packaged Source Sans 3, then DejaVu Sans."""
    packaged = _packaged_family()
    if packaged is not None:
        yield packaged
    for folder in DEJAVU_DIRS:
        yield FontFamily(
            name="DejaVu Sans",
            source=str(folder),
            regular=folder / "DejaVuSans.ttf",
            bold=folder / "DejaVuSans-Bold.ttf",
            italic=folder / "DejaVuSans-Oblique.ttf",
        )


def find_font_family(candidates: Iterable[FontFamily] | None = None) -> FontFamily:
    """The first available family among ``candidates`` (default: ``default_candidates()``).

    Raises ``RuntimeError`` with what to install when none is there: a certificate printed in
    a font without „“ or – would look broken, so failing loudly is better than falling back to
    the core fonts.
    """
    tried = []
    for family in default_candidates() if candidates is None else candidates:
        if family.is_available:
            return family
        tried.append(f"{family.name} ({family.source})")
    raise RuntimeError(
        "No Unicode TrueType font found for certificate PDFs. Install the Python package "
        f"'{PACKAGE}' (pip install {PACKAGE}) or the system package fonts-dejavu-core. "
        f"Tried: {', '.join(tried) or 'nothing'}."
    )
