"""The repository stands alone: nothing in it points outside it."""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    names = listed.stdout.split() if listed.returncode == 0 else [
        str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]
    files = []
    for name in names:
        path = ROOT / name
        if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp", ".ttf", ".pdf", ".xlsx", ".zip"}:
            continue
        if path.is_file():
            files.append(path)
    return files


def test_no_file_points_outside_the_repository():
    outside = "../" + "shared"  # spelled in two parts so this file does not find itself
    offenders = [str(p.relative_to(ROOT)) for p in tracked_text_files()
                 if outside in p.read_text(encoding="utf-8", errors="replace")]
    assert offenders == []
