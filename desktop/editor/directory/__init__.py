"""The directory editor (名录与规则): one module per tab, named by subject; :class:`DirectoryWorkspace` holds them."""

from __future__ import annotations

from desktop.editor.directory.workspace import DirectoryWorkspace

__all__ = ["DirectoryWorkspace"]
