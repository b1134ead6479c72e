"""Where the certificate PDF gets its Unicode TrueType fonts.

The PDF core fonts (Helvetica & Co.) only know Latin-1: no „…“, no –. So the PDF embeds a
TrueType family: Source Sans 3 (Adobe), shipped with the package in ``font_files/`` under the SIL
Open Font License (``font_files/OFL.txt``; three files, about 1 MB), so every installation renders
the same PDF. The last resort, should those files be missing, is DejaVu Sans from the operating
system (Debian's ``fonts-dejavu-core`` and the usual places on other systems).

Pure Python: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FontFamily", "default_candidates", "find_font_family"]

SHIPPED_DIR = Path(__file__).resolve().parent / "font_files"

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


def shipped_family() -> FontFamily:
    """Source Sans 3 as shipped in ``namalms/certificates/font_files``."""
    return FontFamily(
        name="Source Sans 3",
        source="namalms/certificates/font_files (SIL Open Font License)",
        regular=SHIPPED_DIR / "SourceSans3-Regular.ttf",
        bold=SHIPPED_DIR / "SourceSans3-Bold.ttf",
        italic=SHIPPED_DIR / "SourceSans3-Italic.ttf",
    )


def default_candidates() -> Iterator[FontFamily]:
    """The families to try, best first: the shipped Source Sans 3, then DejaVu Sans."""
    yield shipped_family()
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

    Raises ``RuntimeError`` with what to do when none is there: a certificate printed in a font
    without „“ or – would look broken, so failing loudly is better than falling back to the core
    fonts.
    """
    tried = []
    for family in default_candidates() if candidates is None else candidates:
        if family.is_available:
            return family
        tried.append(f"{family.name} ({family.source})")
    raise RuntimeError(
        "No Unicode TrueType font found for certificate PDFs. The package's own font files in "
        f"{SHIPPED_DIR} are missing (reinstall namalms), and no DejaVu Sans was found either "
        f"(Debian: apt-get install fonts-dejavu-core). Tried: {', '.join(tried) or 'nothing'}."
    )
