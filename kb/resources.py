"""The one place that knows where ``resources/`` is, from source and frozen."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_root() -> Path:
    """``resources/`` beside the packages, or inside the PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(name: str) -> Path:
    """Path of a resource file by its relative name, e.g. ``sample/entries.jsonl``."""
    if ".." in Path(name).parts:
        raise ValueError(f"resource name must not leave resources/: {name}")
    return resources_root() / name
