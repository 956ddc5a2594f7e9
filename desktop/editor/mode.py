"""The editor workspace as one of the window's modes (registered in :mod:`desktop.workspaces`)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QSplitter, QWidget

from desktop.editor.workspace import EditorWorkspace
from desktop.services import SearchEngine
from desktop.workspaces import WorkspaceHost
from kb.actor import Actor
from kb.dto import Changes


class EditorMode:
    """Knowledge editing (editor, reviewer, admin roles). The window runs scheduled publishing, not the editor."""

    def __init__(self, host: WorkspaceHost) -> None:
        self.editor = EditorWorkspace(host.services.kb, host.engine, host.tasks, host.services.actor,
                                      today=host.today, run_schedule=False)
        self.editor.changed.connect(lambda changes: host.publish_changes(changes, self))

    @property
    def page(self) -> QWidget:
        return self.editor

    @property
    def keys(self) -> Sequence[tuple[str, str]]:
        return self.editor.KEYS

    def main_splitter(self) -> QSplitter | None:
        return self.editor.splitter

    def set_engine(self, engine: SearchEngine) -> None:
        self.editor.set_engine(engine)

    def set_actor(self, actor: Actor) -> None:
        self.editor.set_actor(actor)

    def leave_refusal(self) -> str:
        return ""

    def enter(self) -> None:
        self.editor.refresh_list()
        self.editor.focus_search()

    def leave(self) -> None:
        pass

    def apply_changes(self, changes: Changes) -> None:
        if changes.entries_upserted or changes.entries_deleted:
            self.editor.refresh_list()
