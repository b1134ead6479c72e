"""`make screenshots`: PNGs of the main pages of each role at 1280 and 390 px, for review.

    python -m tests.browser.screenshots [FOLDER]   (default: screenshots/)

Serves the app with the demo data on a free local port (the same page states as the
accessibility suite, `tests/browser/pages.py`) and photographs each main page in headless
Chromium as a whole page: `<folder>/<width>/<nn>-<state>.png`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.pages import STATES, demo_server, reach

WIDTHS = {1280: {"width": 1280, "height": 800}, 390: {"width": 390, "height": 844}}


def take_screenshots(folder: Path) -> list[Path]:
    """Photograph every main page state at each width; returns the files written."""
    from playwright.sync_api import sync_playwright

    written = []
    with demo_server() as facts, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width, viewport in WIDTHS.items():
                target = folder / str(width)
                target.mkdir(parents=True, exist_ok=True)
                for number, state in enumerate((s for s in STATES if s.is_main), start=1):
                    context = browser.new_context(viewport=viewport, locale="de-DE")
                    page = context.new_page()
                    reach(page, facts, state)
                    path = target / f"{number:02d}-{state.name}.png"
                    page.screenshot(path=str(path), full_page=True)
                    written.append(path)
                    context.close()
        finally:
            browser.close()
    return written


def main(argv: list[str]) -> int:
    if not CHROMIUM.exists():
        print(f"Chromium fehlt ({CHROMIUM}): apt-get install chromium", file=sys.stderr)
        return 1
    folder = Path(argv[0] if argv else "screenshots")
    written = take_screenshots(folder)
    print(f"{len(written)} Bildschirmfotos in {folder}/ (1280 und 390 px breit)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
