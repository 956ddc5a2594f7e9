"""The layers: desktop → indexer → kb, and no Qt below the GUI (import-linter contracts in pyproject)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extra"
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def _imported_modules(package: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


def test_no_qt_and_no_upward_imports_even_lazily() -> None:
    """A second, independent check that also sees imports inside functions."""
    for package, forbidden in (("kb", ("PySide6", "shiboken6", "indexer", "desktop", "whoosh", "jieba")),
                               ("indexer", ("PySide6", "shiboken6", "desktop"))):
        bad = sorted(m for m in _imported_modules(package) if m.split(".")[0] in forbidden)
        assert not bad, f"{package}/ imports {bad}"


def test_tests_do_not_import_bench() -> None:
    """bench/ imports what it shares with the tests from tests/ (helpers.py, alert_phrases.py), not the reverse."""
    bench = {p.stem for p in (ROOT / "bench").glob("*.py")} | {"bench"}
    bad = sorted(m for m in _imported_modules("tests") if m.split(".")[0] in bench)
    assert not bad, f"tests/ imports {bad}"


def test_screenshot_scripts_are_not_shipped() -> None:
    """Screenshot scripts live in tools/: the bundle ships kb, indexer and desktop."""
    shipped = sorted(str(p.relative_to(ROOT)) for package in ("kb", "indexer", "desktop")
                     for p in (ROOT / package).rglob("*.py") if "grab().save(" in p.read_text(encoding="utf-8"))
    assert not shipped, f"screenshot code in the shipped packages: {shipped}"
