"""The knowledge editor's workspace (知识管理员): mounted by the main window as a mode/tab."""

from __future__ import annotations

from desktop.editor.workspace import EditorWorkspace

__all__ = ["EditorWorkspace"]
