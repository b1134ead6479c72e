"""Where the test suite finds its checkers from the npm registry (installed by `make` into
.venv/node/): axe-core for accessibility, vnu.jar (the W3C HTML checker) for valid HTML.

Without them the checks are skipped with the reason – except where NAMALMS_REQUIRE_CHECKERS is
set (CI sets it in .ci/run): there a missing checker is a failure, so CI never passes by skipping.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = Path(os.environ.get("NAMALMS_NODE_MODULES", PROJECT_ROOT / ".venv" / "node" / "node_modules"))
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = shutil.which("java")
REQUIRE_ENV = "NAMALMS_REQUIRE_CHECKERS"


def missing_checker(problem: str | None) -> list:
    """pytest marks for a module whose checker is missing (`problem`), or none when it is there."""
    if problem is None:
        return []
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{problem} – {REQUIRE_ENV} is set, so this check must run (make installs it)", pytrace=False)
    return [pytest.mark.skip(reason=f"{problem} (make installs it)")]
