"""The workspaces the window hosts, registered in one place (:data:`WORKSPACES`).

The window (:class:`desktop.main_window.MainWindow`) is a shell: status bar,
mode switch (F9 / Ctrl+E), settings, fonts and theme. Each workspace is a page
of its mode stack, created when the seat's role may use it. A new mode is a
new :class:`WorkspaceSpec` in :data:`WORKSPACES`; the shell does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from PySide6.QtWidgets import QSplitter, QWidget

from desktop.services import SearchEngine, Services
from desktop.tasks import TaskManager
from desktop.ui_state import UiState
from kb import vocab
from kb.actor import Actor
from kb.dto import Changes

if TYPE_CHECKING:
    from desktop.accessibility import Announcer
    from desktop.widgets.status import StatusPanel


class WorkspaceHost(Protocol):
    """What a workspace may use of the window around it."""

    services: Services
    tasks: TaskManager
    today: date | None
    status: StatusPanel
    announcer: Announcer
    ui_state: UiState

    @property
    def engine(self) -> SearchEngine | None: ...

    def report_failure(self, exc: BaseException) -> None: ...

    def refresh_status(self) -> None: ...

    def publish_changes(self, changes: Changes, source: Workspace | None = None) -> None: ...


class Workspace(Protocol):
    """One mode of the window. ``page`` is the widget in the window's mode stack."""

    @property
    def page(self) -> QWidget: ...

    @property
    def keys(self) -> Sequence[tuple[str, str]]: ...

    def main_splitter(self) -> QSplitter | None:
        """The splitter whose sizes the window remembers (ui-state.ini)."""
        ...

    def set_engine(self, engine: SearchEngine) -> None: ...

    def set_actor(self, actor: Actor) -> None: ...

    def leave_refusal(self) -> str:
        """Why the window may not switch away now (shown in the status bar), or "" when it may."""
        ...

    def enter(self) -> None:
        """Shown: take the focus, switch this workspace's shortcuts on."""
        ...

    def leave(self) -> None:
        """Hidden: switch this workspace's shortcuts off, write what is pending."""
        ...

    def apply_changes(self, changes: Changes) -> None:
        """Committed changes from another workspace or a scheduled job (the index is already updated)."""
        ...


@dataclass(frozen=True)
class WorkspaceSpec:
    name: str  # the mode's code, saved in ui-state.ini
    title: str  # the F1 help's section
    status: str  # the status bar's mode hint while shown ("接听模式")
    goto: str  # the hint's F9 target while another mode is shown ("知识编辑")
    roles: frozenset[str] | None  # who gets it (None: every seat)
    create: Callable[[WorkspaceHost], Workspace]

    def allowed(self, role: str) -> bool:
        return self.roles is None or role in self.roles


def _agent(host: WorkspaceHost) -> Workspace:
    from desktop.agent.workspace import AgentWorkspace

    return AgentWorkspace(host)


def _editor(host: WorkspaceHost) -> Workspace:
    from desktop.editor.mode import EditorMode  # agents' seats never load the editor (≈5 MB)

    return EditorMode(host)


# The first one is the start mode, shown to every seat.
WORKSPACES: list[WorkspaceSpec] = [
    WorkspaceSpec("agent", "通话", "接听模式", "回到接听", None, _agent),
    WorkspaceSpec("editor", "知识编辑", "编辑模式", "知识编辑", frozenset(vocab.EDITOR_ROLES), _editor),
]
