"""Where the certificate PDF gets its Unicode TrueType fonts.

The PDF core fonts (Helvetica & Co.) only know Latin-1: no „…“, no –. So the PDF embeds a
TrueType family. First choice is Source Sans 3 (Adobe, SIL Open Font License) from the PyPI
package ``rendercv-fonts``, which the project installs like any other dependency, so a fresh
machine renders the same PDF as a developer's. Then Source Sans Pro from the smaller package
``font-source-sans-pro`` if that is installed instead. The last resort is DejaVu Sans from the
operating system (Debian's ``fonts-dejavu-core`` and the usual places on other systems).

Pure Python: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["FontFamily", "default_candidates", "find_font_family"]

PACKAGE = "rendercv-fonts"


@dataclass(frozen=True)
class _Packaged:
    """A Python package that ships a font family: where in it the three files are."""

    distribution: str
    module: str
    family: str
    folder: str
    regular: str
    bold: str
    italic: str


# Best first. rendercv-fonts is maintained and carries Source Sans 3 (the current release of
# Adobe's family); font-source-sans-pro (Pimoroni, 2018) is a 2 MB alternative with the older
# Source Sans Pro, picked up if a deployment prefers the smaller package.
PACKAGED = (
    _Packaged("rendercv-fonts", "rendercv_fonts", "Source Sans 3", "Source Sans 3",
              "SourceSans3-Regular.ttf", "SourceSans3-Bold.ttf", "SourceSans3-Italic.ttf"),
    _Packaged("font-source-sans-pro", "font_source_sans_pro", "Source Sans Pro", "files",
              "SourceSansPro-Regular.ttf", "SourceSansPro-Bold.ttf", "SourceSansPro-It.ttf"),
)

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


def _packaged_family(packaged: _Packaged) -> FontFamily | None:
    """The family shipped by ``packaged``, if that package is installed."""
    try:
        root = resources.files(packaged.module)
    except ModuleNotFoundError:
        return None
    folder = Path(str(root)) / packaged.folder
    return FontFamily(
        name=packaged.family,
        source=f"PyPI package {packaged.distribution}",
        regular=folder / packaged.regular,
        bold=folder / packaged.bold,
        italic=folder / packaged.italic,
    )


def default_candidates() -> Iterator[FontFamily]:
    """The families to try, best first: packaged Source Sans (see ``PACKAGED``), then DejaVu Sans."""
    for packaged in PACKAGED:
        family = _packaged_family(packaged)
        if family is not None:
            yield family
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
