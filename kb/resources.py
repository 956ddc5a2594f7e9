"""The one place that knows where ``resources/`` is: source checkout, installed wheel, PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path

# A wheel carries resources/ as the package data of ``kb._resources`` (pyproject.toml maps the
# folder there), so an installed copy sits inside the kb package; a checkout has it beside kb/.
INSTALLED_DIR = "_resources"


def locate_resources(package_dir: Path) -> Path:
    """The resources folder for the kb package at ``package_dir``: its installed copy, else the checkout's."""
    installed = package_dir / INSTALLED_DIR
    if installed.is_dir():
        return installed
    return package_dir.parent / "resources"


def resources_root() -> Path:
    """``resources/`` inside the PyInstaller bundle, the installed wheel or the source checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return locate_resources(Path(__file__).resolve().parent)


def resource_path(name: str) -> Path:
    """Path of a resource file by its relative name, e.g. ``sample/entries.jsonl``."""
    if ".." in Path(name).parts:
        raise ValueError(f"resource name must not leave resources/: {name}")
    return resources_root() / name
